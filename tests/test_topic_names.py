"""A name the collection mentions, but no document within the question's filters: that side or that period said
nothing about it, and the answer says so instead of quoting what matches the rest of the question. On the committed
UN sample (Armenia, Azerbaijan, Iran, Russia and the United States in 2018 and 2019)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa_assistant import Assistant

SAMPLE = Path(__file__).resolve().parent / "data" / "ungdc-sample"


@pytest.fixture(scope="module")
def speeches(tmp_path_factory) -> Assistant:
    root = tmp_path_factory.mktemp("ungdc-sample")
    corpus = root / "corpus"
    shutil.copytree(SAMPLE, corpus)
    Assistant.build(corpus, root / "index")
    return Assistant.load(root / "index", corpus_dir=corpus)


def speech_text(assistant: Assistant, doc_id: str) -> str:
    return next(d.text for d in assistant.documents if d.id == doc_id)


@pytest.mark.slow
def test_a_side_that_never_mentions_the_name_abstains_with_the_reason(speeches):
    # Karabakh is in Armenia's and Azerbaijan's speeches, in none of Iran's.
    assert not any("Karabakh" in speech_text(speeches, d.id) for d in speeches.documents if d.side == "Iran")
    answer = speeches.ask("What did Iran say about Karabakh?")
    assert answer.abstained and not answer.quotes
    assert "Iran" in (answer.abstain_reason or "") and "Karabakh" in (answer.abstain_reason or "")
    assert answer.understood is not None and answer.understood.unmentioned
    assert any("not mentioned in Iran" in label for label in answer.understood.labels())
    # Asked for anyway: quotes of what matches the rest, with the note.
    anyway = speeches.ask("What did Iran say about Karabakh?", answer_unknown_names=True)
    assert not anyway.abstained and anyway.quotes and all(q.speaker_side == "Iran" for q in anyway.quotes)
    assert any("Karabakh" in note for note in anyway.notes)


@pytest.mark.slow
def test_the_year_of_the_question_decides_whether_the_side_spoke_of_it(speeches):
    # Iran spoke of Venezuela in 2019, not in 2018.
    assert "Venezuela" not in speech_text(speeches, "IRN_73_2018.txt")
    assert "Venezuela" in speech_text(speeches, "IRN_74_2019.txt")
    # The year was read from the question, not set; Iran spoke in 2018 and said nothing of Venezuela then: that
    # silence is the answer, which points to the year it did speak of it (an explicit date filter says the same).
    silent = speeches.ask("What did Iran say about Venezuela in 2018?")
    assert silent.abstained and not silent.quotes
    assert (silent.abstain_reason or "").startswith("No statement within the filters (Iran, published in or speaking")
    assert "Statements of other dates (2019) are relevant" in (silent.abstain_reason or "")
    assert silent.understood is not None and not silent.understood.dropped
    strict = speeches.ask("What did Iran say about Venezuela?", since="2018-01-01", until="2018-12-31")
    assert strict.abstained and "2018" in (strict.abstain_reason or "") and "Venezuela" in (strict.abstain_reason or "")
    spoke = speeches.ask("What did Iran say about Venezuela in 2019?")
    assert not spoke.abstained and spoke.quotes
    assert all(q.doc_id == "IRN_74_2019.txt" for q in spoke.quotes)
    assert any("Venezuela" in q.text for q in spoke.quotes)
    # Without inference the year is not a filter, and the question is answered from 2019.
    plain = speeches.ask("What did Iran say about Venezuela in 2018?", infer=False)
    assert not plain.abstained


@pytest.mark.slow
def test_among_two_sides_only_the_silent_one_gets_a_note(speeches):
    # Russia spoke of Israel in 2019; Iran did not by that name: it says "the Zionist regime", which is not silence.
    assert "Israel" not in speech_text(speeches, "IRN_74_2019.txt")
    answer = speeches.ask("What did Russia and Iran say about Israel in 2019?")
    assert not answer.abstained and answer.grouped_by_side
    groups = {group.side: group for group in answer.groups}
    assert set(groups) == {"Russia", "Iran"}
    assert groups["Iran"].note is None and any("Zionist" in q.text for q in groups["Iran"].quotes)
    assert groups["Russia"].quotes and all(q.doc_id == "RUS_74_2019.txt" for q in groups["Russia"].quotes)
    # Iran said nothing about Karabakh under any of its names: that side's group says so.
    answer = speeches.ask("What did Russia and Iran say about Nagorno-Karabakh?")
    groups = {group.side: group for group in answer.groups}
    assert not groups["Iran"].quotes and "Nagorno-Karabakh" in (groups["Iran"].note or "")


@pytest.mark.slow
def test_a_side_named_as_the_topic_is_mentioned_by_any_of_its_names(speeches):
    # Armenia's speeches say "Turkey", never "Türkiye": the side's aliases count as mentions.
    armenian = speech_text(speeches, "ARM_74_2019.txt") + speech_text(speeches, "ARM_73_2018.txt")
    assert "Türkiye" not in armenian and "Turkey" in armenian
    answer = speeches.ask("What did Armenia say about Türkiye?")
    assert not answer.abstained and answer.quotes
    assert all(q.speaker_side == "Armenia" for q in answer.quotes)
    assert any("Turkey" in q.text for q in answer.quotes)


@pytest.mark.slow
def test_questions_the_filtered_documents_answer_are_not_affected(speeches):
    for question in (
        "What did Armenia say about Karabakh in 2019?",
        "What did Azerbaijan say about Karabakh?",
        "What did Russia say about Syria in 2018?",
    ):
        answer = speeches.ask(question)
        assert not answer.abstained and answer.quotes, question
        assert answer.understood is not None and not answer.understood.unmentioned, question


@pytest.mark.slow
def test_a_side_named_in_the_topic_is_the_topic_not_a_speaker(speeches):
    # Iran is one of the sample's sides; after "about" it is what is asked about, not who is asked.
    answer = speeches.ask("What did Russia and the United States say about Iran?")
    assert answer.grouped_by_side and {group.side for group in answer.groups} == {"Russia", "United States"}
    assert answer.topic == "Iran"
    assert all(quote.speaker_side in ("Russia", "United States") for quote in answer.quotes)
    assert any("Iran" in quote.text for quote in answer.quotes)
