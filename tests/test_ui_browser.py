"""End-to-end: `python app.py` on a copy of the corpus (plus a hostile document), driven in Chromium.

The app is started as a user would start it, on a free localhost port, with no index: it builds one.
Every page blocks requests that leave 127.0.0.1 and fails the test if any were attempted.
Screenshots of the main states are written to test-output/screenshots/.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from qa_assistant import Answer, Assistant

pytestmark = pytest.mark.slow  # starts the app and a browser

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

ROOT = Path(__file__).resolve().parents[1]
SEED_CORPUS = ROOT / "corpus"
SHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LACHIN = "What did each side say about Lachin?"
FESTIVAL = "What happened at the Quokkaville lantern festival?"
EVIL_TEXT = """Quokkaville lantern festival report

The Quokkaville lantern festival <script>window.__pwned=1</script> drew thousands of visitors to the river bank.
Organisers of the Quokkaville lantern festival shared photos <img src=x onerror="window.__pwned=1"> of the lanterns.
Tickets for the Quokkaville lantern festival were sold out, see [click](http://example.com) for the programme.
"""
EVIL_TITLE = "<b>Quokkaville</b> festival [news](http://example.com)"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ------------------------------------------------------------------------------------------ fixtures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ui_corpus(tmp_path_factory) -> Path:
    """The bundled corpus plus `evil.txt`, a document full of markup, with a metadata row of its own."""
    corpus = tmp_path_factory.mktemp("ui") / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    (corpus / "evil.txt").write_text(EVIL_TEXT, encoding="utf-8")
    metadata = corpus / "metadata.csv"
    with metadata.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    row = {
        "file": "evil.txt",
        "title": EVIL_TITLE,
        "publisher": "Injection Test Gazette",
        "side": "neutral",
        "date": "2023-05-05",
    }
    text = metadata.read_text(encoding="utf-8-sig")
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=header, lineterminator="\n").writerow({k: row.get(k, "") for k in header})
    metadata.write_text(text.rstrip("\n") + "\n" + buffer.getvalue(), encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def server(ui_corpus, tmp_path_factory):
    """`python app.py` on a free port; the index folder does not exist yet, so the app builds it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) or run scripts/setup.sh --test"
        )
    work = tmp_path_factory.mktemp("server")
    index_dir = work / "index"
    log_path = work / "app.log"
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        "GRADIO_TEMP_DIR": str(work / "gradio-tmp"),
    }
    env.pop("GRADIO_SERVER_NAME", None)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "app.py"),
                "--index",
                str(index_dir),
                "--corpus",
                str(ui_corpus),
                "--port",
                str(port),
            ],
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    try:
        while "Running on local URL" not in log_path.read_text():
            if process.poll() is not None:
                pytest.fail(f"app.py exited with {process.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not start in time:\n{log_path.read_text()}")
            time.sleep(0.25)
        yield {"url": url, "port": port, "log": log_path, "index": index_dir, "corpus": ui_corpus}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def ui_assistant(server) -> Assistant:
    """The same index the app serves, opened in the test process to check what the browser shows."""
    return Assistant.load(server["index"], corpus_dir=server["corpus"])


@pytest.fixture(scope="module")
def browser(server):
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    outside: list[str] = []

    def only_local(route):
        request_url = route.request.url
        if request_url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(request_url)
            route.abort()

    context.route("**/*", only_local)
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(server["url"])
    expect(tab.locator(".qa-welcome")).to_be_visible(timeout=30_000)
    yield tab
    context.close()
    assert outside == [], f"the page tried to reach the network: {outside}"
    assert errors == [], f"JavaScript errors on the page: {errors}"


# ------------------------------------------------------------------------------------------- helpers


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def ask(page, question: str, *, enter: bool = False):
    """Type a question, send it, and return the locator of the new exchange once its answer is shown."""
    turns = page.locator(".qa-turn")
    before = turns.count()
    box = page.locator("#qa-question textarea")
    box.fill(question)
    started = time.perf_counter()
    if enter:
        box.press("Enter")
    else:
        page.locator("#qa-ask").click()
    expect(turns).to_have_count(before + 1, timeout=15_000)
    turn = turns.nth(before)
    expect(turn.locator(".qa-foot, .qa-error")).to_be_visible(timeout=15_000)
    turn.elapsed = time.perf_counter() - started  # type: ignore[attr-defined]
    return turn


