"""Our BM25 (bm25s) ranks like the reference rank-bm25 BM25Okapi on the same tokens."""

from unittest.mock import patch

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from qa_assistant.backends.local.bm25 import BM25Index, TokenTable, top_k
from qa_assistant.text.tokens import tokenize

QUERIES = [
    "Lachin corridor blockade",
    "civilians wounded hospitalized",
    "landmine victims journalists",
    "ethnic cleansing Nagorno-Karabakh",
    "peacekeeping contingent Russian",
    "anti-terrorist measures Ministry of Defense",
    "occupation territories withdrawal",
    "Tovuz July attacks major-general",
    "radio interference civil aircraft",
    "peace treaty delimitation borders",
    "Stepanakert artillery shelling",
    "Khojavand mine explosion",
]
# Top-10 overlap tolerance: bm25s uses Lucene's IDF (always positive) where BM25Okapi uses Robertson's
# with an epsilon floor, so tail ranks may differ; the heads must agree.
MIN_MEAN_OVERLAP = 0.8
MIN_TOP1_AGREEMENT = 0.9


def bm25_of(texts: list[str]) -> BM25Index:
    """The index the build makes of `texts` (their token table's counts)."""
    table = TokenTable.of(texts)
    return BM25Index.from_counts(table.counts(), table.vocab)


def test_top10_agrees_with_rank_bm25(assistant):
    texts = [assistant.index.sentence_text(i) for i in range(len(assistant.index.sentences))]
    ours = bm25_of(texts)
    oracle = BM25Okapi([tokenize(t) for t in texts], k1=1.5, b=0.75)
    overlaps, top1 = [], []
    for query in QUERIES:
        ids, _ = top_k(ours.scores(query), 10)
        reference = np.asarray(oracle.get_scores(tokenize(query, query=True)))
        ref_ids = [i for i in np.argsort(-reference, kind="stable")[:10] if reference[i] > 0]
        assert len(ids) > 0, query
        n = min(10, len(ref_ids))
        overlaps.append(len(set(ids[:n].tolist()) & set(ref_ids[:n])) / n)
        top1.append(reference[ids[0]] >= reference[ref_ids[0]] - 1e-9)  # our first is one of its best
    assert np.mean(overlaps) >= MIN_MEAN_OVERLAP, overlaps
    assert np.mean(top1) >= MIN_TOP1_AGREEMENT, top1


def test_accents_case_and_stems_are_folded():
    assert tokenize("Lachín") == tokenize("LACHIN") == ["lachin"]
    assert tokenize("attacks") == tokenize("attacked") == tokenize("attacking")
    assert tokenize("What did each side say about the", query=True) == []


def test_accented_query_finds_unaccented_text(assistant):
    hits = assistant.search("Lachín", k=20, mode="bm25")
    texts = [assistant.index.sentence_text(h.sentence_id) for h in hits]
    assert any("Lachin" in t for t in texts) and any("Lachín" in t for t in texts)


def test_weights_from_token_counts_equal_bm25s_own_indexing(seed_corpus):
    import bm25s

    from qa_assistant.backends.local.bm25 import BM25_B, BM25_K1, BM25_METHOD
    from qa_assistant.ingest.corpus import load_corpus
    from qa_assistant.text.segment import split_sentences

    texts = [d.text[s:e] for d in load_corpus(seed_corpus).documents for s, e in split_sentences(d.text)]
    ours = bm25_of(texts).model
    reference = bm25s.BM25(method=BM25_METHOD, k1=BM25_K1, b=BM25_B)
    reference.index([tokenize(t) for t in texts], show_progress=False)
    assert set(ours.vocab_dict) == set(reference.vocab_dict)
    for question in ["Lachin corridor", "civilians killed shelling Stepanakert", "peacekeepers humanitarian aid"]:
        tokens = [t for t in tokenize(question, query=True) if t in ours.vocab_dict]
        assert np.allclose(ours.get_scores(tokens), reference.get_scores(tokens), atol=1e-5)


