"""Near-duplicate clustering: the bounded-neighbour algorithm against the exact all-pairs one it replaced (on data
without chains), and chains of close pairs split into statements (each sentence a duplicate of its head)."""

from __future__ import annotations

import numpy as np
import pytest

from qa_assistant.backends.local import neighbours
from qa_assistant.backends.local.dense import DenseIndex
from qa_assistant.backends.local.neighbours import cell_pairs, neighbour_pairs
from qa_assistant.index.dedupe import (
    MIN_SHARED_TOKENS,
    NEAR_DUPLICATE_COSINE,
    NEIGHBOURS,
    cluster_sentences,
    extend_clusters,
    split_chains,
)
from qa_assistant.index.embedder import Embedder
from qa_assistant.index.store import load_index
from qa_assistant.text.tokens import normalize, tokenize


def shared_tokens(a: str, b: str) -> float:
    """The share of the shorter text's distinct BM25 tokens that occur in the other."""
    ta, tb = set(tokenize(a)), set(tokenize(b))
    return len(ta & tb) / min(len(ta), len(tb)) if ta and tb else 0.0


class UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        self.parent[max(ra, rb)] = min(ra, rb)


def exact_clusters(texts: list[str], doc_index: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """The previous algorithm (all pairs by an exact range search), kept as the oracle."""
    import faiss

    n = len(texts)
    groups = UnionFind(n)
    first_by_text: dict[str, int] = {}
    for i, text in enumerate(texts):
        key = normalize(text)
        if key in first_by_text and doc_index[first_by_text[key]] != doc_index[i]:
            groups.union(first_by_text[key], i)
        first_by_text.setdefault(key, i)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    lims, _distances, neighbours = index.range_search(vectors, NEAR_DUPLICATE_COSINE)
    for i in range(n):
        for j in neighbours[lims[i] : lims[i + 1]].tolist():
            if j > i and doc_index[i] != doc_index[j] and shared_tokens(texts[i], texts[j]) >= MIN_SHARED_TOKENS:
                groups.union(i, j)
    return np.array([groups.find(i) for i in range(n)], dtype=np.int64)


def test_same_clusters_as_the_exact_algorithm_on_the_seed_corpus(seed_index):
    index = load_index(seed_index, check=False)
    texts = [index.sentence_text(i) for i in range(len(index.sentences))]
    vectors = index.dense.vectors(np.arange(len(texts)))
    expected = exact_clusters(texts, index.sentences.doc_index, vectors)
    assert (expected != np.arange(len(texts))).sum() > 0  # the corpus has near-duplicates to find
    assert np.array_equal(cluster_sentences(texts, index.sentences.doc_index, vectors), expected)
    assert np.array_equal(index.sentences.cluster, expected)  # what the build stored


STATEMENT = "The Minister said that the ceasefire must be respected by all parties without any preconditions."
REQUOTED = [
    STATEMENT,
    "The minister said the ceasefire must be respected by all parties, without any preconditions.",
    "“The ceasefire must be respected by all parties without any preconditions,” the Minister said.",
    "The Minister said on Monday that the ceasefire must be respected by all the parties without any preconditions.",
]
UNRELATED = [
    "Heavy rain is expected across the northern provinces later this week.",
    "The ceasefire talks were postponed until next month.",
    "Parties to the agreement met in Geneva on Tuesday.",
    "The Minister opened a new hospital in the capital.",
]


def test_requoted_statement_clusters_and_unrelated_sentences_do_not():
    texts = [*REQUOTED, *UNRELATED, STATEMENT.upper()]
    doc_index = np.arange(len(texts))  # every sentence in its own document
    vectors = Embedder().encode(texts)
    clusters = cluster_sentences(texts, doc_index, vectors)
    assert set(clusters[: len(REQUOTED)].tolist()) == {0}
    assert clusters[-1] == 0  # equal after normalization
    unrelated = clusters[len(REQUOTED) : len(REQUOTED) + len(UNRELATED)]
    assert unrelated.tolist() == list(range(len(REQUOTED), len(REQUOTED) + len(UNRELATED)))
    assert np.array_equal(clusters, exact_clusters(texts, doc_index, vectors))


def test_sentences_of_one_document_are_not_clustered_with_each_other():
    texts = [STATEMENT, REQUOTED[1], STATEMENT]
    clusters = cluster_sentences(texts, np.zeros(3, dtype=np.int32), Embedder().encode(texts))
    assert clusters.tolist() == [0, 1, 2]


@pytest.mark.parametrize("seed", range(5))
def test_random_duplicates_match_the_exact_algorithm(seed, monkeypatch):
    """Synthetic vectors with many repeated texts and near copies, spread over few documents; with the IVF path
    forced on by a low exact-search limit."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(60)]
    base = [" ".join(rng.choice(words, 8)) for _ in range(40)]
    base_vectors = rng.normal(size=(40, 32)).astype(np.float32)
    texts, vectors, docs = [], [], []
    for _ in range(400):
        b = int(rng.integers(40))
        variant = int(rng.integers(3))
        text = base[b] if variant == 0 else base[b].upper() if variant == 1 else base[b] + " extra"
        noise = rng.normal(scale=0.0 if variant < 2 else 0.15, size=32)
        texts.append(text)
        vectors.append(base_vectors[b] + noise)
        docs.append(int(rng.integers(6)))
    v = np.asarray(vectors, dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    doc_index = np.asarray(docs)
    # equal texts share their first vector in the new algorithm: give them equal vectors here too
    first: dict[str, int] = {}
    for i, t in enumerate(texts):
        v[i] = v[first.setdefault(normalize(t), i)]
    expected = exact_clusters(texts, doc_index, v)
    assert np.array_equal(cluster_sentences(texts, doc_index, v), expected)
    monkeypatch.setattr(neighbours, "EXACT_LIMIT", 10)
    assert np.array_equal(cluster_sentences(texts, doc_index, v), expected)
    for storage in ("float32", "float16"):  # the product's own IVF index searched, no second index made
        dense, cells = DenseIndex.build_noting_cells(v, "ivf", storage)
        assert cells is not None
        assert np.array_equal(cluster_sentences(texts, doc_index, v, dense, cells), expected), storage


def test_neighbour_pairs_are_bounded_per_vector():
    vectors = np.ones((50, 8), dtype=np.float32) / np.sqrt(8)  # all identical: every pair is a near-duplicate
    pairs = neighbour_pairs(vectors, 4, NEAR_DUPLICATE_COSINE)
    assert 50 * 3 // 2 <= len(pairs) <= 50 * 5  # k + 1 searched: a row may miss itself among equal vectors
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert set(pairs.ravel().tolist()) == set(range(50))  # every vector found close ones
    degree = np.bincount(pairs.ravel(), minlength=50)
    assert degree.min() >= 3  # (each row keeps at least k - 1 others)
    apart = np.eye(50, 8, dtype=np.float32)  # orthogonal vectors (and zero rows): no pair at all
    assert len(neighbour_pairs(apart, 4, NEAR_DUPLICATE_COSINE)) == 0
    assert NEIGHBOURS >= 4


@pytest.mark.parametrize("storage", ["float32", "float16"])
@pytest.mark.parametrize("block", [None, 300])
def test_cell_by_cell_search_finds_the_pairs_an_ivf_search_of_each_vector_finds(storage, block, monkeypatch):
    """`cell_pairs` visits the cells noted while the vectors were added and searches cell by cell: the pairs are
    those of FAISS searching each vector in the same index (same cells visited, k nearest, cosine threshold),
    among the chosen rows only."""
    import faiss

    rng = np.random.default_rng(7)
    centres = rng.normal(size=(300, 48)).astype(np.float32)
    vectors = centres[rng.integers(300, size=6000)] + rng.normal(scale=0.25, size=(6000, 48)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense, cells = DenseIndex.build_noting_cells(vectors, "ivf", storage)
    assert cells is not None
    rows = np.sort(rng.choice(6000, 4000, replace=False))
    k, probes = 6, 4
    if block is not None:  # the visitors of a cell taken a few at a time (bounded memory): the same pairs
        monkeypatch.setattr(neighbours, "SCORE_BLOCK", block)
    found = cell_pairs(dense, vectors, rows, cells[rows, :probes], k, NEAR_DUPLICATE_COSINE)

    among = np.zeros(6000, dtype=bool)
    among[rows] = True
    scores, ids = dense.neighbours(vectors[rows], k + 1, among=among, probes=probes)
    position = np.full(6001, -1)
    position[rows] = np.arange(len(rows))
    expected = set()
    for i, (row_ids, row_scores) in enumerate(zip(ids.tolist(), scores.tolist())):
        for j, score in zip(row_ids, row_scores):
            if j >= 0 and score >= NEAR_DUPLICATE_COSINE and position[j] != i:
                expected.add((min(i, int(position[j])), max(i, int(position[j]))))
    assert len(expected) > 500
    got = set(map(tuple, found.tolist()))
    # (scores from the vectors, not the stored codes: a float16 rounding may move a pair across the threshold)
    assert len(got ^ expected) <= (0 if storage == "float32" else len(expected) // 200), (len(got), len(expected))
    assert isinstance(dense.index, faiss.IndexIVF)


def _at_angle(degrees: float) -> np.ndarray:
    radians = np.deg2rad(degrees)
    return np.array([np.cos(radians), np.sin(radians), 0.0], dtype=np.float32)


CHAIN = [
    "The United Nations must keep the peace.",
    "The United Nations must keep the peace in the world.",
    "The United Nations must keep the peace and security in the world.",
]


def test_a_chain_of_close_pairs_is_not_one_statement():
    """A is a duplicate of B and B of C, but C is not one of A: the cluster is A's statement (A and B), and C
    heads its own. Pairs alone joined 2,717 different sentences of the UN collection into one cluster."""
    step = 21.0  # cos 21° = 0.934 between neighbours, cos 42° = 0.743 between the ends
    vectors = np.stack([_at_angle(step * i) for i in range(3)])
    assert vectors[0] @ vectors[1] >= NEAR_DUPLICATE_COSINE > vectors[0] @ vectors[2]
    assert all(shared_tokens(a, b) >= MIN_SHARED_TOKENS for a in CHAIN for b in CHAIN)
    doc_index = np.arange(3)
    assert exact_clusters(CHAIN, doc_index, vectors).tolist() == [0, 0, 0]  # (what the pairs alone give)
    assert cluster_sentences(CHAIN, doc_index, vectors).tolist() == [0, 0, 2]
    # equal texts stay one statement whatever their vectors; the head is the first sentence of the cluster
    texts = [*CHAIN, CHAIN[2].upper()]
    with_copy = np.vstack([vectors, _at_angle(80.0)])
    assert split_chains(
        np.zeros(4, dtype=np.int64), texts, lambda ids: with_copy[ids], lambda i: set(tokenize(texts[i]))
    ).tolist() == [0, 0, 2, 2]
    # `only`: the clusters not named are left as they are
    untouched = split_chains(
        np.zeros(4, dtype=np.int64),
        texts,
        lambda ids: with_copy[ids],
        lambda i: set(tokenize(texts[i])),
        only=np.array([7]),
    )
    assert untouched.tolist() == [0, 0, 0, 0]


def test_an_update_splits_a_chain_a_new_sentence_would_make():
    """The same chain made by an update: A and C kept from the earlier build (two clusters), B added; B joins A's
    statement, and C stays apart instead of being chained to A through B."""
    step = 21.0
    vectors = np.stack([_at_angle(step * i) for i in range(3)])
    dense = DenseIndex.build(vectors, "flat", "float32")
    earlier_row = np.array([0, -1, 1])  # A and C were sentences 0 and 1 of the earlier build, B is new
    clusters = extend_clusters(CHAIN, np.arange(3), vectors[[1]], earlier_row, np.array([0, 1]), dense)
    assert clusters.tolist() == [0, 0, 2]