def group_sides(turn) -> list[str]:
    return turn.locator(".qa-group[data-side]").evaluate_all("els => els.map(e => e.dataset.side)")


def chips(turn) -> str:
    return " ".join(turn.locator(".qa-chip").all_inner_texts())


# ---------------------------------------------------------------------------------------------- tests


def test_app_binds_localhost_and_builds_a_missing_index_with_progress(server):
    log = server["log"].read_text()
    assert "no index at" in log and "building it from" in log
    assert "… encoding" in log  # build stages are printed as they happen
    assert f"Running on local URL:  http://127.0.0.1:{server['port']}" in log
    assert (server["index"] / "manifest.json").exists()


def test_first_load_offers_example_questions_and_filters(page):
    examples = page.locator(".qa-welcome button.qa-example")
    expect(examples.first).to_be_visible()
    assert LACHIN in examples.all_inner_texts()
    sides = page.locator("#qa-sides label").all_inner_texts()
    assert {"Armenia", "Azerbaijan"} <= {s.strip() for s in sides}
    expect(page.locator("#qa-export-md")).to_be_disabled()
    shot(page, "01-first-load")


def test_lachin_question_quotes_both_sides_with_dates_and_keeps_history(page):
    page.locator(".qa-welcome button.qa-example", has_text=LACHIN).click()
    turn = page.locator(".qa-turn").first
    expect(turn.locator(".qa-foot")).to_be_visible(timeout=15_000)
    expect(turn.locator(".qa-q-bubble")).to_have_text(LACHIN)
    sides = group_sides(turn)
    assert {"Armenia", "Azerbaijan"} <= set(sides)
    assert "Topic Lachin" in chips(turn)  # what the quotes were matched against is shown with the answer
    for side in ("Armenia", "Azerbaijan"):
        group = turn.locator(f'.qa-group[data-side="{side}"]')
        expect(group.locator("h3")).to_contain_text(side)
        quotes = group.locator(".qa-quote")
        assert quotes.count() >= 1
        for i in range(quotes.count()):
            card = quotes.nth(i)
            assert DATE.match(card.locator(".qa-date").inner_text()), "each quote shows its date"
            text = card.locator(".qa-text").inner_text()
            assert text.startswith("“") and text.endswith("”")
            assert card.locator(".qa-who").inner_text().strip()
            assert card.locator(".qa-title").inner_text().strip()
    # answered fast: the assistant's own timing is shown with the answer
    answered_ms = float(re.search(r"(\d+) ms", turn.locator(".qa-foot").inner_text()).group(1))
    assert answered_ms < 1000
    shot(page, "02-answer-lachin")

    follow = ask(page, "What did Azerbaijan say about the Lachin checkpoint?", enter=True)
    assert follow.elapsed < 5
    expect(page.locator(".qa-turn")).to_have_count(2)
    expect(page.locator(".qa-turn").first.locator(".qa-q-bubble")).to_have_text(LACHIN)
    expect(follow.locator(".qa-quote").first).to_be_visible()
    shot(page, "03-follow-up")


def test_side_filter_leaves_only_that_side(page):
    page.locator("#qa-sides").get_by_label("Armenia", exact=True).check()
    turn = ask(page, LACHIN)
    assert group_sides(turn) == ["Armenia"]
    assert "Sides Armenia" in chips(turn)
    tags = turn.locator(".qa-quote .qa-side-tag").all_inner_texts()
    assert tags and all(t.startswith("Armenia") for t in tags)
    shot(page, "04-side-filter-armenia")


def test_mode_and_number_of_quotes_apply_to_the_next_question(page):
    page.locator("#qa-mode input").click()
    page.get_by_role("option", name="BM25 (keywords)").click()
    k = page.locator("#qa-k input[type=number]")
    k.fill("2")
    k.press("Enter")
    turn = ask(page, "Who shelled civilian settlements?")
    text = chips(turn)
    assert "Mode BM25 only" in text and "Quotes up to 2" in text
    assert 1 <= turn.locator(".qa-quote").count() <= 2
    expect(turn.locator(".qa-scores td").first).to_be_attached()


