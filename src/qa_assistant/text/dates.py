"""Dates: the publication dateline of a document, and the dates its text mentions (event dates)."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

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


def mentioned_dates(text: str) -> list[dt.date]:
    """Distinct full dates written in `text`, in order of first mention."""
    found: list[dt.date] = []
    for match in MENTIONED_DATE.finditer(text):
        date = parse_date(match.group())
        if date and date not in found:
            found.append(date)
    return found
