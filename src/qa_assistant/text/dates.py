"""Dates: the publication dateline of a document, and the dates its text mentions (event dates)."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Month names and their abbreviations, as a regular-expression alternation.
MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
# Full dates only (day, month and year): "19 September, 2023", "September 28, 2020", "2023-09-19".
MENTIONED_DATE = re.compile(
    rf"\b(?:\d{{1,2}}\s+(?:{MONTHS})\.?,?\s+\d{{4}}|(?:{MONTHS})\.?\s+\d{{1,2}},?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})\b",
    re.IGNORECASE,
)
_SETTINGS = {"REQUIRE_PARTS": ["day", "month", "year"], "STRICT_PARSING": True, "PREFER_DAY_OF_MONTH": "first"}


@lru_cache(maxsize=4096)  # a collection writes the same dates again and again; dateparser takes ~10 ms each
def parse_date(text: str) -> dt.date | None:
    """A full calendar date written in `text`, or None: nothing is guessed."""
    import dateparser

    parsed = dateparser.parse(text.strip(), languages=["en"], settings=_SETTINGS)
    return parsed.date() if parsed else None


def prepare_date_parsing() -> None:
    """Have dateparser compile its English patterns now (~0.6 s on its first date), not in a first dated question."""
    parse_date.__wrapped__("1 January 2000")


def mentioned_dates(text: str) -> list[dt.date]:
    """Distinct full dates written in `text`, in order of first mention."""
    found: list[dt.date] = []
    for match in MENTIONED_DATE.finditer(text):
        date = parse_date(match.group())
        if date and date not in found:
            found.append(date)
    return found


# Dates a text speaks of, with where they are written: a full date, a day or days of a month ("12-14 July",
# "July 15"), a month ("in July", "July 2020"), or a year. A month or day without its year belongs to the document's
# year (the year before when that would fall after the document's date). Month names count only capitalized there
# ("may" is a verb), and a month alone only after a word that makes it a time ("in July", "early March").
_CAP_MONTHS = "|".join(
    m.capitalize() for m in MONTHS.split("|") if m != "may"
)  # "May" alone is left out: "May 2020" and "15 May" still count (below)
_DAYS = r"\d{1,2}(?:\s*(?:-|–|—|to)\s*\d{1,2})?"
SPOKEN_DATE = re.compile(
    rf"(?P<full>(?i:{MENTIONED_DATE.pattern}))"
    rf"|(?P<dm>\b{_DAYS}\s+(?:{_CAP_MONTHS}|May)\b\.?(?:,?\s+(?P<dm_year>(?:1[89]|20)\d\d)\b)?)"
    rf"|(?P<md>\b(?:{_CAP_MONTHS}|May)\.?\s+{_DAYS}\b(?!\s*(?:%|per\b))(?:,?\s+(?P<md_year>(?:1[89]|20)\d\d)\b)?)"
    rf"|(?P<my>\b(?:{_CAP_MONTHS}|May)\.?,?\s+(?P<my_year>(?:1[89]|20)\d\d)\b)"
    rf"|(?P<m>\b(?:in|since|during|until|till|by|of|early|late|mid|mid-|last|this|next)\s+(?P<m_name>{_CAP_MONTHS})\b"
    r"(?!\.?,?\s+\d))"
    r"|(?P<y>\b(?:1[89]\d\d|20\d\d)\b)",
)


@dataclass(frozen=True)
class DateMention:
    """A date, days, a month or a year written in a text: where (`start`:`end`) and the days it covers."""

    start: int
    end: int
    first: dt.date
    last: dt.date


def _month_of(word: str) -> int:
    return [m.lower()[:3] for m in MONTHS.split("|")].index(word.lower()[:3]) % 12 + 1


def _year_for(month: int, day: int, published: dt.date | None) -> int | None:
    if published is None:
        return None
    year = published.year
    if (month, day) > (published.month, published.day):
        year -= 1  # "12-14 July" in a statement of 28 September 2020 is July 2020; in one of 3 March 2021, 2020
    return year


def date_mentions(text: str, published: dt.date | None = None) -> list[DateMention]:
    """Every date, day range, month or year that `text` speaks of, in order; a month or day without a year takes
    it from `published` (left out when there is none)."""
    found = []
    for match in spoken_dates(text):
        span = _covered(match, published)
        if span is not None:
            found.append(DateMention(match.start(), match.end(), *span))
    return found


# Every written date holds a digit or a capitalized month name, and starts at most a few words before it ("in
# July", "september 15, 2020"): the pattern is tried only there, not at each of a speech's ~40,000 positions.
_MONTH_WORD = re.compile(
    "|".join(sorted({*(m.capitalize() for m in MONTHS.split("|")), "Sept"}, key=len, reverse=True))
)
_BEFORE = 16  # characters a date may start before the digit or month name it holds
_AFTER = 64  # characters it is searched for after it (a longer one found near this limit is searched again)


def _anchors(text: str) -> list[int]:
    """Where each run of digits and each capitalized month name starts, in order."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    digit = (codes >= 48) & (codes <= 57)
    runs = np.flatnonzero(digit & ~np.concatenate([[False], digit[:-1]]))
    months = np.fromiter((m.start() for m in _MONTH_WORD.finditer(text)), dtype=np.int64)
    return np.union1d(runs, months).tolist()


def spoken_dates(text: str) -> Iterator[re.Match[str]]:
    """The matches of `SPOKEN_DATE` in `text`, the same as its `finditer`, about 15 times faster on speeches."""
    position, length = 0, len(text)
    for anchor in _anchors(text):
        if anchor < position:
            continue
        until = min(length, anchor + _AFTER)
        match = SPOKEN_DATE.search(text, max(position, anchor - _BEFORE), until)
        if match is not None and until < length and match.end() > until - _BEFORE:
            match = SPOKEN_DATE.search(text, max(position, anchor - _BEFORE))  # it may go on past `until`
        if match is not None:
            yield match
            position = match.end()


def _covered(match: re.Match[str], published: dt.date | None) -> tuple[dt.date, dt.date] | None:
    kind = next(name for name in ("full", "dm", "md", "my", "m", "y") if match.group(name))
    words = match.group(kind)
    try:
        if kind == "full":
            day = parse_date(words)
            return (day, day) if day else None
        if kind == "y":
            return dt.date(int(words), 1, 1), dt.date(int(words), 12, 31)
        if kind in ("my", "m"):
            name = re.search(r"[A-Za-z]{3,}", words if kind == "my" else match.group("m_name"))
            month = _month_of(name.group()) if name else 0
            year: int | None = int(match.group("my_year")) if kind == "my" else _year_for(month, 1, published)
            if year is None:
                return None
            return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        days = [int(d) for d in re.findall(r"\d{1,2}(?!\d)", re.sub(r"(?:1[89]|20)\d\d", "", words))]
        name = re.search(r"[A-Za-z]{3,}", words)
        month = _month_of(name.group()) if name else 0
        written = match.group("dm_year" if kind == "dm" else "md_year")
        if not days:
            return None
        day_year = int(written) if written else _year_for(month, min(days), published)
        if day_year is None:
            return None
        return dt.date(day_year, month, min(days)), dt.date(day_year, month, max(days))
    except ValueError:  # "31 June", "45 July": not a date
        return None
