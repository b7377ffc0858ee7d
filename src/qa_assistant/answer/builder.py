"""Turning a question into an `Answer`, top to bottom: read it once (`QuestionReader.read`), stop early when it asks
about something no document covers, retrieve within its filters (a period read from it also selects statements
that speak of the period), select the quotes that pass the relevance rule, group them by side; and when filters
read from the question leave nothing relevant, answer without them and say so."""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from qa_assistant.answer.constraints import DateWindow
from qa_assistant.answer.question import AskedQuestion, QuestionReader
from qa_assistant.answer.quotes import QuoteMaker
from qa_assistant.answer.retriever import Retriever
from qa_assistant.answer.timeline import TimelineMaker, TopicWords
from qa_assistant.index.store import SentenceIndex
from qa_assistant.models import Answer, Filters, Hit, Quote, SearchSettings, SideGroup, Timings
from qa_assistant.text.counts import gives_count
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


def may_quote(similarity: Any, on_topic: Any, shares: Any, min_similarity: float, answered: bool = True) -> Any:
    """The relevance rule, for one sentence (floats and bools) or many (arrays), of quotes and timeline alike: a
    quotable sentence may be quoted when it holds the asked topic (under one of its names: a sentence about "Lachin"
    is often not similar to the bare word), or is similar enough to the question (`quote_floor`) and, below
    `min_similarity`, `shares` a content word of the topic; once no sentence reaches `min_similarity` (the question
    is not `answered`), only the former."""
    if not answered:
        return on_topic
    similar_enough = similarity >= quote_floor(min_similarity)
    return on_topic | (similar_enough & ((similarity >= min_similarity) | shares))


# Minimum number of quotes asked of each side when a question asks about sides.
MIN_QUOTES_PER_SIDE = 2
# Per side, quotes are taken from the first SIDE_DEPTH x k hits that are similar enough: first each side's quota,
# then the places left up to k, side by side in turn.
SIDE_DEPTH = 3
SPEAKING_OF_CACHE = 32  # periods whose "speaks of" sentences are remembered


def fill_places(taken: dict[str, int], quotes: dict[str, list[Quote]], k: int) -> dict[str, int]:
    """How many of each side's quotes to show: `taken` to start with, then the places left up to `k` go one by one
    to the most similar of the sides' next quotes (each side's quotes stay in rank order)."""
    taken = dict(taken)
    room = k - sum(taken.values())
    while room > 0 and any(taken[side] < len(quotes[side]) for side in taken):
        side = max(
            (side for side in taken if taken[side] < len(quotes[side])),
            key=lambda side: quotes[side][taken[side]].similarity,
        )
        taken[side] += 1
        room -= 1
    return taken


