"""How the relevant statements of an answer spread over time: `Timeline`, counted per side (or speaker) per period.

The statements counted are those the answer may quote — the answer builder's relevance rule, given as a function
— found among every sentence within the filters, not only among the retrieved ones: each sentence whose embedding
is at least the quote floor similar to the question (a range search of the vector index: exact for a flat index,
within the searched cells of an IVF or HNSW one, as every search of it) and, for a topic, each sentence holding
every word of the topic (the BM25 postings of its words). A fragment that cannot be quoted is not counted;
near-duplicates (one cluster) count once per row and period, and a sentence repeated in another period counts there
too: it was said again. Documents with no date are counted apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import faiss
import numpy as np

from qa_assistant.answer.quotes import QuoteMaker
from qa_assistant.index.store import SentenceIndex
from qa_assistant.models import (
    Filters,
    Granularity,
    Hit,
    Quote,
    Timeline,
    TimelineCell,
    TimelineRow,
    TimelineUndated,
    UndatedCell,
)
from qa_assistant.text.segment import is_quotable

# (similarities, holds every topic word) -> which sentences may be quoted: the answer builder's rule.
RelevanceRule = Callable[[np.ndarray, np.ndarray], np.ndarray]

CELL_SENTENCES = 5  # ids of a cell's most similar sentences kept, so a mark opens as quotes
MAX_ROWS = 20  # rows by speaker (no sides asked): the ones with most statements; the rest are counted apart
DAY_SPAN = 62  # statements within this many days: one period per day
MONTH_SPAN = 36  # within this many calendar months: one per month; longer: one per year
UNATTRIBUTED = "(no speaker or publisher)"
_EPOCH = dt.date(1970, 1, 1).toordinal()


def granularity_of(first: dt.date, last: dt.date) -> Granularity:
    """Days for a span up to DAY_SPAN days, months up to MONTH_SPAN calendar months, else years."""
    if (last - first).days <= DAY_SPAN:
        return "day"
    if (last.year - first.year) * 12 + last.month - first.month < MONTH_SPAN:
        return "month"
    return "year"


def period_labels(ordinals: np.ndarray, granularity: Granularity) -> np.ndarray:
    """YYYY, YYYY-MM or YYYY-MM-DD of each date (proleptic ordinals)."""
    unit: Any = {"day": "D", "month": "M", "year": "Y"}[granularity]
    days: Any = (ordinals - _EPOCH).astype("datetime64[D]")
    return np.asarray(np.datetime_as_string(days.astype(f"datetime64[{unit}]"), unit=unit))


class TimelineMaker:
    """Timelines over one index."""

    def __init__(self, index: SentenceIndex, mask_of: Callable[[Filters], np.ndarray | None]):
        self.index = index
        self.mask_of = mask_of  # the retriever's sentence mask of a set of filters (None: every sentence)
        self.quotes = QuoteMaker(index)
        self._doc_dates: np.ndarray | None = None
        self._quotable = np.full(len(index.sentences), -1, dtype=np.int8)  # -1: not checked yet
        manifest = index.manifest
        self.fingerprint = f"{manifest.corpus_fingerprint}:{manifest.sentences}:{manifest.created_at.isoformat()}"

    def doc_dates(self) -> np.ndarray:
        """Each document's date as a proleptic ordinal (-1: no date)."""
        if self._doc_dates is None:
            docs = self.index.documents
            self._doc_dates = np.array([d.date.toordinal() if d.date else -1 for d in docs], dtype=np.int64)
        return self._doc_dates

    # ------------------------------------------------------------------------------------ candidates

    def similar(self, query_vector: np.ndarray, floor: float, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Ids and similarities of the sentences (within `mask`) at least `floor` similar to the query."""
        index: Any = self.index.dense.index
        params: Any
        if isinstance(index, faiss.IndexIVF):
            params = faiss.SearchParametersIVF()
            params.nprobe = index.nprobe
        elif isinstance(index, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = index.hnsw.efSearch
        else:
            params = faiss.SearchParameters()
        bitmap = None
        if mask is not None:
            if not mask.any():
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            bitmap = np.packbits(mask.astype(np.uint8), bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        query = np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32)
        # a range search keeps scores above the radius: just below the floor, so the rule itself decides
        _limits, scores, ids = index.range_search(
            query, float(np.nextafter(np.float32(floor), np.float32(-1))), params=params
        )
        del bitmap
        return ids.astype(np.int64), scores.astype(np.float32)

    def holding(self, words: set[str], mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the sentences (within `mask`) holding every one of `words` (BM25 tokens), and their BM25 score
        for those words."""
        model = self.index.bm25.model
        vocab, scores = model.vocab_dict, model.scores
        found: np.ndarray | None = None
        weight = np.empty(0, dtype=np.float32)
        for word in sorted(words):
            at = vocab.get(word)
            if at is None:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            lo, hi = int(scores["indptr"][at]), int(scores["indptr"][at + 1])
            units = np.asarray(scores["indices"][lo:hi], dtype=np.int64)
            weights = np.asarray(scores["data"][lo:hi], dtype=np.float32)
            if found is None:
                found, weight = units, weights
                continue
            found, mine, theirs = np.intersect1d(found, units, assume_unique=True, return_indices=True)
            weight = weight[mine] + weights[theirs]
        if found is None:
            return np.empty(0, dtype=np.int64), weight
        if mask is not None:
            inside = mask[found]
            found, weight = found[inside], weight[inside]
        return found, weight

    def quotable(self, ids: np.ndarray) -> np.ndarray:
        """Whether each sentence may be quoted at all (`is_quotable`), remembered per sentence."""
        known = self._quotable[ids]
        for at in np.flatnonzero(known < 0).tolist():
            sentence_id = int(ids[at])
            known[at] = self._quotable[sentence_id] = is_quotable(self.index.sentence_text(sentence_id))
        return known.astype(bool)

    def relevant(
        self,
        query_vector: np.ndarray,
        floor: float,
        rule: RelevanceRule,
        mask: np.ndarray | None,
        topic_words: set[str] | None,
        also: Iterable[int] = (),
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the sentences within `mask` that `rule` lets the answer quote, and the order of their merit: the
        similarity of those found similar enough; below all of them, the others (holding every topic word, a pass
        whatever their similarity) by their BM25 score for the topic's words — no need to read their vectors.
        `also`: sentences the answer found relevant (its retrieved ones), weighed too: an IVF or HNSW range search
        does not visit every cell, and a statement the answer quotes is never left out of its timeline."""
        ids, similarities = self.similar(query_vector, floor, mask)
        found = np.fromiter(also, dtype=np.int64)
        found = np.setdiff1d(found[mask[found]] if mask is not None else found, ids)
        if len(found):
            ids = np.concatenate([ids, found])
            similarities = np.concatenate([similarities, self.index.dense.vectors(found) @ query_vector])
            similarities = similarities.astype(np.float32)
        on_topic = np.zeros(len(ids), dtype=bool)
        merit = similarities.astype(np.float64)
        if topic_words:
            topical, weight = self.holding(topic_words, mask)
            on_topic = np.isin(ids, topical)
            outside = ~np.isin(topical, ids)
            extra, weight = topical[outside], weight[outside]
            if len(extra):
                ids = np.concatenate([ids, extra])
                similarities = np.concatenate([similarities, np.full(len(extra), -np.inf, dtype=np.float32)])
                on_topic = np.concatenate([on_topic, np.ones(len(extra), dtype=bool)])
                merit = np.concatenate([merit, -3.0 + weight / (float(weight.max()) + 1.0)])  # in [-3, -2)
        keep = rule(similarities, on_topic)
        keep &= self.quotable(ids)  # (a fragment is never quoted)
        return ids[keep], merit[keep]

    # ------------------------------------------------------------------------------------ counting

    def make(
        self,
        query_vector: np.ndarray,
        floor: float,
        rule: RelevanceRule,
        filters: Filters,
        sides: list[str] | None = None,
        topic_words: set[str] | None = None,
        silent: dict[str, str] | None = None,
        also: Iterable[int] = (),
    ) -> Timeline:
        """The timeline of the statements within `filters` that `rule` lets the answer quote: one row per side of
        `sides` (in that order, a side with none kept, empty), else per speaker (or publisher). `silent`: sides
        left without statements, each with the note saying why (the answer's own reason). `also`: the sentences the
        answer found relevant among those it retrieved (see `relevant`)."""
        silent = silent or {}
        scope = filters.model_copy(update={"sides": list(sides)}) if sides else filters
        ids, merit = self.relevant(query_vector, floor, rule, self.mask_of(scope), topic_words, also)
        ids = ids[np.argsort(-merit, kind="stable")]  # best first: a cell keeps its best sentences
        rows_of: list[tuple[str, np.ndarray]] = []  # (row name, which of `ids` are in it)
        if sides:
            for side in sides:
                if side in silent:
                    rows_of.append((side, np.zeros(len(ids), dtype=bool)))
                    continue
                side_mask = self.mask_of(filters.model_copy(update={"sides": [side]}))
                rows_of.append((side, side_mask[ids] if side_mask is not None else np.ones(len(ids), dtype=bool)))
        else:
            names = self.speakers(ids)
            for name in dict.fromkeys(names.tolist()):
                rows_of.append((name, names == name))
        dates = self.doc_dates()[self.index.sentences.doc_index[ids]]
        dated = dates >= 0
        counted = np.zeros(len(ids), dtype=bool)
        for _, members in rows_of:
            counted |= members
        if (dated & counted).any():
            first, last = dates[dated & counted].min(), dates[dated & counted].max()
            granularity = granularity_of(dt.date.fromordinal(int(first)), dt.date.fromordinal(int(last)))
        else:
            granularity = "year"
        periods = np.full(len(ids), "undated", dtype=object)
        if dated.any():
            periods[dated] = period_labels(dates[dated], granularity)
        clusters = self.index.sentences.cluster
        cluster_of = clusters[ids] if clusters is not None else ids
        timeline = Timeline(
            granularity=granularity, rows_by="side" if sides else "speaker", index_fingerprint=self.fingerprint
        )
        undated = TimelineUndated()
        for name, members in rows_of:
            cells = self.cells(ids[members], periods[members], cluster_of[members])
            row = TimelineRow(side=name)
            for period, count, best in cells:
                if period == "undated":
                    undated.rows.append(UndatedCell(side=name, count=count, sentence_ids=best))
                    undated.count += count
                else:
                    row.cells.append(TimelineCell(period=period, count=count, sentence_ids=best))
                    row.count += count
            row.cells.sort(key=lambda cell: cell.period)
            if row.cells or sides:
                timeline.rows.append(row)
        if not sides:  # the rows with most statements; the rest counted apart
            timeline.rows.sort(key=lambda row: -row.count)
            left = timeline.rows[MAX_ROWS:]
            timeline.rows = timeline.rows[:MAX_ROWS]
            timeline.rows_left_out = len(left)
            timeline.statements_left_out = sum(row.count for row in left)
            if left:
                timeline.notes.append(
                    f"{len(left)} more speakers with {timeline.statements_left_out} statements between them are "
                    f"left out (the {MAX_ROWS} with most statements are shown)."
                )
        timeline.undated = undated
        if undated.count:
            timeline.notes.append(
                f"{undated.count} relevant statement{'s are' if undated.count != 1 else ' is'} in documents with "
                "no date: counted apart, not placed in any period."
            )
        if (filters.since or filters.until) and (self.doc_dates() < 0).any():
            timeline.notes.append("Documents with no date are outside every date filter: none is counted.")
        timeline.notes.extend(silent[side] for side in sides or [] if side in silent)
        return timeline

    @staticmethod
    def cells(ids: np.ndarray, periods: np.ndarray, clusters: np.ndarray) -> list[tuple[str, int, list[int]]]:
        """(period, statements, best sentence ids) per period of one row; `ids` come best first, and
        near-duplicates (one cluster) count once per period."""
        if not len(ids):
            return []
        names, period_codes = np.unique(periods.astype(str), return_inverse=True)
        keys = period_codes.astype(np.int64) * (int(clusters.max()) + 1) + clusters
        _, first = np.unique(keys, return_index=True)  # each (period, cluster) at its best sentence
        first.sort()  # best first
        statements = np.bincount(period_codes[first], minlength=len(names))
        by_period = first[np.argsort(period_codes[first], kind="stable")]  # grouped by period, best first in each
        starts = np.concatenate([[0], np.cumsum(statements)[:-1]])
        result = []
        for code, name in enumerate(names.tolist()):
            if statements[code]:
                best = ids[by_period[starts[code] : starts[code] + min(CELL_SENTENCES, int(statements[code]))]]
                result.append((name, int(statements[code]), best.tolist()))
        return result

    def speakers(self, ids: np.ndarray) -> np.ndarray:
        """The speaker of each sentence as quotes name it, else its document's publisher."""
        labels = self.index.labels
        codes = labels.speaker[ids]
        named = np.array([*labels.speaker_names, ""], dtype=object)[codes]  # code -1: the appended ""
        publishers = np.array([d.publisher or UNATTRIBUTED for d in self.index.documents], dtype=object)
        return np.where(codes >= 0, named, publishers[self.index.sentences.doc_index[ids]])

    # ------------------------------------------------------------------------------------ opening a mark

    def open(self, sentence_ids: list[int], query_vector: np.ndarray) -> list[Quote]:
        """The quotes of a cell's sentences (each itself, in its own period; its near-duplicates in `also_in`)."""
        table = self.index.sentences
        quotes = []
        for sentence_id in sentence_ids:
            if not 0 <= sentence_id < len(table):
                continue
            similarity = float(self.index.dense.vectors(np.array([sentence_id]))[0] @ query_vector)
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
