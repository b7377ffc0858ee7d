"""What decides whether and what a question is answered with, on the bundled corpus: the speaker read into a filter
is not what sentences are compared with, a near-duplicate shares the words of all its copies, a question asking for
a number is answered only by a number of the thing counted."""

from __future__ import annotations

import pytest

from qa_assistant.answer.constraints import without_who
from qa_assistant.text.counts import counted_thing, gives_count

THIRD_PARTIES = "The aim of Armenia is to bring third parties to the region"


def test_without_who_keeps_what_is_asked():
    assert without_who("Why does Baku think Armenia wants outside powers involved?") == (
        "Why Armenia wants outside powers involved?"
    )
    assert without_who("What assurances did Baku give about civilians?") == "What assurances about civilians?"
    assert without_who("According to Armenia, was the offensive planned?") == "was the offensive planned?"
    assert without_who("What is Armenia's position on Lachin?") == "position on Lachin?"
    assert without_who("Tovuz attacks in July") == "Tovuz attacks in July"


def test_the_speaker_read_into_a_filter_does_not_decide_which_statements_are_similar(assistant):
    # "Baku" becomes the side filter; compared with the whole question, every Azerbaijani sentence that names
    # Armenia looks alike, and the one that answers ("third parties" for "outside powers") ranked below ten others.
    answer = assistant.ask("Why does Baku think Armenia wants outside powers involved?", k=10)
    assert answer.understood is not None and answer.understood.sides == ["Azerbaijan"]
    assert not answer.abstained and all(quote.speaker_side == "Azerbaijan" for quote in answer.quotes)
    assert any(quote.text.startswith(THIRD_PARTIES) for quote in answer.quotes)


def test_a_near_duplicate_shares_the_words_of_all_its_copies(assistant):
    # Armenia's "We strongly condemn Azerbaijan's starting aggression …" sits below the threshold; its copy in the
    # press report ("… the mass crime that took place exactly …") names the date of the operation: it is on the topic.
    answer = assistant.ask(
        "What did Armenia and Azerbaijan say about the military operation launched on 19 September 2023?", k=10
    )
    armenia = next(group for group in answer.groups if group.side == "Armenia")
    condemn = [quote for quote in armenia.quotes if quote.text.startswith("We strongly condemn Azerbaijan")]
    assert condemn and condemn[0].similarity < answer.min_similarity and condemn[0].also_in


@pytest.mark.parametrize(
    ("question", "thing"),
    [
        ("How many tanks did Azerbaijan lose in 2023?", "tanks"),
        ("For how many years were Azerbaijan's territories occupied?", "years"),
        ("What is the population of Baku?", "population"),
        ("What was the number of refugees?", "refugees"),
        ("How much did Azerbaijan's sugar exports grow?", None),
        ("What did each side say about Lachin?", None),
    ],
)
def test_the_thing_a_question_counts(question, thing):
    assert counted_thing(question) == thing


def test_a_sentence_gives_a_count_only_next_to_the_thing_counted():
    assert gives_count("So far, 19 civilians have been wounded and hospitalized.", "civilians")
    assert gives_count("… by forcibly leaving 120,000 people from their homes.", "people")
    assert gives_count("despite the fact that within the four UN Security Council Resolutions", "resolutions")
    assert not gives_count("two civilians have died due to the explosion of an anti-tank mine", "tanks")
    assert not gives_count("one million Azerbaijanis turned into internally displaced persons and refugees", "refugees")
    assert not gives_count("The tanks moved in 2023.", "tanks")  # a year is not a count


def test_a_question_asking_for_a_number_is_answered_by_one(assistant):
    # The collection mentions tanks ("an anti-tank mine") and Azerbaijan's losses, but gives no number of tanks.
    answer = assistant.ask("How many tanks did Azerbaijan lose in 2023?")
    assert answer.abstained and not answer.quotes and not answer.groups
    assert answer.abstain_reason == "No statement gives a number of tanks."
    anyway = assistant.ask("How many tanks did Azerbaijan lose in 2023?", answer_unknown_names=True)
    assert anyway.quotes and any("No statement gives a number of tanks" in note for note in anyway.notes)
    assert assistant.ask("What is the population of Baku?").abstained
    # A count the collection gives is answered, with the sentence that gives it.
    forced = assistant.ask("How many people were forced out of their homes?")
    assert not forced.abstained and any("120,000 people" in quote.text for quote in forced.quotes)
