"""Property tests (hypothesis): hostile documents, questions and filters.

- Cleaning and segmentation of random documents (unicode, markup, very long lines, no sentence breaks, CRLF, BOM,
  zero-width and right-to-left characters) keep every sentence verbatim, and its source offsets point at the
  same characters, and bytes, of the file.
- One real index of such documents is built once for the module; random questions and filter combinations are
  asked of it: every quote is `document.text[start:end]` and maps back to the file's bytes, and nothing but
  the documented error types (QAError and its subclasses) is ever raised.

The default profile ("ci", in conftest.py) runs 500 examples per property, derandomized (the same examples on every
run, no example database); `--hypothesis-profile=long` runs 5,000 random ones.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from qa_assistant import Assistant, QAError
from qa_assistant.ingest.clean import default_rules
from qa_assistant.ingest.corpus import SideConfig, load_document, read_text_file
from qa_assistant.text.segment import MAX_SENTENCE_CHARS, split_sentences

ROOT = Path(__file__).resolve().parents[1]

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
RTL = ["\u202e", "\u200f", "\u061c", "שלום עולם", "مرحبا بالعالم", "\u202bنص\u202c"]
MARKUP = ["<p>", "</p>", "<script>alert(1)</script>", "**bold**", "[link](http://x)", "# Title", "&amp;", "<!-- c -->"]
BREAKS = [". ", "! ", "? ", "… ", "\n", "\r\n", "\n\n", "\r\n\r\n", "“", "”", '"', "«", "»"]
WORDS = ["Lachin", "corridor", "ceasefire", "civilians", "Armenia", "Azerbaijan", "said", "the", "of", "Ministry"]


def piece() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(WORDS).map(lambda w: w + " "),
        st.sampled_from(BREAKS),
        st.sampled_from(ZERO_WIDTH + RTL + MARKUP),
        st.text(min_size=1, max_size=12),  # any unicode, controls included
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
        # a very long line: one word repeated with no sentence break at all
        st.tuples(st.sampled_from(WORDS), st.integers(200, 1500)).map(lambda t: (t[0] + " ") * t[1]),
        # the same without spaces (a run no word boundary can cut)
        st.integers(500, 5000).map(lambda n: "x" * n),
    )


documents = st.tuples(st.booleans(), st.lists(piece(), min_size=1, max_size=25)).map(
    lambda t: ("\ufeff" if t[0] else "") + "".join(t[1])
)


def check_verbatim_in_file(path: Path, doc, start: int, end: int) -> None:
    """doc.text[start:end] is at its source offsets in the decoded file, and at the matching bytes."""
    text = doc.text[start:end]
    where = doc.source_offsets(start, end)
    assert where is not None
    source_start, source_end = where
    decoded = read_text_file(path)
    assert decoded[source_start:source_end] == text
    raw = path.read_bytes()
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    byte_start = bom + len(decoded[:source_start].encode("utf-8"))
    assert raw[byte_start : byte_start + len(text.encode("utf-8"))] == text.encode("utf-8")


def write(path: Path, text: str) -> None:
    """Write as UTF-8 exactly (a leading U+FEFF becomes the BOM bytes)."""
    path.write_bytes(text.encode("utf-8"))


@given(documents)
def test_cleaning_and_segmentation_keep_every_sentence_verbatim(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("doc", numbered=True)
    path = folder / "doc.txt"
    try:
        path.write_bytes(text.encode("utf-8"))
    except UnicodeEncodeError:
        return  # a lone surrogate cannot be in a UTF-8 file (st.text avoids them: this does not happen)
    try:
        doc = load_document(path, folder, None, SideConfig(), default_rules())
    except ValueError as exc:  # reported and skipped by load_corpus
        assert "no text" in str(exc) or "binary" in str(exc) or "UTF-8" in str(exc)
        return
    spans = split_sentences(doc.text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(doc.text)
        sentence = doc.text[start:end]
        assert sentence == sentence.strip() and sentence
        assert end - start <= MAX_SENTENCE_CHARS
        check_verbatim_in_file(path, doc, start, end)
        previous_end = end
    shutil.rmtree(folder)


# ------------------------------------------------------------------------------------------- one real index


def hostile_corpus(target: Path, count: int = 24, seed: int = 11) -> None:
    """`count` documents built from the pieces above with a fixed seed, plus metadata (sides, dates) and sides.json."""
    rng = random.Random(seed)
    target.mkdir(parents=True)
    shutil.copy(ROOT / "corpus" / "sides.json", target / "sides.json")
    alphabet = ZERO_WIDTH + RTL + MARKUP + BREAKS + ["é", "ß", "漢字", "🙂", "\u0301", "\t", "\x0b", "\x1f"]
    rows = ["file,title,publisher,side,date,url"]
    publishers = [("Ministry of Foreign Affairs of Armenia", "Armenia"), ("Report", "Azerbaijan"), ("Wire", "neutral")]
    for n in range(count):
        parts = []
        for _ in range(rng.randint(10, 60)):
            roll = rng.random()
            if roll < 0.55:
                parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))))
            elif roll < 0.9:
                parts.append(rng.choice(alphabet))
            elif roll < 0.97:
                parts.append((rng.choice(WORDS) + " ") * rng.randint(100, 600))  # long line, no break
            else:
                parts.append("y" * rng.randint(2100, 4000))  # longer than a sentence may be
        newline = "\r\n" if n % 3 == 0 else "\n"
        text = ("\ufeff" if n % 4 == 0 else "") + "".join(parts).replace("\n", newline)
        write(target / f"doc{n:02d}.{'md' if n % 5 == 0 else 'txt'}", text)
        publisher, side = publishers[n % 3]
        date = (dt.date(2020, 1, 1) + dt.timedelta(days=97 * n)).isoformat() if n % 6 else ""
        rows.append(f"doc{n:02d}.{'md' if n % 5 == 0 else 'txt'},Doc {n},{publisher},{side},{date},")
    (target / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Assistant, Path]:
    corpus = tmp_path_factory.mktemp("hostile") / "corpus"
    hostile_corpus(corpus)
    assistant = Assistant.build(corpus, corpus.parent / "index")
    assert len(assistant.documents) >= 20 and assistant.manifest.sentences > 100
    return assistant, corpus


def sentence_of(assistant: Assistant, n: int) -> str:
    index = assistant.index
    return index.sentence_text(n % len(index.sentences))


questions = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(WORDS + RTL + MARKUP + ["What did each side say about Lachin?", "both sides", "' OR 1=1 --"]),
    st.integers(0, 10**6).map(lambda n: ("sentence", n)),  # a sentence of the index, asked back
    st.integers(1001, 3000).map(lambda n: "Lachin " * (n // 7)),  # over the question limit
)
# invalid values are one branch among several, so most examples get past validation to a search
dates = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.dates(dt.date(2019, 1, 1), dt.date(2025, 1, 1)),
    st.sampled_from(["2023-02-30", "x"]),
)
filters = st.fixed_dictionaries(
    {
        "k": st.sampled_from([*range(1, 21), 0, -3, 100000]),
        "mode": st.sampled_from(["hybrid", "hybrid", "hybrid", "bm25", "dense", "other"]),
        "fusion": st.sampled_from(["rrf", "weighted"]),
        "sides": st.one_of(st.none(), st.lists(st.sampled_from(["Armenia", "Azerbaijan", "neutral", "Mars", ""]))),
        "publishers": st.one_of(st.none(), st.lists(st.sampled_from(["Report", "Wire", "Nobody"]), max_size=2)),
        "since": dates,
        "until": dates,
        "min_similarity": st.one_of(st.none(), st.floats(-1, 1.5, allow_nan=False)),
    }
)


@given(questions, filters)
def test_any_question_and_filters_give_verbatim_quotes_or_a_documented_error(hostile, question, options):
    assistant, corpus = hostile
    if isinstance(question, tuple):
        question = sentence_of(assistant, question[1])
    try:
        answer = assistant.ask(question, **options)
    except QAError as exc:
        assert str(exc)  # a message for the user
        event(f"refused: {type(exc).__name__}: {str(exc)[:25]}")
        return
    event("answered with quotes" if answer.quotes else "answered: abstained")
    quotes = list(answer.quotes) + [q for group in answer.groups for q in group.quotes]
    if not answer.grouped_by_side:  # a question about sides gets a quota per side instead
        assert len(answer.quotes) <= options["k"]
    for quote in quotes:
        doc = assistant.document(quote.doc_id)
        assert quote.text == doc.text[quote.start : quote.end]
        assert (quote.source_start, quote.source_end) == doc.source_offsets(quote.start, quote.end)
        check_verbatim_in_file(corpus / doc.path, doc, quote.start, quote.end)
    if len(question.strip()) > 1000:
        assert answer.notes and "cut" in answer.notes[0]


_ABBREVIATION_PIECES = st.sampled_from(
    ["Mr", "mr", "MR", "No", "no", "St", "st", "e.g", "i.e", "U.S", "Ph.D", "a.m", "p.m", "Inc", "İnc", "since", "art", "pp",
     "fig", "vs", "Jan", "Sept", "ſt", "K", "ı", "İ", "Smith", "state", "stop", "first", "note", "I", "I'm", "5", "12", "(", ")",
     ".", ".", ".", ",", ":", "-", "?", " ", " ", " ", "\n", "\t", "∯"]
)  # fmt: skip


@given(st.lists(_ABBREVIATION_PIECES, max_size=40).map("".join))
def test_the_faster_abbreviation_rules_equal_pysbds_on_any_text(text):
    from pysbd.lang.english import English as PysbdEnglish

    from qa_assistant.text.abbreviations import English

    expected = PysbdEnglish.AbbreviationReplacer(text, PysbdEnglish).replace()
    assert English.AbbreviationReplacer(text, English).replace() == expected
