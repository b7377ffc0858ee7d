"""What a question says about when: the dates and periods written in it, as a date window.

"What did Azerbaijan say in July 2023?" -> 2023-07-01 .. 2023-07-31, from the words "in July 2023". Recognised:
a year, a month and year, a full date (by the same patterns as `dates.MENTIONED_DATE`), a decade ("the 1990s"),
each after "in", "during", "on", "throughout", or alone (a month and year or a full date that no noun follows);
"since"/"from"/"after" X, "before"/"until"/"till"/"up to"/"prior to" X, "between X and Y", "from X to Y"; and
"this year", "last year", "this month", "last month", "in the last N years/months", which count from `today` —
for a collection, the date of its newest document. A date that names an event ("the resolutions of 1993", "the
September 27, 2020 attack") is not a period of the statements and is left alone, as is a number that is not a
plausible year.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from qa_assistant.text.dates import MONTHS, parse_date

_YEAR = r"(?:1[89]\d\d|20\d\d)"
_MONTH_YEAR = rf"(?:{MONTHS})\.?,?\s+{_YEAR}"
_FULL_DATE = (
    rf"(?:\d{{1,2}}\s+(?:{MONTHS})\.?,?\s+{_YEAR}|(?:{MONTHS})\.?\s+\d{{1,2}},?\s+{_YEAR}|{_YEAR}-\d{{2}}-\d{{2}})"
)
_DECADE = r"(?:the\s+)?(?:1[89]\d0s|20\d0s)"  # "the 1990s"
_POINT = rf"(?:{_FULL_DATE}|{_MONTH_YEAR}|{_DECADE}|{_YEAR})"
_AFTER = r"since|after|from|starting(?:\s+in)?"
_BEFORE = r"before|until|till|up\s+to|prior\s+to|by"
_IN = r"in|during|on|throughout"
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10, "twelve": 12}

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "range",
        re.compile(rf"\b(?:between|from)\s+(?P<a>{_POINT})\s+(?:and|to|until|till|through)\s+(?P<b>{_POINT})\b", re.I),
    ),
    ("relative", re.compile(r"\b(?:in\s+|during\s+)?(?P<which>this|last|past)\s+(?P<unit>year|month)\b", re.I)),
    (
        "recent",
        re.compile(
            r"\b(?:in|during|over)\s+the\s+(?:last|past)\s+(?P<n>\d{1,2}|"
            + "|".join(_NUMBER_WORDS)
            + r")\s+(?P<unit>years|months)\b",
            re.I,
        ),
    ),
    ("after", re.compile(rf"\b(?P<word>{_AFTER})\s+(?P<a>{_POINT})\b", re.I)),
    ("before", re.compile(rf"\b(?P<word>{_BEFORE})\s+(?P<a>{_POINT})\b", re.I)),
    ("in", re.compile(rf"\b(?:{_IN})\s+(?P<a>{_POINT})\b", re.I)),
    # A date alone counts only where nothing ties it to a noun: not "the September 27, 2020 attack".
    (
        "bare",
        re.compile(
            rf"(?<!\bthe\s)\b(?P<a>{_FULL_DATE}|{_MONTH_YEAR})(?=\s*(?:[?!.,;:]|$|about\b|on\b|regarding\b))", re.I
        ),
    ),
]


@dataclass(frozen=True)
class DateWindow:
    """A date window read from a question: `since`/`until` (either may be open) and the words that said it."""

    since: dt.date | None
    until: dt.date | None
    words: str
    start: int  # where the words are in the question
    end: int


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _point(text: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day that a written date, month, year or decade covers."""
    words = " ".join(text.split())
    decade = re.fullmatch(r"(?:the\s+)?(\d{3})0s", words, re.I)
    if decade:
        first = int(decade.group(1)) * 10
        return dt.date(first, 1, 1), dt.date(first + 9, 12, 31)
    if re.fullmatch(_YEAR, words):
        year = int(words)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if re.fullmatch(_MONTH_YEAR, words, re.I):
        month_word, year = re.findall(r"[A-Za-z]+|\d{4}", words)[:2]
        month = _month_number(month_word)
        if month is None:
            return None
        return dt.date(int(year), month, 1), _month_end(int(year), month)
    day = parse_date(words)
    return (day, day) if day else None


def _month_number(word: str) -> int | None:
    word = word.lower()[:3]
    for number in range(1, 13):
        if calendar.month_abbr[number].lower() == word:
            return number
    return None


def _shift_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _relative(match: re.Match[str], today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    unit, which = match.group("unit").lower(), match.group("which").lower()
    if unit == "year":
        if which == "this":
            return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
        if which == "last":
            return dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)
        return _shift_months(today, -12), today  # "the past year"
    if which == "this":
        return dt.date(today.year, today.month, 1), _month_end(today.year, today.month)
    if which == "last":
        first = _shift_months(dt.date(today.year, today.month, 1), -1)
        return first, _month_end(first.year, first.month)
    return _shift_months(today, -1), today


