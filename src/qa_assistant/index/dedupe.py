"""Near-duplicate sentences across documents: one cluster id per sentence.

Two sentences of different documents are duplicates when their normalized text is equal (case, accents,
punctuation and quote marks ignored), or when their embeddings have cosine similarity >= NEAR_DUPLICATE_COSINE
and at least MIN_SHARED_TOKENS of the shorter one's BM25 tokens occur in the other (a re-quoted or
re-translated statement, not just the same topic).

A cluster is one statement: its head (its first sentence) and the sentences that are duplicates of the head
(`split_chains`). Pairs alone would chain: in formulaic speeches A is close to B and B to C, and a chain of such
pairs joined 2,717 different sentences about peace and the United Nations into one "statement" of the UN
collection, each shown as said again by all the others.

The work grows about linearly with the number of sentences: equal texts are found by a hash of the normalized
text, and each sentence's vector is compared with its NEIGHBOURS nearest vectors only (exact search up to
EXACT_LIMIT sentences, an IVF index above, whose cells are visited in a fixed number, one cell at a time for
all the sentences that visit it: `backends/local/neighbours.py`). Sentences with equal normalized text share one vector search
(the first of them stands for all), so a sentence repeated in thousands of speeches does not fill every
neighbour list.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qa_assistant.backends.local.dense import DenseIndex
from qa_assistant.backends.local.neighbours import IVF_PROBES, SEARCH_BATCH, close_pairs
from qa_assistant.text.tokens import normalize, tokenize

NEAR_DUPLICATE_COSINE = 0.86
MIN_SHARED_TOKENS = 0.5
NEIGHBOURS = 16  # nearest distinct texts compared with each sentence


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return int(i)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _shared(ta: set[str], tb: set[str]) -> float:
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb))


def _link(left: list[int], right: list[int], doc_index: np.ndarray, groups: _UnionFind) -> None:
    """Join each sentence of `left` to a sentence of `right` of another document. Done both ways, this connects
    what joining every pair of different documents would (two sentences of `right` cover every document),
    in time linear in the number of sentences."""
    first = right[0]
    second = next((j for j in right if doc_index[j] != doc_index[first]), None)
    for i in left:
        j = first if doc_index[i] != doc_index[first] else second
        if j is not None:
            groups.union(i, j)


def cluster_sentences(
    texts: list[str],
    doc_index: np.ndarray,
    vectors: np.ndarray,
    dense: DenseIndex | None = None,
    cells: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster id of each sentence: the smallest sentence id in its cluster (its own id when unique). With `dense`
    (the index of `vectors`) and `cells` (the cells nearest each vector, noted when an IVF index was built:
    `DenseIndex.build_noting_cells`), that IVF index is searched for the neighbours instead of a second one."""
    n = len(texts)
    groups = _UnionFind(n)
    first_by_text: dict[str, int] = {}
    members: list[list[int]] = []  # sentences of each distinct normalized text
    text_of: dict[str, int] = {}
    for i, text in enumerate(texts):
        key = normalize(text)
        if key in first_by_text and doc_index[first_by_text[key]] != doc_index[i]:
            groups.union(first_by_text[key], i)
        first_by_text.setdefault(key, i)
        if key not in text_of:
            text_of[key] = len(members)
            members.append([])
        members[text_of[key]].append(i)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    for group in members:  # equal texts have (about) equal vectors: near-duplicates across documents as well
        if len(group) > 1:
            _link(group, group, doc_index, groups)
    representatives = np.array([m[0] for m in members], dtype=np.int64)
    tokens: dict[int, set[str]] = {}

    def token_set(i: int) -> set[str]:
        if i not in tokens:
            tokens[i] = set(tokenize(texts[i]))
        return tokens[i]

    pairs = close_pairs(vectors, representatives, NEIGHBOURS, NEAR_DUPLICATE_COSINE, dense, cells)
    for a, b in pairs.tolist():
        if _shared(token_set(int(representatives[a])), token_set(int(representatives[b]))) < MIN_SHARED_TOKENS:
            continue
        _link(members[a], members[b], doc_index, groups)
        _link(members[b], members[a], doc_index, groups)
    linked = np.array([groups.find(i) for i in range(n)], dtype=np.int64)
    return split_chains(linked, texts, lambda ids: vectors[ids], token_set)


