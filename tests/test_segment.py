from pathlib import Path

from qa_assistant.segment import split_sentences

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def texts(text):
    return [text[s:e] for s, e in split_sentences(text)]


def test_offsets_are_exact_and_trimmed_on_every_seed_document():
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        spans = split_sentences(text)
        assert spans, path
        previous_end = 0
        for start, end in spans:
            assert previous_end <= start < end <= len(text)
            piece = text[start:end]
            assert piece == piece.strip() and piece
            previous_end = end


def test_abbreviations_do_not_end_sentences():
    text = "Mr. Smith met U.S. officials on Sept. 5 in Baku. Then he left."
    assert texts(text) == ["Mr. Smith met U.S. officials on Sept. 5 in Baku.", "Then he left."]


def test_multi_sentence_quotation_stays_one_passage():
    text = (
        "“Women, children and the sick will receive help. They will be given drinking water and food,” "
        "said the ministry. Another sentence follows."
    )
    got = texts(text)
    assert got[0].startswith("“Women") and got[0].endswith("said the ministry.")
    assert got[1] == "Another sentence follows."


def test_quotation_boundary_between_two_quotes_splits():
    text = "He stressed that “the population is being warned.” “The facilities will be protected,” he added."
    assert texts(text) == [
        "He stressed that “the population is being warned.”",
        "“The facilities will be protected,” he added.",
    ]


def test_paragraphs_and_header_lines_are_separate_units():
    text = "Title line\n\nJuly 29, 2023 09:19\nBody sentence one. Body two.\n"
    assert texts(text) == ["Title line", "July 29, 2023 09:19", "Body sentence one.", "Body two."]


def test_hard_wrapped_lines_are_joined():
    text = "This sentence is wrapped\nacross two lines. Next one.\n"
    assert texts(text) == ["This sentence is wrapped\nacross two lines.", "Next one."]


def test_unbalanced_quote_does_not_swallow_the_next_paragraph():
    text = "He said “this never closes. And more text.\n\nA new paragraph starts here."
    got = texts(text)
    assert got[-1] == "A new paragraph starts here."
