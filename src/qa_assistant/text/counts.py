"""Questions that ask for a number, and sentences that give one: "How many tanks did Azerbaijan lose?" counts
tanks, and only a sentence with a number next to "tanks" ("over 300 tanks", "tanks: 12") gives that count; "What is
the population of Baku?" asks for a population."""

from __future__ import annotations

import re

from qa_assistant.text.tokens import tokenize

_AUX = r"(?:did|do|does|has|have|had|was|were|is|are|will|would|can|could)"
# "How many tanks did …", "For how many years were …": the thing counted stands between "how many" and the verb.
_HOW_MANY = re.compile(rf"\bhow\s+many\s+(?P<what>[\w’'-]+(?:\s+[\w’'-]+){{0,3}}?)\s+{_AUX}\b", re.IGNORECASE)
# "What is the population of Baku?", "What was the number of refugees …?"
_SIZE_OF = re.compile(
    r"\bwhat(?:\s+is|\s+was|['’]s)\s+the\s+(?:total\s+)?(?P<what>population|number\s+of\s+[\w’'-]+)\b", re.IGNORECASE
)
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands "
    "million millions billion billions dozen dozens"
)
_NUMBER = re.compile(rf"^(?:\d[\d,.]*%?|{'|'.join(_NUMBER_WORDS.split())})$", re.IGNORECASE)
_YEAR = re.compile(r"^(?:1[89]|20)\d\d$")  # "in 2023" dates; it does not count
_TOKEN = re.compile(r"[\w’'.,%]+")
# A number counts a thing when at most this many words stand between them ("19 civilians", "120,000 people",
# "four UN Security Council resolutions", "soldiers: two").
COUNT_WINDOW = 3


def counted_thing(question: str) -> str | None:
    """The thing a question asks to count, as written ("tanks", "population"), or None."""
    match = _HOW_MANY.search(question) or _SIZE_OF.search(question)
    if not match:
        return None
    words = match.group("what").split()
    return words[-1] if words else None


def gives_count(sentence: str, thing: str) -> bool:
    """Whether `sentence` writes a number within COUNT_WINDOW words of `thing` (compared as BM25 stems)."""
    stems = set(tokenize(thing))
    if not stems:
        return True
    words = [word.strip(".,") for word in _TOKEN.findall(sentence.replace("-", " "))]
    numbers = [i for i, word in enumerate(words) if word and _NUMBER.match(word) and not _YEAR.match(word)]
    if not numbers:
        return False
    for i, word in enumerate(words):
        if stems & set(tokenize(word)) and any(abs(i - n) <= COUNT_WINDOW + 1 for n in numbers):
            return True
    return False
