"""Turning retrieved sentences into an `Answer`: quotes, per-side groups, abstention."""

from __future__ import annotations

import math
import time

import numpy as np

from .models import Answer, Filters, Hit, Quote, SearchSettings, SideGroup, Timings
from .question import QuestionReader
from .quotes import QuoteMaker
from .retriever import Retriever
from .store import SentenceIndex

# Quotes whose embedding cosine similarity to the question is below this are not cited; when none is
# left the assistant abstains. Calibrated for the default model on eval/seed.jsonl (see eval/results/).
DEFAULT_MIN_SIMILARITY = 0.33
# Minimum number of quotes asked of each side when a question asks about sides.
MIN_QUOTES_PER_SIDE = 2
# Per side, the quota of quotes is filled from the first SIDE_DEPTH x quota hits that are similar enough.
SIDE_DEPTH = 3


class AnswerBuilder:
    """Assembles an `Answer`: retrieval per side when the question asks about sides, one quote per near-duplicate
    cluster among the hits similar enough to the question, and abstention when none is."""

    def __init__(self, index: SentenceIndex, retriever: Retriever):
        self.index = index
        self.retriever = retriever
        self.questions = QuestionReader(index)
        self.quotes = QuoteMaker(index)

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
            members = self.quotes.cluster_of(hit.sentence_id)
            chosen = self.quotes.primary(members, allowed)
            similarity = float(self.index.dense.vectors(np.array([chosen]))[0] @ query_vector)
            if chosen != hit.sentence_id:
                similarity = max(
                    similarity, float(self.index.dense.vectors(np.array([hit.sentence_id]))[0] @ query_vector)
                )
            best = max(best, similarity)
            if similarity < min_similarity or chosen in shown or (limit is not None and len(quotes) >= limit):
                continue
            shown.add(chosen)
            quotes.append(self.quotes.quote(hit, chosen, similarity, [m for m in members if m != chosen]))
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
        target_sides, topic = self.questions.sides_and_topic(question, filters)
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
