"""Turning retrieved sentences into an `Answer`: quotes, per-side groups, abstention."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from qa_assistant.answer.question import QuestionReader
from qa_assistant.answer.quotes import QuoteMaker
from qa_assistant.answer.retriever import Retriever
from qa_assistant.answer.timeline import TimelineMaker
from qa_assistant.index.store import SentenceIndex
from qa_assistant.models import Answer, Filters, Hit, Quote, SearchSettings, SideGroup, Timings, Understood
from qa_assistant.text.segment import is_quotable
from qa_assistant.text.tokens import tokenize

# When no retrieved sentence has an embedding cosine similarity to the question of at least this, the assistant
# abstains. Calibrated for the default model on eval/seed.jsonl (see eval/results/).
DEFAULT_MIN_SIMILARITY = 0.33
# Once a question is answered (some sentence reaches min_similarity), its further quotes may sit this much lower:
# a relevant statement is often a paraphrase at 0.25-0.33 ("the armed forces of Armenia are not deployed" for
# "Are Yerevan's soldiers still stationed…"), while the abstention decision keeps the calibrated threshold.
QUOTE_MARGIN = 0.08
# Without sides, quotes are taken from the first ANSWER_DEPTH x k hits (k at most): near-duplicates, fragments
# and sentences below the floor leave places that the next hits fill.
ANSWER_DEPTH = 2


def quote_floor(min_similarity: float) -> float:
    """The lowest similarity a quote of an answered question may have."""
    return min_similarity - QUOTE_MARGIN


def may_quote(similarity: Any, on_topic: Any, min_similarity: float, answered: bool = True) -> Any:
    """The relevance rule, for one sentence (floats) or many (arrays): a quotable sentence may be quoted when it is
    similar enough to the question (`quote_floor`) or holds every word of the asked topic; once no sentence reaches
    `min_similarity` (the question is not `answered`), only the latter."""
    similar_enough = (similarity >= quote_floor(min_similarity)) if answered else False
    return similar_enough | on_topic


# Minimum number of quotes asked of each side when a question asks about sides.
MIN_QUOTES_PER_SIDE = 2
# Per side, quotes are taken from the first SIDE_DEPTH x k hits that are similar enough: first each side's quota,
# then the places left up to k, side by side in turn.
SIDE_DEPTH = 3


def topic_words_of(topic: str | None, query: str) -> set[str] | None:
    """The BM25 tokens a sentence must all hold to be on the asked topic (None: no topic, or no words: no rule)."""
    return (set(tokenize(query, query=True)) or None) if topic else None


class AnswerBuilder:
    """Assembles an `Answer`: retrieval per side when the question asks about sides, one quote per near-duplicate
    cluster among the hits similar enough to the question, and abstention when none is."""

    def __init__(self, index: SentenceIndex, retriever: Retriever):
        self.index = index
        self.retriever = retriever
        self.questions = QuestionReader(index, retriever.backend)
        self.quotes = QuoteMaker(index)
        self.timelines = TimelineMaker(index, retriever.backend, retriever.mask)

    def relevant_quotes(
        self,
        hits: list[Hit],
        query_vector: np.ndarray,
        min_similarity: float,
        allowed: np.ndarray | None,
        shown: set[int],
        limit: int | None = None,
        topic_words: set[str] | None = None,
    ) -> tuple[list[Quote], float]:
        """One quote per near-duplicate cluster among the hits similar enough to the question (`quote_floor`) — or, for a topic,
        holding every one of its `topic_words` (BM25 tokens): a sentence about "Lachin" is often not similar to the
        bare word — in rank order and at most `limit`; and the best similarity among all the hits."""
        if not hits:
            return [], -1.0
        quotes: list[Quote] = []
        best = -1.0
        for hit in hits:
            if not is_quotable(self.index.sentence_text(hit.sentence_id)):
                continue  # a heading or a fragment ("India.") sits close to anything and says nothing
            members = self.quotes.cluster_of(hit.sentence_id)
            chosen = self.quotes.primary(members, allowed)
            similarity = float(self.retriever.backend.vectors(np.array([chosen]))[0] @ query_vector)
            if chosen != hit.sentence_id:
                similarity = max(
                    similarity, float(self.retriever.backend.vectors(np.array([hit.sentence_id]))[0] @ query_vector)
                )
            best = max(best, similarity)
            on_topic = topic_words is not None and topic_words <= set(tokenize(self.index.sentence_text(chosen)))
            if not may_quote(similarity, on_topic, min_similarity) or chosen in shown:
                continue
            if limit is not None and len(quotes) >= limit:
                continue
            shown.add(chosen)
            quote = self.quotes.quote(hit, chosen, similarity, [m for m in members if m != chosen])
            quote.topic_match = on_topic and similarity < min_similarity
            quotes.append(quote)
        return quotes, best

    def answer(
        self,
        question: str,
        k: int,
        settings: SearchSettings,
        filters: Filters,
        min_similarity: float,
        timings: Timings,
        infer: bool = True,
        answer_unknown_names: bool = False,
        timeline: bool = True,
    ) -> Answer:
        """The answer to `question`. With `infer`, the period and speaker written in the question become filters
        (explicit `filters` win) and a name no document mentions makes the answer abstain, unless
        `answer_unknown_names` asks to quote what matches the rest of the question. With `timeline`, every
        statement within the filters that the relevance rule lets it quote is counted per side (or speaker) per
        period in `answer.timeline`."""
        understood: Understood | None = None
        searched = question
        if infer:
            understood, filters = self.questions.understand(question, filters)
            searched = understood.searched
        answer = Answer(
            question=question,
            settings=settings,
            filters=filters,
            min_similarity=min_similarity,
            min_quote_similarity=quote_floor(min_similarity),
            timings=timings,
            understood=understood,
        )
        if understood is not None and understood.unknown_names:
            names = ", ".join(f"“{name}”" for name in understood.unknown_names)
            if not answer_unknown_names:
                answer.abstained = True
                answer.abstain_reason = f"No document mentions {names}."
                return answer
            answer.notes.append(f"No document mentions {names}; the quotes match the rest of the question.")
        target_sides, topic = self.questions.sides_and_topic(searched, filters)
        answer.topic = topic
        # Names the collection mentions, but no statement within the filters: that period or side said nothing
        # about them. The whole answer abstains (or, for a question about sides, that side's group).
        topic_names = self.questions.topic_names(understood, target_sides) if understood is not None else []
        if topic_names and not target_sides and understood is not None:
            missing = self.questions.unmentioned(topic_names, filters)
            if missing:
                within = filters.describe()
                understood.unmentioned[within] = missing
                listed = ", ".join(f"“{name}”" for name in missing)
                if not answer_unknown_names:
                    answer.abstained = True
                    answer.abstain_reason = f"No statement within the filters ({within}) mentions {listed}."
                    return answer
                answer.notes.append(f"No statement within the filters ({within}) mentions {listed}.")
        query = topic or searched
        shown: set[int] = set()
        started = time.perf_counter()
        query_vector = self.retriever.encode_query(query)
        timings.encode_ms += (time.perf_counter() - started) * 1000
        silent: dict[str, str] = {}
        if target_sides:
            answer.grouped_by_side = True
            best, silent = self.side_groups(
                answer,
                query,
                query_vector,
                target_sides,
                k,
                settings,
                filters,
                min_similarity,
                [] if answer_unknown_names else topic_names,
                shown,
            )
        else:
            hits = self.retriever.search(searched, k * ANSWER_DEPTH, settings, filters, query_vector, timings)
            answer.quotes, best = self.relevant_quotes(
                hits, query_vector, min_similarity, self.retriever.mask(filters), shown, limit=k
            )
        answer.best_similarity = best if best > -1.0 else None
        if best < min_similarity:  # quotes between the floor and the threshold do not answer a question alone
            self.keep_topic_matches(answer)
        if timeline:
            started = time.perf_counter()
            answered = best >= min_similarity
            answer.timeline = self.timelines.make(
                query_vector,
                quote_floor(min_similarity),
                lambda similarity, on_topic: may_quote(similarity, on_topic, min_similarity, answered),
                filters,
                target_sides,
                topic_words_of(answer.topic, query) if target_sides else None,
                silent,
                shown,
            )
            self.note_unquoted_sides(answer)
            timings.timeline_ms += (time.perf_counter() - started) * 1000
        if not answer.quotes:
            answer.abstained = True
            answer.abstain_reason = (
                "No passage in the indexed documents is relevant enough to quote "
                f"(best similarity {best:.2f}, threshold {min_similarity:.2f})."
                if best > -1.0
                else "No passage in the indexed documents matches the question and filters."
            )
        return answer

    @staticmethod
    def note_unquoted_sides(answer: Answer) -> None:
        """A side with no quote among the retrieved sentences but relevant statements in the timeline is not
        silent: its note says where they are."""
        if answer.timeline is None:
            return
        counts = {row.side: row.count for row in answer.timeline.rows}
        undated = {cell.side: cell.count for cell in answer.timeline.undated.rows}
        for group in answer.groups:
            found = counts.get(group.side, 0) + undated.get(group.side, 0)
            if not group.quotes and found:
                group.note = (
                    f"None of {group.side}'s statements ranked among the quotes; the timeline counts {found} relevant "
                    f"statement{'s' if found != 1 else ''} by {group.side}: open a period to read them."
                )

    @staticmethod
    def keep_topic_matches(answer: Answer) -> None:
        """Drop every quote but those holding every word of the topic (an unanswered question's quotes)."""
        answer.quotes = [quote for quote in answer.quotes if quote.topic_match]
        for group in answer.groups:
            group.quotes = [quote for quote in group.quotes if quote.topic_match]
            if not group.quotes:
                group.note = f"No relevant statement from {group.side} was found in the indexed documents."

    def side_groups(
        self,
        answer: Answer,
        query: str,
        query_vector: np.ndarray,
        target_sides: list[str],
        k: int,
        settings: SearchSettings,
        filters: Filters,
        min_similarity: float,
        names: list[str] | None = None,
        shown: set[int] | None = None,
    ) -> tuple[float, dict[str, str]]:
        """Fill `answer.groups`: each side's quota of its relevant quotes in rank order, then the places left up to
        k from the sides' further relevant quotes, side by side in turn. A side none of whose statements (within the
        filters) mentions one of `names` gets no quotes and a note saying so. Returns the best similarity seen and
        those sides' notes. `shown` collects the ids of the relevant sentences."""
        quota = max(MIN_QUOTES_PER_SIDE, math.ceil(k / len(target_sides)))
        topic_words = topic_words_of(answer.topic, query)
        shown = shown if shown is not None else set()
        relevant: dict[str, list[Quote]] = {}
        best = -1.0
        silent: dict[str, str] = {}  # side -> its note
        for side in target_sides:
            side_filters = filters.model_copy(update={"sides": [side]})
            missing = self.questions.unmentioned(names or [], side_filters)
            if missing:  # said in the side's group; `understood` keeps to what the question's filters exclude
                rest = filters.model_copy(update={"sides": []})
                within = "" if rest.is_empty() else f" ({rest.describe()})"
                listed = ", ".join(f"“{name}”" for name in missing)
                silent[side] = f"No statement by {side}{within} mentions {listed}."
                relevant[side] = []
                continue
            # A side has few statements in the top ranks: look further down for its relevant ones.
            hits = self.retriever.search(query, k * SIDE_DEPTH, settings, side_filters, query_vector, answer.timings)
            quotes, side_best = self.relevant_quotes(
                hits, query_vector, min_similarity, self.retriever.mask(side_filters), shown, topic_words=topic_words
            )
            relevant[side], best = quotes, max(best, side_best)
        taken = {side: min(quota, len(quotes)) for side, quotes in relevant.items()}
        room = k - sum(taken.values())
        while room > 0 and any(taken[side] < len(relevant[side]) for side in target_sides):
            # the most similar of the sides' next quotes (each side's quotes stay in rank order)
            side = max(
                (side for side in target_sides if taken[side] < len(relevant[side])),
                key=lambda side: relevant[side][taken[side]].similarity,
            )
            taken[side] += 1
            room -= 1
        for side in target_sides:
            quotes = relevant[side][: taken[side]]
            note = None if quotes else f"No relevant statement from {side} was found in the indexed documents."
            note = silent.get(side, note)
            answer.groups.append(SideGroup(side=side, quotes=quotes, note=note))
            answer.quotes.extend(quotes)
        return best, silent
