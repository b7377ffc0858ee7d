"""Which sentences may be quoted at all: never a heading, a fragment ("India.", which sits close to anything and
says nothing) or a line of links. The rule is the same for the quotes of an answer and for the statements its
timeline counts; an index made by this version keeps its verdict per sentence (`quotable_flags`, made at build
time), so a question never runs it over the thousands of sentences a timeline weighs."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from qa_assistant.text.segment import is_quotable

# A line that only points to other pages: "Official statements … could be accessed at <https://…>".
_URL = re.compile(r"<?\b(?:https?://|www\.)\S+?>?(?=[\s,;.)]*(?:\s|$))")
_POINTER = re.compile(
    r"\b(?:can|could|may|might|is|are|be)\s+(?:also\s+)?(?:be\s+)?"
    r"(?:accessed|available|found|read|viewed|downloaded|consulted|watched)\b"
    r"|^\W*(?:read\s+more|see\s+also|more\s+information|for\s+more|follow\s+us|click\s+here|visit|source|link)s?\b",
    re.IGNORECASE,
)


def is_link_line(text: str) -> bool:
    """Whether a sentence only points to web pages ("… could be accessed at <https://…> and <https://…>"): site
    furniture, not a statement."""
    if not _URL.search(text):
        return False
    rest = _URL.sub(" ", text)
    return bool(_POINTER.search(rest)) or len(re.findall(r"\w+", rest)) <= 3


def may_be_quoted(text: str) -> bool:
    """Whether a sentence may be quoted at all: never a heading, a fragment or a line of links."""
    return is_quotable(text) and not is_link_line(text)


def quotable_flags(texts: Iterable[str], count: int) -> np.ndarray:
    """`may_be_quoted` of each of `count` sentence texts, as a bool array."""
    return np.fromiter((may_be_quoted(text) for text in texts), dtype=bool, count=count)
