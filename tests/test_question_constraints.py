"""Answers obey what the question itself says: its period, its speaker, names no document mentions; and a side
question fills its places from every side's relevant statements."""

from __future__ import annotations

import datetime as dt
import math
import re

from qa_assistant.text.segment import is_quotable


def test_a_date_in_the_question_becomes_a_filter(assistant):
    answer = assistant.ask("What did Azerbaijan say in July 2023?", k=6)
    assert answer.understood is not None and answer.understood.period == "in July 2023"
    assert answer.filters.since == dt.date(2023, 7, 1) and answer.filters.until == dt.date(2023, 7, 31)
    assert answer.quotes
    assert all(q.date and dt.date(2023, 7, 1) <= q.date <= dt.date(2023, 7, 31) for q in answer.quotes)
    assert all(q.speaker_side == "Azerbaijan" for q in answer.quotes)  # the one side named as the speaker


def test_without_inference_the_question_is_taken_as_it_is(assistant):
    inferred = assistant.ask("What did Azerbaijan say in July 2023?", k=6)
    plain = assistant.ask("What did Azerbaijan say in July 2023?", k=6, infer=False)
    assert plain.understood is None and plain.filters.is_empty()
    assert {q.date for q in plain.quotes} - {q.date for q in inferred.quotes}  # other dates come back


def test_a_named_office_narrows_to_its_statements(assistant):
    answer = assistant.ask("What did the Armenian foreign ministry say about civilians in 2023?", k=6)
    assert answer.understood is not None and answer.understood.sides == ["Armenia"]
    assert answer.quotes
    for quote in answer.quotes:
        assert quote.speaker_side == "Armenia" and quote.date and quote.date.year == 2023
        assert "Foreign" in (quote.speaker or "")


def test_explicit_filters_win_over_the_question(assistant):
    answer = assistant.ask("What did Azerbaijan say in July 2023?", k=6, since="2023-09-01", until="2023-09-30")
    assert answer.understood is not None and "dates" in answer.understood.overridden
    assert answer.filters.since == dt.date(2023, 9, 1)
    assert all(q.date and q.date.month == 9 for q in answer.quotes)


def test_last_year_counts_from_the_newest_document(assistant):
    newest = max(d.date for d in assistant.documents if d.date)
    answer = assistant.ask("What did Armenia say last year about the peace treaty?", k=4)
    assert answer.understood is not None
    assert answer.understood.since == dt.date(newest.year - 1, 1, 1)
    # published last year, or (a period read from the question) speaking of it
    assert answer.quotes and all(
        (q.date and q.date.year == newest.year - 1) or q.speaks_of_period for q in answer.quotes
    )
    assert any(str(newest.year - 1) in q.text for q in answer.quotes)


def test_a_name_no_document_mentions_abstains_unless_asked(assistant):
    answer = assistant.ask("What did the president of Turkey say about the offensive?")
    assert answer.abstained and "Turkey" in (answer.abstain_reason or "") and not answer.quotes
    answer = assistant.ask("What did the president of Turkey say about the offensive?", answer_unknown_names=True)
    assert not answer.abstained and answer.quotes
    assert any("Turkey" in note for note in answer.notes)


def test_each_side_fills_up_to_k_from_its_relevant_statements(assistant):
    answer = assistant.ask("What did each side say about Lachin?", k=10)
    by_side = {group.side: group.quotes for group in answer.groups}
    assert len(answer.quotes) >= 9
    assert len(by_side["Armenia"]) >= 2 and len(by_side["Azerbaijan"]) >= 6
    for side, quotes in by_side.items():
        assert all(q.speaker_side == side for q in quotes)
        assert all("lachin" in q.text.lower() or "lachín" in q.text.lower() for q in quotes)
        scores = [q.score for q in quotes]
        assert scores == sorted(scores, reverse=True)  # ordered by relevance within the side


def test_no_quote_is_a_fragment(assistant):
    for question in ("What did each side say about Lachin?", "Azerbaijan", "India", "What did Azerbaijan say?"):
        for quote in assistant.ask(question, k=10, min_similarity=0.0).quotes:
            assert is_quotable(quote.text), quote.text


def test_an_answered_question_also_quotes_statements_just_below_the_threshold(assistant):
    answer = assistant.ask("Who attacked the villages?", k=6)
    assert not answer.abstained and answer.best_similarity is not None
    assert answer.best_similarity >= answer.min_similarity
    assert answer.min_quote_similarity is not None and answer.min_quote_similarity < answer.min_similarity
    assert all(q.similarity >= answer.min_quote_similarity for q in answer.quotes)
    below = [q for q in answer.quotes if q.similarity < answer.min_similarity]
    assert below  # statements just below the threshold that share a word of the question ("attack", "villages")
    assert all({"attack", "attacks", "attacked", "villages"} & set(re.findall(r"\w+", q.text.lower())) for q in below)


def test_statements_below_the_threshold_do_not_answer_a_question_alone(assistant):
    answered = assistant.ask("How many people were forced out of their homes?", k=6)
    assert answered.best_similarity is not None
    higher = answered.best_similarity + 0.01  # every quote of `answered` is now above the floor but below this
    answer = assistant.ask("How many people were forced out of their homes?", k=6, min_similarity=higher)
    assert answer.abstained and not answer.quotes
    assert "threshold" in (answer.abstain_reason or "")


def test_places_left_go_to_the_side_with_the_more_similar_next_statement(assistant):
    question = "What did each side say about harm to civilians?"
    small, large = assistant.ask(question, k=10), assistant.ask(question, k=30)
    quota = max(2, math.ceil(10 / len(small.groups)))
    taken = {group.side: group.quotes for group in small.groups}
    more = {group.side: group.quotes for group in large.groups}
    extras = [q for quotes in taken.values() for q in quotes[quota:]]
    assert extras  # some side had more relevant statements than its quota
    for side, quotes in taken.items():
        if len(quotes) <= quota and len(more[side]) > len(quotes):  # a side that got no place left
            next_statement = more[side][len(quotes)]
            assert all(q.similarity >= next_statement.similarity for q in extras), side
