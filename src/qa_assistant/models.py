"""Pydantic models shared by the Python API, the CLI and the UI.

Every `Quote` is a slice of a `Document`: ``quote.text == document.text[quote.start:quote.end]``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

RetrievalMode = Literal["hybrid", "bm25", "dense"]

# A hyphen that only splits a word at a line end: PDFium marks it U+FFFE in the text it extracts ("Azerbai\ufffejan"),
# Unicode's soft hyphen is U+00AD. Both are kept in `Document.text` (quotes stay verbatim); searching and reading
# join the word ("Azerbaijan").
SOFT_HYPHENS = "\ufffe\u00ad"
_SOFT_HYPHEN_BREAK = re.compile(r"[\ufffe\u00ad]\s*")


def join_soft_hyphens(text: str) -> str:
    """`text` with each soft hyphen and the line break after it taken out: the words as they are read."""
    if "\ufffe" not in text and "\u00ad" not in text:
        return text
    return _SOFT_HYPHEN_BREAK.sub("", text)


def reading_text(text: str) -> str:
    """`text` for reading: soft hyphens joined, each run of white space (line breaks of the source) as one space."""
    return " ".join(join_soft_hyphens(text).split())


FusionMethod = Literal["rrf", "weighted", "adaptive"]

# Retrieval defaults, chosen on BEIR SciFact (train), eval/seed.jsonl and the UN dev split: see eval/results/README.md.
DEFAULT_FUSION: FusionMethod = "adaptive"  # each question's own weights (answer/fusion.adaptive_weights)
DEFAULT_ALPHA = 0.5  # weight of the dense scores in weighted fusion
DEFAULT_RRF_K = 60
DEFAULT_CANDIDATES = 100
DEFAULT_BM25_CONTEXT = 0.5  # weight of a sentence's context (it and its neighbours) in its BM25 score
# The grid `qa-assistant eval` compares by default (here, below the CLI, which shows it in its help).
DEFAULT_RRF_KS = (10, 30, 60, 100)
DEFAULT_ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7)
DEFAULT_CONTEXTS = (0.0,)  # BM25 context weights compared with the default one (for bm25 and the default mode)


class Document(BaseModel):
    """One source document after ingestion. `text` (boilerplate removed) is what offsets point into."""

    id: str
    path: str
    title: str | None = None
    publisher: str | None = None
    side: str | None = None
    date: dt.date | None = Field(None, description="publication date; unknown stays None")
    date_source: str | None = Field(None, description="where the date came from: sidecar, dateline or jsonl")
    url: str | None = None
    speaker: str | None = Field(None, description="who speaks when the text names nobody (metadata `speaker`)")
    text: str
    mentioned_dates: list[dt.date] = Field(
        default_factory=list, description="full dates written in the text (event dates)"
    )
    source_map: list[tuple[int, int, int]] | None = Field(
        None,
        description="(text offset, source file offset, length) of each verbatim run; None when text is extracted (HTML)",
    )
    page_map: list[tuple[int, int, int, int]] | None = Field(
        None,
        description="PDF: (text offset, page number from 1, index of the first character in the text PDFium extracts "
        "from that page (-1 when PDFium's text and character indices differ on it), length) of each run of the text "
        "copied from one page; None for other formats",
    )
    pages: int | None = Field(None, description="PDF: the number of pages of the file")

    def source_offsets(self, start: int, end: int) -> tuple[int, int] | None:
        """Offsets in the source file of text[start:end], when the text is a verbatim copy of it."""
        if self.source_map is None:
            return None
        for text_start, source_start, length in self.source_map:
            if text_start <= start and end <= text_start + length:
                return source_start + start - text_start, source_start + end - text_start
        return None

    def page_at(self, offset: int) -> int | None:
        """The page (from 1) that the character text[offset] was extracted from; None when the document has no
        pages, or for a character placed between pages' texts."""
        for text_start, page, _char, length in self.page_map or ():
            if text_start <= offset < text_start + length:
                return page
        return None

    def page_range(self, start: int, end: int) -> tuple[int | None, int | None]:
        """The first and last page of text[start:end] (first run touching it): (None, None) without pages."""
        touched = [page for s, page, _c, n in self.page_map or () if s < end and start < s + n]
        return (min(touched), max(touched)) if touched else (None, None)

    def page_chars(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """(page, first character index, character count) on each page of text[start:end], in the character
        indices of the text PDFium extracts from the page (what its character boxes are numbered by)."""
        found = []
        for text_start, page, char, length in self.page_map or ():
            lo, hi = max(start, text_start), min(end, text_start + length)
            if lo < hi:  # (a page whose text PDFium numbers otherwise than its characters has -1: no boxes)
                found.append((page, char + lo - text_start if char >= 0 else -1, hi - lo))
        return found

    def page_starts(self) -> list[int]:
        """The offset in `text` where each page's text begins (a page with no text kept: where the next begins)."""
        if not self.page_map or not self.pages:
            return []
        starts: list[int | None] = [None] * self.pages
        for text_start, page, _char, _length in self.page_map:
            if starts[page - 1] is None:
                starts[page - 1] = text_start
        result = [len(self.text)] * self.pages
        following = len(self.text)
        for i in range(self.pages - 1, -1, -1):
            found = starts[i]
            following = result[i] = found if found is not None else following
        return result


class DocumentInfo(BaseModel):
    """What a list of the collection shows of one document (GET /documents, the app's document panel)."""

    id: str = Field(description="the document id quotes carry (`Quote.doc_id`); DELETE /documents/{id} removes it")
    file: str = Field(description="its file, relative to the corpus folder")
    title: str | None = None
    publisher: str | None = None
    side: str | None = None
    date: dt.date | None = None
    speaker: str | None = None
    url: str | None = None
    sentences: int = Field(0, description="sentences indexed from it")


class UploadMetadata(BaseModel):
    """The `metadata.csv` cells given with uploaded files (each optional; empty means unknown)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = None
    publisher: str | None = None
    side: str | None = None
    date: dt.date | None = Field(None, description="publication date, YYYY-MM-DD")
    speaker: str | None = None

    @field_validator("title", "publisher", "side", "speaker", mode="before")
    @classmethod
    def _empty_is_unknown(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"'{value}' is not a date: use YYYY-MM-DD") from None
        return value


JobState = Literal["queued", "running", "done", "failed"]


class SkippedUpload(BaseModel):
    file: str
    reason: str


class UpdateResult(BaseModel):
    """What an update of the collection did (the result of a finished `Job`)."""

    added: list[DocumentInfo] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list, description="ids of the documents removed")
    not_added: list[SkippedUpload] = Field(
        default_factory=list, description="uploaded files that could not be read, with the reason (not stored)"
    )
    documents: int = Field(0, description="documents in the index now")
    sentences: int = Field(0, description="sentences in the index now")
    stage_seconds: dict[str, float] = Field(default_factory=dict, description="seconds spent in each stage")


class Job(BaseModel):
    """A background update of the collection: files added or a document removed, then the index updated."""

    id: str
    kind: Literal["add", "remove"]
    state: JobState = "queued"
    progress: float = Field(0.0, description="0 to 1")
    message: str = ""
    files: list[str] = Field(default_factory=list, description="the corpus files it adds or removes")
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    result: UpdateResult | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


class Filters(BaseModel):
    """Restrictions applied inside each retriever, before fusion."""

    sides: list[str] | None = None
    publishers: list[str] | None = None
    doc_ids: list[str] | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    speakers: list[str] | None = Field(None, description="speaker names of the index (the sentence's attribution)")

    def is_empty(self) -> bool:
        return not (self.sides or self.publishers or self.doc_ids or self.since or self.until or self.speakers)

    def describe(self) -> str:
        """The filters in a few words, e.g. 'India, 2019-01-01 – 2019-12-31'."""
        parts = [", ".join(values) for values in (self.sides, self.speakers, self.publishers) if values]
        if self.doc_ids:
            parts.append(f"{len(self.doc_ids)} chosen documents")
        if self.since or self.until:
            parts.append(f"{self.since or '…'} – {self.until or '…'}")
        return ", ".join(parts) or "no filter"


class Understood(BaseModel):
    """What a question says about itself, read from its words: when ("in July 2023"), who speaks ("the Armenian
    foreign ministry"), and names no document mentions. Applied as filters, except where an explicit filter of the
    same kind was given (listed in `overridden`)."""

    searched: str = Field(description="the question as searched: the words of a period taken out")
    period: str | None = Field(None, description="the words that gave a date window, e.g. 'in July 2023'")
    since: dt.date | None = None
    until: dt.date | None = None
    who: str | None = Field(None, description="the words that named who speaks, e.g. 'the Armenian foreign ministry'")
    sides: list[str] = Field(default_factory=list, description="the one side named as the speaker")
    speakers: list[str] = Field(default_factory=list, description="speakers of the index that those words name")
    publishers: list[str] = Field(default_factory=list, description="publishers named as the speaker")
    unknown_names: list[str] = Field(default_factory=list, description="names in the question no document mentions")
    unmentioned: dict[str, list[str]] = Field(
        default_factory=dict,
        description="names of the question that no statement within the filters mentions, by what the filters "
        "describe (e.g. 'India, 2019-01-01 – 2019-12-31'); the collection mentions them elsewhere",
    )
    overridden: list[str] = Field(default_factory=list, description="what explicit filters replaced: dates, sides…")
    speaks_of_period: bool = Field(
        False, description="the period selects statements published in it or that speak of it (a date inside it)"
    )
    office_not_found: str | None = Field(
        None, description="an office named with its side that no speaker of that side in the index holds"
    )
    names_searched: dict[str, list[str]] = Field(
        default_factory=dict,
        description="names of the question and the other names also searched for them (e.g. Stepanakert: Khankendi)",
    )
    inferred: list[str] = Field(
        default_factory=list, description="filters read from the question rather than set: dates, sides, speakers…"
    )
    dropped: list[str] = Field(
        default_factory=list,
        description="filters read from the question that were dropped because nothing within them was relevant",
    )

    def labels(self) -> list[str]:
        """Short descriptions of what was understood, for a chip or a line."""
        labels = []
        if self.period:
            span = f"{self.since or '…'} – {self.until or '…'}"
            kind = "published in or speaking of " if self.speaks_of_period else ""
            labels.append(
                f"“{self.period}” = {kind}{span}" + (" (your dates win)" if "dates" in self.overridden else "")
            )
        if self.sides:
            labels.append(
                "side: " + ", ".join(self.sides) + (" (your sides win)" if "sides" in self.overridden else "")
            )
        if self.speakers:
            shown = ", ".join(self.speakers[:3]) + (
                f" and {len(self.speakers) - 3} more" if len(self.speakers) > 3 else ""
            )
            labels.append(f"speaker: {shown}")
        if self.office_not_found:
            labels.append(f"office not found for {', '.join(self.sides) or 'that side'}: {self.office_not_found}")
        if self.publishers:
            labels.append("publisher: " + ", ".join(self.publishers))
        for name, others in self.names_searched.items():
            labels.append(f"names searched: {name}, " + ", ".join(others))
        if self.unknown_names:
            labels.append("not in any document: " + ", ".join(self.unknown_names))
        for within, names in self.unmentioned.items():
            labels.append(f"not mentioned in {within}: " + ", ".join(names))
        if self.dropped:
            labels.append("dropped (nothing relevant within them): " + ", ".join(self.dropped))
        return labels


class FusionWeights(BaseModel):
    """The weights adaptive fusion gave BM25 and dense scores for one question, and why."""

    bm25: float = Field(description="weight of the min-max normalized BM25 scores")
    dense: float = Field(description="weight of the min-max normalized dense scores (1 - bm25)")
    keyword_share: float = Field(
        description="share of the question's term weight (IDF of the terms the index holds) carried by names and numbers"
    )
    names: list[str] = Field(default_factory=list, description="the names and numbers of the question the index holds")
    reason: str = Field(description="the weights in words, e.g. which names made the question lean on BM25")


class SearchSettings(BaseModel):
    """How candidates are retrieved and fused."""

    mode: RetrievalMode = Field("hybrid", description="hybrid (BM25 and dense, fused), bm25 or dense")
    fusion: FusionMethod = Field(
        DEFAULT_FUSION,
        description="how BM25 and dense results are fused: rrf, weighted (fixed alpha) or adaptive (weights from the "
        "question's names and numbers and their frequency in the index)",
    )
    rrf_k: int = Field(DEFAULT_RRF_K, ge=1, description="RRF constant: fused = sum 1 / (rrf_k + rank)")
    alpha: float = Field(
        DEFAULT_ALPHA, ge=0.0, le=1.0, description="weighted fusion: alpha * dense + (1 - alpha) * min-max bm25"
    )
    candidates: int = Field(DEFAULT_CANDIDATES, ge=1, description="candidates taken from each retriever before fusion")
    bm25_context: float = Field(
        DEFAULT_BM25_CONTEXT,
        ge=0.0,
        description="a sentence's BM25 score is its own plus this times the score of it with its neighbours (0: alone)",
    )


class Hit(BaseModel):
    """A retrieved sentence with the evidence each retriever gave for it."""

    sentence_id: int
    doc_id: str
    start: int
    end: int
    score: float
    bm25_score: float | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    dense_rank: int | None = None
    fusion_weights: FusionWeights | None = Field(None, description="adaptive fusion: the question's weights and why")


class OtherSource(BaseModel):
    """Another document that carries the same (or a nearly identical) sentence."""

    doc_id: str
    title: str | None = None
    publisher: str | None = None
    date: dt.date | None = None
    speaker: str | None = None
    text: str
    start: int
    end: int
    link: str
    page: int | None = Field(None, description="PDF: the page where the sentence starts")


class Quote(BaseModel):
    """A verbatim source sentence with its attribution."""

    text: str
    doc_id: str
    start: int
    end: int
    title: str | None = None
    publisher: str | None = None
    side: str | None = None
    date: dt.date | None = None
    url: str | None = None
    path: str | None = None
    link: str = Field(
        description="where the quote stands: the source file (or URL) with an RFC 5147 #char=start,end fragment, "
        "or for a PDF an RFC 8118 #page=N fragment"
    )
    page: int | None = Field(None, description="PDF: the page (from 1) where the quote starts")
    page_end: int | None = Field(None, description="PDF: the page where the quote ends, when it runs onto another")
    source_start: int | None = Field(
        None, description="offsets of the quote in the source file, when the text is a verbatim copy"
    )
    source_end: int | None = None
    speaker: str | None = Field(
        None, description="who is quoted: named in the text, carried over from the last named speaker, or the publisher"
    )
    speaker_side: str | None = Field(None, description="the speaker's side; answers group by it")
    speaker_source: str | None = Field(
        None,
        description="quote, named, according, continuation; or metadata, title, publisher (no speaker in the text)",
    )
    cue: str | None = Field(
        None, description="the words that attribute the sentence, e.g. 'said the Azeri Ministry of Defense'"
    )
    cue_start: int | None = None
    cue_end: int | None = None
    attribution_confidence: float | None = None
    also_in: list[OtherSource] = Field(
        default_factory=list, description="other documents with the same or a near-identical sentence"
    )
    score: float = Field(description="fused retrieval score (the mode's own score in single-retriever modes)")
    bm25_score: float | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    dense_rank: int | None = None
    fusion_weights: FusionWeights | None = Field(
        None, description="adaptive fusion: the weights of BM25 and dense scores for this question, and why"
    )
    similarity: float = Field(description="cosine similarity of question and sentence embeddings, used to abstain")
    topic_match: bool = Field(
        False, description="quoted below the similarity threshold because it holds every word of the asked topic"
    )
    speaks_of_period: bool = Field(
        False, description="published outside the question's period, but it (or its paragraph) speaks of a date inside"
    )
    context_before: str | None = None
    context_after: str | None = None

    @property
    def display_text(self) -> str:
        """The quote for reading: `text` with each run of white space (line breaks of the source) as one space and
        words split by a soft hyphen at a line end joined ("Azerbai\ufffejan" -> "Azerbaijan")."""
        return reading_text(self.text)

    @property
    def pages_label(self) -> str | None:
        """'p. 3' or 'pp. 3–4' for a quote from a PDF, else None."""
        if self.page is None:
            return None
        return f"pp. {self.page}–{self.page_end}" if self.page_end else f"p. {self.page}"


def speaker_via_publisher(speaker: str | None, publisher: str | None) -> str | None:
    """Who a quote is from, as the CLI and the UI show it: "speaker, via publisher" when both are known and differ,
    else whichever is known (None: neither)."""
    if speaker and publisher and speaker != publisher:
        return f"{speaker}, via {publisher}"
    return speaker or publisher or None


class SideGroup(BaseModel):
    """The quotes of one side, or a note that the side has none."""

    side: str
    quotes: list[Quote] = Field(default_factory=list)
    note: str | None = None


class Timings(BaseModel):
    """Milliseconds spent in each stage of answering."""

    encode_ms: float = 0.0
    bm25_ms: float = 0.0
    dense_ms: float = 0.0
    fuse_ms: float = 0.0
    timeline_ms: float = 0.0
    total_ms: float = 0.0


Granularity = Literal["day", "month", "year"]


class TimelineCell(BaseModel):
    """The relevant statements of one row in one period."""

    period: str = Field(description="YYYY, YYYY-MM or YYYY-MM-DD, as the timeline's granularity says")
    count: int = Field(description="relevant statements (near-duplicates within the cell counted once)")
    sentence_ids: list[int] = Field(
        default_factory=list,
        description="the cell's best sentences: the most similar first, then those holding the topic's words by "
        "their BM25 score (open them with `Assistant.period_quotes`)",
    )


class TimelineRow(BaseModel):
    """One side (or speaker/publisher) and the periods in which its relevant statements were published."""

    side: str = Field(description="the side asked about, or the speaker/publisher when no sides were asked")
    count: int = Field(0, description="relevant dated statements of this row in all periods")
    cells: list[TimelineCell] = Field(default_factory=list, description="only periods with statements, in order")


class UndatedCell(BaseModel):
    """A row's relevant statements in documents with no date."""

    side: str
    count: int
    sentence_ids: list[int] = Field(default_factory=list)


class TimelineUndated(BaseModel):
    """Relevant statements in documents with no date: counted apart, never placed in a period."""

    count: int = 0
    rows: list[UndatedCell] = Field(default_factory=list)


class Timeline(BaseModel):
    """How the relevant statements of an answer spread over time: the sentences the answer may quote (the same
    relevance rule), found among every sentence within the filters, counted per row per period."""

    granularity: Granularity = Field(description="day, month or year: chosen from the span of the statements")
    rows_by: Literal["side", "speaker"] = Field(
        description="side: one row per side asked about; speaker: per speaker (or publisher) otherwise"
    )
    rows: list[TimelineRow] = Field(default_factory=list)
    undated: TimelineUndated = Field(default_factory=TimelineUndated)
    rows_left_out: int = Field(0, description="rows with fewer statements left out (only when no sides were asked)")
    statements_left_out: int = Field(0, description="the statements of those rows")
    notes: list[str] = Field(default_factory=list, description="what the reader should know about the counts")
    index_fingerprint: str = Field("", description="the index its sentence ids belong to (its corpus and size)")

    def cell(self, side: str, period: str) -> TimelineCell | UndatedCell | None:
        """The cell of `side` in `period` ("undated": its undated statements); None when it has none."""
        if period == "undated":
            return next((cell for cell in self.undated.rows if cell.side == side), None)
        for row in self.rows:
            if row.side == side:
                return next((cell for cell in row.cells if cell.period == period), None)
        return None

    def periods(self) -> list[str]:
        """Every period with a statement in some row, in order."""
        return sorted({cell.period for row in self.rows for cell in row.cells})


class Answer(BaseModel):
    """The reply to a question: source sentences only, never generated text."""

    question: str
    topic: str | None = Field(
        None,
        description="for a question about what the sides said: the topic that was searched and that quotes were compared with",
    )
    k: int | None = Field(None, description="how many quotes were asked for")
    quotes: list[Quote] = Field(default_factory=list)
    grouped_by_side: bool = False
    groups: list[SideGroup] = Field(default_factory=list)
    other_sides: list[str] = Field(
        default_factory=list,
        description="for a question to many sides: the other sides that spoke on the topic, not shown (pick them as filters)",
    )
    abstained: bool = False
    abstain_reason: str | None = None
    settings: SearchSettings = Field(default_factory=SearchSettings)
    filters: Filters = Field(default_factory=Filters)
    min_similarity: float = Field(description="below this best similarity the answer abstains")
    min_quote_similarity: float | None = Field(
        None, description="the lowest similarity of a quote once the question is answered (min_similarity - margin)"
    )
    best_similarity: float | None = Field(
        None,
        description="highest similarity of any retrieved sentence to the question (or topic); below min_similarity means abstain",
    )
    timings: Timings = Field(default_factory=Timings)
    understood: Understood | None = Field(None, description="what was read from the question; None with infer off")
    notes: list[str] = Field(
        default_factory=list, description="what the reader should know about how the question was handled"
    )
    timeline: Timeline | None = Field(
        None, description="the relevant statements counted per side (or speaker) per period; None when not asked"
    )

    def numbered_groups(self) -> list[tuple[SideGroup | None, list[tuple[int, Quote]]]]:
        """The quotes in display order, numbered from 1 across the answer: one entry per side group (the group is
        None when the answer is not grouped by side), each with its (number, quote) pairs."""
        sections = [(g, g.quotes) for g in self.groups] if self.grouped_by_side else [(None, self.quotes)]
        numbered: list[tuple[SideGroup | None, list[tuple[int, Quote]]]] = []
        number = 0
        for group, quotes in sections:
            rows = []
            for quote in quotes:
                number += 1
                rows.append((number, quote))
            numbered.append((group, rows))
        return numbered
