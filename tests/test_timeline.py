"""`Answer.timeline` on a hand-built corpus whose statements about glaciers are known by side and year: counts,
near-duplicates, undated documents, a silent side, the date filter, the CLI table and the exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from qa_assistant import Assistant
from qa_assistant.answer.timeline import granularity_of
from qa_assistant.cli import main as cli_main
from qa_assistant.ui.export import to_markdown, to_timeline_csv

pytestmark = pytest.mark.slow  # builds an index with the real model

# file: (side, publisher, date or "", text). Sentences about glaciers: Northland 2001 x2 (+ the first repeated
# word for word later that year: counted once), 2005 x1, undated x1; Southland 2002 x1; Eastland none.
DOCUMENTS = {
    "n1.txt": (
        "Northland",
        "Northland Ministry",
        "2001-03-10",
        "Northland is alarmed that the glaciers in its mountains are shrinking. "
        "The ministry published new tax forms for small businesses.",
    ),
    "n2.txt": (
        "Northland",
        "Northland Ministry",
        "2001-11-02",
        "The retreat of the glaciers threatens the water supply of Northland's farmers. "
        "Ticket sales for the opera season opened on Monday.",
    ),
    "n2b.txt": (
        "Northland",
        "Northland Ministry",
        "2001-12-05",
        "Northland is alarmed that the glaciers in its mountains are shrinking.",
    ),
    "n3.txt": (
        "Northland",
        "Northland Ministry",
        "2005-06-01",
        "Northland again asked for an international study of the melting glaciers.",
    ),
    "n4.txt": (
        "Northland",
        "Northland Ministry",
        "",
        "Northland scientists measured the thickness of the glaciers last winter.",
    ),
    "s1.txt": (
        "Southland",
        "Southland Office",
        "2002-05-05",
        "Southland denies that its dams have any effect on the glaciers.",
    ),
    "e1.txt": (
        "Eastland",
        "Eastland Office",
        "2002-07-07",
        "Eastland opened a new railway line between its two largest cities. "
        "The harvest festival attracted many visitors from abroad.",
    ),
}
QUESTION = "What did Northland, Southland and Eastland say about glaciers?"


@pytest.fixture(scope="module")
def glaciers(tmp_path_factory) -> tuple[Assistant, Path]:
    corpus = tmp_path_factory.mktemp("glaciers") / "corpus"
    corpus.mkdir()
    rows = [["file", "title", "publisher", "side", "date"]]
    for name, (side, publisher, date, text) in DOCUMENTS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
        rows.append([name, f"Statement {name}", publisher, side, date])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    (corpus / "metadata.csv").write_text(buffer.getvalue(), encoding="utf-8")
    sides = {
        side: {"party": True, "aliases": [side.lower()], "publishers": []}
        for side in ("Northland", "Southland", "Eastland")
    }
    (corpus / "sides.json").write_text(json.dumps({"sides": sides}), encoding="utf-8")
    index = corpus.parent / "index"
    return Assistant.build(corpus, index), index


def counts(timeline) -> dict[str, dict[str, int]]:
    return {row.side: {cell.period: cell.count for cell in row.cells} for row in timeline.rows}


def test_granularity_follows_the_span():
    assert granularity_of(dt.date(2023, 7, 1), dt.date(2023, 8, 31)) == "day"
    assert granularity_of(dt.date(2021, 1, 1), dt.date(2023, 12, 31)) == "month"
    assert granularity_of(dt.date(1992, 9, 15), dt.date(2019, 9, 15)) == "year"


def test_counts_per_side_and_year_undated_apart_and_a_silent_side(glaciers):
    assistant, _ = glaciers
    answer = assistant.ask(QUESTION)
    timeline = answer.timeline
    assert timeline is not None and timeline.rows_by == "side" and timeline.granularity == "year"
    assert counts(timeline) == {"Northland": {"2001": 2, "2005": 1}, "Southland": {"2002": 1}, "Eastland": {}}
    assert [row.count for row in timeline.rows] == [3, 1, 0]
    assert timeline.undated.count == 1
    assert [(cell.side, cell.count) for cell in timeline.undated.rows] == [("Northland", 1)]
    assert any("no date" in note for note in timeline.notes)
    # the silent side keeps its row, empty, and its group says it has no statement
    eastland = next(group for group in answer.groups if group.side == "Eastland")
    assert not eastland.quotes and eastland.note
    # every quote of the answer is counted in its side's period
    for group in answer.groups:
        for quote in group.quotes:
            period = str(quote.date.year) if quote.date else "undated"
            cell = timeline.cell(group.side, period)
            assert cell is not None
    # a mark opens as quotes of that side and period, verbatim
    quotes = assistant.period_quotes(answer, "Northland", "2001")
    assert len(quotes) == 2 and all(quote.date and quote.date.year == 2001 for quote in quotes)
    for quote in quotes:
        assert quote.text == assistant.document(quote.doc_id).text[quote.start : quote.end]
    undated = assistant.period_quotes(answer, "Northland", "undated")
    assert [quote.date for quote in undated] == [None] and "thickness" in undated[0].text
    assert assistant.period_quotes(answer, "Eastland", "2002") == []


def test_date_filter_leaves_undated_documents_out_and_no_sides_counts_per_speaker(glaciers):
    assistant, _ = glaciers
    timeline = assistant.ask(QUESTION, since="2002-01-01").timeline
    assert timeline is not None
    assert counts(timeline) == {"Northland": {"2005": 1}, "Southland": {"2002": 1}, "Eastland": {}}
    assert timeline.undated.count == 0
    by_speaker = assistant.ask("Are the glaciers melting?").timeline
    assert by_speaker is not None and by_speaker.rows_by == "speaker"
    assert by_speaker.rows
    for row in by_speaker.rows:  # each row is the speaker quotes name ("Southland" denies…), else the publisher
        for cell in row.cells:
            for sentence_id in cell.sentence_ids:
                speaker = assistant.index.attributions[sentence_id].speaker
                assert row.side == (speaker or assistant.index.document_of(sentence_id).publisher)
    assert assistant.ask(QUESTION, timeline=False).timeline is None


def test_cli_table_and_exports_carry_the_timeline(glaciers, capsys):
    assistant, index = glaciers
    assert cli_main(["ask", QUESTION, "--index", str(index), "--timeline"]) == 0
    printed = capsys.readouterr().out
    assert "Over time, by year" in printed
    assert "2001 (2), 2005 (1)" in printed
    answer = assistant.ask(QUESTION)
    markdown = to_markdown(answer)
    assert "## Over time" in markdown and "| Northland | 3 | 1 | 2001 (2), 2005 (1) |" in markdown
    assert "| Eastland | 0 | 0 | none |" in markdown
    rows = list(csv.DictReader(io.StringIO(to_timeline_csv(answer))))
    assert [(r["side"], r["period"], r["count"]) for r in rows] == [
        ("Northland", "2001", "2"),
        ("Northland", "2005", "1"),
        ("Southland", "2002", "1"),
        ("Northland", "undated", "1"),
    ]
