"""Reading a question: which sides it asks to hear from, the topic of a question about what the sides said, and
the constraints it writes itself (its period, who speaks, names no document mentions)."""

from __future__ import annotations

import re

from qa_assistant.answer.constraints import asked_speaker, date_window, names_in, unknown_names, without
from qa_assistant.backends.base import SearchBackend
from qa_assistant.index.store import SentenceIndex
from qa_assistant.models import Filters, Understood
from qa_assistant.text.tokens import tokenize

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


class QuestionReader:
    """What a question asks, read against the sides of an index."""

    def __init__(self, index: SentenceIndex, backend: SearchBackend):
        self.index = index
        self.backend = backend
        self.sides_present = sorted(index.labels.side_names)
        self.speakers = sorted(index.labels.speaker_names)
        self.publishers = sorted({d.publisher for d in index.documents if d.publisher})
        dates = [d.date for d in index.documents if d.date]
        self.newest = max(dates) if dates else None  # "last year" counts from the newest document
        # Names the metadata knows though no text says them: a speech rarely names its own speaker.
        named = [*self.speakers, *self.publishers, *(d.title or "" for d in index.documents)]
        self.metadata_tokens = set(tokenize(" ".join(named)))

    def known(self, word: str) -> bool:
        """Whether every BM25 token of `word` occurs in some document's text or metadata (speakers, titles)."""
        return all(token in self.metadata_tokens or self.backend.mentions([token]) for token in tokenize(word))

    def understand(self, question: str, filters: Filters) -> tuple[Understood, Filters]:
        """What `question` says about its period and its speaker, and `filters` with that applied where no explicit
        filter of the same kind was given."""
        understood = Understood(searched=question)
        updates: dict[str, object] = {}
        window = date_window(question, self.newest)
        if window is not None:
            understood.period, understood.since, understood.until = window.words, window.since, window.until
            understood.searched = without(question, window.start, window.end) or question
            if filters.since or filters.until:
                understood.overridden.append("dates")
            else:
                updates.update(since=window.since, until=window.until)
        asked = asked_speaker(question, self.index.sides, self.speakers, self.publishers)
        if asked is not None:
            understood.who = asked.words
            understood.speakers, understood.publishers = asked.speakers, asked.publishers
            if len(asked.sides) == 1:  # two or more sides named: a question about sides, answered side by side
                understood.sides = asked.sides
                if filters.sides:
                    understood.overridden.append("sides")
                else:
                    updates["sides"] = asked.sides
            for kind in ("speakers", "publishers"):
                if getattr(asked, kind):
                    if getattr(filters, kind):
                        understood.overridden.append(kind)
                    else:
                        updates[kind] = getattr(asked, kind)
        understood.unknown_names = unknown_names(
            understood.searched, self.known, lambda name: bool(self.index.sides.sides_mentioned(name))
        )
        return understood, filters.model_copy(update=updates)

    def topic_names(self, understood: Understood, asked_sides: list[str] | None = None) -> list[str]:
        """The names of a question that the index knows and that are neither who it asks to hear (its words, the
        sides it asks, `asked_sides` and `understood.sides`) nor unknown: what the quotes should mention ("Kashmir"
        in "What did India say about Kashmir in 2019?", "Cyprus" in "What did Turkey say about Cyprus?")."""
        who = set(tokenize(understood.who or ""))
        asked = {side.lower() for side in [*(asked_sides or []), *understood.sides]}
        return [
            name
            for name in names_in(understood.searched)
            if name not in understood.unknown_names
            and not {side.lower() for side in self.index.sides.sides_mentioned(name)} & asked
            and not set(tokenize(name)) <= who
        ]

    def unmentioned(self, names: list[str], filters: Filters | None) -> list[str]:
        """Those of `names` that no sentence within `filters` mentions (none when there are no filters: every name
        the index knows is mentioned somewhere). A name of a side is mentioned by any of that side's aliases."""
        if filters is None or filters.is_empty():
            return []
        aliases = self.index.sides.alias_table()
        missing = []
        for name in names:
            named = set(self.index.sides.sides_mentioned(name))
            forms = [name, *(alias for alias, sides in aliases.items() if named & set(sides))]
            if not any(self.backend.mentions(tokenize(form, query=True), filters) for form in forms):
                missing.append(name)
        return missing

    def sides_and_topic(self, question: str, filters: Filters | None = None) -> tuple[list[str] | None, str | None]:
        """The sides a question asks to hear from (None: not a question about sides) and, for a question about
        what the sides said, its topic: what is searched and what quotes are compared with."""
        present = list(self.sides_present)
        if filters is not None and filters.sides:
            wanted = {s.lower() for s in filters.sides}
            present = [s for s in present if s.lower() in wanted]
        target_sides = sides_asked(question, self.index, present)
        return target_sides, question_topic(question, self.index) if target_sides else None
