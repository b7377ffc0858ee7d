"""How the relevant statements of an answer spread over time: `Timeline`, counted per side (or speaker) per period.

The statements counted are those the answer may quote — the answer builder's relevance rule, given as a function
— found among every sentence within the filters, not only among the retrieved ones: each sentence whose embedding
is at least the quote floor similar to the question (a range search of the vector index: exact for a flat index,
within the searched cells of an IVF or HNSW one, as every search of it) and each sentence holding every word of
the topic under one of its names (the BM25 postings of its words); below the answer's threshold, a sentence must
also hold a content word of the topic (or a form of it), as a quote must. A fragment or a line of links is not
counted; near-duplicates (one cluster) count once per row and period, and a sentence repeated in another period counts there
too: it was said again. Documents with no date are counted apart.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa_assistant.answer.quotes import QuoteMaker
from qa_assistant.backends.base import SearchBackend
from qa_assistant.index.store import SentenceIndex
from qa_assistant.models import Filters, Granularity, Hit, Quote, Timeline

# (similarities, on the topic, shares a content word of it) -> which sentences may be quoted: the answer builder's
# rule (`may_quote`); sharing a word never takes a sentence out (`relevant` asks it only where it decides)
RelevanceRule = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TopicWords:
    """What puts a sentence on the asked topic, in BM25 tokens, as the answer builder reads the question: holding
    every token of one of `variants` (the topic under each of its names); and which tokens share a content word of
    it (`shares`, true for any token when there are no `content_words`): below the threshold, a quote holds one."""

    variants: list[frozenset[str]]
    content_words: frozenset[str]
    shares: Callable[[set[str]], bool]


def shared_tokens(topic: TopicWords, tokens_starting: Callable[[str], list[str]]) -> list[str]:
    """The tokens of a vocabulary (`tokens_starting(prefix)`: its tokens that start with `prefix`, sorted) that share
    a content word of `topic` (`TopicWords.shares` decides). One lookup per word, of the tokens that start with its
    first 4 letters (thousands, for "inte" or "cons", in a large collection); among them only where sharing ones can
    be are tried: the word, the tokens that start with it, and its beginnings of at least 4 letters."""
    candidates: set[str] = set()
    for word in topic.content_words:
        near = tokens_starting(word[:4])
        candidates.update(near[bisect.bisect_left(near, word) : bisect.bisect_left(near, word + "\U0010ffff")])
        for end in range(4, len(word)):
            at = bisect.bisect_left(near, word[:end])
            if at < len(near) and near[at] == word[:end]:
                candidates.add(word[:end])
    return sorted(token for token in candidates if topic.shares({token}))


def shared_clusters(clusters: np.ndarray) -> np.ndarray:
    """Whether each sentence's near-duplicate cluster (`clusters`: the smallest member's id, its own id when it
    has none) holds another sentence."""
    shared = np.zeros(len(clusters), dtype=bool)
    joined = np.flatnonzero(clusters != np.arange(len(clusters)))
    shared[joined] = True
    shared[clusters[joined]] = True
    return shared


# a cell: its row, its period (`period_codes`), its statements and its best sentences (best first)
Cell = tuple[int, int, int, list[int]]

CELL_SENTENCES = 5  # ids of a cell's most similar sentences kept, so a mark opens as quotes
MAX_ROWS = 20  # rows by speaker (no sides asked): the ones with most statements; the rest are counted apart
DAY_SPAN = 62  # statements within this many days: one period per day
MONTH_SPAN = 36  # within this many calendar months: one per month; longer: one per year
UNATTRIBUTED = "(no speaker or publisher)"
_EPOCH = dt.date(1970, 1, 1).toordinal()
# `TimelineMaker.sentence_facts`: a sentence's document number (below 2**32), flags, speaker row
_DOCUMENT, _SHARED, _QUOTABLE, _ROW_SHIFT = 2**32 - 1, 2**32, 2**33, 34


def granularity_of(first: dt.date, last: dt.date) -> Granularity:
    """Days for a span up to DAY_SPAN days, months up to MONTH_SPAN calendar months, else years."""
    if (last - first).days <= DAY_SPAN:
        return "day"
    if (last.year - first.year) * 12 + last.month - first.month < MONTH_SPAN:
        return "month"
    return "year"


def granularity_of_counted(ordinals: np.ndarray) -> Granularity:
    """The granularity of the span of the dated statements among `ordinals` (-1: no date); years with none."""
    counted_dates = ordinals[ordinals >= 0]
    if len(counted_dates):
        first, last = int(counted_dates.min()), int(counted_dates.max())
        return granularity_of(dt.date.fromordinal(first), dt.date.fromordinal(last))
    return "year"


def note_rows_left_out(timeline: Timeline, left: Sequence[int] | np.ndarray) -> None:
    """Say in `timeline` that rows with `left` statements (one count per row, in any order) are counted apart."""
    timeline.rows_left_out = len(left)
    timeline.statements_left_out = int(np.sum(left))
    if len(left):
        timeline.notes.append(
            f"{len(left)} more speakers with {timeline.statements_left_out} statements between them are "
            f"left out (the {MAX_ROWS} with most statements are shown)."
        )


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, smallest first: one sort and a look at neighbours (`np.unique`
    takes several times as long on the arrays a timeline counts)."""
    ordered = np.sort(values)
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return ordered[first]


