"""The document panel of the chat UI: a whole document, escaped, with the quoted characters highlighted; for a
quote from a PDF, beside it the page (or pages) the quote stands on, drawn from the file, with the quoted lines
marked from PDFium's character boxes."""

from __future__ import annotations

import logging
from pathlib import Path

from qa_assistant.ingest.pdf import page_image
from qa_assistant.models import Document
from qa_assistant.ui.render import esc, fmt_date, safe_url

log = logging.getLogger(__name__)


def pages_html(doc: Document, start: int, end: int, pdf_path: Path | None) -> str:
    """The pages of text[start:end] drawn as images with its lines marked; a note instead when the PDF is not
    there as it was indexed, or cannot be drawn."""
    pages: dict[int, list[tuple[int, int]]] = {}
    for page, first, count in doc.page_chars(start, end):
        pages.setdefault(page, [])
        if first >= 0:
            pages[page].append((first, count))
    if not pages:
        return ""
    if pdf_path is None:
        return (
            '<div class="qa-doc-pages"><p class="qa-doc-page-note">The PDF is no longer in the corpus folder as it '
            "was indexed: its page cannot be shown.</p></div>"
        )
    figures = []
    for page, ranges in sorted(pages.items()):
        try:
            image = page_image(pdf_path, page, ranges)
        except Exception as exc:  # a file that PDFium read at indexing but cannot draw now: the text view remains
            log.warning("%s: page %d could not be drawn: %s", pdf_path, page, exc)
            figures.append(f'<p class="qa-doc-page-note">Page {page} could not be drawn ({esc(str(exc))}).</p>')
            continue
        marks = "".join(
            f'<span class="qa-page-hit" style="left:{100 * x:.3f}%;top:{100 * y:.3f}%;'
            f'width:{100 * w:.3f}%;height:{100 * h:.3f}%"></span>'
            for x, y, w, h in image.boxes
        )
        figures.append(
            f'<figure class="qa-doc-page" data-page="{page}"><div class="qa-page-img">'
            f'<img src="{image.data_url()}" width="{image.width}" height="{image.height}" '
            f'alt="Page {page} of {esc(doc.path)}">{marks}</div>'
            f"<figcaption>Page {page}{f' of {doc.pages}' if doc.pages else ''} · "
            f"{len(image.boxes)} line(s) marked</figcaption></figure>"
        )
    return f'<div class="qa-doc-pages">{"".join(figures)}</div>'


def document_html(
    doc: Document, start: int | None = None, end: int | None = None, nonce: int = 0, pdf_path: Path | None = None
) -> str:
    """The full document, escaped, with characters [start, end) wrapped in <mark id="qa-hit">; for a PDF (`pdf_path`:
    its file, when it is there as indexed), the quote's page drawn beside it."""
    text = doc.text
    highlighted = start is not None and end is not None and 0 <= start < end <= len(text)
    meta = [doc.publisher or "unknown publisher", doc.side or "side unknown", fmt_date(doc.date)]
    link = safe_url(doc.url)
    source = (
        f'<a href="{esc(link)}" target="_blank" rel="noopener noreferrer nofollow">{esc(link)}</a>'
        if link
        else f"<code>{esc(doc.url or doc.path)}</code>"
    )
    where = f"Highlighted: characters {start}–{end} of {len(text)}" if highlighted else f"{len(text)} characters"
    pages = pages_html(doc, start, end, pdf_path) if highlighted and start is not None and end is not None else ""
    if highlighted and doc.page_map:
        first, last = doc.page_range(start or 0, end or 0)
        if first is not None:
            where += f", p. {first}" if first == last else f", pp. {first}–{last}"
    if highlighted:
        body = f'{esc(text[:start])}<mark id="qa-hit" class="qa-hit">{esc(text[start:end])}</mark>{esc(text[end:])}'
    else:
        body = esc(text)
    body = body.replace("\ufffe", "")  # a word split by a hyphen at a PDF line end, read joined
    return (
        f'<div class="qa-doc" data-doc="{esc(doc.id)}" data-nonce="{int(nonce)}">'
        f'<div class="qa-doc-head"><div class="qa-panel-label">Document</div><h3 class="qa-doc-title">{esc(doc.title or doc.path)}</h3>'
        f'<div class="qa-doc-meta">{" · ".join(esc(m) for m in meta)}</div>'
        f'<div class="qa-doc-src">{source} <span class="qa-doc-where">{esc(where)}</span></div></div>'
    ) + (
        f'<div class="qa-doc-body qa-doc-split">{pages}<div class="qa-doc-text">{body}</div></div></div>'
        if pages
        else f'<div class="qa-doc-text">{body}</div></div>'
    )


def document_placeholder(message: str | None = None) -> str:
    text = message or "Choose “Show in document” under a quote to read it in its source, highlighted."
    return (
        '<div class="qa-doc qa-doc-empty"><div class="qa-doc-head"><div class="qa-panel-label">Document</div></div>'
        f'<div class="qa-doc-empty-msg">{esc(text)}</div></div>'
    )
