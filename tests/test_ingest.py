"""Ingestion: boilerplate rules on the seed files, metadata extraction, formats, near-duplicates."""

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from qa_assistant import Assistant
from qa_assistant.cli import main
from qa_assistant.ingest.clean import clean_text
from qa_assistant.ingest.corpus import load_corpus

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
EXPECTED = {
    "000_ce08357c7478e3f0.txt": ("Ministry of Foreign Affairs of Armenia", "Armenia", dt.date(2023, 9, 19)),
    "001_34a23c110b210610.txt": ("Government of Azerbaijan", "Azerbaijan", dt.date(2020, 9, 28)),
    "002_36c5c6001d4c7b56.txt": ("Wire agency (unnamed in text)", "neutral", dt.date(2023, 9, 19)),
    "003_d58175e59972caf7.txt": ("Report", "Azerbaijan", dt.date(2022, 9, 13)),
    "004_54f105280d23d448.txt": ("Report", "Azerbaijan", dt.date(2023, 7, 29)),
}


def seed(name):
    return (CORPUS / name).read_text(encoding="utf-8")


def removed(name):
    return {(r.rule, r.text) for r in clean_text(seed(name)).removed}


def test_every_seed_document_has_publisher_side_and_date():
    docs = {d.id: d for d in load_corpus(CORPUS).documents}
    assert {k: (d.publisher, d.side, d.date) for k, d in docs.items()} == EXPECTED


def test_rule_photo_gallery_links():
    assert ("photo-gallery-links", "[Download photo](#) | [Gallery](#)") in removed("000_ce08357c7478e3f0.txt")


def test_rule_latest_news_block():
    rules = removed("003_d58175e59972caf7.txt")
    assert ("latest-news-block", "Latest news") in rules
    assert ("latest-news-block", "Azerbaijan’s sugar exports up over 46% 21 September, 2024 / 15:22") in rules
    assert ("latest-news-block", "Orphus sistemi") in removed("004_54f105280d23d448.txt")


def test_rule_site_furniture():
    assert ("site-furniture", "Foreign policy") in removed("004_54f105280d23d448.txt")


def test_rule_dateline():
    for name, line in [
        ("000_ce08357c7478e3f0.txt", "19 September, 2023"),
        ("001_34a23c110b210610.txt", "September 28, 2020"),
        ("004_54f105280d23d448.txt", "July 29, 2023 09:19"),
    ]:
        cleaned = clean_text(seed(name))
        assert cleaned.dateline == line and ("dateline", line) in removed(name)


def test_rule_repeated_title_and_teaser():
    cleaned = clean_text(seed("004_54f105280d23d448.txt"))
    rules = [r for r in cleaned.removed if r.rule == "repeated-title-or-lede"]
    assert len(rules) == 2 and rules[0].text.endswith("when one m")
    assert cleaned.text.count("Azerbaijan’s MFA releases statement on latest situation in region") == 1
    assert cleaned.text.count("The Republic of Azerbaijan for almost 30 years") == 1


def test_clean_text_keeps_a_map_back_to_the_source():
    source = seed("004_54f105280d23d448.txt")
    cleaned = clean_text(source)
    for clean_start, source_start, length in cleaned.source_map:
        assert cleaned.text[clean_start : clean_start + length] == source[source_start : source_start + length]


def test_dates_are_extracted_without_a_sidecar_and_never_guessed(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "metadata.csv").unlink()
    docs = {d.id: d for d in load_corpus(corpus).documents}
    assert docs["000_ce08357c7478e3f0.txt"].date == dt.date(2023, 9, 19)
    assert docs["001_34a23c110b210610.txt"].date == dt.date(2020, 9, 28)
    assert docs["004_54f105280d23d448.txt"].date == dt.date(2023, 7, 29)
    assert docs["004_54f105280d23d448.txt"].date_source == "dateline"
    assert docs["002_36c5c6001d4c7b56.txt"].date is None  # "this Tuesday" is no date
    assert docs["003_d58175e59972caf7.txt"].date is None  # the "Latest news" footer date is not the statement's
    assert (
        docs["001_34a23c110b210610.txt"].title
        == "Armenia kills Azerbaijani civilians, initiates another military escalation"
    )
    assert docs["003_d58175e59972caf7.txt"].publisher is None and docs["003_d58175e59972caf7.txt"].side is None


