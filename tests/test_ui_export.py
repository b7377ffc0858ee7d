"""Exports of the current answer: Markdown, CSV and JSON, each quote with its attribution and offsets."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from markdown_it import MarkdownIt

from qa_assistant import Answer
from qa_assistant.models import Quote
from qa_assistant.ui import export

LACHIN = "What did each side say about Lachin?"


@pytest.fixture(scope="module")
def lachin(assistant) -> Answer:
    answer = assistant.ask(LACHIN)
    assert answer.grouped_by_side and answer.quotes
    return answer


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_json_export_is_the_answer_itself(lachin):
    again = Answer.model_validate_json(export.to_json(lachin))
    assert again == lachin


def test_csv_has_one_row_per_quote_with_attribution_and_offsets(lachin, assistant):
    rows = rows_of(export.to_csv(lachin))
    assert len(rows) == len(lachin.quotes)
    for column in ("text", "speaker", "publisher", "side", "date", "title", "url", "link", "doc_id", "start", "end"):
        assert column in rows[0]
    for row, quote in zip(rows, [q for g in lachin.groups for q in g.quotes]):
        doc = assistant.document(row["doc_id"])
        assert row["text"] == doc.text[int(row["start"]) : int(row["end"])] == quote.text
        assert row["publisher"] == (quote.publisher or "")
        assert row["date"] == (quote.date.isoformat() if quote.date else "")
        assert row["group"] in {g.side for g in lachin.groups}
        assert row["question"] == LACHIN
    assert [int(r["number"]) for r in rows] == list(range(1, len(rows) + 1))
    assert {r["group"] for r in rows} >= {"Armenia", "Azerbaijan"}


def test_csv_follows_new_quote_fields_without_code_changes():
    columns = export.csv_columns()
    assert set(Quote.model_fields) - {"context_before", "context_after"} <= set(columns)
    assert columns[:4] == ["number", "group", "question", "text"]


def test_csv_defuses_spreadsheet_formulas(lachin):
    evil = lachin.quotes[0].model_copy(
        update={"text": '=HYPERLINK("http://evil.example","click")', "publisher": "@SUM(A1)"}
    )
    answer = lachin.model_copy(update={"quotes": [evil], "grouped_by_side": False, "groups": []})
    row = rows_of(export.to_csv(answer))[0]
    assert row["text"] == "'" + evil.text
    assert row["publisher"] == "'@SUM(A1)"
    assert row["start"] == str(evil.start)  # numbers are left alone


def test_markdown_export_lists_sides_quotes_and_where_they_stand(lachin):
    markdown = export.to_markdown(lachin, exported_at=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert markdown.startswith("# What did each side say about Lachin?\n")
    rendered = MarkdownIt("commonmark").render(markdown)
    headings = re.findall(r"<h2>(.*?)</h2>", rendered)
    assert headings == [g.side for g in lachin.groups] + ["Over time"]  # the timeline after the quotes
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    for quote in lachin.quotes:
        assert f"“{quote.text}”" in text
        assert f"characters {quote.start}–{quote.end}" in text
        assert quote.link in text
        assert (quote.speaker or quote.publisher) in text
    assert "Exported: 2024-01-02T03:04:05+00:00" in text
    assert "Mode: hybrid (BM25 + dense)" in text


def test_markdown_export_of_an_abstention_says_no_answer(assistant):
    answer = assistant.ask("What is the best recipe for banana bread with walnuts?")
    assert answer.abstained
    markdown = export.to_markdown(answer)
    assert "**No answer.**" in markdown and not rows_of(export.to_csv(answer))


def test_markdown_export_keeps_markup_in_quotes_inert(lachin):
    evil = lachin.quotes[0].model_copy(
        update={"text": "<script>alert(1)</script> [click](http://example.com) <img src=x onerror=alert(1)>"}
    )
    answer = lachin.model_copy(update={"quotes": [evil], "grouped_by_side": False, "groups": []})
    rendered = MarkdownIt("commonmark").render(export.to_markdown(answer))
    assert "<script" not in rendered and "<img" not in rendered and 'href="http://example.com"' not in rendered
    assert "[click](http://example.com)" in html.unescape(rendered)


def test_write_exports_writes_named_files(lachin, tmp_path):
    files = export.write_exports(lachin, tmp_path, stamp="run1")
    assert set(files) == {"md", "csv", "json", "timeline_csv"}
    for kind, path in files.items():
        assert path.parent == tmp_path / "run1"
        name = "answer-what-did-each-side-say-about-lachin"
        assert path.name == (f"{name}-timeline.csv" if kind == "timeline_csv" else f"{name}.{kind}")
    assert lachin.timeline is not None
    timeline_rows = list(csv.DictReader(io.StringIO(files["timeline_csv"].read_text(encoding="utf-8"))))
    assert len(timeline_rows) == sum(len(row.cells) for row in lachin.timeline.rows) + len(lachin.timeline.undated.rows)
    assert Answer.model_validate_json(files["json"].read_text(encoding="utf-8")) == lachin
    assert len(rows_of(files["csv"].read_text(encoding="utf-8"))) == len(lachin.quotes)
    assert files["md"].read_text(encoding="utf-8").startswith("# What did each side say about Lachin?")
