"""The UI's formatting: quotes, answers and documents as HTML and Markdown, with untrusted text escaped."""

from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from qa_assistant import Answer, Document, Quote, SideGroup
from qa_assistant.ui import document as document_panel
from qa_assistant.ui import markdown, render

EVIL = '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> [click](http://example.com) **bold** &amp;'

# Tags the renderer itself writes; anything else in its output came from unescaped input.
OWN_TAGS = {
    "article",
    "div",
    "blockquote",
    "span",
    "time",
    "cite",
    "button",
    "details",
    "summary",
    "table",
    "tr",
    "th",
    "td",
    "ul",
    "li",
    "section",
    "h2",
    "h3",
    "p",
    "b",
    "mark",
    "code",
    "a",
}


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(markup: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(markup)
    collector.close()
    return collector


def assert_inert(markup: str) -> TagCollector:
    """Only the renderer's own tags, no event-handler attributes, no script-capable URLs."""
    parsed = parse(markup)
    for tag, attrs in parsed.tags:
        assert tag in OWN_TAGS, f"unexpected <{tag}> in rendered HTML"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler attribute {name} on <{tag}>"
            assert "javascript:" not in (value or "").lower()
        if tag == "a":
            assert attrs["href"].startswith(("http://", "https://"))
    return parsed


def make_quote(**overrides) -> Quote:
    data = dict(
        text="The illegal blockade of the Lachin corridor must end.",
        doc_id="000_a.txt",
        start=10,
        end=63,
        title="MFA statement",
        publisher="Ministry of Foreign Affairs of Armenia",
        side="Armenia",
        date=dt.date(2023, 9, 19),
        path="000_a.txt",
        link="000_a.txt#char=10,63",
        score=0.0328,
        bm25_score=0.9,
        bm25_rank=1,
        dense_score=0.41,
        dense_rank=2,
        similarity=0.41,
    )
    data.update(overrides)
    return Quote(**data)


def make_answer(quotes, groups=None, **overrides) -> Answer:
    data = dict(question="What did each side say about Lachin?", quotes=quotes, min_similarity=0.3)
    if groups is not None:
        data.update(grouped_by_side=True, groups=groups)
    data.update(overrides)
    return Answer(**data)


# ------------------------------------------------------------------------------------------- quotes


def test_quote_card_shows_sentence_in_quotation_marks_then_attribution():
    quote = make_quote()
    parsed = parse(render.quote_html(quote, 1))
    text = "".join(parsed.text)
    assert f"“{quote.text}”" in text
    for part in ("Ministry of Foreign Affairs of Armenia", "Armenia", "2023-09-19", "MFA statement"):
        assert part in text
    assert text.index(quote.text) < text.index("Ministry of Foreign Affairs of Armenia")
    show = [attrs for tag, attrs in parsed.tags if tag == "button" and "qa-show" in attrs.get("class", "")]
    assert show == [
        {
            "type": "button",
            "class": "qa-show",
            "data-doc": "000_a.txt",
            "data-start": "10",
            "data-end": "63",
            "title": "Open the document with this sentence highlighted",
        }
    ]


def test_speaker_is_shown_when_known_else_the_publisher():
    with_speaker = "".join(parse(render.quote_html(make_quote(speaker="Ararat Mirzoyan"), 1)).text)
    assert "Ararat Mirzoyan, via Ministry of Foreign Affairs of Armenia" in with_speaker
    without = "".join(parse(render.quote_html(make_quote(speaker=None), 1)).text)
    assert "Ministry of Foreign Affairs of Armenia" in without and "via" not in without


def test_missing_metadata_is_said_not_guessed():
    quote = make_quote(publisher=None, side=None, date=None, title=None)
    text = "".join(parse(render.quote_html(quote, 1)).text)
    assert "unknown source" in text and "side unknown" in text and "date unknown" in text
    assert "000_a.txt" in text  # the document path stands in for the missing title


def test_untrusted_text_and_metadata_are_escaped_in_quote_cards():
    quote = make_quote(
        text=EVIL,
        title='"><svg onload=alert(1)>',
        publisher="<b>Evil Press</b>",
        side="<i>side</i>",
        doc_id='x" onmouseover="alert(1)',
        speaker="<u>Speaker</u>",
    )
    markup = render.quote_html(quote, 1)
    parsed = assert_inert(markup)
    assert "<script" not in markup and "<img" not in markup and "<svg" not in markup
    text = "".join(parsed.text)
    # the markup is shown as the literal text it is, down to the typed entity "&amp;" (escaped as "&amp;amp;")
    assert EVIL in text
    assert "&amp;amp;" in markup
    assert "<b>Evil Press</b>" in text and '"><svg onload=alert(1)>' in text
    buttons = [attrs for tag, attrs in parsed.tags if tag == "button"]
    assert buttons[0]["data-doc"] == 'x" onmouseover="alert(1)'  # kept whole inside the attribute


def test_scores_are_folded_away_until_asked_for():
    markup = render.quote_html(make_quote(), 1, min_similarity=0.3)
    details = re.search(r"<details class=\"qa-scores\">(.*?)</details>", markup).group(1)
    assert "<summary>Scores</summary>" in details
    text = html.unescape(re.sub(r"<[^>]+>", " ", details))
    assert re.search(r"BM25 rank\s+#1 \(score 0\.900\)", text)
    assert re.search(r"Dense rank\s+#2 \(cosine 0\.410\)", text)
    assert re.search(r"Fused score \(adaptive\)\s+0\.0328", text)  # the default fusion
    assert re.search(r"Similarity to question\s+0\.410 \(threshold 0\.30\)", text)
    assert "Quoted because" not in text
    below = html.unescape(render.quote_html(make_quote(), 1, min_similarity=0.45))
    assert "another statement reaches the threshold, and this one is close below it" in below
    assert "Fused score (RRF)" in render.quote_html(make_quote(), 1, fusion="rrf")
    assert "Similarity to topic" in render.quote_html(make_quote(), 1, compared_with="topic")
    assert "Score (bm25)" in render.quote_html(make_quote(), 1, mode="bm25", fusion="rrf")


def test_quote_not_found_by_a_retriever_says_so():
    markup = render.quote_html(make_quote(bm25_rank=None, bm25_score=None), 1, mode="dense")
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    assert re.search(r"BM25 rank\s+not retrieved", text)
    assert "Score (dense)" in text


def test_other_sources_are_listed_when_the_quote_has_them():
    other = {
        "doc_id": "002_b.txt",
        "title": "<i>Wire</i> story",
        "publisher": "Wire",
        "date": dt.date(2023, 9, 20),
        "start": 5,
        "end": 40,
        "text": "same",
        "link": "002_b.txt#char=5,40",
    }
    quote = make_quote().model_copy(update={"also_in": [other]})
    markup = render.quote_html(quote, 1)
    parsed = assert_inert(markup)
    assert "Also in" in "".join(parsed.text)
    assert "Wire, 2023-09-20: <i>Wire</i> story" in "".join(parsed.text)
    shows = [a for t, a in parsed.tags if t == "button" and a.get("data-doc") == "002_b.txt"]
    assert shows and shows[0]["data-start"] == "5" and shows[0]["data-end"] == "40"
    plain = make_quote().model_copy(update={"also_in": []})
    assert "Also in" not in render.quote_html(plain, 1)


# ------------------------------------------------------------------------------------------ answers


def test_grouped_answer_has_a_heading_per_side_and_says_when_a_side_is_silent():
    arm = make_quote()
    aze = make_quote(
        text="Azerbaijan installed the Lachin checkpoint.",
        side="Azerbaijan",
        publisher="Report",
        doc_id="004_c.txt",
        date=dt.date(2023, 7, 29),
    )
    groups = [
        SideGroup(side="Armenia", quotes=[arm]),
        SideGroup(side="Azerbaijan", quotes=[aze]),
        SideGroup(
            side="Artsakh", quotes=[], note="No relevant statement from Artsakh was found in the indexed documents."
        ),
    ]
    answer = make_answer([arm, aze], groups)
    markup = render.answer_html(answer, colours=render.side_colours(["Armenia", "Azerbaijan", "Artsakh"]), k=6)
    parsed = assert_inert(markup)
    headings = re.findall(r'<h3 class="qa-side-h">.*?</h3>', markup)
    assert [re.sub(r"<[^>]+>", "", h) for h in headings] == [
        "Armenia1 quote",
        "Azerbaijan1 quote",
        "Artsakhno statement",
    ]
    text = "".join(parsed.text)
    assert "No relevant statement from Artsakh was found in the indexed documents." in text
    assert text.index("Lachin corridor") < text.index("Azerbaijan installed")
    # the filters and settings that produced the answer are shown with it
    assert "Mode" in text and "hybrid" in text and "up to 6" in text and "Sidesall" in text.replace(" ", "")


def test_filters_used_are_listed_with_the_answer():
    answer = make_answer(
        [make_quote()],
        filters={"sides": ["Armenia"], "publishers": ["Report"], "since": dt.date(2023, 1, 1), "until": None},
        settings={"mode": "bm25"},
    )
    text = "".join(parse(render.answer_html(answer, k=3)).text)
    assert "BM25 only" in text and "up to 3" in text
    assert "Armenia" in text and "Report" in text and "2023-01-01 → …" in text


def test_abstention_is_an_explicit_no_answer():
    answer = make_answer(
        [],
        abstained=True,
        abstain_reason="No passage in the indexed documents is relevant enough to quote (best similarity 0.09, threshold 0.30).",
    )
    text = "".join(parse(render.answer_html(answer)).text)
    assert "No answer" in text
    assert "best similarity 0.09, threshold 0.30" in text
    assert "“" not in text  # nothing is quoted


def test_transcript_keeps_every_turn_and_escapes_questions():
    first = render.Turn(question="What did each side say about Lachin?", answer=make_answer([make_quote()]), k=6)
    second = render.Turn(
        question='<img src=x onerror="window.__pwned=1">', error="“From” must be a date written YYYY-MM-DD"
    )
    markup = render.transcript_html([first, second])
    parsed = assert_inert(markup)
    assert markup.count('class="qa-turn"') == 2
    text = "".join(parsed.text)
    assert text.index("What did each side say about Lachin?") < text.index('<img src=x onerror="window.__pwned=1">')
    assert "Could not answer." in text and "YYYY-MM-DD" in text


def test_empty_transcript_welcomes_with_example_questions():
    docs = [
        Document(id="a.txt", path="a.txt", text="x", side="Armenia", publisher="P", date=dt.date(2020, 1, 2)),
        Document(id="b.txt", path="b.txt", text="y", side="neutral", publisher="Q", date=dt.date(2023, 9, 19)),
    ]
    markup = render.transcript_html([], docs, examples=["What did each side say about Lachin?", "<b>x</b>?"])
    parsed = assert_inert(markup)
    examples = [a["data-question"] for t, a in parsed.tags if t == "button" and a.get("class") == "qa-example"]
    assert examples == ["What did each side say about Lachin?", "<b>x</b>?"]
    text = "".join(parsed.text)
    assert "2 documents from 2 publishers, 2020-01-02 to 2023-09-19" in text


# ----------------------------------------------------------------------------------------- document


def test_document_view_marks_exactly_the_quoted_characters():
    text = "Intro line.\n\nBefore sentence. " + EVIL + " After sentence.\n[link](http://example.com)\n"
    start = text.index("<script>")
    end = start + len(EVIL)
    doc = Document(
        id="evil.txt",
        path="evil.txt",
        title="<b>Title</b>",
        publisher="P",
        side="neutral",
        date=dt.date(2023, 1, 1),
        url="javascript:alert(1)",
        text=text,
    )
    markup = document_panel.document_html(doc, start, end, nonce=3)
    parsed = assert_inert(markup)
    assert not any(t == "a" for t, _ in parsed.tags)  # a javascript: URL is not made a link
    marked = re.search(r'<mark id="qa-hit" class="qa-hit">(.*?)</mark>', markup, re.S).group(1)
    assert html.unescape(marked) == text[start:end]
    body = re.search(r'<div class="qa-doc-text">(.*)</div></div>$', markup, re.S).group(1)
    assert html.unescape(re.sub(r"</?mark[^>]*>", "", body)) == text  # the whole document, neighbours included
    assert "<b>Title</b>" in "".join(parsed.text)
    assert f"characters {start}–{end}" in "".join(parsed.text)


@pytest.mark.parametrize("start,end", [(5, 2), (-1, 4), (0, 10_000), (None, None)])
def test_document_view_without_valid_offsets_highlights_nothing(start, end):
    doc = Document(id="d.txt", path="d.txt", text="Some text here.", url="https://example.org/a?b=<c>")
    markup = document_panel.document_html(doc, start, end)
    parsed = assert_inert(markup)
    assert "<mark" not in markup
    links = [a for t, a in parsed.tags if t == "a"]
    assert (
        links
        and links[0]["href"] == "https://example.org/a?b=<c>"
        and links[0]["rel"] == "noopener noreferrer nofollow"
    )


# ----------------------------------------------------------------------------------------- markdown

TRICKY = [
    EVIL,
    "*not emphasis* and _not_ either",
    "# not a heading",
    "- not a list\n1. nor this\n+ nor this",
    "`code` and ``more`` \\ backslash",
    "<http://autolink.example> and ![img](x.png)",
    "a | table | row",
    "&copy; &#169; entities stay literal",
    "Text with “curly quotes” and — dashes.",
]


@pytest.mark.parametrize("text", TRICKY)
def test_markdown_escape_renders_back_to_the_same_text(text):
    rendered = MarkdownIt("commonmark").render(markdown.md_escape(text))
    assert "<a " not in rendered and "<img" not in rendered and "<script" not in rendered
    assert "<em>" not in rendered and "<strong>" not in rendered and "<code>" not in rendered
    assert "<h1>" not in rendered and "<li>" not in rendered
    plain = html.unescape(re.sub(r"</?p>", "", rendered)).strip()
    assert plain == text.strip()


def test_quote_markdown_quotes_attributes_and_locates_the_sentence():
    quote = make_quote(text=EVIL, publisher="[Evil](http://evil.example)", url="https://example.org/statement")
    source = markdown.quote_markdown(quote, 2)
    rendered = MarkdownIt("commonmark").render(source)
    assert "<script" not in rendered and "<img" not in rendered
    hrefs = re.findall(r'href="([^"]+)"', rendered)
    assert hrefs == ["https://example.org/statement"]  # only the document's own URL is a link
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert f"“{EVIL}”" in text
    assert "[Evil](http://evil.example)" in text
    assert "Armenia · 2023-09-19 · MFA statement" in text
    assert "characters 10–63" in text and "000_a.txt#char=10,63" in text
    assert rendered.startswith("<blockquote>")
