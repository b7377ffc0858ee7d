"""Turning retrieved sentences into an `Answer`: quotes, per-side groups, abstention."""

from __future__ import annotations

import datetime as dt
import math
import re
import time

import numpy as np

from .attribution import DOCUMENT_VOICE
from .models import Answer, Document, Filters, Hit, OtherSource, Quote, SearchSettings, SideGroup, Timings
from .retriever import Retriever
from .store import SentenceIndex

# Quotes whose embedding cosine similarity to the question is below this are not cited; when none is
# left the assistant abstains. Calibrated for the default model on eval/seed.jsonl (see eval/results/).
DEFAULT_MIN_SIMILARITY = 0.33
# Minimum number of quotes asked of each side when a question asks about sides.
MIN_QUOTES_PER_SIDE = 2
# Per side, the quota of quotes is filled from the first SIDE_DEPTH x quota hits that are similar enough.
SIDE_DEPTH = 3

_EACH_SIDE = re.compile(
    r"\b(each|both|all|either|every|the two|different|opposing|two)\s+(side|sides|party|parties|camp|camps)\b",
    re.IGNORECASE,
)


def sides_asked(question: str, index: SentenceIndex, present_sides: list[str]) -> list[str] | None:
    """The sides a question asks to hear from, or None when it does not ask about sides.

    "each side" / "both sides" / "both parties" ask for every party side in the index; naming two or
    more sides by an alias of `sides.json` ("What did Armenia and Baku say ...") asks for those.
    """
    config = index.sides.sides
    present = {s.lower(): s for s in present_sides}
    named = [name for name in index.sides.sides_mentioned(question) if name.lower() in present]
    if len(named) >= 2:
        return [present[n.lower()] for n in named]
    if _EACH_SIDE.search(question):
        parties = [present[n.lower()] for n, info in config.items() if info.party and n.lower() in present]
        if not parties:  # no side configuration: every side that is not marked neutral
            parties = [s for s in present_sides if s.lower() not in {"neutral", "press", "unknown"}]
        return parties or None
    return None


# "What did each side say about X?", "What have Armenia and Azerbaijan stated on X?": who is asked, and the topic X.
_ASKED_ABOUT = re.compile(
    r"^\s*(?:(?:what|how)\s+(?:did|do|does|have|has|had|will|would)\s+)?(?P<who>.+?)\s+"
    r"(?:say|says|said|state|states|stated|claim|claims|claimed|declare|declares|declared|report|reports|reported|"
    r"write|writes|wrote|announce|announces|announced|think|thinks|thought|tell|tells|told)\s+"
    r"(?:about|on|of|over|regarding|concerning)\s+(?P<topic>.+?)[\s?!.]*$",
    re.IGNORECASE,
)


def question_topic(question: str, index: SentenceIndex) -> str | None:
    """The topic of a question that asks what the sides said about it, or None.

    "What did each side say about the Lachin corridor?" -> "the Lachin corridor". Only when the asker is the
    sides themselves ("each side", "both parties", two or more sides named by an alias of `sides.json`): the
    frame says nothing about relevance, and comparing quotes with the whole question would score the frame.
    """
    match = _ASKED_ABOUT.match(question)
    if not match:
        return None
    who, topic = match.group("who"), match.group("topic").strip()
    if not _EACH_SIDE.search(who) and len(index.sides.sides_mentioned(who)) < 2:
        return None
    return topic if re.search(r"\w", topic) else None


def _date_key(doc: Document) -> tuple:
    return (doc.date is None, doc.date or dt.date.min)