def test_publication_and_event_dates_are_kept_apart():
    docs = {d.id: d for d in load_corpus(CORPUS).documents}
    statement = docs["003_d58175e59972caf7.txt"]
    assert statement.date == dt.date(2022, 9, 13)
    assert statement.mentioned_dates == [dt.date(2022, 9, 12)]  # not 2024 from the removed footer


def test_side_comes_from_publisher_or_domain_mapping(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "sides.json", corpus)
    (corpus / "a.txt").write_text("Statement one about the border.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Statement two about the border.\n", encoding="utf-8")
    (corpus / "metadata.csv").write_text(
        "file,publisher,url\na.txt,Report,\nb.txt,,https://www.mfa.am/en/press-releases/1\n", encoding="utf-8"
    )
    docs = {d.id: d for d in load_corpus(corpus).documents}
    assert docs["a.txt"].side == "Azerbaijan" and docs["b.txt"].side == "Armenia"


def test_jsonl_and_html_documents(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [
        {
            "id": "r1",
            "text": "Yerevan said the corridor must reopen.",
            "publisher": "Armenpress",
            "side": "Armenia",
            "date": "2023-06-01",
        },
        {"text": "Baku said the checkpoint is legal.", "title": "Checkpoint"},
        {"title": "no text field"},
    ]
    (corpus / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    html = (
        "<html><head><title>Border news</title><script>var tracking = 1;</script></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/news'>News</a></nav>"
        "<article><h1>Border talks resume</h1><p>The two delegations met in Brussels on Monday to discuss the border. "
        "The talks lasted six hours and ended with a joint communique on delimitation.</p>"
        "<p>Both foreign ministers described the meeting as constructive and agreed to meet again next month.</p></article>"
        "<footer>Copyright 2023 Example News. All rights reserved.</footer></body></html>"
    )
    (corpus / "page.html").write_text(html, encoding="utf-8")
    (corpus / "notes.docx").write_bytes(b"PK\x03\x04")
    (corpus / "notes.odt").write_bytes(b"PK\x03\x04")
    loaded = load_corpus(corpus)
    docs = {d.id: d for d in loaded.documents}
    assert docs["feed.jsonl#r1"].date == dt.date(2023, 6, 1) and docs["feed.jsonl#r1"].side == "Armenia"
    assert docs["feed.jsonl#2"].title == "Checkpoint"
    assert any(s.path == "feed.jsonl, line 3" and s.reason.startswith("text: ") for s in loaded.skipped)
    assert any(s.path == "notes.odt" and "unsupported extension" in s.reason for s in loaded.skipped)
    assert any(s.path == "notes.docx" and s.reason.startswith("damaged or not a Word") for s in loaded.skipped)
    page = docs["page.html"].text
    assert "delegations met in Brussels" in page and "tracking" not in page and "Copyright" not in page


def test_boilerplate_is_never_indexed_or_cited(assistant):
    for sentence_id in range(len(assistant.index.sentences)):
        text = assistant.index.sentence_text(sentence_id)
        assert "sugar exports" not in text and "Orphus" not in text and "Download photo" not in text
    answer = assistant.ask("How much did sugar exports grow?")
    assert answer.abstained


def test_wire_report_statements_count_for_the_side_that_spoke(assistant):
    answer = assistant.ask("What did each side say about the Lachin corridor?")
    groups = {g.side: g for g in answer.groups}
    wire = "Wire agency (unnamed in text)"
    armenian = [q for q in groups["Armenia"].quotes if q.publisher == wire]
    assert (
        armenian
        and armenian[0].speaker == "Yerevan"
        and armenian[0].speaker_side == "Armenia"
        and armenian[0].side == "neutral"
    )
    assert armenian[0].cue == "Yerevan has cited"
    azerbaijani = [q for q in groups["Azerbaijan"].quotes if q.publisher == wire]
    assert azerbaijani and azerbaijani[0].speaker == "Azeri Ministry of Defense" and azerbaijani[0].side == "neutral"
    assert all(q.speaker_side == "Armenia" for q in groups["Armenia"].quotes)
    assert all(q.speaker_side == "Azerbaijan" for q in groups["Azerbaijan"].quotes)


def test_requoted_statement_appears_once_with_its_other_source(assistant):
    answer = assistant.ask("Azerbaijan openly took responsibility for the aggression, guided by impunity", k=5)
    matches = [q for q in answer.quotes if "sense of impunity" in q.text]
    assert len(matches) == 1
    quote = matches[0]
    assert quote.doc_id == "000_ce08357c7478e3f0.txt" and quote.publisher == "Ministry of Foreign Affairs of Armenia"
    assert [(o.doc_id, o.publisher, o.date) for o in quote.also_in] == [
        ("002_36c5c6001d4c7b56.txt", "Wire agency (unnamed in text)", dt.date(2023, 9, 19))
    ]
    assert "Guided by its sense of impunity" in quote.also_in[0].text


@pytest.mark.slow  # builds an index with the model
def test_same_sentence_in_three_outlets_is_shown_once(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentence = "The Lachin checkpoint will remain open for humanitarian cargo, the ministry said."
    variants = [sentence, sentence.upper(), "“" + sentence.replace(",", " ,") + "”"]
    for i, text in enumerate(variants):
        (corpus / f"outlet{i}.txt").write_text(
            f"Outlet {i} news\n\n{text}\n\nUnrelated closing remark number {i} about weather.\n", encoding="utf-8"
        )
    (corpus / "metadata.csv").write_text(
        "file,publisher,date\noutlet0.txt,Outlet A,2023-05-02\noutlet1.txt,Outlet B,2023-05-01\noutlet2.txt,Outlet C,\n",
        encoding="utf-8",
    )
    assistant = Assistant.build(corpus, tmp_path / "index")
    answer = assistant.ask("Will the Lachin checkpoint stay open for humanitarian cargo?", k=5)
    quotes = [q for q in answer.quotes if "checkpoint" in q.text.lower()]
    assert len(quotes) == 1
    assert quotes[0].publisher == "Outlet B"  # the earliest publication is the primary source
    assert sorted(o.publisher for o in quotes[0].also_in) == ["Outlet A", "Outlet C"]


@pytest.mark.slow  # builds an index with the model
def test_index_command_reports_what_it_did(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "metadata.csv").unlink()
    (corpus / "scan.pdf").write_bytes(b"%PDF-1.4")
    assert main(["index", str(corpus), "--index", str(tmp_path / "index"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "indexed 5 documents" in out
    assert "documents missing date: 2 (002_36c5c6001d4c7b56.txt, 003_d58175e59972caf7.txt)" in out
    assert "documents missing publisher: 5" in out and "documents missing side: 5" in out
    assert "dates read from the dateline: 3" in out
    assert "skipped scan.pdf: damaged or not a PDF (PDFium: Data format error): it cannot be read" in out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_source_offsets_of_every_sentence_point_into_the_file(assistant, name):
    doc = assistant.document(name)
    raw = seed(name)
    table = assistant.index.sentences
    for i in range(len(table)):
        if assistant.index.documents[int(table.doc_index[i])].id == name:
            start, end = int(table.start[i]), int(table.end[i])
            s, e = doc.source_offsets(start, end)
            assert raw[s:e] == doc.text[start:end]
