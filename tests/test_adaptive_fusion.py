"""Adaptive fusion: each question's BM25 and dense weights, from its names and numbers and what the index knows."""

import numpy as np
import pytest

from qa_assistant import Assistant
from qa_assistant.answer.fusion import (
    ADAPTIVE_NAMES_ALPHA,
    ADAPTIVE_PLAIN_ALPHA,
    ADAPTIVE_TOPIC_ALPHA,
    QueryTerm,
    adaptive_weights,
    is_name,
    min_max,
    writes_names_in_capitals,
)
from qa_assistant.ui import render

KEYWORD_QUESTIONS = ["What happened in Tovuz?", "Lachin", "tovuz attacks"]
PARAPHRASE = "How will people be able to get out of the combat zone safely?"


@pytest.mark.parametrize(
    ("word", "first", "expected"),
    [
        ("Lachin", False, True),
        ("UN", True, True),
        ("BRCA1", True, True),
        ("242", False, True),
        ("mRNA", True, True),
        ("Aspirin", True, False),  # a sentence's first word is capitalized anyway
        ("corridor", False, False),
    ],
)
def test_a_name_is_told_by_its_capitals_and_digits(word, first, expected):
    assert is_name(word, first) is expected


def test_weights_go_from_the_plain_to_the_names_alpha_with_the_names_share():
    plain = [QueryTerm("blockade", "blockad", 5, False), QueryTerm("road", "road", 9, False)]
    names = [QueryTerm("Lachin", "lachin", 3, True), QueryTerm("242", "242", 1, True)]
    assert adaptive_weights(plain, 100).dense == pytest.approx(ADAPTIVE_PLAIN_ALPHA)
    assert adaptive_weights(names, 100).dense == pytest.approx(ADAPTIVE_NAMES_ALPHA)
    mixed = adaptive_weights(plain + names, 100)
    assert ADAPTIVE_NAMES_ALPHA < mixed.dense < ADAPTIVE_PLAIN_ALPHA
    assert mixed.bm25 + mixed.dense == pytest.approx(1.0)
    assert mixed.names == ["Lachin", "242"] and "Lachin (in 3 of 100 sentences)" in mixed.reason
    # A rarer name carries more of the question's weight than a common one.
    rare = adaptive_weights([plain[0], QueryTerm("Tovuz", "tovuz", 1, True)], 100)
    common = adaptive_weights([plain[0], QueryTerm("Armenia", "armenia", 60, True)], 100)
    assert rare.keyword_share > common.keyword_share and rare.bm25 > common.bm25
    # Words the index does not hold give BM25 nothing: they are named, and add no keyword weight.
    unknown = adaptive_weights([plain[0], QueryTerm("Tigray", "tigray", 0, True)], 100)
    assert unknown.keyword_share == 0 and "not in the index: Tigray" in unknown.reason


@pytest.mark.parametrize("question", KEYWORD_QUESTIONS)
def test_a_keyword_question_leans_on_bm25_and_says_why(assistant, question):
    weights = assistant.retriever.fusion_weights(question)
    paraphrase = assistant.retriever.fusion_weights(PARAPHRASE)
    assert weights.bm25 > weights.dense and weights.bm25 > paraphrase.bm25
    name = next(w for w in question.replace("?", "").split() if w.lower() in ("tovuz", "lachin"))
    assert name in weights.names and name in weights.reason  # lower case too: the index writes it as a name


def test_a_paraphrase_leans_on_the_dense_side(assistant):
    weights = assistant.retriever.fusion_weights(PARAPHRASE)
    assert weights.dense > weights.bm25 and weights.names == [] and weights.keyword_share == 0
    assert "no name or number" in weights.reason