def top_rows(totals: np.ndarray, count: int) -> np.ndarray:
    """The `count` rows with the largest `totals` (none with 0), largest first, ties: the lower row first. Only the
    rows at or above the `count`-th largest total are put in order, not every row (thousands of speakers)."""
    counted = np.flatnonzero(totals)
    if len(counted) > count:
        at = len(counted) - count
        bar = np.partition(totals[counted], at)[at]
        counted = counted[totals[counted] >= bar]
    return counted[np.argsort(-totals[counted], kind="stable")][:count]


UNDATED = np.iinfo(np.int64).max  # the period code of a document with no date (after every period)


def period_codes(ordinals: np.ndarray, granularity: Granularity) -> np.ndarray:
    """The period of each date (proleptic ordinals; -1: no date) as an integer that sorts like the periods:
    years, months or days since 1970 (`period_label` writes it), UNDATED for no date."""
    unit: Any = {"day": "D", "month": "M", "year": "Y"}[granularity]
    dated = ordinals >= 0
    codes = np.full(len(ordinals), UNDATED, dtype=np.int64)
    days: Any = (ordinals[dated] - _EPOCH).astype("datetime64[D]")
    codes[dated] = days.astype(f"datetime64[{unit}]").astype(np.int64)
    return codes


@functools.lru_cache(maxsize=8192)
def period_label(code: int, granularity: Granularity) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD for a code of `period_codes`; "undated" for UNDATED."""
    if code == UNDATED:
        return "undated"
    unit: Any = {"day": "D", "month": "M", "year": "Y"}[granularity]
    return str(np.datetime64(code, unit))


class TimelineMaker:
    """Timelines over one index."""

    def __init__(
        self,
        index: SentenceIndex,
        backend: SearchBackend,
        mask_of: Callable[[Filters], np.ndarray | None],
    ):
        self.index = index
        self.backend = backend  # the range search, the sentences holding words and the vectors
        self.mask_of = mask_of  # the retriever's sentence mask of a set of filters (None: every sentence)
        self.quotes = QuoteMaker(index)
        self._doc_dates: np.ndarray | None = None
        self._doc_periods: dict[str, np.ndarray] = {}
        self._row_names: list[str] | None = None
        self._sentence_facts: np.ndarray | None = None
        manifest = index.manifest
        self.fingerprint = f"{manifest.corpus_fingerprint}:{manifest.sentences}:{manifest.created_at.isoformat()}"

    def doc_dates(self) -> np.ndarray:
        """Each document's date as a proleptic ordinal (-1: no date)."""
        if self._doc_dates is None:
            docs = self.index.cards
            self._doc_dates = np.array([d.date.toordinal() if d.date else -1 for d in docs], dtype=np.int64)
        return self._doc_dates

    def doc_periods(self, granularity: Granularity) -> np.ndarray:
        """Each document's period code at `granularity` (`period_codes`), made once per granularity."""
        if granularity not in self._doc_periods:
            self._doc_periods[granularity] = period_codes(self.doc_dates(), granularity)
        return self._doc_periods[granularity]

    # ------------------------------------------------------------------------------------ candidates

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of sentences `ids` (the backend reads them in one batch where it can)."""
        return self.backend.vectors(ids)

    def relevant(
        self,
        query_vector: np.ndarray,
        floor: float,
        rule: RelevanceRule,
        scope: Filters,
        topic: TopicWords | None,
        also: Iterable[int] = (),
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ids of the sentences within `scope` that `rule` lets the answer quote, the order of their merit — the
        similarity of those found similar enough; below all of them, the others (on the `topic`, a pass whatever
        their similarity) by their BM25 score for the topic's words: no need to read their vectors —, and their
        `sentence_facts`.
        `also`: sentences the answer found relevant (its retrieved ones), weighed too: an IVF or HNSW range search
        does not visit every cell, and a statement the answer quotes is never left out of its timeline."""
        mask = self.mask_of(scope)
        ids, similarities = self.backend.similar_to(query_vector, floor, scope)
        # which sentences are among `ids`: a flag per sentence of the index, not a sort of large id sets
        among = np.zeros(len(self.index.sentences), dtype=bool)
        among[ids] = True
        found = distinct(np.fromiter(also, dtype=np.int64))
        found = found[mask[found]] if mask is not None else found
        found = found[~among[found]]
        if len(found):
            among[found] = True
            ids = np.concatenate([ids, found])
            similarities = np.concatenate([similarities, self.vectors(found) @ query_vector])
            similarities = similarities.astype(np.float32)
        on_topic = np.zeros(len(ids), dtype=bool)
        merit = similarities.astype(np.float64)
        if topic is not None and topic.variants:
            topical, weight = self.topical(topic.variants, scope)
            holds = np.zeros(len(self.index.sentences), dtype=bool)
            holds[topical] = True
            on_topic = holds[ids]
            outside = ~among[topical]
            extra, weight = topical[outside], weight[outside]
            if len(extra):
                ids = np.concatenate([ids, extra])
                similarities = np.concatenate([similarities, np.full(len(extra), -np.inf, dtype=np.float32)])
                on_topic = np.concatenate([on_topic, np.ones(len(extra), dtype=bool)])
                merit = np.concatenate([merit, -3.0 + weight / (float(weight.max()) + 1.0)])  # in [-3, -2)
        # whether a sentence shares a word of the topic is looked up only where it decides: kept without it (most,
        # for a broad question) or not even with it need no lookup
        surely = np.array(rule(similarities, on_topic, np.zeros(len(ids), dtype=bool)), dtype=bool)  # (a copy)
        maybe = np.flatnonzero(rule(similarities, on_topic, np.ones(len(ids), dtype=bool)) & ~surely)
        surely[maybe[self.sharing(topic, ids[maybe])]] = True
        kept = np.flatnonzero(surely)
        facts = self.sentence_facts()[ids[kept]]
        quotable = (  # (an index built before it kept the verdict: checked now)
            (facts & _QUOTABLE) != 0 if self.index.sentences.quotable is not None else self.index.quotable(ids[kept])
        )
        kept, facts = kept[quotable], facts[quotable]  # (a fragment or a line of links is never quoted)
        return ids[kept], merit[kept], facts

    def topical(self, variants: list[frozenset[str]], scope: Filters) -> tuple[np.ndarray, np.ndarray]:
        """The sentences within `scope` holding every token of one of `variants`, each with its best BM25 score for
        the tokens of a variant it holds."""
        found = [self.backend.holding(sorted(variant), scope) for variant in variants if variant]
        if len(found) == 1:
            return found[0]
        ids = np.concatenate([np.empty(0, dtype=np.int64), *(part[0] for part in found)])
        weight = np.concatenate([np.empty(0, dtype=np.float32), *(part[1] for part in found)])
        order = np.argsort(-weight, kind="stable")
        ids, weight = ids[order], weight[order]
        _, first = np.unique(ids, return_index=True)  # each sentence once, at its best score
        return ids[first], weight[first]

    def sharing(self, topic: TopicWords | None, ids: np.ndarray) -> np.ndarray:
        """Whether each sentence of `ids` holds a token sharing a content word of `topic` (`TopicWords.shares`: the
        word, or one of its forms — a stem of at least 4 letters and its longer forms); all true without one. The
        tokens are looked up in the vocabulary (`shared_tokens`), then whether each sentence holds one."""
        if topic is None or not topic.content_words:
            return np.ones(len(ids), dtype=bool)
        return self.backend.holds_any(shared_tokens(topic, self.backend.tokens_starting), ids)

    @staticmethod
    def scope_of(filters: Filters, sides: list[str] | None) -> Filters:
        """Where a timeline's statements are searched: `filters`, within `sides` when rows are per side."""
        return filters.model_copy(update={"sides": list(sides)}) if sides else filters

    def search_first(
        self, query_vector: np.ndarray, floor: float, filters: Filters, sides: list[str] | None, per_speaker: bool
    ) -> None:
        """Run the range search of the timeline `make` will count (the same arguments; `per_speaker`: its rows are
        per speaker, not per side) before the answer's own searches: the vector index keeps it, and a search of the
        same question within it is read from it instead of scanning the index again (`DenseIndex.from_ranges`)."""
        self.backend.similar_to(query_vector, floor, self.scope_of(filters, None if per_speaker else sides))

    # ------------------------------------------------------------------------------------ counting

    def make(
        self,
        query_vector: np.ndarray,
        floor: float,
        rule: RelevanceRule,
        filters: Filters,
        sides: list[str] | None = None,
        topic: TopicWords | None = None,
        silent: dict[str, str] | None = None,
        also: Iterable[int] = (),
    ) -> Timeline:
        """The timeline of the statements within `filters` that `rule` lets the answer quote: one row per side of
        `sides` (in that order, a side with none kept, empty), else per speaker (or publisher). `silent`: sides
        left without statements, each with the note saying why (the answer's own reason). `also`: the sentences the
        answer found relevant among those it retrieved (see `relevant`)."""
        silent = silent or {}
        ids, merit, facts = self.relevant(query_vector, floor, rule, self.scope_of(filters, sides), topic, also)
        # (position in `ids`, row) pairs: a sentence belongs to each side whose filter it passes, or to its speaker
        if sides:
            best_first = np.argsort(-merit, kind="stable")  # a cell keeps its best sentences
            ids, facts = ids[best_first], facts[best_first]
            names, position, row_code = self.side_rows(ids, filters, sides, silent)
        else:  # (in the order found: only the statements of the rows shown are put in order, `speaker_cells`)
            names, position, row_code = self.row_names(), np.arange(len(ids)), facts >> _ROW_SHIFT
        doc_of, shared = facts & _DOCUMENT, (facts & _SHARED) != 0
        granularity = self.granularity_of_documents(doc_of[position] if sides else doc_of)
        periods = self.doc_periods(granularity)[doc_of]
        cluster_of = self.clusters_of(ids, shared)
        left: Sequence[int] | np.ndarray = []  # (rows per speaker: the statements of each row left out)
        if sides:
            cells = self.cells(position, row_code, periods, cluster_of, ids)
        else:
            cells, left = self.speaker_cells(ids, merit, row_code, periods, cluster_of, shared, len(names))
        rows, _ = self.dated_rows(cells, names, granularity, every_row=bool(sides))
        # made from plain values in one validation (thousands of cells at scale: one model each is slower)
        timeline = Timeline.model_validate(
            {
                "granularity": granularity,
                "rows_by": "side" if sides else "speaker",
                "index_fingerprint": self.fingerprint,
                "rows": rows,
                "undated": self.undated_cells(cells, names),
            }
        )
        note_rows_left_out(timeline, left)
        self.add_notes(timeline, filters, sides, silent)
        return timeline

    @staticmethod
    def undated_cells(cells: list[Cell], names: list[str]) -> dict:
        """The statements in documents with no date, per row (those with any): a `TimelineUndated`'s values."""
        rows = [
            {"side": names[row_number], "count": count, "sentence_ids": best}
            for row_number, code, count, best in cells
            if code == UNDATED and count
        ]
        return {"count": sum(row["count"] for row in rows), "rows": rows}

    @staticmethod
    def dated_rows(
        cells: list[Cell], names: list[str], granularity: Granularity, every_row: bool
    ) -> tuple[list[dict], list[int]]:
        """The rows of `names` with their dated cells (a `TimelineRow`'s values each), and the statements of each row
        left out: with `every_row` (sides asked), every row in order, a row with none empty; else the rows with
        statements, the MAX_ROWS with most first — the others are left out, their cells not made (at scale,
        thousands of speakers)."""
        per_row: dict[int, list[Cell]] = {number: [] for number in range(len(names))} if every_row else {}
        totals: dict[int, int] = {}
        for cell in cells:
            if cell[1] != UNDATED:
                per_row.setdefault(cell[0], []).append(cell)
                totals[cell[0]] = totals.get(cell[0], 0) + cell[2]
        shown = list(per_row)  # (in row order: cells come in row order)
        left: list[int] = []
        if not every_row:
            shown.sort(key=lambda number: -totals[number])
            shown, left = shown[:MAX_ROWS], [totals[number] for number in shown[MAX_ROWS:]]
        rows = []
        for number in shown:
            row_cells = [
                {
                    "period": period_label(code, granularity),
                    "count": count,
                    "sentence_ids": best,
                }
                for _, code, count, best in per_row[number]
            ]
            rows.append({"side": names[number], "count": totals.get(number, 0), "cells": row_cells})
        return rows, left

    def side_rows(
        self, ids: np.ndarray, filters: Filters, sides: list[str], silent: dict[str, str]
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """One row per side of `sides`: the names, and (position in `ids`, row) pairs — a sentence belongs to each
        side whose filter it passes; a side in `silent` gets none."""
        names = list(sides)
        at, row_of = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
        for number, side in enumerate(sides):
            if side in silent:
                continue
            side_mask = self.mask_of(filters.model_copy(update={"sides": [side]}))
            members = np.flatnonzero(side_mask[ids]) if side_mask is not None else np.arange(len(ids))
            at.append(members)
            row_of.append(np.full(len(members), number, dtype=np.int64))
        position, row_code = np.concatenate(at), np.concatenate(row_of)
        return names, position, row_code

    def speaker_cells(
        self,
        ids: np.ndarray,
        merit: np.ndarray,
        row: np.ndarray,
        periods: np.ndarray,
        clusters: np.ndarray,
        shared: np.ndarray,
        rows: int,
    ) -> tuple[list[Cell], np.ndarray]:
        """`cells` of speaker rows (one row each of `rows` per sentence of `ids`, not ordered; `merit` the order of
        their merit, greater: better; `shared`: whether each has near-duplicates): those of the MAX_ROWS rows with
        most dated statements and the undated ones, and the dated statements of each row left out (in row order). A
        topic asked alone counts tens of thousands of statements over thousands of speakers at scale: the rows are
        ranked first (`shown_speakers`, no ordering of the statements), then only the statements kept are put best
        first and made into cells."""
        kept, left = self.shown_speakers(row, periods, clusters, shared, rows)
        kept = kept[np.argsort(-merit[kept], kind="stable")]  # best first, ties in the order given (as `make`'s)
        rows_kept = row[kept].astype(np.int64)
        return self.cells(np.arange(len(kept)), rows_kept, periods[kept], clusters[kept], ids[kept]), left

    @staticmethod
    def shown_speakers(
        row: np.ndarray,
        periods: np.ndarray,
        clusters: np.ndarray,
        shared: np.ndarray,
        rows: int,
        max_rows: int = MAX_ROWS,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Of statements (their rows among `rows`, period codes and clusters; `shared`: whether their cluster has
        other sentences), which are those of the `max_rows` rows with most dated statements (ties: the lower row
        first; `top_rows`) or undated (positions, in order); and the dated statements of each row left out (in row
        order). A row's statements are counted as `cells` counts them, near-duplicates once per period, without
        sorting them all: a sentence alone in its cluster counts once; only those sharing one are sorted, to count
        each (row, period, cluster) once."""
        dated = periods != UNDATED
        totals = np.bincount(row[dated & ~shared], minlength=rows)
        repeated = np.flatnonzero(dated & shared)
        if len(repeated):  # each (row, period, cluster) once: one integer each where they fit, else three keys
            r, p, c = row[repeated].astype(np.int64), periods[repeated], clusters[repeated]
            low, span, size = int(p.min()), int(p.max() - p.min()) + 1, int(c.max()) + 1
            if rows * span * size < 2**62:
                triples = distinct((r * span + (p - low)) * size + c)
                totals += np.bincount(triples // (span * size), minlength=rows)
            else:
                totals += np.bincount(np.unique(np.stack([r, p, c]), axis=1)[0], minlength=rows)
        shown = np.zeros(rows, dtype=bool)
        shown[top_rows(totals, max_rows)] = True
        return np.flatnonzero(shown[row] | ~dated), totals[~shown & (totals > 0)]

    def granularity_of_documents(self, doc_numbers: np.ndarray) -> Granularity:
        """`granularity_of_counted` over the dates of the documents `doc_numbers` (one per statement, repeated):
        read from the documents present, one flag each, not from a date per statement."""
        present = np.zeros(len(self.doc_dates()), dtype=bool)
        present[doc_numbers] = True
        return granularity_of_counted(self.doc_dates()[present])

    def clusters_of(self, ids: np.ndarray, shared: np.ndarray) -> np.ndarray:
        """The cluster of each sentence of `ids` (`shared`: whether it has near-duplicates): a sentence without any is
        its own cluster (`shared_clusters`), so only the others are read from the index's clusters."""
        clusters = self.index.sentences.cluster
        found = ids.copy()
        if clusters is not None:
            others = np.flatnonzero(shared)
            found[others] = clusters[ids[others]]
        return found

    def add_notes(self, timeline: Timeline, filters: Filters, sides: list[str] | None, silent: dict[str, str]) -> None:
        """The notes under `timeline`: statements counted apart for lack of a date, documents no date filter
        counts, and why each side in `silent` has no statements."""
        undated = timeline.undated
        if undated.count:
            timeline.notes.append(
                f"{undated.count} relevant statement{'s are' if undated.count != 1 else ' is'} in documents with "
                "no date: counted apart, not placed in any period."
            )
        if (filters.since or filters.until) and (self.doc_dates() < 0).any():
            timeline.notes.append("Documents with no date are outside every date filter: none is counted.")
        timeline.notes.extend(silent[side] for side in sides or [] if side in silent)

    @staticmethod
    def cells(
        position: np.ndarray,
        row: np.ndarray,
        periods: np.ndarray,
        clusters: np.ndarray,
        ids: np.ndarray,
    ) -> list[Cell]:
        """(row, period code, statements, its best sentences' `ids`) per cell, in row and period order, for the
        sentences at `position` (smaller: better; increasing within each row) in `row`; near-duplicates (one
        cluster) count once per cell."""
        if not len(position):
            return []
        period_of, cluster = periods[position], clusters[position]
        # each (row, period, cluster) once, at its best sentence: one integer per triple, sorted once, stably (the
        # first of each triple is then its smallest position); a period as its distance from the first, undated last
        dated = period_of != UNDATED
        low, high = (int(period_of[dated].min()), int(period_of[dated].max())) if dated.any() else (0, 0)
        span, size = high - low + 2, int(cluster.max()) + 1
        if (int(row.max()) + 1) * span * size >= 2**62:  # (the integers would not fit: three keys)
            return TimelineMaker.cells_by_keys(position, row, periods, clusters, ids)
        cell = row * span + np.where(dated, period_of - low, span - 1)
        triple = cell * size + cluster
        order = np.argsort(triple, kind="stable")
        triple = triple[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = triple[1:] != triple[:-1]
        order = order[first]
        at = position[order]
        # by cell, best first in each: one integer per (cell, position), unique, where it fits (one sort, not three)
        places = int(at.max()) + 1
        if (int(cell.max()) + 1) * places < 2**62:
            by_cell = order[np.argsort(cell[order] * places + at)]
        else:
            by_cell = order[np.lexsort((at, cell[order]))]
        return TimelineMaker.split_cells(row[by_cell], period_of[by_cell], position[by_cell], ids)

    @staticmethod
    def cells_by_keys(
        position: np.ndarray,
        row: np.ndarray,
        periods: np.ndarray,
        clusters: np.ndarray,
        ids: np.ndarray,
    ) -> list[Cell]:
        """`cells`, sorting by row, period, cluster and position as four keys (slower; no bound on their values)."""
        period_of, cluster = periods[position], clusters[position]
        # each (row, period, cluster) once, at its best sentence
        order = np.lexsort((position, cluster, period_of, row))
        r, p, c, at = row[order], period_of[order], cluster[order], position[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (r[1:] != r[:-1]) | (p[1:] != p[:-1]) | (c[1:] != c[:-1])
        r, p, at = r[first], p[first], at[first]
        order = np.lexsort((at, p, r))  # by cell, best first in each
        return TimelineMaker.split_cells(r[order], p[order], at[order], ids)

    @staticmethod
    def split_cells(r: np.ndarray, p: np.ndarray, at: np.ndarray, ids: np.ndarray) -> list[Cell]:
        """The cells of sentences sorted by row, period and position (their rows `r`, periods `p`, positions `at`),
        each with the `ids` of its first CELL_SENTENCES: read from `ids` in one go, as lists."""
        starts = np.flatnonzero(np.concatenate([[True], (r[1:] != r[:-1]) | (p[1:] != p[:-1])]))
        counts = np.diff(np.append(starts, len(r)))
        rank = np.arange(len(r)) - np.repeat(starts, counts)  # place within its cell
        best = ids[at[rank < CELL_SENTENCES]].tolist()
        shown = np.minimum(counts, CELL_SENTENCES)
        ends = np.cumsum(shown).tolist()
        return [
            (row, period, count, best[end - kept : end])
            for row, period, count, kept, end in zip(
                r[starts].tolist(), p[starts].tolist(), counts.tolist(), shown.tolist(), ends
            )
        ]

    def row_names(self) -> list[str]:
        """The names of the rows when rows are per speaker: every speaker as quotes name them, then every publisher
        (a speaker named as a publisher too: one row). Made once per index."""
        if self._row_names is None:
            publishers = [d.publisher or UNATTRIBUTED for d in self.index.cards]
            speakers = self.index.labels.speaker_names
            self._row_names = list(dict.fromkeys([*speakers, *sorted(set(publishers))]))
        return self._row_names

    def sentence_facts(self) -> np.ndarray:
        """What a timeline reads of each sentence, in one integer per sentence of the index: its document's number
        (`& _DOCUMENT`), whether it has near-duplicates (`& _SHARED`, `shared_clusters`), whether the index keeps it
        quotable (`& _QUOTABLE`) and its row when rows are per speaker (`>> _ROW_SHIFT`: its speaker's row in
        `row_names`, else its document's publisher's). At scale each read of a large table at tens of thousands of
        scattered statements costs as much as a step of the counting: one read instead of four. Made once."""
        if self._sentence_facts is None:
            labels, table = self.index.labels, self.index.sentences
            number = {name: at for at, name in enumerate(self.row_names())}
            publisher_row = np.array([number[d.publisher or UNATTRIBUTED] for d in self.index.cards], dtype=np.int64)
            speaker_row = np.array([number[name] for name in labels.speaker_names], dtype=np.int64)
            documents = np.asarray(table.doc_index).astype(np.int64)
            rows = publisher_row[documents] if len(publisher_row) else np.zeros(0, dtype=np.int64)
            speaker = np.asarray(labels.speaker)
            spoken = np.flatnonzero(speaker >= 0)
            rows[spoken] = speaker_row[speaker[spoken]]
            shared = shared_clusters(table.cluster) if table.cluster is not None else np.zeros(len(table), dtype=bool)
            quotable = np.where(table.quotable, _QUOTABLE, 0) if table.quotable is not None else 0
            self._sentence_facts = (rows << _ROW_SHIFT) | np.where(shared, _SHARED, 0) | quotable | documents
        return self._sentence_facts

    # ------------------------------------------------------------------------------------ opening a mark

    def open(self, sentence_ids: list[int], query_vector: np.ndarray) -> list[Quote]:
        """The quotes of a cell's sentences (each itself, in its own period; its near-duplicates in `also_in`)."""
        table = self.index.sentences
        quotes = []
        for sentence_id in sentence_ids:
            if not 0 <= sentence_id < len(table):
                continue
            similarity = float(self.backend.similarities(np.array([sentence_id]), query_vector)[0])
            hit = Hit(
                sentence_id=sentence_id,
                doc_id=self.index.document_of(sentence_id).id,
                start=int(table.start[sentence_id]),
                end=int(table.end[sentence_id]),
                score=similarity,
            )
            others = [m for m in self.quotes.cluster_of(sentence_id) if m != sentence_id]
            quotes.append(self.quotes.quote(hit, sentence_id, similarity, others))
        return quotes