def _window(kind: str, match: re.Match[str], today: dt.date | None) -> tuple[dt.date | None, dt.date | None] | None:
    if kind in ("relative", "recent"):
        if today is None:
            return None
        if kind == "relative":
            return _relative(match, today)
        raw = match.group("n").lower()
        n = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
        months = n * 12 if match.group("unit").lower() == "years" else n
        return _shift_months(today, -months), today
    first = _point(match.group("a"))
    if first is None:
        return None
    if kind == "range":
        last = _point(match.group("b"))
        return (first[0], last[1]) if last and last[1] >= first[0] else None
    if kind == "after":
        after = match.group("word").lower() == "after"
        return (first[1] + dt.timedelta(days=1) if after else first[0]), None
    if kind == "before":
        word = " ".join(match.group("word").lower().split())
        return None, (first[0] - dt.timedelta(days=1) if word in ("before", "prior to") else first[1])
    return first


def date_window(question: str, today: dt.date | None = None) -> DateWindow | None:
    """The date window that `question` writes, or None. `today` anchors "last year" and the like."""
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(question):
            window = _window(kind, match, today)
            if window is not None:
                return DateWindow(window[0], window[1], match.group(0), match.start(), match.end())
    return None


def without(question: str, start: int, end: int) -> str:
    """`question` with the words at start:end taken out, white space and a dangling comma tidied."""
    rest = f"{question[:start]} {question[end:]}"
    rest = re.sub(r"\s+([?!.,;:])", r"\1", rest)
    return " ".join(rest.split())


# "What did X say …", "What has X stated …", "How did X respond …", "What assurances did X give …": X is who the
# question asks to hear.
_WHO_ASKS = re.compile(
    r"^\s*(?:what|how|when|why|where|which)(?:\s+[\w-]+){0,3}?\s+"
    r"(?P<aux>did|do|does|has|have|had|was|were|is|are|will|would)\s+(?P<who>.+?)\s+"
    r"(?-i:say|said|says|state|stated|states|claim|claimed|claims|declare|declared|report|reported|write|wrote|"
    r"announce|announced|tell|told|think|thought|mention|mentioned|respond|responded|react|reacted|argue|argued|"
    r"describe|described|call|called|propose|proposed|accuse|accused|demand|demanded|warn|warned|stress|stressed|"
    r"give|gave|given|offer|offered|promise|promised|pledge|pledged|guarantee|guaranteed|provide|provided|"
    r"make|made|issue|issued|deny|denied|reject|rejected|confirm|confirmed|condemn|condemned|explain|explained|"
    r"justify|justified|insist|insisted|ask|asked|request|requested|urge|urged)\b",
    re.IGNORECASE,
)
_ACCORDING_TO = re.compile(r"\baccording\s+to\s+(?P<who>[^,?.;]+)", re.IGNORECASE)
_POSSESSIVE = re.compile(
    r"\b(?P<who>[\w .-]+?)['’]s\s+(?:position|view|views|stance|statement|statements|reaction|response|claim|claims)\b",
    re.IGNORECASE,
)
# Ways of writing one office: each becomes one token, so "the foreign ministry" finds "Ministry of Foreign Affairs".
_OFFICES = [
    (
        re.compile(r"\b(?:ministry\s+of\s+foreign\s+affairs|foreign\s+(?:affairs\s+)?ministry|mfa|foreign\s+office)\b"),
        "mfa",
    ),
    (re.compile(r"\b(?:ministry\s+of\s+defen[cs]e|defen[cs]e\s+ministry|mod)\b"), "mod"),
    (re.compile(r"\b(?:foreign\s+minister|minister\s+(?:of|for)\s+foreign\s+affairs)\b"), "foreignminister"),
    (re.compile(r"\b(?:defen[cs]e\s+minister|minister\s+of\s+defen[cs]e)\b"), "defenceminister"),
    (re.compile(r"\b(?:prime\s+minister|premier|pm)\b"), "primeminister"),
]
_FILLER = frozenset("the a an of and for in on at to by from its their his her official officials".split())


class SideAliases(Protocol):
    def sides_mentioned(self, text: str) -> list[str]: ...

    def aliases_in(self, text: str) -> list[str]: ...


@dataclass(frozen=True)
class AskedSpeaker:
    """Who a question asks to hear: sides, speakers and publishers of the index, and the words that said it."""

    sides: list[str]
    speakers: list[str]
    publishers: list[str]
    words: str
    office_not_found: str | None = None  # an office named with its side that no speaker of that side holds


@lru_cache(maxsize=4096)
def _office_tokens(text: str) -> frozenset[str]:
    folded = re.sub(r"'s\b", " ", " ".join(text.lower().replace("’", "'").split()))  # "Armenia's" -> "armenia"
    for pattern, token in _OFFICES:
        folded = pattern.sub(f" {token} ", folded)
    return frozenset(word for word in re.findall(r"[\w-]+", folded) if word not in _FILLER)


def who_is_asked(question: str) -> str | None:
    """The words naming who a question asks to hear ("the Armenian foreign ministry"), or None."""
    for pattern in (_WHO_ASKS, _ACCORDING_TO, _POSSESSIVE):
        match = pattern.search(question)
        if match:
            who = re.sub(
                r"^(?:(?:what|how|is|was|are|were|did|does|do|has|have)\s+)+", "", match.group("who"), flags=re.I
            )
            return who.strip() or None
    return None


