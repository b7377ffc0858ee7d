"""Sentence segmentation with exact character offsets.

Text is cut into units (paragraphs): a line is a unit of its own unless it continues the line before it, which
ended mid-sentence (hard wraps and page breaks of text extracted from PDF; how long a wrapped line is, is read from
the text: a PDF column is shorter than a paragraph on one line); each unit is split by pysbd; sentences
are then re-joined while a quotation is still open, so a multi-sentence quotation stays one passage, and a fragment
of fewer than `MIN_WORDS` words ("Therefore.", "India.") is joined to its neighbour in the unit. A unit that short
as a whole (a heading, a title) stays a sentence for retrieval, but `is_quotable` says no: it is never quoted.

A sentence may contain line breaks; it is always `text[start:end]`, and only a display collapses the white space.

Bounds: pysbd's time grows with the square of its input's length, so a unit longer than MAX_UNIT_CHARS is first
cut into windows (after the last sentence end, else at the last space, before the limit); a unit with no sentence
punctuation at all skips pysbd. A sentence longer than MAX_SENTENCE_CHARS is cut into pieces of at most that
length (at the last space before the limit when there is one in its second half, else exactly at the limit).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

from qa_assistant.text.abbreviations import English

OPENING_QUOTES = "“«„"
CLOSING_QUOTES = "”»"
SENTENCE_END = ".!?:;\"'”»)"
MAX_QUOTE_MERGE_CHARS = 2000
MAX_SENTENCE_CHARS = 2000
MAX_UNIT_CHARS = 5000
_SENTENCE_PUNCTUATION = re.compile(r"[.!?…;:]")
_LAST_SPACE = re.compile(r".*\s", re.DOTALL)
_LAST_SENTENCE_END = re.compile(r".*[.!?…][\"'”»)]*\s", re.DOTALL)


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    segmenter = pysbd.Segmenter(language="en", clean=False)
    segmenter.language_module = English  # pysbd's English rules, abbreviations found faster (`text/abbreviations.py`)
    return segmenter


# A sentence, or a fragment joined to its neighbour, has at least this many words.
MIN_WORDS = 4
# A line at least this long that ends without sentence punctuation is a wrapped paragraph, not a heading.
WRAPPED_LINE_CHARS = 100
# In a hard-wrapped text (its lines mostly shorter: PDF columns, text wrapped at 72 characters) the length is less:
# WRAP_SHARE of the length that the longest tenth of its lines reach (at least MIN_WRAPPED_LINE_CHARS), when it has
# at least WRAP_MIN_LINES lines.
WRAP_SHARE = 0.75
MIN_WRAPPED_LINE_CHARS = 30
WRAP_MIN_LINES = 8
# A line ending in one of these words ends mid-sentence, however short it is.
CONTINUING_WORDS = frozenset(
    "a an the of and or nor but to for in on at by with from into upon that which who whose whom as is are was were "
    "be been has have had its their our his her this these those between than not".split()
)
_WORD = re.compile(r"\w+")
_PARAGRAPH_START = re.compile(r"[ \t]|[-*•–]\s|\d+[.)]\s|#")


def _word_count(piece: str) -> int:
    return sum(1 for word in _WORD.findall(piece) if any(ch.isalpha() for ch in word))


def _wrap_width(text: str) -> int:
    """The length from which a line ending without sentence punctuation is a wrapped line of `text`."""
    lengths = sorted(len(m.group().rstrip()) for m in re.finditer(r"[^\n]+", text))
    if len(lengths) < WRAP_MIN_LINES:
        return WRAPPED_LINE_CHARS
    longest_tenth = lengths[int(0.9 * (len(lengths) - 1))]
    return min(WRAPPED_LINE_CHARS, max(MIN_WRAPPED_LINE_CHARS, int(WRAP_SHARE * longest_tenth)))


def _continues(previous_line: str, line: str, gap: str, wrap_width: int = WRAPPED_LINE_CHARS) -> bool:
    """Whether `line` continues the sentence that `previous_line` left open; `gap` is the text between them.

    A line in lower case, or after a word that cannot end a sentence, continues it. Otherwise an empty line between
    them ends the paragraph, a line of only spaces (what PDF extraction leaves at a page break) does not, and a
    line that follows at once continues a line at least `wrap_width` long (a wrapped paragraph, not a heading)."""
    previous = previous_line.rstrip()
    if not previous or previous[-1] in SENTENCE_END or _PARAGRAPH_START.match(line):
        return False
    if line[:1].islower() or previous.rsplit(None, 1)[-1].lower() in CONTINUING_WORDS:
        return True
    between = gap.split("\n")[1:-1]
    if any(not part.strip("\r") for part in between):
        return False
    return bool(between) or len(previous) >= wrap_width


def _line_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the units to segment: lines, with a line that continues an unfinished sentence joined to it (also
    across lines of only spaces, which PDF extraction leaves at page breaks)."""
    spans: list[tuple[int, int]] = []
    previous_line = ""
    wrap_width = _wrap_width(text)
    for match in re.finditer(r"[^\n]+", text):
        start, end = match.span()
        line = text[start:end]
        if not line.strip():
            continue
        if spans and _continues(previous_line, line, text[spans[-1][1] : start], wrap_width):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        previous_line = line
    return spans


