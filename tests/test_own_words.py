"""Each side in its own words, and a question read without costing a right answer, on the bundled corpus: a place
under another name is not silence, a period also selects statements that speak of it, an office belongs to its side,
filters the user never set do not silence the answer, capitals name their side, topics no document covers abstain,
lines of links are not quoted, a question to many sides stays within k, and a closed pipe ends the CLI quietly."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

from qa_assistant.ingest.sides import SideConfig, SideInfo
from qa_assistant.text.tokens import tokenize


def test_each_side_is_quoted_in_its_own_words(assistant):
    # Azerbaijan's statements name Stepanakert "Khankendi": that is Azerbaijan speaking about it, not silence.
    answer = assistant.ask("What did each side say about Stepanakert?")
    groups = {group.side: group for group in answer.groups}
    assert groups["Azerbaijan"].quotes and groups["Azerbaijan"].note is None
    assert any("Khankendi" in quote.text for quote in groups["Azerbaijan"].quotes)
    assert all(quote.speaker_side == "Azerbaijan" for quote in groups["Azerbaijan"].quotes)
    assert any("Stepanakert" in quote.text for quote in groups["Armenia"].quotes)
    assert answer.understood is not None and "Khankendi" in answer.understood.names_searched["Stepanakert"]
    assert any(label.startswith("names searched: Stepanakert, Khankendi") for label in answer.understood.labels())


def test_a_period_also_selects_statements_that_speak_of_it(assistant):
    # The July 2020 Tovuz fighting is told in a statement of 28 September 2020 ("the 12-14 July attacks").
    answer = assistant.ask("What happened in the Tovuz region in July 2020?")
    assert not answer.abstained and answer.quotes
    tovuz = [quote for quote in answer.quotes if "Tovuz" in quote.text]
    assert tovuz and tovuz[0].date == dt.date(2020, 9, 28) and tovuz[0].speaks_of_period
    assert answer.understood is not None and answer.understood.speaks_of_period
    assert any("published in or speaking of 2020-07-01" in label for label in answer.understood.labels())
    # An explicit date filter still means the publication date.
    strict = assistant.ask("What happened in the Tovuz region?", since="2020-07-01", until="2020-07-31")
    assert strict.abstained and not strict.quotes


def test_an_office_named_with_its_side_is_that_sides_office(assistant):
    answer = assistant.ask("How did Armenia's foreign ministry describe the September 2023 military operation?")
    understood = answer.understood
    assert understood is not None and understood.sides == ["Armenia"]
    assert understood.speakers and "Azerbaijan's Ministry of Foreign Affairs" not in understood.speakers
    assert all(assistant.answers.questions.speaker_sides(name) == {"Armenia"} for name in understood.speakers)
    assert not answer.abstained and all(quote.speaker_side == "Armenia" for quote in answer.quotes)
    # No speaker of Artsakh holds a defence ministry: the side stays, the office is said not found.
    missing = assistant.ask("What did Artsakh's defence ministry say about the offensive?")
    assert missing.understood is not None and missing.understood.sides == ["Artsakh"]
    assert missing.understood.office_not_found == "defence ministry" and not missing.understood.speakers
    assert not missing.abstained and all(quote.speaker_side == "Artsakh" for quote in missing.quotes)


def test_filters_read_from_the_question_do_not_silence_the_answer(assistant):
    # Nothing Azerbaijan published in (or about) 2019 mentions Lachin; its later statements do.
    answer = assistant.ask("What did Azerbaijan say about the Lachin checkpoint in 2019?")
    assert not answer.abstained and answer.quotes
    assert answer.notes[0] == (
        "Nothing published in or speaking of 2019 by Azerbaijan mentions “Lachin”; showing statements from other dates."
    )
    assert all(quote.speaker_side == "Azerbaijan" for quote in answer.quotes)  # the side asked is kept
    assert any("Lachin" in quote.text for quote in answer.quotes)
    assert answer.understood is not None and answer.understood.dropped == ["dates"]
    # Set by the user, the same period stays strict.
    strict = assistant.ask(
        "What did Azerbaijan say about the Lachin checkpoint?", since="2019-01-01", until="2019-12-31"
    )
    assert strict.abstained and "Lachin" in (strict.abstain_reason or "")


def test_a_capital_names_its_side(assistant):
    answer = assistant.ask("What assurances did Baku give about civilians?")
    assert answer.understood is not None and answer.understood.sides == ["Azerbaijan"]
    assert answer.quotes and all(quote.speaker_side == "Azerbaijan" for quote in answer.quotes)


def test_the_capitals_table_covers_un_members_and_their_seats_of_government():
    config = SideConfig(sides={name: SideInfo() for name in ("Azerbaijan", "Ukraine", "Russia", "Congo", "India")})
    assert config.sides_mentioned("What did Official Baku say?") == ["Azerbaijan"]
    assert config.sides_mentioned("How did Kyiv and Moscow respond?") == ["Ukraine", "Russia"]
    assert config.sides_mentioned("What did New Delhi and Brazzaville say?") == ["Congo", "India"]
    assert config.sides_mentioned("What did Kinshasa say?") == []  # the other Congo is not a side here
    # Capitals name a side in questions only: a speaker's name is attributed by the aliases of sides.json.
    assert config.side_named_in("the mayor of Moscow") is None


def test_a_topic_no_document_covers_abstains(assistant):
    answer = assistant.ask("How much did Azerbaijan's sugar exports grow?")
    assert answer.abstained and not answer.quotes
    assert answer.abstain_reason == "No document mentions sugar exports."
    anyway = assistant.ask("How much did Azerbaijan's sugar exports grow?", answer_unknown_names=True)
    assert any("sugar exports" in note for note in anyway.notes)
    question_words = set(tokenize("Azerbaijan sugar exports grow"))
    for quote in anyway.quotes:  # below the threshold, only a sentence sharing a word of the topic may be quoted
        assert quote.similarity >= anyway.min_similarity or set(tokenize(quote.text)) & question_words


def test_a_line_of_links_is_never_quoted(assistant):
    from qa_assistant.text.quotable import is_link_line

    answer = assistant.ask(
        "Where can official statements of the Ministry of Foreign Affairs of Azerbaijan be accessed?"
    )
    assert all("https://" not in quote.text for quote in answer.quotes)
    assert is_link_line(
        "Official statements of the Ministry of Foreign Affairs of Azerbaijan could be accessed at "
        "<https://mfa.gov.az/en/news/6876/view> and <https://mfa.gov.az/en/news/6882/view>"
    )
    assert not is_link_line("The ministry said on 12 July that the attack was planned (see https://example.org/a).")


def test_a_question_to_more_sides_than_quotes_shows_the_most_relevant_sides(assistant):
    # Three party sides, two quotes: the two sides with the most relevant statements, and the other side listed.
    answer = assistant.ask("What did each side say about Nagorno-Karabakh?", k=2)
    assert not answer.abstained and answer.grouped_by_side
    assert 1 <= len(answer.quotes) <= 2 and len(answer.groups) <= 2
    shown = {group.side for group in answer.groups}
    assert answer.other_sides and not shown & set(answer.other_sides)
    assert shown | set(answer.other_sides) <= {"Armenia", "Azerbaijan", "Artsakh"}
    assert answer.other_sides == ["Artsakh"]  # it spoke of Nagorno-Karabakh too, less relevantly
    assert any(note.startswith("1 other side spoke about Nagorno-Karabakh: Artsakh.") for note in answer.notes)


def test_a_closed_pipe_ends_the_command_quietly(seed_index, seed_corpus):
    command = [sys.executable, "-m", "qa_assistant.cli", "ask", "What did each side say about Lachin?"]
    command += ["--index", str(seed_index), "--corpus", str(seed_corpus), "--json"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head -0`: the reader is gone before the answer is printed
    errors = process.stderr.read().decode()
    process.wait(timeout=300)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
    assert process.returncode == 141
