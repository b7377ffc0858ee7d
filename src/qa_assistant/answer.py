"""Turning retrieved sentences into an `Answer`: quotes, per-side groups, abstention."""

from __future__ import annotations

import math
import re
import time

import numpy as np

from .models import Answer, Filters, Hit, Quote, SearchSettings, SideGroup, Timings
from .retriever import Retriever
from .store import SentenceIndex

# Quotes whose embedding cosine similarity to the question is below this are not cited; when none is
# left the assistant abstains. Calibrated for the default model on eval/seed.jsonl (see eval/results/).
DEFAULT_MIN_SIMILARITY = 0.30
# Minimum number of quotes asked of each side when a question asks about sides.
MIN_QUOTES_PER_SIDE = 2

_EACH_SIDE = re.compile(
    r"\b(each|both|all|either|every|the two|different|opposing|two)\s+(side|sides|party|parties|camp|camps)\b",
    re.IGNORECASE,
)


def _mentions(question: str, alias: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(alias.lower())}(?!\w)", question.lower()) is not None


def sides_asked(question: str, index: SentenceIndex, present_sides: list[str]) -> list[str] | None:
    """The sides a question asks to hear from, or None when it does not ask about sides.

    "each side" / "both sides" / "both parties" ask for every party side in the index; naming two or
    more sides by an alias of `sides.json` ("What did Armenia and Baku say ...") asks for those.
    """
    config = index.sides.sides
    present = {s.lower(): s for s in present_sides}
    named = [
        name
        for name, info in config.items()
        if name.lower() in present and any(_mentions(question, a) for a in [name, *info.aliases])
    ]
    if len(named) >= 2:
        return [present[n.lower()] for n in named]
    if _EACH_SIDE.search(question):
        parties = [present[n.lower()] for n, info in config.items() if info.party and n.lower() in present]
        if not parties:  # no side configuration: every side that is not marked neutral
            parties = [s for s in present_sides if s.lower() not in {"neutral", "press", "unknown"}]
        return parties or None
    return None


class AnswerBuilder:
    def __init__(self, index: SentenceIndex, retriever: Retriever):
        self.index = index
        self.retriever = retriever
        self.sentence_count = len(index.sentences)

    def quote(self, hit: Hit, similarity: float) -> Quote:
        table = self.index.sentences
        doc = self.index.documents[int(table.doc_index[hit.sentence_id])]
        before = after = None
        i = hit.sentence_id
        if i > 0 and table.doc_index[i - 1] == table.doc_index[i]:
            before = self.index.sentence_text(i - 1)
        if i + 1 < self.sentence_count and table.doc_index[i + 1] == table.doc_index[i]:
            after = self.index.sentence_text(i + 1)
        return Quote(
            text=doc.text[hit.start : hit.end],
            doc_id=doc.id,
            start=hit.start,
            end=hit.end,
            title=doc.title,
            publisher=doc.publisher,
            side=doc.side,
            date=doc.date,
            url=doc.url,
            path=doc.path,
            link=f"{doc.url or doc.path}#char={hit.start},{hit.end}",
            speaker=None,
            score=hit.score,
            bm25_score=hit.bm25_score,
            bm25_rank=hit.bm25_rank,
            dense_score=hit.dense_score,
            dense_rank=hit.dense_rank,
            similarity=similarity,
            context_before=before,
            context_after=after,
        )

    def relevant_quotes(self, hits: list[Hit], query_vector: np.ndarray, min_similarity: float) -> tuple[list[Quote], float]:
        """Quotes of the hits similar enough to the question, and the best similarity seen."""
        if not hits:
            return [], -1.0
        vectors = self.index.dense.vectors(np.array([h.sentence_id for h in hits]))
        similarities = (vectors @ query_vector).tolist()
        quotes = [self.quote(h, s) for h, s in zip(hits, similarities) if s >= min_similarity]
        return quotes, max(similarities)

    def answer(
        self,
        question: str,
        k: int,
        settings: SearchSettings,
        filters: Filters,
        min_similarity: float,
        timings: Timings,
    ) -> Answer:
        started = time.perf_counter()
        query_vector = self.retriever.encode_query(question)
        timings.encode_ms += (time.perf_counter() - started) * 1000
        present = sorted({d.side for d in self.index.documents if d.side})
        if filters.sides:
            wanted = {s.lower() for s in filters.sides}
            present = [s for s in present if s.lower() in wanted]
        target_sides = sides_asked(question, self.index, present)
        answer = Answer(question=question, settings=settings, filters=filters, min_similarity=min_similarity, timings=timings)
        best = -1.0
        if target_sides:
            answer.grouped_by_side = True
            quota = max(MIN_QUOTES_PER_SIDE, math.ceil(k / len(target_sides)))
            for side in target_sides:
                side_filters = filters.model_copy(update={"sides": [side]})
                hits = self.retriever.search(question, quota, settings, side_filters, query_vector, timings)
                quotes, side_best = self.relevant_quotes(hits, query_vector, min_similarity)
                best = max(best, side_best)
                note = None if quotes else f"No relevant statement from {side} was found in the indexed documents."
                answer.groups.append(SideGroup(side=side, quotes=quotes, note=note))
                answer.quotes.extend(quotes)
        else:
            hits = self.retriever.search(question, k, settings, filters, query_vector, timings)
            answer.quotes, best = self.relevant_quotes(hits, query_vector, min_similarity)
        if not answer.quotes:
            answer.abstained = True
            answer.abstain_reason = (
                "No passage in the indexed documents is relevant enough to quote "
                f"(best similarity {best:.2f}, threshold {min_similarity:.2f})."
                if best > -1.0
                else "No passage in the indexed documents matches the question and filters."
            )
        return answer