class AnswerBuilder:
    """Assembles an `Answer`: retrieval per side when the question asks about a few sides (the most relevant sides
    when it asks about many), one quote per near-duplicate cluster among the hits that pass the relevance rule, and
    abstention when none does."""

    def __init__(self, index: SentenceIndex, retriever: Retriever):
        self.index = index
        self.retriever = retriever
        self.questions = QuestionReader(index, retriever.backend)
        self.quotes = QuoteMaker(index)
        self.timelines = TimelineMaker(index, retriever.backend, retriever.mask)
        self._speaking_of: OrderedDict[tuple, np.ndarray] = OrderedDict()

    # -- the pipeline ---------------------------------------------------------------------------------------------

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
        (explicit `filters` win) and a name or topic no document mentions makes the answer abstain, unless
        `answer_unknown_names` asks to quote what matches the rest of the question. When the filters read from the
        question leave nothing relevant, the question is answered without them (a note says so). With `timeline`,
        every statement within the filters that the relevance rule lets it quote is counted per side (or speaker)
        per period in `answer.timeline`."""
        asked = self.questions.read(question, filters, infer)
        answer, filtered_out = self.respond(asked, k, settings, min_similarity, timings, answer_unknown_names, timeline)
        relaxable = self.relaxable(asked) if filtered_out else []
        if relaxable:
            broader, _ = self.respond(
                asked.relaxed(relaxable), k, settings, min_similarity, timings, answer_unknown_names, timeline
            )
            if not broader.abstained:
                broader.notes.insert(0, self.fallback_note(asked, answer, relaxable))
                if broader.understood is not None:
                    broader.understood.dropped = list(relaxable)
                return broader
        if filtered_out and "dates" in asked.relaxable and "dates" not in relaxable:
            self.point_to_other_dates(answer, asked, k, settings, min_similarity, answer_unknown_names)
        return answer

    def point_to_other_dates(
        self,
        answer: Answer,
        asked: AskedQuestion,
        k: int,
        settings: SearchSettings,
        min_similarity: float,
        answer_anyway: bool,
    ) -> None:
        """An answer kept to the period its sides spoke in says, when so, that their statements of other dates are
        relevant: the user may ask again without the period."""
        broader, _ = self.respond(
            asked.relaxed(["dates"]), k, settings, min_similarity, Timings(), answer_anyway, timeline=False
        )
        if broader.abstained:
            return
        since, until = asked.filters.since, asked.filters.until
        dates = sorted(
            {
                str(quote.date.year)
                for quote in broader.quotes
                if quote.date is not None and ((since and quote.date < since) or (until and quote.date > until))
            }
        )
        when = f" ({', '.join(dates)})" if dates else ""
        hint = f"Statements of other dates{when} are relevant: ask without the period to read them."
        answer.abstain_reason = f"{answer.abstain_reason} {hint}" if answer.abstain_reason else hint

    def relaxable(self, asked: AskedQuestion) -> list[str]:
        """The filters read from the question that its answer may drop (`AskedQuestion.relaxable`), but the period
        when the sides asked made statements in it: then their silence on the topic in that period is the answer
        ("What did Saudi Arabia say about Qatar in 2019?" when its 2019 speech never names Qatar). A period in which
        they published nothing says nothing of the topic, and is dropped."""
        kinds = list(asked.relaxable)
        sides = asked.filters.sides or asked.sides
        if "dates" in kinds and sides:
            within = self.within(asked, asked.filters.model_copy(update={"sides": list(sides)}))
            if within is not None and within.any():
                kinds.remove("dates")
        return kinds

    def respond(
        self,
        asked: AskedQuestion,
        k: int,
        settings: SearchSettings,
        min_similarity: float,
        timings: Timings,
        answer_unknown_names: bool,
        timeline: bool = True,
    ) -> tuple[Answer, bool]:
        """The answer to `asked` within its filters, and whether it abstained because of them (nothing relevant
        within the filters, though the question names nothing the collection lacks)."""
        answer = Answer(
            question=asked.text,
            topic=asked.topic,
            settings=settings,
            filters=asked.filters,
            min_similarity=min_similarity,
            min_quote_similarity=quote_floor(min_similarity),
            timings=timings,
            understood=asked.understood.model_copy(deep=True) if asked.understood is not None else None,
        )
        if self.not_covered(answer, asked, answer_unknown_names):
            return answer, False
        within = self.within(asked, asked.filters)
        if not asked.sides and self.unmentioned_names(answer, asked, within, answer_unknown_names):
            return answer, True
        asked, started = self.rest_of(asked, answer), time.perf_counter()
        query_vector = self.query_vector(asked)
        timings.encode_ms += (time.perf_counter() - started) * 1000
        shown: set[int] = set()  # the relevant sentences among those retrieved
        silent: dict[str, str] = {}  # sides said silent, with their notes
        many = bool(asked.sides) and len(asked.sides or []) > k
        if timeline:  # its range search first: the searches below read theirs from it where they can
            self.search_timeline_first(asked, query_vector, min_similarity, many, timings)
        if many:
            best = self.most_relevant_sides(answer, asked, query_vector, k, settings, min_similarity, shown)
        elif asked.sides:
            best = self.side_groups(
                answer, asked, query_vector, k, settings, min_similarity, answer_unknown_names, shown, silent
            )
        else:
            hits = self.search(asked, asked.filters, k * ANSWER_DEPTH, settings, query_vector, timings)
            answer.quotes, best = self.relevant_quotes(hits, query_vector, min_similarity, within, shown, asked, k)
        answer.best_similarity = best if best > -1.0 else None
        if best < min_similarity:  # quotes between the floor and the threshold do not answer a question alone
            self.keep_topic_matches(answer)
        self.mark_period(answer, asked)
        if timeline:
            self.add_timeline(answer, asked, query_vector, min_similarity, best, many, silent, shown, timings)
        if not answer.quotes:
            answer.abstained = True
            answer.abstain_reason = (
                "No passage in the indexed documents is relevant enough to quote "
                f"(best similarity {best:.2f}, threshold {min_similarity:.2f})."
                if best > -1.0
                else "No passage in the indexed documents matches the question and filters."
            )
        self.withhold_uncounted(answer, asked, answer_unknown_names)
        return answer, answer.abstained

    def query_vector(self, asked: AskedQuestion) -> np.ndarray:
        """What sentences are compared with: the query's vector, blended with the question's without who it asks to
        hear when that became a filter (the speaker's name would make its every statement look alike)."""
        vector = self.retriever.encode_query(asked.query)
        if asked.focus and not asked.topic:
            vector = vector + self.retriever.encode_query(asked.focus)
            vector = vector / np.linalg.norm(vector)
        return vector

    def search_timeline_first(
        self, asked: AskedQuestion, query_vector: np.ndarray, min_similarity: float, many: bool, timings: Timings
    ) -> None:
        """The timeline's range search, before the answer's searches, which read theirs from it where they can
        (`TimelineMaker.search_first`); its time is the timeline's."""
        started = time.perf_counter()
        self.timelines.search_first(query_vector, quote_floor(min_similarity), asked.filters, asked.sides, many)
        timings.timeline_ms += (time.perf_counter() - started) * 1000

    def add_timeline(
        self,
        answer: Answer,
        asked: AskedQuestion,
        query_vector: np.ndarray,
        min_similarity: float,
        best: float,
        many: bool,
        silent: dict[str, str],
        shown: set[int],
        timings: Timings,
    ) -> None:
        """`answer.timeline`: the statements within `asked`'s filters that the answer may quote, per side (per
        speaker when about every side, `many`) per period; then notes on the sides it counts but does not quote."""
        started = time.perf_counter()
        answered = best >= min_similarity
        sides = None if many else asked.sides  # about every side: rows per speaker, not ~190 side masks
        answer.timeline = self.timelines.make(
            query_vector,
            quote_floor(min_similarity),
            lambda similarity, on_topic, shares: may_quote(similarity, on_topic, shares, min_similarity, answered),
            asked.filters,
            sides,
            TopicWords(asked.variants, asked.content_words, asked.shares_a_word),
            silent,
            shown,
        )
        self.note_unquoted_sides(answer)
        timings.timeline_ms += (time.perf_counter() - started) * 1000

    # -- what the collection does not cover -----------------------------------------------------------------------

    @staticmethod
    def not_covered(answer: Answer, asked: AskedQuestion, answer_anyway: bool) -> bool:
        """Abstain (True) when the question names something no document mentions: a name, or its topic's words;
        with `answer_anyway`, note it and go on."""
        missing = []
        if asked.understood is not None and asked.understood.unknown_names:
            missing.append(", ".join(f"“{name}”" for name in asked.understood.unknown_names))
        if asked.understood is not None and asked.absent_topic and not missing:
            missing.append(asked.absent_topic)
        if not missing:
            return False
        listed = " or ".join(missing)
        if not answer_anyway:
            answer.abstained = True
            answer.abstain_reason = f"No document mentions {listed}."
            return True
        answer.notes.append(f"No document mentions {listed}; the quotes match the rest of the question.")
        return False

    @staticmethod
    def withhold_uncounted(answer: Answer, asked: AskedQuestion, answer_anyway: bool) -> None:
        """A question that asks for a number ("How many tanks …?") is answered only by quotes that give one of the
        thing counted: abstain when none does; with `answer_anyway`, note it and go on."""
        if answer.abstained or not asked.counted or any(gives_count(q.text, asked.counted) for q in answer.quotes):
            return
        reason = f"No statement gives a number of {asked.counted}."
        if answer_anyway:
            answer.notes.append(reason[:-1] + "; the quotes match the rest of the question.")
            return
        answer.quotes, answer.groups = [], []
        answer.abstained, answer.abstain_reason = True, reason

    @staticmethod
    def rest_of(asked: AskedQuestion, answer: Answer) -> AskedQuestion:
        """`asked`, searched without the names no statement within the filters mentions (asked anyway)."""
        unmentioned = answer.understood.unmentioned if answer.understood is not None else {}
        unmatched = tuple(name for names in unmentioned.values() for name in names)
        return dataclasses.replace(asked, unmatched=unmatched) if unmatched else asked

    def unmentioned_names(
        self, answer: Answer, asked: AskedQuestion, within: np.ndarray | None, answer_anyway: bool
    ) -> bool:
        """Abstain (True) when a name of the question, under every name it has, is mentioned by no statement
        within the filters (the collection mentions it elsewhere); with `answer_anyway`, note it and go on."""
        missing = self.missing_names(asked, within)
        if not missing or answer.understood is None:
            return False
        where = self.describe(asked, asked.filters)
        answer.understood.unmentioned[where] = missing
        listed = ", ".join(f"“{name}”" for name in missing)
        if answer_anyway:
            answer.notes.append(f"No statement within the filters ({where}) mentions {listed}.")
            return False
        answer.abstained = True
        answer.abstain_reason = f"No statement within the filters ({where}) mentions {listed}."
        return True

    def missing_names(self, asked: AskedQuestion, within: np.ndarray | None) -> list[str]:
        """Those of the question's topic names that no sentence within `within` mentions under any of its names
        (or, for a side's name, any of that side's aliases). None are missing without a mask."""
        if within is None:
            return []
        aliases = self.index.sides.alias_table()
        missing = []
        for name in asked.topic_names:
            named = set(self.index.sides.sides_mentioned(name))
            forms = [*asked.forms(name), *(alias for alias, sides in aliases.items() if named & set(sides))]
            if not any(self.mentioned(tokenize(form, query=True), within) for form in forms):
                missing.append(name)
        return missing

    # -- retrieval within the filters -----------------------------------------------------------------------------

    def within(self, asked: AskedQuestion, filters: Filters) -> np.ndarray | None:
        """Which sentences the filters let through: published within them, or, for a period read from the question,
        speaking of it (the other filters still apply)."""
        mask = self.retriever.mask(filters)
        about = self.speaking_of(asked.period, filters)
        return mask if about is None or mask is None else mask | about

    def speaking_of(self, period: DateWindow | None, filters: Filters) -> np.ndarray | None:
        """The sentences that pass `filters` but their dates and speak of `period` (None: no period read)."""
        if period is None:
            return None
        key = (period.since, period.until)
        found = self._speaking_of.get(key)
        if found is None:
            found = self.questions.speaking_of(period)
            found.flags.writeable = False
            self._speaking_of[key] = found
            while len(self._speaking_of) > SPEAKING_OF_CACHE:
                self._speaking_of.popitem(last=False)
        others = self.retriever.mask(filters.model_copy(update={"since": None, "until": None}))
        return found if others is None else found & others

    def search(
        self,
        asked: AskedQuestion,
        filters: Filters,
        n: int,
        settings: SearchSettings,
        query_vector: np.ndarray,
        timings: Timings,
    ) -> list[Hit]:
        """The `n` best sentences for the question within `filters` (its names searched under all their names);
        with a period read from the question, the best of those published in it and those speaking of it."""
        topic = asked.topic is not None
        hits = self.retriever.search(asked.bm25_query, n, settings, filters, query_vector, timings, topic)
        about = self.speaking_of(asked.period, filters)
        if about is None or not about.any():
            return hits
        cards = self.index.cards
        docs = sorted(cards[number].id for number in np.unique(self.index.sentences.doc_index[about]).tolist())
        if filters.doc_ids:
            docs = [doc for doc in docs if doc in set(filters.doc_ids)]
        widened = filters.model_copy(update={"since": None, "until": None, "doc_ids": docs})
        more = [
            hit
            for hit in self.retriever.search(asked.bm25_query, n, settings, widened, query_vector, timings, topic)
            if about[hit.sentence_id]
        ]
        merged = {hit.sentence_id: hit for hit in [*more, *hits]}
        return sorted(merged.values(), key=lambda hit: -hit.score)[:n]

    # -- quotes ---------------------------------------------------------------------------------------------------

    def relevant_quotes(
        self,
        hits: list[Hit],
        query_vector: np.ndarray,
        min_similarity: float,
        allowed: np.ndarray | None,
        shown: set[int],
        asked: AskedQuestion,
        limit: int | None = None,
    ) -> tuple[list[Quote], float]:
        """One quote per near-duplicate cluster among the hits that pass the relevance rule, in rank order and at
        most `limit`; and the best similarity among all the hits. A sentence passes when it is similar enough to
        the question (`quote_floor`), or holds the topic under one of its names (a sentence about "Lachin" is often
        not similar to the bare word); below the threshold it must share a content word of the topic. A heading,
        a fragment or a line of links never passes."""
        quotes: list[Quote] = []
        best = -1.0
        for hit in hits:
            if not self.index.may_be_quoted(hit.sentence_id):
                continue
            members = self.quotes.cluster_of(hit.sentence_id)
            chosen = self.quotes.primary(members, allowed)
            similarity = float(self.retriever.backend.similarities(np.array([chosen]), query_vector)[0])
            if chosen != hit.sentence_id:
                similarity = max(
                    similarity,
                    float(self.retriever.backend.similarities(np.array([hit.sentence_id]), query_vector)[0]),
                )
            best = max(best, similarity)
            words = set(tokenize(self.index.sentence_text(chosen)))
            on_topic = any(variant <= words for variant in asked.variants)
            shares = any(asked.shares_a_word(set(tokenize(self.index.sentence_text(m)))) for m in members)
            if chosen in shown or not may_quote(similarity, on_topic, shares, min_similarity):
                continue  # (below the threshold, a sentence that shares no word of the topic is not about it)
            if limit is not None and len(quotes) >= limit:
                continue
            shown.add(chosen)
            quote = self.quotes.quote(hit, chosen, similarity, [m for m in members if m != chosen])
            quote.topic_match = on_topic and similarity < min_similarity
            quotes.append(quote)
        return quotes, best

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
        """Drop every quote but those holding the topic (an unanswered question's quotes)."""
        answer.quotes = [quote for quote in answer.quotes if quote.topic_match]
        for group in answer.groups:
            group.quotes = [quote for quote in group.quotes if quote.topic_match]
            if not group.quotes and group.note is None:
                group.note = f"No relevant statement from {group.side} was found in the indexed documents."
        answer.groups = [group for group in answer.groups if group.quotes or not answer.other_sides]

    @staticmethod
    def mark_period(answer: Answer, asked: AskedQuestion) -> None:
        """Mark the quotes published outside the question's period: they speak of it."""
        period = asked.period
        if period is None:
            return
        for quote in answer.quotes:
            published = quote.date is not None and (
                (period.since is None or quote.date >= period.since)
                and (period.until is None or quote.date <= period.until)
            )
            quote.speaks_of_period = not published

    # -- sides ----------------------------------------------------------------------------------------------------

    def side_groups(
        self,
        answer: Answer,
        asked: AskedQuestion,
        query_vector: np.ndarray,
        k: int,
        settings: SearchSettings,
        min_similarity: float,
        answer_anyway: bool,
        shown: set[int],
        silent: dict[str, str],
    ) -> float:
        """Fill `answer.groups`: each side's quota of its relevant quotes in rank order, then the places left up to
        k from the sides' further relevant quotes, side by side in turn. A side is said silent on the topic's names
        only when none of its statements within the filters mentions them under any of their names and none passes
        the relevance rule. Returns the best similarity seen."""
        sides = asked.sides or []
        answer.grouped_by_side = True
        quota = max(MIN_QUOTES_PER_SIDE, math.ceil(k / len(sides)))
        relevant: dict[str, list[Quote]] = {}
        best = -1.0
        for side in sides:
            side_filters = asked.filters.model_copy(update={"sides": [side]})
            within = self.within(asked, side_filters)
            # A side has few statements in the top ranks: look further down for its relevant ones.
            hits = self.search(asked, side_filters, k * SIDE_DEPTH, settings, query_vector, answer.timings)
            quotes, side_best = self.relevant_quotes(hits, query_vector, min_similarity, within, shown, asked)
            relevant[side], best = quotes, max(best, side_best)
        taken = fill_places({side: min(quota, len(quotes)) for side, quotes in relevant.items()}, relevant, k)
        for side in sides:
            quotes = relevant[side][: taken[side]]
            note = None if quotes else self.silence_note(asked, side, answer_anyway)
            if note is not None and not note.startswith("No relevant statement"):
                silent[side] = note
            answer.groups.append(SideGroup(side=side, quotes=quotes, note=note))
            answer.quotes.extend(quotes)
        return best

    def silence_note(self, asked: AskedQuestion, side: str, answer_anyway: bool) -> str:
        """What to say of a side with no relevant quote: that it does not mention the topic's names (under any of
        their names) within the filters, when so; else that nothing relevant was found."""
        side_filters = asked.filters.model_copy(update={"sides": [side]})
        missing = [] if answer_anyway else self.missing_names(asked, self.within(asked, side_filters))
        if not missing:
            return f"No relevant statement from {side} was found in the indexed documents."
        rest = asked.filters.model_copy(update={"sides": []})
        where = "" if rest.is_empty() else f" ({self.describe(asked, rest)})"
        listed = ", ".join(
            f"“{name}”" + (f" (or {', '.join(asked.forms(name)[1:])})" if len(asked.forms(name)) > 1 else "")
            for name in missing
        )
        return f"No statement by {side}{where} mentions {listed}."

    def most_relevant_sides(
        self,
        answer: Answer,
        asked: AskedQuestion,
        query_vector: np.ndarray,
        k: int,
        settings: SearchSettings,
        min_similarity: float,
        shown: set[int],
    ) -> float:
        """For a question to more sides than quotes (every member state of a collection): one search over all of
        them, the sides whose statements are the most relevant with their best quote (up to k quotes), and the other
        sides that spoke on the topic listed in `answer.other_sides`. Returns the best similarity seen."""
        sides = asked.sides or []
        answer.grouped_by_side = True
        filters = asked.filters.model_copy(update={"sides": sides})
        within = self.within(asked, filters)
        depth = max(settings.candidates, k * SIDE_DEPTH)
        hits = self.search(asked, filters, depth, settings, query_vector, answer.timings)
        quotes, best = self.relevant_quotes(hits, query_vector, min_similarity, within, shown, asked)
        by_side: dict[str, list[Quote]] = {}
        canonical = {side.lower(): side for side in sides}
        for quote in quotes:
            side = canonical.get((quote.speaker_side or quote.side or "").lower())
            if side is not None:
                by_side.setdefault(side, []).append(quote)
        ranked = sorted(by_side, key=lambda side: -max(q.similarity for q in by_side[side]))
        top = ranked[:k]
        taken = fill_places({side: 1 for side in top}, by_side, k)
        for side in top:
            group = by_side[side][: taken[side]]
            answer.groups.append(SideGroup(side=side, quotes=group))
            answer.quotes.extend(group)
        spoke = set(ranked) | self.sides_on_topic(asked, within)
        answer.other_sides = sorted((spoke & set(sides)) - set(top), key=str.lower)
        if answer.other_sides:
            topic = asked.topic or "the question"
            count = len(answer.other_sides)
            answer.notes.append(
                f"{count} other side{'s' if count > 1 else ''} spoke about {topic}: {', '.join(answer.other_sides)}. "
                "Ask for some of them by name (or as a side filter) to see their statements."
            )
        return best

    def mentioned(self, tokens: list[str], within: np.ndarray) -> bool:
        """Whether every one of `tokens` occurs in some sentence within `within` (not necessarily the same)."""
        return all(bool(within[self.retriever.backend.holding([token], None)[0]].any()) for token in tokens)

    def sides_on_topic(self, asked: AskedQuestion, within: np.ndarray | None) -> set[str]:
        """The sides of the sentences within `within` that hold the topic under one of its names."""
        labels = self.index.labels
        found: set[str] = set()
        for variant in asked.variants:
            units = np.asarray(self.retriever.backend.holding(sorted(variant), None)[0], dtype=np.int64)
            if within is not None:
                units = units[within[units]]
            codes = np.unique(labels.side[units])
            found.update(labels.side_names[code] for code in codes.tolist() if code >= 0)
        return found

    # -- notes ----------------------------------------------------------------------------------------------------

    @staticmethod
    def describe(asked: AskedQuestion, filters: Filters) -> str:
        """The filters in a few words, a period read from the question as such."""
        text = filters.describe()
        if asked.period is not None and (filters.since or filters.until):
            span = f"{filters.since or '…'} – {filters.until or '…'}"
            text = text.replace(span, f"published in or speaking of {span}")
        return text

    @staticmethod
    def fallback_note(asked: AskedQuestion, strict: Answer, relaxable: list[str]) -> str:
        """Why the answer leaves out filters read from the question: "Nothing published in or speaking of July 2020
        mentions “Tovuz”; showing statements from other dates.
        """
        understood = asked.understood
        scope = []
        if "dates" in relaxable and understood is not None and understood.period:
            period = re.sub(r"^(?:in|during|on|throughout)\s+", "", understood.period, flags=re.IGNORECASE)
            scope.append(f"published in or speaking of {period}")
        for kind in ("sides", "speakers", "publishers"):
            if getattr(asked.filters, kind):
                scope.append("by " + ", ".join(getattr(asked.filters, kind) or []))
        unmentioned = strict.understood.unmentioned if strict.understood is not None else {}
        missing = [name for names in unmentioned.values() for name in names]
        said = "mentions " + ", ".join(f"“{name}”" for name in missing) if missing else "is relevant enough to quote"
        other = {"dates": "other dates", "speakers": "other speakers", "publishers": "other publishers"}
        shown = " and ".join(other[kind] for kind in relaxable)
        return f"Nothing {' '.join(scope)} {said}; showing statements from {shown}."