def test_a_question_that_capitalizes_its_names_is_read_as_written(assistant):
    # The seed index writes "Power" as a name ("Hydro Power Plants"); a question that writes Baku and Armenia with
    # capitals and "powers" without one does not mean a name by it, so its paraphrase keeps its dense weight.
    cased = assistant.retriever.fusion_weights("Why does Baku think Armenia wants outside powers involved?")
    assert cased.names == ["Baku", "Armenia"] and "powers" not in cased.reason
    # Written all in lower case, the question does not tell: every word is read as the index writes it.
    lower = assistant.retriever.fusion_weights("why does baku think armenia wants outside powers involved")
    assert lower.names == ["baku", "armenia", "powers"]
    assert cased.dense > lower.dense and cased.keyword_share < lower.keyword_share
    assert writes_names_in_capitals(["did", "Kyiv", "say"])  # (the words after a question's first)
    assert not writes_names_in_capitals(["did", "the", "UN", "say", "about", "lachin"])  # an acronym


def test_the_topic_of_a_question_about_sides_weighs_its_words_as_much_as_its_meaning(assistant):
    # "the peace process" is the subject in the user's words, which the statements on it hold; the same words asked
    # as a question of their own are a paraphrase and lean on the dense side.
    topic = assistant.retriever.fusion_weights("the peace process", topic=True)
    asked = assistant.retriever.fusion_weights("the peace process")
    assert topic.dense == pytest.approx(ADAPTIVE_TOPIC_ALPHA) == pytest.approx(topic.bm25)
    assert asked.dense == pytest.approx(ADAPTIVE_PLAIN_ALPHA) and asked.dense > topic.dense
    assert "no name or number in the topic" in topic.reason and "in the question" in asked.reason
    # `ask` searches the topic of a question about sides as a topic, and its quotes say so.
    answer = assistant.ask("What did each side say about the peace process?")
    assert answer.topic and answer.quotes
    assert all(q.fusion_weights == topic for q in answer.quotes)
    # A topic with names moves toward BM25 as a question does.
    named = assistant.retriever.fusion_weights("the Lachin corridor", topic=True)
    assert named.bm25 > named.dense and named.names == ["Lachin"]


def test_adaptive_scores_follow_the_weights_and_reach_the_quotes(assistant):
    question = "Tovuz attacks in July"
    hits = assistant.search(question, k=100, fusion="adaptive")
    weights = hits[0].fusion_weights
    assert weights is not None and all(h.fusion_weights == weights for h in hits)
    sparse = assistant.search(question, k=100, mode="bm25")
    dense = assistant.search(question, k=100, mode="dense")
    bm25_norm = dict(zip([h.sentence_id for h in sparse], min_max(np.array([h.score for h in sparse]))))
    dense_norm = dict(zip([h.sentence_id for h in dense], min_max(np.array([h.score for h in dense]))))
    for hit in hits[:10]:
        expected = weights.bm25 * bm25_norm.get(hit.sentence_id, 0.0) + weights.dense * dense_norm.get(
            hit.sentence_id, 0.0
        )
        assert hit.score == pytest.approx(expected, abs=1e-6)
    assert "Tovuz" in assistant.index.document_of(hits[0].sentence_id).text[hits[0].start : hits[0].end]
    answer = assistant.ask(question, fusion="adaptive")
    assert answer.quotes and all(q.fusion_weights == weights for q in answer.quotes)
    panel = render.scores_html(answer.quotes[0], answer.min_similarity, "hybrid", "adaptive")
    assert "Fused score (adaptive)" in panel and "Fusion weights" in panel and "Tovuz" in panel
    assert f"BM25 {weights.bm25:.2f}" in panel
    assert all(q.fusion_weights is None for q in assistant.ask(question, fusion="weighted").quotes)


def test_weights_are_the_same_for_the_same_index(assistant, seed_index, seed_corpus):
    again = Assistant.load(seed_index, corpus_dir=seed_corpus)  # a new process would load the same files
    for question in [*KEYWORD_QUESTIONS, PARAPHRASE]:
        first = assistant.retriever.fusion_weights(question)
        assert again.retriever.fusion_weights(question) == first == assistant.retriever.fusion_weights(question)
    ranked = [h.sentence_id for h in assistant.search("Lachin corridor", k=20, fusion="adaptive")]
    assert [h.sentence_id for h in again.search("Lachin corridor", k=20, fusion="adaptive")] == ranked
