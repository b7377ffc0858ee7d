"""Quotes as Markdown, for the export. Every text from a document, its metadata or the question is backslash-escaped
so that it renders as that same text: no links, emphasis, HTML or entities."""

from __future__ import annotations

import re

from qa_assistant.models import Quote
from qa_assistant.ui.render import also_in, attribution_parts, describe_source, safe_url

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#|!~&])")
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+)([.)]?)", re.MULTILINE)


def md_escape(value: object) -> str:
    """Text -> Markdown that renders as that same text: no links, emphasis, HTML or entities."""
    text = _MD_SPECIAL.sub(r"\\\1", "" if value is None else str(value))
    return _MD_LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match) -> str:
    """'- x', '+ x', '= x' -> backslash before the mark; '1. x' / '1) x' -> backslash before the dot."""
    indent, mark, dot = match.groups()
    if mark.isdigit():
        return f"{indent}{mark}\\{dot}" if dot else match.group(0)
    return f"{indent}\\{mark}{dot}"


def _md_blockquote(text: str) -> str:
    lines = md_escape(f"“{text}”").split("\n")
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def quote_markdown(quote: Quote, number: int | None = None) -> str:
    """A quote as Markdown: the sentence as a block quote, attribution, title, link and offsets."""
    source, side, date, title = attribution_parts(quote)
    head = f"{number}. " if number is not None else ""
    lines = [
        _md_blockquote(quote.display_text),
        "",
        f"{head}— **{md_escape(source)}** · {md_escape(side)} · {md_escape(date)} · *{md_escape(title)}*",
        "",
        f"- Source: {md_escape(quote.link)}" + (f" ({quote.pages_label})" if quote.pages_label else ""),
        f"- Offsets: document {md_escape(quote.doc_id)}, characters {quote.start}–{quote.end}",
    ]
    if quote.url and safe_url(quote.url):
        lines.append(f"- URL: <{quote.url.replace('>', '%3E').replace('<', '%3C').replace(' ', '%20')}>")
    others = also_in(quote)
    if others:
        lines.append("- Also in: " + "; ".join(md_escape(describe_source(o)) for o in others))
    return "\n".join(lines)