def test_show_in_document_highlights_the_quote_in_its_document(page, ui_assistant):
    turn = ask(page, LACHIN)
    cards = turn.locator(".qa-quote")
    for index in (0, cards.count() - 1):
        card = cards.nth(index)
        quote_text = card.locator(".qa-text-body").text_content()
        card.locator("button.qa-show").click()
        mark = page.locator("#qa-document mark.qa-hit")
        expect(mark).to_have_text(quote_text, timeout=10_000)
        assert mark.text_content() == quote_text
        expect(mark).to_be_in_viewport()
        doc_id = card.get_attribute("data-doc")
        start, end = int(card.get_attribute("data-start")), int(card.get_attribute("data-end"))
        document = ui_assistant.document(doc_id)
        assert document.text[start:end] == quote_text
        # the whole document is there, neighbours included, as plain text
        assert page.locator("#qa-document .qa-doc-text").text_content() == document.text
        expect(page.locator("#qa-document .qa-doc-title")).to_have_text(document.title or document.path)
        box = page.locator("#qa-document .qa-doc-text").bounding_box()
        hit = mark.bounding_box()
        assert box["y"] <= hit["y"] and hit["y"] + hit["height"] <= box["y"] + box["height"], "scrolled into view"
        expect(card).to_have_class(re.compile(r"qa-active"))
    shot(page, "05-show-in-document")

    first = cards.first
    expect(first.locator(".qa-scores table")).to_be_hidden()
    first.locator(".qa-scores summary").click()
    table = first.locator(".qa-scores table")
    expect(table).to_be_visible()
    for label in ("BM25 rank", "Dense rank", "Fused score (adaptive)", "Fusion weights", "Similarity to topic"):
        expect(table).to_contain_text(label)
    shot(page, "06-scores")


def download(page, selector: str):
    with page.expect_download(timeout=15_000) as info:
        page.locator(selector).click()
    item = info.value
    return item.suggested_filename, Path(item.path()).read_text(encoding="utf-8")


def test_exports_download_the_current_answer(page, ui_assistant):
    ask(page, "What did Azerbaijan say about the Lachin checkpoint?")
    turn = ask(page, LACHIN)
    shown = turn.locator(".qa-quote .qa-text-body").all_text_contents()

    name, content = download(page, "#qa-export-json")
    assert name.endswith(".json")
    answer = Answer.model_validate_json(content)
    assert answer.question == LACHIN  # the latest answer, not the earlier one
    assert [q.text for q in answer.quotes] == shown
    for quote in answer.quotes:
        assert ui_assistant.document(quote.doc_id).text[quote.start : quote.end] == quote.text

    name, content = download(page, "#qa-export-csv")
    assert name.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [(r["doc_id"], int(r["start"]), int(r["end"])) for r in rows] == [
        (q.doc_id, q.start, q.end) for q in answer.quotes
    ]
    for row, quote in zip(rows, answer.quotes):
        assert row["text"] == quote.text
        assert row["publisher"] == (quote.publisher or "") and row["side"] == (quote.side or "")
        assert row["date"] == (quote.date.isoformat() if quote.date else "")
        assert row["title"] == (quote.title or "") and row["link"] == quote.link

    name, content = download(page, "#qa-export-md")
    assert name.endswith(".md")
    text = html.unescape(re.sub(r"<[^>]+>", "", MarkdownIt("commonmark").render(content)))
    assert text.startswith(LACHIN)
    for quote in answer.quotes:
        assert f"“{quote.text}”" in text
        assert f"characters {quote.start}–{quote.end}" in text
    for side in {g.side for g in answer.groups}:
        assert f"\n{side}\n" in text
    shot(page, "07-exports")