class SpeakerNames:
    """The speaker names of an index with the words of each (offices written either way, `_office_tokens`), read
    once per index: a question's words are looked up, not compared with each of 10,000 names."""

    def __init__(self, names: Sequence[str]):
        self.names = list(names)
        self._holding: dict[str, list[int]] = {}  # a word -> the names (their positions) that hold it
        for number, name in enumerate(self.names):
            for word in _office_tokens(name):
                self._holding.setdefault(word, []).append(number)

    def holding(self, words: frozenset[str]) -> list[str]:
        """The names that hold every one of `words`, in their order."""
        lists = sorted((self._holding.get(word, []) for word in words), key=len)
        if not lists or not lists[0]:
            return []
        common = set(lists[0]).intersection(*lists[1:])
        return [self.names[number] for number in sorted(common)]


def without_who(question: str) -> str:
    """`question` without the words that name who it asks to hear and their verb: "Why does Baku think Armenia
    wants outside powers involved?" -> "Why Armenia wants outside powers involved?". Once they are a filter, they
    only make every statement that names its own side look similar to the question."""
    match = _WHO_ASKS.search(question)
    if match:
        return without(question, match.start("aux"), match.end())
    match = _ACCORDING_TO.search(question)
    if match:
        return without(question, match.start(), match.end()).lstrip(" ,;:")
    match = _POSSESSIVE.search(question)
    if match:
        return without(question, match.start("who"), match.end("who") + len("'s"))
    return question


def asked_speaker(
    question: str,
    sides: SideAliases,
    speakers: Sequence[str] | SpeakerNames,
    publishers: list[str],
    speaker_sides: Callable[[str], set[str]] | None = None,
) -> AskedSpeaker | None:
    """Who `question` asks to hear, resolved against the index: the sides its words name by an alias, the speakers
    of the index whose names hold every other word (offices written either way), the publishers it names. An office
    named together with a side ("Armenia's foreign ministry", "the foreign ministry of Armenia") matches only
    speakers of that side (`speaker_sides`); when there is none, the side is kept and the office is reported as not
    found. None when the question names nobody the index knows."""
    who = who_is_asked(question)
    if not who:
        return None
    named_sides = sides.sides_mentioned(who)
    alias_words = {word for alias in sides.aliases_in(who) for word in _office_tokens(alias)}
    wanted = _office_tokens(who) - alias_words
    named_publishers = [p for p in publishers if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", who)]
    matched: list[str] = []
    missing = None
    if wanted and not named_publishers:
        matched = (speakers if isinstance(speakers, SpeakerNames) else SpeakerNames(speakers)).holding(wanted)
        if named_sides and speaker_sides is not None:
            of_side = [name for name in matched if speaker_sides(name) & set(named_sides)]
            if not of_side:
                missing = _office_words(who, sides.aliases_in(who))
            matched = of_side
    if not (named_sides or matched or named_publishers):
        return None
    return AskedSpeaker(named_sides, matched, named_publishers, who, missing)


def _office_words(who: str, aliases: list[str]) -> str:
    """`who` without its side's words: "Armenia's foreign ministry" -> "foreign ministry"."""
    rest = " ".join(who.replace("’", "'").split())
    for alias in sorted(aliases, key=len, reverse=True):
        rest = re.sub(rf"(?<!\w){re.escape(alias)}(?:'s)?(?!\w)", " ", rest, flags=re.IGNORECASE)
    rest = re.sub(r"^(?:the|of)\s+|\s+(?:of|the)$", "", " ".join(rest.split()), flags=re.IGNORECASE)
    return rest.strip() or who


_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’-]*)*")
_NOT_NAMES = (
    frozenset(
        "what which who whom whose when where why how did does do is are was were has have had will would can could "
        "should may might the a an in on at of for and or but if according tell give list show i we you".split()
    )
    | {calendar.month_name[m].lower() for m in range(1, 13)}
    | {calendar.day_name[d].lower() for d in range(7)}
)


def names_in(question: str) -> list[str]:
    """The names a question writes: runs of capitalized words ("the OSCE Minsk Group" -> "OSCE Minsk Group"),
    leaving out question words, months and days, and the first word when it only starts the sentence."""
    names = []
    for match in _NAME.finditer(question):
        words = [w for w in match.group().split() if w.lower().strip("'’") not in _NOT_NAMES]
        if match.start() == len(question) - len(question.lstrip()) and words and words[0] == match.group().split()[0]:
            first = words[0]
            if first.lower() in _NOT_NAMES or (len(words) == 1 and not first.isupper() and first.istitle()):
                words = words[1:]  # "Shelling in Lachin": the capital only starts the sentence
        if words:
            names.append(" ".join(words))
    return names


def unknown_names(question: str, known: Callable[[str], bool], covered: Callable[[str], bool]) -> list[str]:
    """The names in `question` that no document mentions: a word of the name is unknown to the index (`known`),
    and no side alias covers the name (`covered`)."""
    return [name for name in names_in(question) if not covered(name) and not all(known(w) for w in name.split())]
