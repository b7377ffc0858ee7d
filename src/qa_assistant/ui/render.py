"""Answers as HTML for the chat UI (the document panel: `document.py`; quotes as Markdown: `markdown.py`).

Everything that comes from a document, its metadata or the user's question is untrusted: it is
escaped here (``html.escape`` for HTML, backslash escapes for Markdown) so markup inside it is shown
as text and never interpreted. Nothing in this module builds markup from unescaped input.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from qa_assistant.models import DEFAULT_FUSION, Answer, Document, Quote, SideGroup, speaker_via_publisher

# Colours given to sides in the order they are listed (sorted side names of the index).
SIDE_PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
NEUTRAL_COLOUR = "#64748b"


def esc(value: object) -> str:
    """Text -> HTML text (quotes included, so the result is safe inside attribute values too)."""
    return html.escape("" if value is None else str(value), quote=True)


def side_colours(sides: Iterable[str]) -> dict[str, str]:
    """A stable colour per side name (party sides get the palette, 'neutral'-like ones grey)."""
    colours: dict[str, str] = {}
    i = 0
    for side in sides:
        if side.lower() in {"neutral", "press", "unknown"}:
            colours[side] = NEUTRAL_COLOUR
        else:
            colours[side] = SIDE_PALETTE[i % len(SIDE_PALETTE)]
            i += 1
    return colours


def _colour(side: str | None, colours: Mapping[str, str] | None) -> str:
    if side and colours and side in colours:
        return colours[side]
    return NEUTRAL_COLOUR


def _field(item: Any, name: str) -> Any:
    """`item.name` or `item[name]` (pydantic model, dataclass or dict), else None."""
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def fmt_date(value: dt.date | str | None) -> str:
    if value is None or value == "":
        return "date unknown"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def who(quote: Any) -> str:
    """Who is quoted: the speaker when known, else the publisher."""
    return _field(quote, "speaker") or _field(quote, "publisher") or "unknown source"


def quote_side(quote: Any) -> str | None:
    """The side a quote speaks for: the speaker's side when known, else the document's."""
    return _field(quote, "speaker_side") or _field(quote, "side")


def attribution_parts(quote: Any) -> list[str]:
    """[who, side, date, title] as plain (unescaped) text; the publisher follows a speaker as 'via …'."""
    source = speaker_via_publisher(_field(quote, "speaker"), _field(quote, "publisher")) or "unknown source"
    doc_side = _field(quote, "side")
    speaker_side = _field(quote, "speaker_side")
    side = speaker_side or doc_side or "side unknown"
    if speaker_side and doc_side and speaker_side != doc_side:
        side = f"{speaker_side} (in a {doc_side} document)"
    title = _field(quote, "title") or _field(quote, "path") or _field(quote, "doc_id") or "untitled document"
    return [source, side, fmt_date(_field(quote, "date")), title]


def also_in(quote: Any) -> list[Any]:
    """Other sources of the same sentence, when the quote carries them (`also_in`, optional)."""
    items = _field(quote, "also_in")
    if not items:
        return []
    return list(items) if isinstance(items, (list, tuple)) else [items]


def describe_source(item: Any) -> str:
    """One other source as 'publisher, date: title' (plain text)."""
    if isinstance(item, str):
        return item
    parts = [p for p in (_field(item, "speaker") or _field(item, "publisher"), _field(item, "date")) if p]
    head = ", ".join(fmt_date(p) if isinstance(p, dt.date) else str(p) for p in parts)
    title = _field(item, "title") or _field(item, "doc_id") or _field(item, "path")
    if head and title:
        return f"{head}: {title}"
    return head or str(title or item)


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) address (the only ones turned into links), else None."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    if parsed.scheme in {"http", "https"} and parsed.netloc:
        return url.strip()
    return None


# ---------------------------------------------------------------------------------------------- HTML


def _show_button(doc_id: str, start: int, end: int, label: str = "Show in document", css: str = "qa-show") -> str:
    return (
        f'<button type="button" class="{css}" data-doc="{esc(doc_id)}" data-start="{int(start)}" '
        f'data-end="{int(end)}" title="Open the document with this sentence highlighted">{esc(label)}</button>'
    )


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


SPEAKER_SOURCES = {
    "quote": "a quotation in the text",
    "named": "a speaker named in the sentence",
    "according": "“according to …” in the sentence",
    "continuation": "the previous speaker (continued)",
    "metadata": "the document's speaker (metadata; no speaker in the sentence)",
    "title": "the issuing body named in the title (no speaker in the sentence)",
    "publisher": "the publisher (no speaker in the text)",
}


FUSION_LABELS = {
    "rrf": "Fused score (RRF)",
    "weighted": "Fused score (weighted)",
    "adaptive": "Fused score (adaptive)",
}


def scores_html(
    quote: Quote,
    min_similarity: float | None = None,
    mode: str | None = None,
    fusion: str | None = None,
    compared_with: str = "question",
) -> str:
    """The retrieval evidence (and attribution evidence, when present) of a quote, folded in a <details> element."""
    bm25 = "not retrieved" if quote.bm25_rank is None else f"#{quote.bm25_rank} (score {_num(quote.bm25_score)})"
    dense = "not retrieved" if quote.dense_rank is None else f"#{quote.dense_rank} (cosine {_num(quote.dense_score)})"
    if mode in (None, "hybrid"):
        fused_label = FUSION_LABELS.get(fusion or DEFAULT_FUSION, f"Fused score ({fusion})")
    else:
        fused_label = f"Score ({mode})"
    threshold = "" if min_similarity is None else f" (threshold {min_similarity:.2f})"
    rows = [
        ("BM25 rank", bm25),
        ("Dense rank", dense),
        (fused_label, _num(quote.score, 4)),
        (f"Similarity to {compared_with}", f"{quote.similarity:.3f}{threshold}"),
    ]
    weights = _field(quote, "fusion_weights")
    if weights:
        bm25_weight, dense_weight, reason = (_field(weights, name) for name in ("bm25", "dense", "reason"))
        rows.insert(3, ("Fusion weights", f"BM25 {_num(bm25_weight, 2)} · dense {_num(dense_weight, 2)}"))
        rows.insert(4, ("Weighed so because", str(reason or "")))
    if _field(quote, "topic_match"):
        rows.append(("Quoted because", "it holds every word of the topic (similarity below the threshold)"))
    elif min_similarity is not None and quote.similarity < min_similarity:
        rows.append(("Quoted because", "another statement reaches the threshold, and this one is close below it"))
    source = _field(quote, "speaker_source")
    if source:
        rows.append(("Speaker from", SPEAKER_SOURCES.get(source, source)))
    cue = _field(quote, "cue")
    if cue:
        rows.append(("Attribution cue", f"“{cue}”"))
    confidence = _field(quote, "attribution_confidence")
    if isinstance(confidence, (int, float)):
        rows.append(("Attribution confidence", f"{confidence:.2f}"))
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<details class="qa-scores"><summary>Scores</summary><table>{body}</table></details>'


def quote_html(
    quote: Quote,
    number: int,
    *,
    colours: Mapping[str, str] | None = None,
    min_similarity: float | None = None,
    mode: str | None = None,
    fusion: str | None = None,
    compared_with: str = "question",
    quote_id: str | None = None,
) -> str:
    """One quote card: the sentence in quotation marks, its attribution and its actions."""
    source, side, date, title = attribution_parts(quote)
    colour = _colour(quote_side(quote), colours)
    extra = ""
    others = also_in(quote)
    if others:
        items = []
        for item in others:
            text = esc(describe_source(item))
            doc_id, start, end = _field(item, "doc_id"), _field(item, "start"), _field(item, "end")
            if doc_id is not None and isinstance(start, int) and isinstance(end, int):
                text += " " + _show_button(doc_id, start, end, "show", "qa-show qa-show-small")
            items.append(f"<li>{text}</li>")
        extra = f'<div class="qa-also"><span>Also in</span><ul>{"".join(items)}</ul></div>'
    ident = f' id="{esc(quote_id)}"' if quote_id else ""
    pages = _field(quote, "pages_label")
    page = f' <span class="qa-page">{esc(pages)}</span>' if pages else ""
    return (
        f'<article class="qa-quote"{ident} data-doc="{esc(quote.doc_id)}" data-start="{quote.start}" '
        f'data-end="{quote.end}" style="--side-colour:{colour}">'
        f'<div class="qa-num">{number}</div>'
        f'<div class="qa-main">'
        f'<blockquote class="qa-text">“<span class="qa-text-body">{esc(quote.display_text)}</span>”</blockquote>'
        f'<div class="qa-attr">'
        f'<span class="qa-who">{esc(source)}</span><span class="qa-sep">·</span>'
        f'<span class="qa-side-tag">{esc(side)}</span><span class="qa-sep">·</span>'
        f'<time class="qa-date">{esc(date)}</time>'
        f'</div><cite class="qa-title">{esc(title)}</cite>{page}{extra}'
        f'<div class="qa-actions">{_show_button(quote.doc_id, quote.start, quote.end)}'
        f"{scores_html(quote, min_similarity, mode, fusion, compared_with)}</div>"
        f"</div></article>"
    )


def filters_summary(answer: Answer) -> list[tuple[str, str]]:
    """(label, value) pairs describing the settings and filters an answer was produced with."""
    f = answer.filters
    dates = "any"
    if f.since or f.until:
        dates = f"{fmt_date(f.since) if f.since else '…'} → {fmt_date(f.until) if f.until else '…'}"
    pairs = [
        (
            "Mode",
            {"hybrid": "hybrid (BM25 + dense)", "bm25": "BM25 only", "dense": "dense only"}.get(
                answer.settings.mode, answer.settings.mode
            ),
        ),
        ("Sides", ", ".join(f.sides) if f.sides else "all"),
        ("Publishers", ", ".join(f.publishers) if f.publishers else "all"),
        ("Dates", dates),
    ]
    if f.doc_ids:
        pairs.append(("Documents", ", ".join(f.doc_ids)))
    if answer.topic:
        pairs.append(("Topic", answer.topic))
    if answer.understood is not None:
        pairs.extend(("Understood", label) for label in answer.understood.labels())
    return pairs


def _chips(pairs: Sequence[tuple[str, str]], k: int | None = None) -> str:
    chips = [f'<span class="qa-chip"><b>{esc(k_)}</b> {esc(v)}</span>' for k_, v in pairs]
    if k is not None:
        chips.insert(1, f'<span class="qa-chip"><b>Quotes</b> up to {int(k)}</span>')
    return f'<div class="qa-used" title="Filters and settings used for this answer">{"".join(chips)}</div>'


def answer_html(
    answer: Answer, *, colours: Mapping[str, str] | None = None, k: int | None = None, turn: int = 0
) -> str:
    """An answer: the filters it used, then its quotes (under a heading per side when grouped) or the abstention."""
    parts = [_chips(filters_summary(answer), k)]
    parts.extend(f'<p class="qa-note">{esc(note)}</p>' for note in answer.notes)
    unknown = answer.understood is not None and bool(answer.understood.unknown_names)
    if answer.abstained and not answer.grouped_by_side:
        explanation = (
            ""
            if unknown
            else "<p>No sentence in the indexed documents is relevant enough to quote, so nothing is cited.</p>"
        )
        parts.append(
            '<div class="qa-abstain"><div class="qa-abstain-title">No answer</div>'
            f'{explanation}<p class="qa-reason">{esc(answer.abstain_reason or "")}</p></div>'
        )
    else:
        if answer.abstained:
            parts.append(
                '<div class="qa-abstain"><div class="qa-abstain-title">No answer</div>'
                f'<p class="qa-reason">{esc(answer.abstain_reason or "")}</p></div>'
            )
        for group, quotes in answer.numbered_groups():
            parts.extend(_group_html(answer, group, quotes, colours, turn))
    parts.append(_answer_foot(answer))
    return "".join(parts)


def _group_html(
    answer: Answer,
    group: SideGroup | None,
    quotes: list[tuple[int, Quote]],
    colours: Mapping[str, str] | None,
    turn: int,
) -> list[str]:
    """One group of an answer's quotes: under its side's heading (with a note when the side has none), or bare."""
    mode = answer.settings.mode
    parts = []
    if group is not None:
        colour = _colour(group.side, colours)
        count = len(group.quotes)
        label = f"{count} quote{'s' if count != 1 else ''}" if count else "no statement"
        parts.append(
            f'<section class="qa-group" data-side="{esc(group.side)}" style="--side-colour:{colour}">'
            f'<h3 class="qa-side-h"><span class="qa-dot"></span>{esc(group.side)}'
            f'<span class="qa-count">{esc(label)}</span></h3>'
        )
        if not group.quotes:
            note = group.note or f"No relevant statement from {group.side} was found in the indexed documents."
            parts.append(f'<p class="qa-note">{esc(note)}</p>')
    else:
        parts.append('<section class="qa-group">')
    for number, quote in quotes:
        parts.append(
            quote_html(
                quote,
                number,
                colours=colours,
                min_similarity=answer.min_similarity,
                mode=mode,
                fusion=answer.settings.fusion,
                compared_with="topic" if answer.topic else "question",
                quote_id=f"t{turn}-q{number}",
            )
        )
    parts.append("</section>")
    return parts


def _answer_foot(answer: Answer) -> str:
    """The line under an answer: how many quotes from how many documents, and the time taken."""
    docs = len({q.doc_id for q in answer.quotes})
    n = len(answer.quotes)
    summary = f"{n} quote{'s' if n != 1 else ''} from {docs} document{'s' if docs != 1 else ''}" if n else "no quotes"
    return (
        f'<div class="qa-foot">{esc(summary)} · verbatim source sentences, no generated text · '
        f"{answer.timings.total_ms:.0f} ms</div>"
    )


@dataclass
class Turn:
    """One exchange of the conversation: the question and either an answer or an error message."""

    question: str
    answer: Answer | None = None
    error: str | None = None
    k: int | None = None


def welcome_html(
    documents: Sequence[Document], colours: Mapping[str, str] | None = None, examples: Sequence[str] = ()
) -> str:
    sides = sorted({d.side for d in documents if d.side})
    publishers = {d.publisher for d in documents if d.publisher}
    dates = sorted(d.date for d in documents if d.date)
    span = f"{fmt_date(dates[0])} to {fmt_date(dates[-1])}" if dates else "unknown dates"
    side_tags = "".join(
        f'<span class="qa-side-pill" style="--side-colour:{_colour(s, colours)}">{esc(s)}</span>' for s in sides
    )
    return (
        '<div class="qa-welcome">'
        "<h2>Ask about the document collection</h2>"
        f"<p>{len(documents)} documents from {len(publishers)} publishers, {esc(span)}. "
        "Every answer is made of <b>verbatim sentences</b> quoted from the documents, each with who said it, "
        "their side, the date and the document — nothing is generated. When no sentence is relevant, "
        "the assistant says so instead of guessing.</p>"
        f'<div class="qa-side-pills">{side_tags}</div>'
        f"{examples_html(examples)}"
        '<p class="qa-hint">Type a question below. The filters on the left restrict sides, publishers, dates '
        "and how sentences are retrieved.</p>"
        "</div>"
    )


def examples_html(examples: Sequence[str]) -> str:
    if not examples:
        return ""
    buttons = "".join(
        f'<button type="button" class="qa-example" data-question="{esc(q)}">{esc(q)}</button>' for q in examples
    )
    return f'<div class="qa-examples"><div class="qa-examples-label">Example questions</div>{buttons}</div>'


def transcript_html(
    turns: Sequence[Turn],
    documents: Sequence[Document] = (),
    colours: Mapping[str, str] | None = None,
    examples: Sequence[str] = (),
) -> str:
    """The whole conversation, oldest first; a welcome card with example questions when it is empty."""
    out = ['<div class="qa-transcript"><div class="qa-scroll">']
    if not turns:
        out.append(welcome_html(documents, colours, examples))
    for i, turn in enumerate(turns, start=1):
        out.append(f'<section class="qa-turn" id="turn-{i}" data-turn="{i}">')
        out.append(f'<div class="qa-q"><div class="qa-q-bubble">{esc(turn.question)}</div></div>')
        out.append('<div class="qa-a">')
        if turn.error:
            out.append(f'<div class="qa-error" role="alert"><b>Could not answer.</b> {esc(turn.error)}</div>')
        elif turn.answer is not None:
            out.append(answer_html(turn.answer, colours=colours, k=turn.k, turn=i))
        out.append("</div></section>")
    out.append("</div></div>")
    return "".join(out)