def test_markup_in_documents_stays_inert_text(page, ui_assistant):
    turn = ask(page, FESTIVAL)
    cards = turn.locator(".qa-quote", has_text="Quokkaville")
    expect(cards.first).to_be_visible()
    page.wait_for_timeout(300)  # give an <img onerror> every chance to fire
    assert page.evaluate("() => window.__pwned") is None
    bodies = " ".join(turn.locator(".qa-text-body").all_text_contents())
    assert "<script>window.__pwned=1</script>" in bodies
    assert '<img src=x onerror="window.__pwned=1">' in bodies
    assert "[click](http://example.com)" in bodies
    expect(turn.get_by_text("<script>window.__pwned=1</script>", exact=False).first).to_be_visible()
    expect(turn.locator(".qa-title", has_text=EVIL_TITLE).first).to_be_visible()
    # nothing from the document became an element: no children inside quote texts, titles or the question
    assert turn.locator(".qa-text-body *, .qa-title *, .qa-who *, .qa-q-bubble *").count() == 0
    assert page.locator('img[src="x"], a[href="http://example.com"]').count() == 0
    assert page.evaluate("() => [...document.scripts].some(s => s.textContent.includes('__pwned'))") is False

    cards.first.locator("button.qa-show").click()
    expect(page.locator("#qa-document mark.qa-hit")).to_contain_text("Quokkaville")
    viewer = page.locator("#qa-document")
    assert viewer.locator(".qa-doc-text").text_content() == ui_assistant.document("evil.txt").text
    assert "<script>window.__pwned=1</script>" in ui_assistant.document("evil.txt").text
    assert viewer.locator(".qa-doc-text *:not(mark), .qa-doc-text mark *, .qa-doc-title *").count() == 0
    expect(viewer.locator(".qa-doc-title")).to_have_text(EVIL_TITLE)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned") is None
    shot(page, "08-injection-inert")

    evil_question = 'What about <img src=x onerror="window.__pwned=1"> [click](http://example.com)?'
    turn = ask(page, evil_question)
    expect(turn.locator(".qa-q-bubble")).to_have_text(evil_question)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned") is None
    shot(page, "09-question-markup-inert")


def test_dates_filter_and_bad_dates_are_explained(page):
    page.locator("#qa-ask").click()  # nothing typed: a hint, no exchange
    expect(page.get_by_text("Type a question first.")).to_be_visible()
    expect(page.locator(".qa-turn")).to_have_count(0)
    page.locator("#qa-since input, #qa-since textarea").first.fill("2023-13-45")
    turn = ask(page, LACHIN)
    expect(turn.locator(".qa-error")).to_contain_text("YYYY-MM-DD")
    expect(turn.locator(".qa-error")).to_contain_text("2023-13-45")
    shot(page, "10-bad-date")

    page.locator("#qa-since input, #qa-since textarea").first.fill("2023-01-01")
    turn = ask(page, LACHIN)
    assert "Dates 2023-01-01 → …" in chips(turn)
    dates = turn.locator(".qa-quote .qa-date").all_inner_texts()
    assert dates and all(d >= "2023-01-01" for d in dates)


def test_unrelated_question_gets_an_explicit_no_answer(page):
    turn = ask(page, "What is the best recipe for banana bread with walnuts?")
    expect(turn.locator(".qa-abstain")).to_contain_text("No answer")
    assert turn.locator(".qa-quote").count() == 0
    shot(page, "11-no-answer")


def test_what_the_question_says_is_shown_and_can_be_turned_off(page):
    turn = ask(page, "What did Azerbaijan say in July 2023?")
    text = chips(turn)
    assert "Understood" in text and "in July 2023" in text and "side: Azerbaijan" in text
    dates = turn.locator(".qa-quote .qa-date").all_inner_texts()
    assert dates and all(d.startswith("2023-07") for d in dates)
    shot(page, "12-understood-chip")

    page.locator("#qa-infer input").uncheck()
    turn = ask(page, "What did Azerbaijan say in July 2023?")
    assert "Understood" not in chips(turn)
    dates = turn.locator(".qa-quote .qa-date").all_inner_texts()
    assert any(not d.startswith("2023-07") for d in dates)


def test_a_name_no_document_mentions_is_said_plainly(page):
    turn = ask(page, "What did the president of Turkey say about the offensive?")
    expect(turn.locator(".qa-abstain")).to_contain_text("No document mentions “Turkey”")
    assert turn.locator(".qa-quote").count() == 0
    shot(page, "13-unknown-name")

    page.locator("#qa-unknown-names input").check()  # quote what matches the rest, and say what is missing
    turn = ask(page, "What did the president of Turkey say about the offensive?")
    assert turn.locator(".qa-quote").count() > 0
    expect(turn.locator(".qa-note").first).to_contain_text("Turkey")
    page.locator("#qa-unknown-names input").uncheck()


