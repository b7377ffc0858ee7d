"""The relevance rule that quotes and timeline share (`may_quote`), for one sentence and for many, and the
vocabulary lookups the timeline applies its "shares a word of the topic" part with (`BM25Index.tokens_starting`,
`BM25Index.holds_any`, `shared_tokens`)."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from qa_assistant.answer.builder import may_quote
from qa_assistant.answer.question import AskedQuestion
from qa_assistant.answer.timeline import TopicWords, shared_tokens
from qa_assistant.backends.local.bm25 import BM25Index

# min_similarity 0.33 (the quote floor 0.25): similarity, on the topic, shares a word of it -> may be quoted
CASES = [
    (0.50, False, False, True),  # at least the threshold
    (0.30, False, True, True),  # between the floor and the threshold, sharing a word of the topic
    (0.30, False, False, False),  # ... sharing none: not about it
    (0.10, True, False, True),  # holding the topic: whatever its similarity
    (0.20, False, True, False),  # below the floor
]


def test_the_rule_for_one_sentence_and_for_many():
    for similarity, on_topic, shares, expected in CASES:
        assert bool(may_quote(similarity, on_topic, shares, 0.33)) is expected
    columns = [np.array(column) for column in zip(*CASES)]
    assert may_quote(columns[0], columns[1], columns[2], 0.33).tolist() == columns[3].tolist()
    # no sentence reached the threshold (not answered): only those holding the topic
    kept = may_quote(np.array([0.5, 0.1]), np.array([False, True]), np.array([True, True]), 0.33, answered=False)
    assert kept.tolist() == [False, True]


def test_vocabulary_tokens_by_prefix_and_units_holding_any_of_them():
    vocab = ["nuclear", "nucleus", "nuclei", "test", "testing", "tea"]
    counts = sp.csr_matrix(np.array([[1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1], [0, 0, 1, 0, 0, 0]]))
    index = BM25Index.from_counts(counts, vocab)
    assert index.tokens_starting("nucl") == ["nuclear", "nuclei", "nucleus"]
    assert index.tokens_starting("test") == ["test", "testing"]
    assert index.tokens_starting("xyz") == []
    assert index.holds_any(["nuclei", "testing", "missing"], np.arange(4)).tolist() == [False, False, True, True]
    assert index.holds_any(["test"], np.array([3, 2, 1])).tolist() == [False, False, False]
    assert index.holds_any(["test", "nucleus"], np.array([1, 0, 1])).tolist() == [True, True, True]


def test_tokens_sharing_a_topic_word_are_those_the_rule_accepts_among_the_whole_vocabulary():
    """`shared_tokens` looks only where sharing tokens can be (the word, its longer forms, its beginnings), and finds
    every token of the vocabulary that the question's own rule (`AskedQuestion.shares_a_word`) accepts."""
    vocab = sorted(
        [
            "nuclear",
            "nuclearization",
            "nucleus",
            "nucl",
            "nuc",
            "internal",
            "international",
            "internationally",
            "intern",
            "inte",
            "interest",
            "war",
            "warfare",
            "ward",
            "forc",
            "forcibl",
            "force",
            "forces",
            "test",
        ]
    )
    counts = sp.csr_matrix(np.eye(len(vocab)))
    index = BM25Index.from_counts(counts, vocab)
    for words in (["nuclear"], ["international", "war"], ["forcibl"], ["internationally"], ["war"], ["inte"]):
        rule = SimpleNamespace(content_words=frozenset(words))
        shares = partial(AskedQuestion.shares_a_word, rule)
        topic = TopicWords([], frozenset(words), shares)
        expected = sorted(token for token in vocab if shares({token}))
        assert shared_tokens(topic, index.tokens_starting) == expected, words
    # e.g. "international": itself, its longer form and the stems it starts with; not "internal" or "interest"
    topic = TopicWords(
        [],
        frozenset(["international"]),
        partial(AskedQuestion.shares_a_word, SimpleNamespace(content_words=frozenset(["international"]))),
    )
    assert shared_tokens(topic, index.tokens_starting) == ["inte", "intern", "international", "internationally"]


def test_sharing_a_word_only_ever_lets_a_sentence_in():
    """The timeline looks up whether a sentence shares a word of the topic only where the rule leaves it undecided
    (`TimelineMaker.relevant`): that is the rule itself only while sharing a word never takes a sentence out."""
    rng = np.random.default_rng(0)
    similarity = rng.uniform(-0.2, 0.8, 500).astype(np.float32)
    on_topic, shares = rng.random(500) < 0.2, rng.random(500) < 0.5
    for answered in (True, False):
        rule = partial(may_quote, min_similarity=0.33, answered=answered)
        without = rule(similarity, on_topic, np.zeros(500, dtype=bool))
        with_all = rule(similarity, on_topic, np.ones(500, dtype=bool))
        assert not (without & ~with_all).any()
        assert (rule(similarity, on_topic, shares) == (without | (with_all & shares))).all()
