"""pysbd's English rules with a faster search for abbreviations, giving the same sentences.

pysbd marks the period of each known abbreviation ("Mr.", "No.", "St.") so it does not end a sentence. Its search
(`AbbreviationReplacer.search_for_abbreviations_in_string`) is half of all segmenting time on UN speeches: for each
of its ~190 abbreviations it compiles patterns through `re`'s cache and scans the paragraph, and it applies the
same substitution once per occurrence of the abbreviation. `English` below is pysbd's English language module with
that one method replaced (pysbd's own way of changing a language's rules: each language may bring its own
`AbbreviationReplacer`) by one that

- compiles each pattern once;
- skips an abbreviation of plain letters that begins no word of the paragraph: pysbd's pattern matches it only
  after white space or at the start, so it could not match (when a word holds a letter that case folding can turn
  into an ASCII one, such as "ſ" or "ı", nothing is skipped);
- applies each distinct substitution once: pysbd's substitutions turn periods into "∯", which can only remove
  matches of a later substitution, never add one, so applying the same one again changes nothing.

`tests/test_segment.py` checks that the sentences equal those of pysbd's own rules.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pysbd.lang.english import English as PysbdEnglish

_ABBREVIATIONS = [abbreviation.strip() for abbreviation in PysbdEnglish.Abbreviation.ABBREVIATIONS]
_PLAIN = {abbreviation for abbreviation in _ABBREVIATIONS if re.fullmatch(r"[a-z]+", abbreviation)}
_LONGEST_PLAIN = max(map(len, _PLAIN))
_WORD_START = re.compile(r"(?:^|(?<=\s))[^\W\d_]+")  # letters after white space or at the start


@cache
def _patterns(abbreviation: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """pysbd's two patterns for `abbreviation`, as it writes them (the second one's braces included)."""
    return (
        re.compile(r"(?:^|\s|\r|\n)" + abbreviation, re.IGNORECASE),
        re.compile(r"(?<={" + re.escape(abbreviation) + "} ).{1}"),
    )


def _word_beginnings(text: str) -> set[str] | None:
    """Every beginning (up to the longest plain abbreviation) of a word of `text`, lower-cased; None when a word
    holds a non-ASCII letter ("İ", "ſ", "K" match "i", "s", "k" when case is ignored, and lower-casing may change
    their length): words are taken from `text` as it is, before lower-casing."""
    words = set(_WORD_START.findall(text))
    if not all(word.isascii() for word in words):
        return None
    return {word[:size].lower() for word in words for size in range(1, min(len(word), _LONGEST_PLAIN) + 1)}


class _AbbreviationReplacer(PysbdEnglish.AbbreviationReplacer):
    def search_for_abbreviations_in_string(self, text: str) -> str:
        lowered = text.lower()
        beginnings: set[str] | None = None
        looked = False
        for abbreviation in _ABBREVIATIONS:
            if abbreviation not in lowered:
                continue
            if abbreviation in _PLAIN:
                if not looked:
                    beginnings, looked = _word_beginnings(text), True
                if beginnings is not None and abbreviation not in beginnings:
                    continue
            occurrences, next_word = _patterns(abbreviation)
            found = occurrences.findall(text)
            if not found:
                continue
            next_chars = next_word.findall(text)
            applied: set[tuple[str, bool]] = set()
            for i, match in enumerate(found):
                substitution = (match.strip(), str(next_chars[i] if i < len(next_chars) else "").isupper())
                if substitution in applied:
                    continue
                applied.add(substitution)
                text = self.scan_for_replacements(text, match, i, next_chars)
        return text


class English(PysbdEnglish):
    AbbreviationReplacer: Any = _AbbreviationReplacer