def test_token_tables_copy_and_merge_rows_exactly():
    from qa_assistant.backends.local.bm25 import TokenTable

    texts = ["The Lachin corridor was closed.", "", "Civilians crossed the corridor.", "Shelling of Stepanakert."]
    table = TokenTable.of(texts)
    assert [table.vocab[i] for i in table.ids[table.indptr[2] : table.indptr[3]]] == tokenize(texts[2])
    kept = table.rows(np.array([3, 0]))
    added = TokenTable.of(["New checkpoint on the Lachin road."])
    merged = TokenTable.merge([(kept, np.array([0, 2])), (added, np.array([1]))], 3)
    expected = [texts[3], "New checkpoint on the Lachin road.", texts[0]]
    for i, text in enumerate(expected):
        assert [merged.vocab[t] for t in merged.ids[merged.indptr[i] : merged.indptr[i + 1]]] == tokenize(text)


@given(
    st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 3.5]), max_size=60),
    st.integers(min_value=0, max_value=70),
    st.booleans(),
)
def test_top_k_is_the_k_best_positive_scores_ties_by_id(values, k, masked):
    scores = np.array(values, dtype=np.float32)
    mask = (np.arange(len(scores)) % 3 != 0) if masked else None
    ids, top_scores = top_k(scores, k, mask)
    expected = sorted(
        (i for i in range(len(scores)) if scores[i] > 0 and (mask is None or mask[i])), key=lambda i: (-scores[i], i)
    )[:k]
    assert ids.tolist() == expected
    assert top_scores.tolist() == scores[expected].tolist()


@given(
    st.lists(
        st.lists(st.sampled_from(["kashmir", "nuclear", "test", "peace", "talks", "india"]), max_size=6), max_size=40
    ),
    st.lists(
        st.sampled_from(["kashmir", "nuclear", "test", "peace", "talks", "india", "absent"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
)
def test_units_holding_every_token_with_their_scores(units, tokens):
    """`holding` (postings intersected by binary search) finds the units holding every token, each scored by the
    sum of its weights for them, as reading each unit's row of the weight matrix does; within a mask, the same."""
    texts = [" ".join(words) for words in units]
    if not any(texts):
        return
    index = bm25_of(texts)
    found, weight = index.holding(tokens)
    vocab, scores = index.model.vocab_dict, index.model.scores
    columns_stored = len(scores["indptr"]) - 1
    matrix = sp.csc_matrix((scores["data"], scores["indices"], scores["indptr"]), shape=(len(texts), columns_stored))
    expected = [
        u
        for u in range(len(texts))
        if all(t in vocab and vocab[t] < columns_stored and matrix[u, vocab[t]] > 0 for t in set(tokens))
    ]
    assert found.tolist() == expected
    if expected:
        columns = [vocab[t] for t in dict.fromkeys(tokens)]
        sums = np.asarray(matrix[expected][:, columns].sum(axis=1)).ravel()
        assert np.allclose(weight, sums, rtol=1e-6)
    # within a mask: the same units and the very same scores, those outside left out
    mask = np.arange(len(texts)) % 3 != 1
    inside, inside_weight = index.holding(tokens, mask)
    kept = mask[found]
    assert inside.tolist() == found[kept].tolist()
    assert inside_weight.tolist() == weight[kept].tolist()


@given(
    st.lists(
        st.lists(st.sampled_from(["kashmir", "nuclear", "test", "peace", "talks", "india"]), max_size=6), max_size=40
    ),
    st.lists(st.sampled_from(["kashmir", "nuclear", "test", "peace", "absent"]), max_size=3, unique=True),
    st.lists(st.integers(min_value=0, max_value=39), max_size=50),
)
def test_which_units_hold_any_token_by_binary_search_and_by_flags(units, tokens, asked):
    """`holds_any` answers "does each of these units hold one of the tokens?" as the texts' own words do, whether it
    looks each unit up in the postings (few units: each token's, or the rare tokens' put together) or flags the
    postings (many): each way forced."""
    texts = [" ".join(words) for words in units]
    if not any(texts):
        return
    index = bm25_of(texts)
    asked_units = np.array([u for u in asked if u < len(texts)], dtype=np.int64)
    expected = [any(t in tokenize(texts[u]) for t in tokens) for u in asked_units.tolist()]
    # binary search (each token's postings alone, then the rare ones together), then flags
    for lookup_cost, table_cost, rare in ((0, 10**9, 0), (0, 10**9, 10**9), (10**9, 1, 0)):
        with patch.multiple(
            "qa_assistant.backends.local.bm25", LOOKUP_COST=lookup_cost, TABLE_COST=table_cost, RARE_POSTINGS=rare
        ):
            assert index.holds_any(tokens, asked_units).tolist() == expected
