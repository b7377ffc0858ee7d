"""The document panel of the chat UI: a whole document, escaped, with the quoted characters highlighted."""

from __future__ import annotations

from qa_assistant.models import Document
from qa_assistant.ui.render import esc, fmt_date, safe_url


def document_html(doc: Document, start: int | None = None, end: int | None = None, nonce: int = 0) -> str:
    """The full document, escaped, with characters [start, end) wrapped in <mark id="qa-hit">."""
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
    if highlighted:
        body = f'{esc(text[:start])}<mark id="qa-hit" class="qa-hit">{esc(text[start:end])}</mark>{esc(text[end:])}'
    else:
        body = esc(text)
    return (
        f'<div class="qa-doc" data-doc="{esc(doc.id)}" data-nonce="{int(nonce)}">'
        f'<div class="qa-doc-head"><div class="qa-panel-label">Document</div><h3 class="qa-doc-title">{esc(doc.title or doc.path)}</h3>'
        f'<div class="qa-doc-meta">{" · ".join(esc(m) for m in meta)}</div>'
        f'<div class="qa-doc-src">{source} <span class="qa-doc-where">{esc(where)}</span></div></div>'
        f'<div class="qa-doc-text">{body}</div></div>'
    )


def document_placeholder(message: str | None = None) -> str:
    text = message or "Choose “Show in document” under a quote to read it in its source, highlighted."
    return (
        '<div class="qa-doc qa-doc-empty"><div class="qa-doc-head"><div class="qa-panel-label">Document</div></div>'
        f'<div class="qa-doc-empty-msg">{esc(text)}</div></div>'
    )