def split_chains(
    clusters: np.ndarray,
    texts: list[str],
    vectors_of: Callable[[np.ndarray], np.ndarray],
    token_set: Callable[[int], set[str]],
    only: np.ndarray | None = None,
) -> np.ndarray:
    """The clusters of sentences linked by duplicate pairs (`clusters`: a cluster id per sentence, the smallest
    member), made statements: in each, the first sentence not yet placed is a head, and the others not yet placed
    that are duplicates of it (equal normalized text, or cosine and shared tokens as above) join it; then the next
    one left heads the next cluster. `vectors_of`: the vectors of some sentences; `token_set`: a sentence's BM25
    tokens; `only`: the cluster ids to look at (default: every cluster of more than one sentence)."""
    labels = clusters.copy()
    ids, counts = np.unique(clusters, return_counts=True)
    chosen = ids[counts > 1] if only is None else np.intersect1d(ids[counts > 1], only)
    if not len(chosen):
        return labels
    inside = np.flatnonzero(np.isin(clusters, chosen))
    inside = inside[np.argsort(clusters[inside], kind="stable")]  # by cluster, members in id order
    starts = np.flatnonzero(np.r_[True, clusters[inside][1:] != clusters[inside][:-1]])
    for members in np.split(inside, starts[1:]):
        _, text_code = np.unique([normalize(texts[i]) for i in members.tolist()], return_inverse=True)
        if text_code.max() == 0:  # one text said again: nothing to split
            continue
        vectors = np.asarray(vectors_of(members), dtype=np.float32)
        left = np.ones(len(members), dtype=bool)
        while left.any():
            head = int(np.flatnonzero(left)[0])
            equal = left & (text_code == text_code[head])
            close = left & ~equal & (vectors @ vectors[head] >= NEAR_DUPLICATE_COSINE)
            head_tokens = token_set(int(members[head]))
            for at in np.flatnonzero(close).tolist():
                equal[at] = _shared(token_set(int(members[at])), head_tokens) >= MIN_SHARED_TOKENS
            labels[members[equal]] = members[head]
            left &= ~equal
    return labels


def _labels(parent: np.ndarray) -> np.ndarray:
    """Cluster id of each node of a union-find forest: the smallest node id of its tree."""
    roots = parent.copy()
    while True:
        above = roots[roots]
        if np.array_equal(above, roots):
            break
        roots = above
    smallest = np.full(len(roots), len(roots), dtype=np.int64)
    np.minimum.at(smallest, roots, np.arange(len(roots), dtype=np.int64))
    return smallest[roots]


def extend_clusters(
    texts: list[str],
    doc_index: np.ndarray,
    new_vectors: np.ndarray,
    earlier_row: np.ndarray,
    earlier_cluster: np.ndarray,
    dense: DenseIndex,
    k: int = 4 * NEIGHBOURS,
) -> np.ndarray:
    """Clusters after an incremental rebuild, in time that grows with the number of new sentences.

    Sentences kept from the earlier build (`earlier_row[i]` >= 0: their id there) keep their clusters
    (`earlier_cluster`); each new sentence (-1; its vector the next of `new_vectors`) is searched for its `k`
    nearest vectors in `dense`, the index of all sentences, and joins the cluster of every one of another document
    that passes the test of `cluster_sentences` (cosine and shared tokens); a cluster a new sentence joined is then
    split into statements as a full clustering splits them (`split_chains`, with the vectors stored in `dense`).
    More neighbours than a full clustering looks at make up for the earlier sentences' neighbour lists, which are
    not searched again. A cluster held together only by sentences of removed documents stays together."""
    n = len(texts)
    parent = np.arange(n, dtype=np.int64)
    kept = np.flatnonzero(earlier_row >= 0)
    if len(kept):
        labels = earlier_cluster[earlier_row[kept]]
        unique, first = np.unique(labels, return_index=True)
        parent[kept] = kept[first][np.searchsorted(unique, labels)]  # the first kept member of each old cluster
    new = np.flatnonzero(earlier_row < 0)
    if len(new) == 0 or n < 2:
        return _labels(parent)
    groups = _UnionFind(n)
    groups.parent = parent
    tokens: dict[int, set[str]] = {}

    def token_set(i: int) -> set[str]:
        if i not in tokens:
            tokens[i] = set(tokenize(texts[i]))
        return tokens[i]

    for lo in range(0, len(new), SEARCH_BATCH):
        scores, ids = dense.neighbours(new_vectors[lo : lo + SEARCH_BATCH], min(k + 1, n), probes=IVF_PROBES)
        for row, found, similar in zip(new[lo : lo + SEARCH_BATCH].tolist(), ids.tolist(), scores.tolist()):
            for j, score in zip(found, similar):
                if j < 0 or score < NEAR_DUPLICATE_COSINE:
                    break
                if j == row or doc_index[j] == doc_index[row]:
                    continue
                if normalize(texts[row]) == normalize(texts[j]) or _shared(token_set(row), token_set(j)) >= (
                    MIN_SHARED_TOKENS
                ):
                    groups.union(row, j)
    linked = _labels(groups.parent)
    return split_chains(linked, texts, dense.vector_batch, token_set, only=np.unique(linked[new]))