def _pysbd_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """pysbd's sentences of text[start:end], located by a moving cursor so offsets are exact."""
    # same length: offsets still match `text` ("\r" too: pysbd ends a sentence at it, and PDF lines end with "\r\n")
    unit = text[start:end].replace("\n", " ").replace("\r", " ")
    spans = []
    cursor = 0
    # pysbd's processor gives the sentences; `Segmenter.segment` would then locate each with a regular expression
    # compiled for that sentence (most of its time), which the cursor below does instead.
    for piece in _segmenter().processor(unit).process():
        piece = piece.strip()
        if not piece:
            continue
        found = unit.find(piece, cursor)
        if found < 0:  # pysbd altered the text; fall back to the rest of the unit as one sentence
            spans.append((start + cursor, end))
            return spans
        spans.append((start + found, start + found + len(piece)))
        cursor = found + len(piece)
    return spans


def _quote_open(segment: str, open_before: bool) -> bool:
    """Whether a quotation is still open after `segment`."""
    depth = 1 if open_before else 0
    for ch in segment:
        if ch in OPENING_QUOTES:
            depth = 1
        elif ch in CLOSING_QUOTES:
            depth = 0
        elif ch == '"':
            depth = 1 - depth
    return depth > 0


def _merge_open_quotations(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    open_quote = False
    for start, end in spans:
        if merged and open_quote and end - merged[-1][0] <= MAX_QUOTE_MERGE_CHARS:
            merged[-1] = (merged[-1][0], end)
            open_quote = _quote_open(text[merged[-1][0] : end], False)
        else:
            merged.append((start, end))
            open_quote = _quote_open(text[start:end], False)
    return merged


# A closed quotation ending a sentence, followed by a new quotation that opens a sentence: “… out.” “The …
_QUOTE_BOUNDARY = re.compile(r"(?<=[.!?…][”»])\s+(?=[“«][A-Z])")


def _split_quote_boundaries(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    result = []
    for start, end in spans:
        cursor = start
        for match in _QUOTE_BOUNDARY.finditer(text, start, end):
            result.append((cursor, match.start()))
            cursor = match.end()
        result.append((cursor, end))
    return result


def _attach_fragments(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join pieces with no letter or digit (a stray closing quote) to the sentence before them."""
    result: list[tuple[int, int]] = []
    for start, end in spans:
        if result and not any(ch.isalnum() for ch in text[start:end]):
            result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def _cut(text: str, start: int, end: int, limit: int, pattern: re.Pattern = _LAST_SPACE) -> list[tuple[int, int]]:
    """text[start:end] in pieces of at most `limit` characters, each ending after the last match of `pattern`
    (a space, or a sentence end and its space) in the second half of the window, else after its last space,
    else exactly at the limit."""
    pieces = []
    while end - start > limit:
        window_end = start + limit
        found = pattern.match(text, start + limit // 2, window_end)
        if found is None and pattern is not _LAST_SPACE:
            found = _LAST_SPACE.match(text, start + limit // 2, window_end)
        cut = found.end() if found else window_end
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _join_short(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join each sentence of fewer than MIN_WORDS words to the one after it in the unit (to the one before it when
    it comes last), after dropping leading pieces with no word at all (a paragraph number such as "114."). A unit
    too short as a whole stays one sentence: it is context (a heading, a title), and answers never quote it."""
    while len(spans) > 1 and _word_count(text[spans[0][0] : spans[0][1]]) == 0:
        spans = spans[1:]
    result: list[tuple[int, int]] = []
    pending: int | None = None  # start of short pieces waiting for the next sentence
    for start, end in spans:
        if pending is not None:
            start, pending = pending, None
        if _word_count(text[start:end]) < MIN_WORDS:
            pending = start
            continue
        result.append((start, end))
    if pending is not None:
        if result:
            result[-1] = (result[-1][0], spans[-1][1])
        else:
            result.append((pending, spans[-1][1]))
    return result


def is_quotable(sentence: str) -> bool:
    """Whether a sentence says enough to be quoted on its own (a heading or "India." does not): at least MIN_WORDS
    words holding a letter (as `_word_count` counts them; counting stops there)."""
    count = 0
    for match in _WORD.finditer(sentence):
        word = match.group()
        if word.isalpha() or any(ch.isalpha() for ch in word):
            count += 1
            if count >= MIN_WORDS:
                return True
    return False


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence of `text`, trimmed of surrounding white space."""
    result: list[tuple[int, int]] = []
    for unit_start, unit_end in _line_spans(text):
        if _SENTENCE_PUNCTUATION.search(text, unit_start, unit_end) is None:
            result.append(_trimmed(text, unit_start, unit_end))  # no sentence break to find: only the cap below
            continue
        for start, end in _cut(text, unit_start, unit_end, MAX_UNIT_CHARS, _LAST_SENTENCE_END):
            spans = _attach_fragments(text, _pysbd_spans(text, start, end))
            spans = _split_quote_boundaries(text, _merge_open_quotations(text, spans))
            result.extend(_join_short(text, [(s, e) for s, e in spans if text[s:e].strip()]))
    capped = []
    for start, end in result:
        for piece in _cut(text, start, end, MAX_SENTENCE_CHARS):
            capped.append(_trimmed(text, *piece))
    return [(s, e) for s, e in capped if s < e and text[s:e].strip()]