class AnswerBuilder:
    def __init__(self, index: SentenceIndex, retriever: Retriever):
        self.index = index
        self.retriever = retriever
        self.sentence_count = len(index.sentences)
        groups: dict[int, list[int]] = {}
        if index.sentences.cluster is not None:
            for sentence_id, cluster in enumerate(index.sentences.cluster.tolist()):
                groups.setdefault(cluster, []).append(sentence_id)
        self.cluster_members = {c: members for c, members in groups.items() if len(members) > 1}
        self.sides_present = sorted({a.side for a in index.attributions if a.side})

    def reading(self, question: str, filters: Filters | None = None) -> tuple[list[str] | None, str | None]:
        """The sides a question asks to hear from (None: not a question about sides) and, for a question about
        what the sides said, its topic: what is searched and what quotes are compared with."""
        present = list(self.sides_present)
        if filters is not None and filters.sides:
            wanted = {s.lower() for s in filters.sides}
            present = [s for s in present if s.lower() in wanted]
        target_sides = sides_asked(question, self.index, present)
        return target_sides, question_topic(question, self.index) if target_sides else None

    def doc_of(self, sentence_id: int) -> Document:
        return self.index.documents[int(self.index.sentences.doc_index[sentence_id])]

    def cluster_of(self, sentence_id: int) -> list[int]:
        cluster = self.index.sentences.cluster
        if cluster is None:
            return [sentence_id]
        return self.cluster_members.get(int(cluster[sentence_id]), [sentence_id])

    def primary(self, members: list[int], allowed: np.ndarray | None) -> int:
        """The cluster member to quote: earliest published, then the speaker's own publication, then corpus order."""
        candidates = [m for m in members if allowed is None or allowed[m]] or members

        def key(m: int) -> tuple:
            attribution = self.index.attributions[m]
            own = attribution.source in DOCUMENT_VOICE
            return (*_date_key(self.doc_of(m)), not own, m)

        return min(candidates, key=key)

    def other_source(self, sentence_id: int) -> OtherSource:
        doc = self.doc_of(sentence_id)
        start, end = int(self.index.sentences.start[sentence_id]), int(self.index.sentences.end[sentence_id])
        return OtherSource(
            doc_id=doc.id,
            title=doc.title,
            publisher=doc.publisher,
            date=doc.date,
            speaker=self.index.attributions[sentence_id].speaker,
            text=doc.text[start:end],
            start=start,
            end=end,
            link=self._link(doc, start, end),
        )

    @staticmethod
    def _link(doc: Document, start: int, end: int) -> str:
        source = doc.source_offsets(start, end)
        where = doc.url or doc.path
        return f"{where}#char={source[0]},{source[1]}" if source else f"{doc.path}#char={start},{end}"

    def quote(self, hit: Hit, sentence_id: int, similarity: float, others: list[int]) -> Quote:
        table = self.index.sentences
        doc = self.doc_of(sentence_id)
        start, end = int(table.start[sentence_id]), int(table.end[sentence_id])
        before = after = None
        if sentence_id > 0 and table.doc_index[sentence_id - 1] == table.doc_index[sentence_id]:
            before = self.index.sentence_text(sentence_id - 1)
        if sentence_id + 1 < self.sentence_count and table.doc_index[sentence_id + 1] == table.doc_index[sentence_id]:
            after = self.index.sentence_text(sentence_id + 1)
        attribution = self.index.attributions[sentence_id]
        source = doc.source_offsets(start, end)
        return Quote(
            text=doc.text[start:end],
            doc_id=doc.id,
            start=start,
            end=end,
            title=doc.title,
            publisher=doc.publisher,
            side=doc.side,
            date=doc.date,
            url=doc.url,
            path=doc.path,
            link=self._link(doc, start, end),
            source_start=source[0] if source else None,
            source_end=source[1] if source else None,
            speaker=attribution.speaker,
            speaker_side=attribution.side,
            speaker_source=attribution.source,
            cue=doc.text[attribution.cue_start : attribution.cue_end] if attribution.cue_start is not None else None,
            cue_start=attribution.cue_start,
            cue_end=attribution.cue_end,
            attribution_confidence=attribution.confidence,
            also_in=[self.other_source(m) for m in others],
            score=hit.score,
            bm25_score=hit.bm25_score,
            bm25_rank=hit.bm25_rank,
            dense_score=hit.dense_score,
            dense_rank=hit.dense_rank,
            similarity=similarity,
            context_before=before,
            context_after=after,
        )

    def relevant_quotes(
        self,
        hits: list[Hit],
        query_vector: np.ndarray,
        min_similarity: float,
        allowed: np.ndarray | None,
        shown: set[int],
        limit: int | None = None,
    ) -> tuple[list[Quote], float]:
        """One quote per near-duplicate cluster among the hits similar enough to the question, in rank order and at
        most `limit`; and the best similarity among all the hits."""
        if not hits:
            return [], -1.0
        quotes: list[Quote] = []
        best = -1.0
        for hit in hits:
            members = self.cluster_of(hit.sentence_id)
            chosen = self.primary(members, allowed)
            similarity = float(self.index.dense.vectors(np.array([chosen]))[0] @ query_vector)
            if chosen != hit.sentence_id:
                similarity = max(
                    similarity, float(self.index.dense.vectors(np.array([hit.sentence_id]))[0] @ query_vector)
                )
            best = max(best, similarity)
            if similarity < min_similarity or chosen in shown or (limit is not None and len(quotes) >= limit):
                continue
            shown.add(chosen)
            quotes.append(self.quote(hit, chosen, similarity, [m for m in members if m != chosen]))
        return quotes, best

    def answer(
        self,
        question: str,
        k: int,
        settings: SearchSettings,
        filters: Filters,
        min_similarity: float,
        timings: Timings,
    ) -> Answer:
        target_sides, topic = self.reading(question, filters)
        query = topic or question
        shown: set[int] = set()
        started = time.perf_counter()
        query_vector = self.retriever.encode_query(query)
        timings.encode_ms += (time.perf_counter() - started) * 1000
        answer = Answer(
            question=question,
            topic=topic,
            settings=settings,
            filters=filters,
            min_similarity=min_similarity,
            timings=timings,
        )
        best = -1.0
        if target_sides:
            answer.grouped_by_side = True
            quota = max(MIN_QUOTES_PER_SIDE, math.ceil(k / len(target_sides)))
            for side in target_sides:
                side_filters = filters.model_copy(update={"sides": [side]})
                # A side has few statements in the top ranks: look further down for its quota of relevant ones.
                hits = self.retriever.search(query, quota * SIDE_DEPTH, settings, side_filters, query_vector, timings)
                allowed = self.retriever.mask(side_filters)
                quotes, side_best = self.relevant_quotes(
                    hits, query_vector, min_similarity, allowed, shown, limit=quota
                )
                best = max(best, side_best)
                note = None if quotes else f"No relevant statement from {side} was found in the indexed documents."
                answer.groups.append(SideGroup(side=side, quotes=quotes, note=note))
                answer.quotes.extend(quotes)
        else:
            hits = self.retriever.search(question, k, settings, filters, query_vector, timings)
            answer.quotes, best = self.relevant_quotes(
                hits, query_vector, min_similarity, self.retriever.mask(filters), shown
            )
        answer.best_similarity = best if best > -1.0 else None
        if not answer.quotes:
            answer.abstained = True
            answer.abstain_reason = (
                "No passage in the indexed documents is relevant enough to quote "
                f"(best similarity {best:.2f}, threshold {min_similarity:.2f})."
                if best > -1.0
                else "No passage in the indexed documents matches the question and filters."
            )
        return answer
