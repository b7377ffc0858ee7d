"""Reading a question's own constraints: its dates and periods, and who it asks to hear."""

from __future__ import annotations

import datetime as dt

import pytest

from qa_assistant.answer.constraints import asked_speaker, date_window, names_in, unknown_names, without
from qa_assistant.text.tokens import tokenize

NEWEST = dt.date(2023, 9, 28)  # "today" of a collection: the date of its newest document


@pytest.mark.parametrize(
    ("question", "since", "until", "words"),
    [
        ("What did Azerbaijan say in July 2023?", "2023-07-01", "2023-07-31", "in July 2023"),
        ("What did the Armenian foreign ministry say about civilians in 2023?", "2023-01-01", "2023-12-31", "in 2023"),
        ("What has been said about Lachin since 2020?", "2020-01-01", None, "since 2020"),
        ("Statements after 2020 on the corridor", "2021-01-01", None, "after 2020"),
        ("What was said about mines before 2000?", None, "1999-12-31", "before 2000"),
        ("What did they say until March 2021?", None, "2021-03-31", "until March 2021"),
        ("Lachin, September 2023", "2023-09-01", "2023-09-30", "September 2023"),
        ("What happened on 19 September 2023?", "2023-09-19", "2023-09-19", "on 19 September 2023"),
        ("Talks between 2019 and 2021", "2019-01-01", "2021-12-31", "between 2019 and 2021"),
        ("from March 2020 to May 2021 the ceasefire", "2020-03-01", "2021-05-31", "from March 2020 to May 2021"),
        ("disarmament in the 1980s", "1980-01-01", "1989-12-31", "in the 1980s"),
        ("What did Armenia say last year?", "2022-01-01", "2022-12-31", "last year"),
        ("What did Armenia say this month?", "2023-09-01", "2023-09-30", "this month"),
        ("What did Armenia say last month?", "2023-08-01", "2023-08-31", "last month"),
        ("peace talks over the past two years", "2021-09-28", "2023-09-28", "over the past two years"),
    ],
)
def test_dates_and_periods_in_a_question(question, since, until, words):
    window = date_window(question, NEWEST)
    assert window is not None
    assert (window.since, window.until) == (
        dt.date.fromisoformat(since) if since else None,
        dt.date.fromisoformat(until) if until else None,
    )
    assert window.words == words and question[window.start : window.end] == words


@pytest.mark.parametrize(
    "question",
    [
        "What did each side say about Lachin?",
        "resolution 2334 (2016) on settlements",
        "2,500 refugees in 3000 tents",
        "How many UN Security Council resolutions of 1993 recognized it?",
        "How many civilians were hurt after the September 27, 2020 attack?",
        "How long did the Patriotic War of 2020 last?",
    ],
)
def test_no_date_is_guessed(question):
    assert date_window(question, NEWEST) is None


def test_relative_periods_need_an_anchor():
    assert date_window("What did Armenia say last year?", None) is None


def test_the_words_of_a_constraint_leave_the_searched_text():
    question = "What did Azerbaijan say about civilians in July 2023?"
    window = date_window(question, NEWEST)
    assert window is not None
    assert without(question, window.start, window.end) == "What did Azerbaijan say about civilians?"


def _people(assistant):
    speakers = sorted({a.speaker for a in assistant.index.attributions if a.speaker})
    return speakers, assistant.publishers


def test_a_named_office_of_a_side_is_resolved_against_the_index(assistant):
    speakers, publishers = _people(assistant)
    asked = asked_speaker(
        "What did the Armenian foreign ministry say about civilians?", assistant.index.sides, speakers, publishers
    )
    assert asked is not None and asked.sides == ["Armenia"]
    assert (
        "Ministry of Foreign Affairs of Armenia" in asked.speakers
    )  # "foreign ministry" = Ministry of Foreign Affairs
    assert "Armenian Foreign Ministry" in asked.speakers
    assert not any("Defense" in name for name in asked.speakers)


def test_a_single_side_a_person_and_a_publisher(assistant):
    speakers, publishers = _people(assistant)
    sides = assistant.index.sides
    asked = asked_speaker("What did Azerbaijan say in July 2023?", sides, speakers, publishers)
    assert asked is not None and (asked.sides, asked.speakers, asked.publishers) == (["Azerbaijan"], [], [])
    asked = asked_speaker("What did Ilham Aliyev say about peace?", sides, speakers, publishers)
    assert asked is not None and asked.speakers == ["President of Azerbaijan Ilham Aliyev"]
    asked = asked_speaker("What did Report say about the corridor?", sides, speakers, publishers)
    assert asked is not None and asked.publishers == ["Report"] and asked.sides == []
    asked = asked_speaker("What is Azerbaijan's position on Lachin?", sides, speakers, publishers)
    assert asked is not None and asked.sides == ["Azerbaijan"]


@pytest.mark.parametrize(
    "question",
    ["What happened in Lachin?", "What did each side say about Lachin?", "What did the Martians say about Lachin?"],
)
def test_no_speaker_when_the_question_names_nobody_known(assistant, question):
    speakers, publishers = _people(assistant)
    assert asked_speaker(question, assistant.index.sides, speakers, publishers) is None


def test_names_in_a_question():
    assert names_in("What did the OSCE Minsk Group co-chairs announce?") == ["OSCE Minsk Group"]
    assert names_in("What did the president of Turkey say about the offensive?") == ["Turkey"]
    assert names_in("Shelling in Lachin in July") == ["Lachin"]  # a month is not a name; nor a sentence's first word


def test_a_name_no_document_mentions_is_unknown(assistant):
    vocab = assistant.index.bm25.model.vocab_dict
    known = lambda word: all(token in vocab for token in tokenize(word))
    covered = lambda name: bool(assistant.index.sides.sides_mentioned(name))
    assert unknown_names("What did the president of Turkey say about the offensive?", known, covered) == ["Turkey"]
    assert unknown_names("Who won the Eurovision Song Contest?", known, covered) == ["Eurovision Song Contest"]
    assert unknown_names("What did Baku say about the Lachin corridor?", known, covered) == []
    assert unknown_names("What did the Azerbaijani leader tell the UN General Assembly?", known, covered) == []


def test_a_name_only_the_metadata_knows_is_not_unknown(tmp_path):
    from qa_assistant import Assistant

    (tmp_path / "JPN_73_2018.txt").write_text(
        "The abductions of Japanese citizens by North Korea remain unresolved. We will never give up on them.\n",
        encoding="utf-8",
    )
    (tmp_path / "metadata.csv").write_text(
        'file,title,publisher,side,date,speaker\nJPN_73_2018.txt,"Japan, General Debate, session 73 (2018)",'
        'United Nations General Assembly,Japan,2018-09-15,"Mr. Shinzo Abe, Prime Minister"\n',
        encoding="utf-8",
    )
    assistant = Assistant.build(tmp_path, tmp_path / "index")
    answer = assistant.ask("What did Shinzo Abe say about the abductions?")
    assert answer.understood is not None and answer.understood.unknown_names == []
    assert not answer.abstained and answer.quotes[0].speaker == "Mr. Shinzo Abe, Prime Minister"
    assert assistant.ask("What did Angela Merkel say about the abductions?").understood.unknown_names == [
        "Angela Merkel"
    ]
