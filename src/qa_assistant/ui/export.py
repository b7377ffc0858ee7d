"""The current answer as Markdown, CSV and JSON files: every quote with its attribution and offsets, and its
timeline (a section of the Markdown, a field of the JSON, a CSV file of its own: one row per side and period)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import secrets
from pathlib import Path

from qa_assistant.models import Answer, Quote, Timeline, join_soft_hyphens
from qa_assistant.ui.markdown import md_escape, quote_markdown
from qa_assistant.ui.render import filters_summary

# CSV columns in this order first; any other field of `Quote` (present or added later) follows.
CSV_FIRST = [
    "number",
    "group",
    "question",
    "text",
    "speaker",
    "publisher",
    "side",
    "date",
    "title",
    "url",
    "link",
    "page",
    "page_end",
    "doc_id",
    "start",
    "end",
    "score",
    "bm25_rank",
    "bm25_score",
    "dense_rank",
    "dense_score",
    "similarity",
]
# Long free text: kept in the JSON export, left out of the CSV table.
CSV_SKIP = {"context_before", "context_after"}
# Spreadsheets run cells starting with these as formulas; such cells get a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _numbered(answer: Answer) -> list[tuple[str | None, int, Quote]]:
    """(side group or None, number, quote) in display order."""
    return [
        (group.side if group else None, number, quote)
        for group, quotes in answer.numbered_groups()
        for number, quote in quotes
    ]


def to_markdown(answer: Answer, exported_at: dt.datetime | None = None) -> str:
    exported_at = exported_at or dt.datetime.now(dt.UTC)
    settings = "; ".join(f"{label}: {value}" for label, value in filters_summary(answer))
    lines = [
        f"# {md_escape(answer.question)}",
        "",
        "Verbatim sentences from the indexed documents, with their sources — no generated text.",
        "",
        f"- Settings: {md_escape(settings)}; quotes: {len(answer.quotes)}",
        f"- Exported: {exported_at.isoformat(timespec='seconds')}",
        "",
    ]
    if answer.abstained:
        lines += [f"**No answer.** {md_escape(answer.abstain_reason or '')}", ""]
    for group, quotes in answer.numbered_groups():
        if group is not None:
            lines += [f"## {md_escape(group.side)}", ""]
            if not group.quotes:
                lines += [f"*{md_escape(group.note or 'No relevant statement was found.')}*", ""]
        for number, quote in quotes:
            lines += [quote_markdown(quote, number), ""]
    if answer.timeline is not None:
        lines += timeline_markdown(answer.timeline)
    return "\n".join(lines).rstrip() + "\n"


def timeline_markdown(timeline: Timeline) -> list[str]:
    """The "Over time" section: one table row per side (or speaker), its periods with their statements."""
    by = "Side" if timeline.rows_by == "side" else "Speaker"
    lines = [
        "## Over time",
        "",
        f"Relevant statements per {by.lower()} by {timeline.granularity} (near-duplicates counted once).",
        "",
        f"| {by} | Statements | Undated | Periods (statements) |",
        "|---|---:|---:|---|",
    ]
    undated = {cell.side: cell.count for cell in timeline.undated.rows}
    for row in timeline.rows:
        periods = ", ".join(f"{cell.period} ({cell.count})" for cell in row.cells) or "none"
        lines.append(f"| {md_escape(row.side)} | {row.count} | {undated.get(row.side, 0)} | {periods} |")
    lines.append("")
    lines += [f"*{md_escape(note)}*" for note in timeline.notes]
    return lines + [""]


TIMELINE_COLUMNS = ["row_by", "side", "period", "count", "sentence_ids"]


def to_timeline_csv(answer: Answer) -> str:
    """One row per side (or speaker) and period with statements (period "undated" for documents with no date)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TIMELINE_COLUMNS)
    timeline = answer.timeline
    if timeline is not None:
        for row in timeline.rows:
            for cell in row.cells:
                values = [timeline.rows_by, row.side, cell.period, cell.count, cell.sentence_ids]
                writer.writerow([_cell(value) for value in values])
        for undated in timeline.undated.rows:
            values = [timeline.rows_by, undated.side, "undated", undated.count, undated.sentence_ids]
            writer.writerow([_cell(value) for value in values])
    return buffer.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        value = json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "model_dump_json"):
        value = value.model_dump_json()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_columns() -> list[str]:
    extra = [name for name in Quote.model_fields if name not in CSV_FIRST and name not in CSV_SKIP]
    return CSV_FIRST + extra


def to_csv(answer: Answer) -> str:
    """One row per quote. Cells that would start a spreadsheet formula are prefixed with an apostrophe
    (the JSON export keeps every text exactly)."""
    columns = csv_columns()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for group, number, quote in _numbered(answer):
        data = quote.model_dump(mode="json")
        data.update(number=number, group=group or "", question=answer.question)
        data["text"] = join_soft_hyphens(quote.text)  # a word split at a PDF line end, as it is read
        if not data.get("speaker"):
            data["speaker"] = ""
        writer.writerow({c: _cell(data.get(c)) for c in columns})
    return buffer.getvalue()


def to_json(answer: Answer) -> str:
    """The `Answer` itself (round-trips with `Answer.model_validate_json`)."""
    return answer.model_dump_json(indent=2)


def slug(text: str, limit: int = 48) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:limit].rstrip("-") or "answer"


def write_exports(answer: Answer, folder: str | Path, stamp: str | None = None) -> dict[str, Path]:
    """Write answer.md / .csv / .json (and -timeline.csv) files into `folder`; returns {"md": path, "csv": path,
    "json": path, "timeline_csv": path}."""
    folder = Path(folder)
    # a random part too: two answers in the same microsecond (concurrent users) never share a folder
    stamp = stamp or f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S-%f')}-{secrets.token_hex(4)}"
    target = folder / stamp
    target.mkdir(parents=True, exist_ok=True)
    base = f"answer-{slug(answer.question)}"
    files = {
        "md": (target / f"{base}.md", to_markdown(answer)),
        "csv": (target / f"{base}.csv", to_csv(answer)),
        "json": (target / f"{base}.json", to_json(answer)),
        "timeline_csv": (target / f"{base}-timeline.csv", to_timeline_csv(answer)),
    }
    for path, content in files.values():
        path.write_text(content, encoding="utf-8", newline="")
    return {kind: path for kind, (path, _) in files.items()}
