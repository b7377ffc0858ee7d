"""Which sentences may be quoted at all: the rule counts words as sentence splitting does, the index keeps its
verdict per sentence at build time, and an answer (quotes and timeline) is the same whether the verdict is read
from the index or checked on use, as for an index built before it was kept."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from qa_assistant import Assistant
from qa_assistant.text.quotable import may_be_quoted
from qa_assistant.text.segment import MIN_WORDS, _word_count, is_quotable

QUESTIONS = [
    "What did each side say about Lachin?",
    "What was said about the Lachin road?",
    "How many civilians were wounded?",
    "What did Azerbaijan say about the border in September 2022?",
]


@given(st.text(alphabet=st.sampled_from(list("ab Z9_.,-'é²½ⅫÅ\n\t·")), max_size=40))
def test_is_quotable_counts_words_with_a_letter(text):
    assert is_quotable(text) == (_word_count(text) >= MIN_WORDS)


def test_the_index_keeps_each_sentences_verdict(seed_index):
    with np.load(seed_index / "sentences.npz") as arrays:
        assert "quotable" in arrays.files
        kept = arrays["quotable"]
    index = Assistant.load(seed_index).index
    assert index.sentences.quotable is not None
    checked = [may_be_quoted(index.sentence_text(i)) for i in range(len(index.sentences))]
    assert kept.tolist() == checked
    assert not all(checked)  # (the bundled corpus has headings and datelines: the rule is exercised)


def test_answers_are_the_same_with_the_kept_verdict_and_without(seed_index, seed_corpus):
    kept = Assistant.load(seed_index, corpus_dir=seed_corpus)
    checked = Assistant.load(seed_index, corpus_dir=seed_corpus)
    checked.index.sentences.quotable = None  # as an index built before the verdict was kept
    for question in QUESTIONS:
        with_kept = kept.ask(question).model_dump(exclude={"timings"})
        with_checked = checked.ask(question).model_dump(exclude={"timings"})
        assert with_kept == with_checked, question
        assert with_kept["timeline"] is not None and with_kept["timeline"]["rows"], question