# ------------------------------------------------------------------------------- adding documents while it runs

LANTERN = (
    "Wombat Valley harvest bulletin\n\n"
    "The Wombat Valley pumpkin harvest weighed forty-two tonnes this autumn, a record for the valley.\n"
    "Farmers of Wombat Valley said the pumpkin harvest owed much to the late rains.\n"
)
HARVEST = "How much did the Wombat Valley pumpkin harvest weigh?"


def header_counts(page) -> str:
    return page.locator("#qa-header .qa-index-info b").first.inner_text()


def add_files(page, paths: list[Path], **fields: str) -> None:
    """Open the panel, drop `paths`, fill the fields and add them; returns once the status says done."""
    panel = page.locator("#qa-add")
    if not page.locator("#qa-upload-add").is_visible():
        panel.get_by_text("Add documents").first.click()
    page.locator("#qa-upload-files input[type=file]").set_input_files([str(p) for p in paths])
    for name in paths:
        expect(page.locator("#qa-upload-files")).to_contain_text(name.name, timeout=10_000)
    for field, value in fields.items():
        page.locator(f"#qa-upload-{field} input, #qa-upload-{field} textarea").first.fill(value)
    # Record every state the status shows (a small update can finish between two looks).
    page.evaluate(
        """() => { window.__states = []; const box = document.querySelector('#qa-upload-status');
        new MutationObserver(() => { const s = box.querySelector('.qa-upload-status');
          if (s) window.__states.push(s.dataset.state + (s.querySelector('progress') ? ':bar' : '')); })
        .observe(box, {subtree: true, childList: true, attributes: true, characterData: true}); }"""
    )
    page.locator("#qa-upload-add").click()
    expect(page.locator('#qa-upload-status .qa-upload-status[data-state="done"]')).to_be_visible(timeout=90_000)


def open_documents(page) -> None:
    if not page.locator("#qa-doc-remove").is_visible():
        page.locator("#qa-doc-panel").get_by_text("Documents").first.click()
    expect(page.locator("#qa-doc-remove")).to_be_visible()


def remove_document(page, doc_id: str) -> None:
    open_documents(page)
    pick = page.locator("#qa-doc-pick input")
    pick.fill(doc_id)
    page.get_by_role("option", name=re.compile(re.escape(doc_id))).first.click()
    page.locator("#qa-doc-remove").click()
    expect(page.locator('#qa-upload-status .qa-upload-status[data-state="done"]')).to_contain_text(
        f"Removed {doc_id}", timeout=90_000
    )


def test_add_documents_panel_uploads_asks_and_removes(page, server, tmp_path):
    before = header_counts(page)
    no_answer = ask(page, HARVEST)
    assert "forty-two tonnes" not in no_answer.inner_text()
    upload = tmp_path / "harvest bulletin.txt"
    upload.write_text(LANTERN, encoding="utf-8")
    add_files(page, [upload], side="Wombat Valley", publisher="Valley Gazette", date="2024-10-01")
    assert any(state.endswith(":bar") for state in page.evaluate("window.__states")), "a progress bar was shown"
    status = page.locator("#qa-upload-status").inner_text()
    assert "Added harvest bulletin.txt" in status
    assert header_counts(page) == str(int(before) + 1)  # the header counts the new index
    open_documents(page)
    expect(page.locator("#qa-doc-list")).to_contain_text("harvest bulletin.txt")
    assert (server["corpus"] / "harvest bulletin.txt").read_text(encoding="utf-8") == LANTERN
    shot(page, "14-document-added")

    turn = ask(page, HARVEST)
    card = turn.locator('.qa-quote[data-doc="harvest bulletin.txt"]').first
    expect(card).to_be_visible()
    assert "forty-two tonnes" in card.locator(".qa-text").inner_text()
    assert "Valley Gazette" in card.inner_text() and "2024-10-01" in card.inner_text()
    assert "Wombat Valley" in page.locator("#qa-sides").inner_text()  # the new side can be filtered on

    remove_document(page, "harvest bulletin.txt")
    assert header_counts(page) == before
    assert not (server["corpus"] / "harvest bulletin.txt").exists()
    turn = ask(page, HARVEST)
    assert turn.locator('.qa-quote[data-doc="harvest bulletin.txt"]').count() == 0


