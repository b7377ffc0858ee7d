"""Speaker attribution accuracy on a labelled set of reported-speech sentences (seed corpus + written cases)."""

import json
from pathlib import Path

from qa_assistant.ingest.attribution import attribute_document, find_cue
from qa_assistant.ingest.corpus import load_sides
from qa_assistant.models import Document

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "attribution_cases.jsonl").read_text().splitlines()
    if line.strip()
]
SIDES = load_sides(Path(__file__).resolve().parents[1] / "corpus")
TARGET_ACCURACY = 0.95


def normalize(name):
    name = (name or "").replace("’", "'").strip().lower()
    return name[4:] if name.startswith("the ") else name


def attribute(case):
    paragraphs = [*case["context"], case["sentence"]]
    text = "\n\n".join(paragraphs)
    spans, cursor = [], 0
    for paragraph in paragraphs:
        start = text.index(paragraph, cursor)
        spans.append((start, start + len(paragraph)))
        cursor = start + len(paragraph)
    doc = Document(id="case", path="case", text=text, publisher=case["publisher"], side=case["publisher_side"])
    return doc, attribute_document(doc, spans, SIDES)[-1]


def test_labelled_set_is_large_enough():
    assert len(CASES) >= 40
    assert sum(1 for c in CASES if c["speaker"] != c["publisher"]) >= 30


def test_speaker_and_side_accuracy_meets_target():
    wrong = []
    for case in CASES:
        _, got = attribute(case)
        if normalize(got.speaker) != normalize(case["speaker"]) or got.side != case["side"]:
            wrong.append((case["sentence"][:80], got.speaker, got.side, case["speaker"], case["side"]))
    accuracy = 1 - len(wrong) / len(CASES)
    print(f"attribution accuracy: {accuracy:.3f} ({len(CASES) - len(wrong)}/{len(CASES)})")
    assert accuracy >= TARGET_ACCURACY, wrong


def test_cue_span_points_at_the_attributing_words():
    case = next(c for c in CASES if c["sentence"].endswith("the Armenian Foreign Ministry said."))
    doc, got = attribute(case)
    assert doc.text[got.cue_start : got.cue_end] == "the Armenian Foreign Ministry said"
    assert got.source == "quote" and got.confidence >= 0.9


def test_continuation_inherits_and_unattributed_text_keeps_the_publisher():
    case = next(c for c in CASES if c["sentence"].startswith("Likewise, he stressed"))
    _, got = attribute(case)
    assert got.source == "continuation" and got.speaker == "Azeri Ministry of Defense"
    case = next(c for c in CASES if c["sentence"].startswith("The conflict ended"))
    _, got = attribute(case)
    assert got.source == "publisher" and got.speaker == "Wire agency" and got.cue_start is None


def test_united_states_is_not_a_reporting_verb_and_publisher_relay_is_not_a_speaker():
    assert find_cue("The talks were cochaired by France, Russia and the United States.") is None
    cue = find_cue(
        "Armenia fired on positions, the ministry said in a statement, according to Report.", publisher="Report"
    )
    assert cue.pronoun and cue.speakers_in_sentence == 1


def test_the_cheap_tests_before_the_cue_searches_change_no_cue(monkeypatch):
    """`find_cue` skips its slow searches when a cheap test says they cannot match; with the tests forced to
    'maybe', every sentence of the labelled set, the UN sample and some written cases gets the same cue."""
    from qa_assistant.ingest import attribution
    from qa_assistant.text.segment import split_sentences

    sentences = [case["sentence"] for case in CASES] + [
        "The resolution was adopted BY a vote, ACCORDING TO the Secretary-General.",
        "As Stated By the Minister, the talks go on.",
        "Mr. Smith Said that nothing changed; the Ministry said it would answer.",
        "The plan, according to Tehran, is dead.",
        "“We will not yield,” declared the President of Azerbaijan.",
    ]
    for path in sorted((Path(__file__).parent / "data" / "ungdc-sample").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences += [text[start:end] for start, end in split_sentences(text)]
    fast = [find_cue(sentence) for sentence in sentences]
    assert sum(cue is not None for cue in fast) >= 20
    monkeypatch.setattr(attribution, "may_hold_by_cue", lambda text: True)
    monkeypatch.setattr(attribution, "may_hold_named_verb", lambda text: True)
    assert [find_cue(sentence) for sentence in sentences] == fast
