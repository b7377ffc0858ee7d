"""Reading a question: which sides it asks to hear from, and the topic of a question about what the sides said."""

from __future__ import annotations

import re

from .models import Filters
from .store import SentenceIndex

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

    def __init__(self, index: SentenceIndex):
        self.index = index
        self.sides_present = sorted({a.side for a in index.attributions if a.side})

    def sides_and_topic(self, question: str, filters: Filters | None = None) -> tuple[list[str] | None, str | None]:
        """The sides a question asks to hear from (None: not a question about sides) and, for a question about
        what the sides said, its topic: what is searched and what quotes are compared with."""
        present = list(self.sides_present)
        if filters is not None and filters.sides:
            wanted = {s.lower() for s in filters.sides}
            present = [s for s in present if s.lower() in wanted]
        target_sides = sides_asked(question, self.index, present)
        return target_sides, question_topic(question, self.index) if target_sides else None
