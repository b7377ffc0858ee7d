"""PDF and Word files: text in reading order with page boundaries, running headers and footers left out,
hyphenated line ends, unreadable files skipped with their reason, and quotes with their page. The files are made
here (fpdf2, python-docx); one small index of them is built once for the module."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docx import Document as WordDocument
from fpdf import FPDF
from PIL import Image

from qa_assistant import Assistant
from qa_assistant.cli import format_answer
from qa_assistant.ingest.corpus import load_corpus
from qa_assistant.ingest.pdf import PdfPage, remove_furniture
from qa_assistant.models import reading_text
from qa_assistant.text.segment import split_sentences
from qa_assistant.text.tokens import tokenize
from qa_assistant.ui.document import document_html
from qa_assistant.ui.export import to_csv, to_markdown

SYMBOL = "S/2024/123"
RUNNING_TITLE = "Report of the Secretary-General on the corridor"
HYPHENATED = (
    "The delegation of Azerbai-\njan stated that the corridor near Lachin remained open to civilian traffic "
    "throughout the reporting period."
)
SPANNING_START = "The Armenian foreign ministry said that the humanitarian convoy carrying wheat flour would cross"
SPANNING_END = "the border after the inspection by both parties had been completed."
LEFT_COLUMN = (
    "Glaciers in the northern valley retreated by forty metres during the last decade according to the survey. "
    "Herders moved their flocks to higher pastures earlier each spring as the snow melted sooner. "
)
RIGHT_COLUMN = (
    "Vineyards in the southern plain were irrigated from two new canals built with regional funds. "
    "Farmers reported that the grape harvest doubled after the canals opened in the spring. "
)


class Report(FPDF):
    """A report with a running header (symbol and title) and a footer 'Page N of M' on every page."""

    def header(self):
        self.set_font("Helvetica", size=9)
        self.cell(0, 5, SYMBOL, align="R", new_x="LMARGIN", new_y="NEXT")
        self.cell(0, 5, RUNNING_TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(6)

    def footer(self):
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, f"Page {self.page_no()} of {{nb}}", align="C")


def make_report(path: Path) -> None:
    pdf = Report()
    pdf.set_title("Situation along the Lachin corridor")
    pdf.set_creation_date(dt.datetime(2001, 1, 1, tzinfo=dt.UTC))  # not a publication date
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "12 March 2024", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, HYPHENATED, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0, 6, "Talks on the delimitation of the border continued in Brussels.", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_y(262)
    pdf.multi_cell(0, 6, SPANNING_START, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.multi_cell(0, 6, SPANNING_END, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0, 6, "The mission counted twelve checkpoints along the road in February.", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.add_page()
    with pdf.text_columns(ncols=2, text_align="LEFT") as columns:
        columns.write(LEFT_COLUMN)
        columns.new_column()
        columns.write(RIGHT_COLUMN)
    pdf.output(str(path))


def make_encrypted(path: Path) -> None:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "This text is behind a password and cannot be read without it.")
    pdf.output(str(path))


def make_scanned(path: Path) -> None:
    image = Image.new("RGB", (400, 500), "white")
    for x in range(40, 360):  # a few dark 'lines of text', as a scanner would give them
        for y in (60, 61, 100, 101, 140, 141):
            image.putpixel((x, y), (20, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=10, y=10, w=190)
    pdf.output(str(path))


def make_word(path: Path) -> None:
    document = WordDocument()
    document.core_properties.title = "Statement on the water agreement"
    document.core_properties.created = dt.datetime(2001, 1, 1)  # not a publication date
    document.add_paragraph("The foreign ministry welcomed the agreement on the shared use of the river water.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "The first clause sets the volume released to each country every summer."
    table.cell(0, 1).text = "The second clause creates a joint commission that meets twice a year."
    document.add_paragraph("The ministry expects the commission to hold its first meeting in the autumn.")
    document.save(str(path))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pdf-corpus")
    make_report(folder / "report.pdf")
    make_encrypted(folder / "locked.pdf")
    make_scanned(folder / "scan.pdf")
    make_word(folder / "statement.docx")
    (folder / "truncated.pdf").write_bytes((folder / "report.pdf").read_bytes()[:700])
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "locked.docx").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    (folder / "metadata.csv").write_text(
        "file,title,publisher,side,date,url,speaker\n"
        "statement.docx,,Ministry of Foreign Affairs,Upstream,2024-05-02,,\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def loaded(corpus):
    return load_corpus(corpus)


@pytest.fixture(scope="module")
def report(loaded):
    return next(d for d in loaded.documents if d.id == "report.pdf")


def page_texts(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_range() for page in pdf]
    finally:
        pdf.close()


def sentence_with(doc, words: str) -> tuple[int, int]:
    spans = [(s, e) for s, e in split_sentences(doc.text) if words in reading_text(doc.text[s:e])]
    assert len(spans) == 1, [doc.text[s:e] for s, e in split_sentences(doc.text)]
    return spans[0]


def test_unreadable_files_are_skipped_with_their_reason(loaded):
    reasons = {s.path: s.reason for s in loaded.skipped}
    assert "password-protected" in reasons["locked.pdf"]
    assert "no text layer" in reasons["scan.pdf"] and "OCR is not done" in reasons["scan.pdf"]
    assert "damaged" in reasons["truncated.pdf"]
    assert "empty file" in reasons["empty.pdf"]
    assert "password-protected" in reasons["locked.docx"]
    assert {d.id for d in loaded.documents} == {"report.pdf", "statement.docx"}


def test_running_headers_footers_and_page_numbers_are_left_out(report):
    assert report.pages == 3
    assert SYMBOL not in report.text
    assert RUNNING_TITLE not in report.text
    assert not re.search(r"Page \d of \d", report.text)
    assert len(report.page_starts()) == 3
    assert report.page_at(report.page_starts()[1]) == 2


def test_chapter_headers_and_page_numbers_are_furniture_a_repeated_opening_is_not():
    words = "apples pears plums figs dates limes kiwis mangoes melons grapes".split()
    texts = [f"Chapter 2: Handling {n}\r\nThe page on {words[n - 1]} says something.\r\n{n}" for n in range(1, 11)]
    texts[3] = "In the same words again.\r\n" + texts[3]  # at the top of two pages of ten: text, not a header
    texts[7] = "In the same words again.\r\n" + texts[7]
    pages = [PdfPage(number=n, text=t, kept=(0, len(t))) for n, t in enumerate(texts, start=1)]
    remove_furniture(pages)
    assert pages[0].furniture == ["Chapter 2: Handling 1", "1"]
    assert [p.text[p.kept[0] : p.kept[1]] for p in pages[2:4]] == [
        "The page on plums says something.",
        "In the same words again.\r\nChapter 2: Handling 4\r\nThe page on figs says something.",
    ]


def test_title_and_date_come_from_the_file_never_its_creation_date(report):
    assert report.title == "Situation along the Lachin corridor"  # the PDF's Title property
    assert (report.date, report.date_source) == (dt.date(2024, 3, 12), "dateline")


def test_hyphenated_line_end_is_one_word_for_search_and_reading(report):
    start, end = sentence_with(report, "Azerbaijan stated")
    sentence = report.text[start:end]
    assert "Azerbai\ufffejan" in sentence  # the text as PDFium extracts it
    assert "azerbaijan" in tokenize(sentence)
    assert "Azerbaijan stated that the corridor" in reading_text(sentence)


def test_sentence_across_a_page_break_is_one_sentence(report):
    start, end = sentence_with(report, "wheat flour would cross the border after the inspection")
    assert report.page_range(start, end) == (1, 2)


def test_two_columns_read_column_by_column(report):
    text = reading_text(report.text)
    left = [text.index(s.strip()) for s in LEFT_COLUMN.split(". ") if s.strip()]
    right = [text.index(s.strip()) for s in RIGHT_COLUMN.split(". ") if s.strip()]
    assert left == sorted(left) and right == sorted(right) and max(left) < min(right)
    sentence_with(report, "Glaciers in the northern valley retreated by forty metres during the last decade")


def test_each_page_run_is_the_text_pdfium_extracts(corpus, report):
    pages = page_texts(corpus / "report.pdf")
    for text_start, page, char, length in report.page_map or []:
        assert report.text[text_start : text_start + length] == pages[page - 1][char : char + length]


def test_word_paragraphs_tables_and_metadata(loaded):
    doc = next(d for d in loaded.documents if d.id == "statement.docx")
    order = ["welcomed the agreement", "The first clause", "The second clause", "first meeting in the autumn"]
    assert [doc.text.index(p) for p in order] == sorted(doc.text.index(p) for p in order)
    assert doc.title == "Statement on the water agreement"  # core properties, the sidecar has no title
    assert (doc.date, doc.date_source, doc.publisher) == (dt.date(2024, 5, 2), "sidecar", "Ministry of Foreign Affairs")
    assert doc.page_map is None


def test_sidecar_title_wins_over_the_pdf_title(tmp_path):
    make_report(tmp_path / "report.pdf")
    (tmp_path / "metadata.csv").write_text("file,title\nreport.pdf,Given title\n", encoding="utf-8")
    assert load_corpus(tmp_path).documents[0].title == "Given title"


@pytest.fixture(scope="module")
def assistant(corpus, tmp_path_factory) -> Assistant:
    return Assistant.build(corpus, tmp_path_factory.mktemp("pdf-index") / "index")


@pytest.mark.slow
def test_quote_from_a_pdf_carries_its_page_and_equals_the_extracted_text(assistant, corpus):
    answer = assistant.ask("Was the Lachin corridor open to civilian traffic?", k=3)
    quote = next(q for q in answer.quotes if "civilian traffic" in q.text)
    doc = assistant.document(quote.doc_id)
    assert quote.text == doc.text[quote.start : quote.end]
    assert quote.text in page_texts(corpus / "report.pdf")[0]
    assert (quote.page, quote.page_end, quote.link) == (1, None, "report.pdf#page=1")
    assert "Azerbaijan stated" in quote.display_text
    shown = format_answer(answer)
    assert "Azerbaijan stated" in shown and "p. 1" in shown and "\ufffe" not in shown
    assert "\ufffe" not in to_markdown(answer) and "\ufffe" not in to_csv(answer)
    assert "(p. 1)" in to_markdown(answer)


@pytest.mark.slow
def test_bm25_finds_the_hyphenated_word(assistant):
    hits = assistant.search("Azerbaijan", k=1, mode="bm25")
    doc = assistant.document(hits[0].doc_id)
    assert "Azerbai\ufffejan" in doc.text[hits[0].start : hits[0].end]


@pytest.mark.slow
def test_quote_across_pages_and_word_quote_links(assistant):
    answer = assistant.ask("humanitarian convoy wheat flour border inspection", k=3)
    quote = next(q for q in answer.quotes if "wheat flour" in q.text)
    assert (quote.page, quote.page_end, quote.pages_label) == (1, 2, "pp. 1–2")
    word = assistant.ask("joint commission meets twice a year", k=2).quotes[0]
    assert word.doc_id == "statement.docx" and word.page is None
    assert word.link == f"statement.docx#char={word.start},{word.end}"


@pytest.mark.slow
def test_document_panel_draws_the_page_with_the_quoted_lines(assistant):
    quote = next(q for q in assistant.ask("civilian traffic Lachin corridor", k=3).quotes if q.page == 1)
    doc = assistant.document(quote.doc_id)
    pdf = assistant.source_file(doc)
    assert pdf is not None
    html = document_html(doc, quote.start, quote.end, pdf_path=pdf)
    assert 'data-page="1"' in html and "data:image/png;base64," in html
    boxes = [tuple(float(v) for v in m) for m in re.findall(r"left:([\d.]+)%;top:([\d.]+)%;width:([\d.]+)%", html)]
    assert len(boxes) == 2  # the sentence's two lines
    assert all(0 < top < 20 for _left, top, _width in boxes)  # near the top of the page, under the header
    assert 'class="qa-doc-text"' in html and "p. 1" in html


@pytest.fixture(scope="module")
def app_page(assistant, corpus, tmp_path_factory):
    """`python app.py` on the module's corpus and index, and a Chromium page on it that may reach 127.0.0.1 only."""
    playwright_sync = pytest.importorskip("playwright.sync_api")
    root = Path(__file__).resolve().parents[1]
    work = tmp_path_factory.mktemp("pdf-app")
    log_path = work / "app.log"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(work / "gradio-tmp")}
    env.pop("GRADIO_SERVER_NAME", None)
    index_dir = next(tmp_path_factory.getbasetemp().glob("pdf-index*/index"))  # the `assistant` fixture's index
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(root / "app.py"), "--index", str(index_dir), "--corpus", str(corpus)]
            + ["--port", str(port)],
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while "Running on local URL" not in log_path.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.25)
        with playwright_sync.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"), args=["--no-sandbox"]
            )
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            outside: list[str] = []

            def only_local(route):
                if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            context.route("**/*", only_local)
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            playwright_sync.expect(page.locator(".qa-welcome")).to_be_visible(timeout=30_000)
            yield page, playwright_sync.expect
            browser.close()
            assert outside == [], outside
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.mark.slow
def test_app_shows_the_page_of_a_pdf_quote_with_its_lines_marked(app_page):
    page, expect = app_page
    page.locator("#qa-question textarea").fill("Was the Lachin corridor open to civilian traffic?")
    page.locator("#qa-ask").click()
    card = page.locator(".qa-quote", has_text="civilian traffic").first
    expect(card).to_be_visible(timeout=30_000)
    expect(card.locator(".qa-text-body")).to_contain_text("Azerbaijan stated")  # the hyphen joined
    expect(card.locator(".qa-page")).to_have_text("p. 1")
    card.locator("button.qa-show").click()
    figure = page.locator('#qa-document .qa-doc-page[data-page="1"]')
    expect(figure.locator("img")).to_be_visible(timeout=15_000)
    image = figure.locator("img").bounding_box()
    marks = figure.locator(".qa-page-hit")
    expect(marks).to_have_count(2)  # the sentence's two lines on the page
    for i in range(2):
        box = marks.nth(i).bounding_box()
        assert image["x"] < box["x"] and box["x"] + box["width"] < image["x"] + image["width"]
        assert image["y"] < box["y"] < image["y"] + image["height"] / 4  # near the top of the page
    text = page.locator("#qa-document .qa-doc-text")
    expect(text).to_be_visible()
    assert text.bounding_box()["x"] > image["x"] + image["width"] - 1  # the text view beside the page
    expect(page.locator("#qa-document mark.qa-hit")).to_contain_text("Azerbaijan stated that the corridor")