def test_a_pdf_added_in_the_app_is_quoted_with_its_page(page, server, tmp_path):
    import fpdf  # the test extra's PDF writer

    pdf = fpdf.FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Wombat Valley orchard report. The apple orchards of the valley were planted in 1950.")
    pdf.add_page()
    pdf.multi_cell(0, 8, "The Wombat Valley cider press produced eleven thousand bottles of cider last season.")
    path = tmp_path / "orchard report.pdf"
    pdf.output(str(path))
    before = header_counts(page)
    add_files(page, [path], side="Wombat Valley")
    assert header_counts(page) == str(int(before) + 1)
    turn = ask(page, "How many bottles of cider did the Wombat Valley cider press produce?")
    card = turn.locator('.qa-quote[data-doc="orchard report.pdf"]').first
    expect(card).to_be_visible()
    assert "eleven thousand bottles" in card.locator(".qa-text").inner_text()
    assert "p. 2" in card.inner_text()
    shot(page, "15-pdf-added")
    remove_document(page, "orchard report.pdf")
    assert header_counts(page) == before


def test_timeline_chart_opens_a_periods_quotes_and_orders_quotes_by_date(page, ui_assistant):
    ask(page, LACHIN)
    panel = page.locator("#qa-timeline-panel")
    expect(panel).to_be_visible()
    marks = page.locator("#qa-timeline-chart .js-plotly-plot .scatterlayer .point")
    expect(marks.first).to_be_visible(timeout=15_000)
    timeline = ui_assistant.ask(LACHIN).timeline
    assert timeline is not None
    assert marks.count() == sum(len(row.cells) for row in timeline.rows)
    # the text alternative: one row per side, every period with its count
    rows = page.locator("table.qa-timeline-table tbody tr")
    assert rows.locator("th").all_inner_texts() == [row.side for row in timeline.rows]
    page.locator("button.qa-table-toggle").click()
    expect(page.locator("table.qa-timeline-table")).to_be_visible()
    shot(page, "timeline")
    # a click on a mark of the chart opens that side's quotes of that period
    box = marks.first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    head = page.locator("#qa-period .qa-period-h")
    expect(head).to_be_visible(timeout=15_000)
    side, period = head.get_attribute("data-side") or "", head.get_attribute("data-period") or ""
    cell = timeline.cell(side, period)
    assert cell is not None and f"{cell.count} relevant statement" in head.inner_text()
    cards = page.locator("#qa-period .qa-quote")
    expect(cards).to_have_count(len(cell.sentence_ids))
    for date in cards.locator(".qa-date").all_inner_texts():
        assert date.startswith(period)
    shown = cards.locator(".qa-text-body").all_inner_texts()
    texts = [" ".join(ui_assistant.index.sentence_text(i).split()) for i in cell.sentence_ids]
    assert shown == texts
    shot(page, "timeline-period")
    # the same cell from the table; then the quotes newest first
    page.locator(f'button.qa-period[data-side="{side}"][data-period="{period}"]').click()
    expect(cards).to_have_count(len(cell.sentence_ids))
    turn = page.locator(".qa-turn").last
    relevance = turn.locator(".qa-quote .qa-text-body").all_inner_texts()
    page.locator("#qa-order label", has_text="Newest first").click()
    deadline = time.monotonic() + 10
    while turn.locator(".qa-quote .qa-text-body").all_inner_texts() == relevance and time.monotonic() < deadline:
        time.sleep(0.1)
    groups = turn.locator(".qa-group").all()
    assert groups
    for group in groups:
        dates = group.locator(".qa-quote .qa-date").all_inner_texts()
        assert dates == sorted(dates, reverse=True)
    assert sorted(turn.locator(".qa-quote .qa-text-body").all_inner_texts()) == sorted(relevance)
