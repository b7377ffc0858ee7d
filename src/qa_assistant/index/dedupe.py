"""Near-duplicate sentences across documents: one cluster id per sentence.

Two sentences of different documents are duplicates when their normalized text is equal (case, accents,
punctuation and quote marks ignored), or when their embeddings have cosine similarity >= NEAR_DUPLICATE_COSINE
and at least MIN_SHARED_TOKENS of the shorter one's BM25 tokens occur in the other (a re-quoted or
re-translated statement, not just the same topic).

The work grows about linearly with the number of sentences: equal texts are found by a hash of the normalized
text, and each sentence's vector is compared with its NEIGHBOURS nearest vectors only (exact search up to
EXACT_LIMIT sentences, an IVF index above, whose cells are visited in a fixed number, one cell at a time for
all the sentences that visit it: `cell_pairs`). Sentences with equal normalized text share one vector search
(the first of them stands for all), so a sentence repeated in thousands of speeches does not fill every
neighbour list.
"""

from __future__ import annotations

import math
from typing import Any

import faiss
import numpy as np

from qa_assistant.backends.local.dense import DenseIndex, add_to_cells
from qa_assistant.text.tokens import normalize, tokenize

NEAR_DUPLICATE_COSINE = 0.86
MIN_SHARED_TOKENS = 0.5
NEIGHBOURS = 16  # nearest distinct texts compared with each sentence
EXACT_LIMIT = 20_000  # up to this many distinct texts: exact k-NN search; above: IVF
IVF_PROBES = 8
# k-means of the IVF cells: a coarse partition is enough when neighbours are this close (cosine >= 0.86)
IVF_TRAIN_PER_CELL = 20
IVF_TRAIN_ITERATIONS = 10
SEARCH_BATCH = 4096
COMPACT_AT = 4_000_000  # close pairs held before only each vector's nearest are kept


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


def _shared_tokens(a: str, b: str) -> float:
    return _shared(set(tokenize(a)), set(tokenize(b)))


def _shared(ta: set[str], tb: set[str]) -> float:
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb))


def neighbour_pairs(vectors: np.ndarray, k: int = NEIGHBOURS, threshold: float = NEAR_DUPLICATE_COSINE) -> np.ndarray:
    """Pairs (i, j), i < j, where j is among the `k` nearest vectors of i (or i of j) with cosine >= `threshold`."""
    n, dimension = vectors.shape
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    k = min(k + 1, n)  # +1: a vector finds itself
    if n > EXACT_LIMIT:
        cells = max(1, min(int(4 * math.sqrt(n)), n // 39))
        index = faiss.index_factory(dimension, f"IVF{cells},Flat", faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.niter = IVF_TRAIN_ITERATIONS
        ivf.cp.min_points_per_centroid = IVF_TRAIN_PER_CELL // 2
        sample = vectors
        if n > cells * IVF_TRAIN_PER_CELL:
            sample = vectors[np.sort(np.random.default_rng(0).choice(n, cells * IVF_TRAIN_PER_CELL, replace=False))]
        index.train(sample)
        nearest = add_to_cells(index, vectors, IVF_PROBES)
        return cell_pairs(index, vectors, np.arange(n), nearest, k - 1, threshold)
    exact = faiss.IndexFlatIP(dimension)
    exact.add(vectors)
    found = []
    for lo in range(0, n, SEARCH_BATCH):
        scores, ids = exact.search(vectors[lo : lo + SEARCH_BATCH], k)
        found.append(_close_pairs(lo, scores, ids, threshold))
    return _distinct_pairs(found)


def _cell_members(ivf: Any, position: np.ndarray) -> list[np.ndarray]:
    """For each cell of the IVF index `ivf`, the positions (`position[id]`, -1: left out) of the ids it holds."""
    members = []
    for cell in range(ivf.nlist):
        size = ivf.invlists.list_size(cell)
        ids = np.asarray(faiss.rev_swig_ptr(ivf.invlists.get_ids(cell), size)) if size else np.empty(0, np.int64)
        found = position[ids]
        members.append(found[found >= 0])
    return members


def _nearest_per_row(found: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of `found` (pairs (query, other)) among the `k` highest `scores` of their query."""
    order = np.lexsort((-scores, found[:, 0]))
    queries = found[order, 0]
    starts = np.flatnonzero(np.r_[True, queries[1:] != queries[:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    return order[rank < k]


def cell_pairs(
    index: faiss.Index,
    vectors: np.ndarray,
    rows: np.ndarray,
    nearest: np.ndarray,
    k: int = NEIGHBOURS,
    threshold: float = NEAR_DUPLICATE_COSINE,
) -> np.ndarray:
    """`neighbour_pairs` (positions in `rows`) of the vectors `rows`, among themselves, through the cells of the
    IVF index `index`, which holds `vectors` under their ids. Each vector visits the cells `nearest[i]` (those
    nearest it, noted when it was added: `dense_index.add_to_cells`) and keeps its `k` nearest others with
    cosine >= `threshold` there, as an IVF search of each vector would; but the search goes cell by cell, all
    vectors that visit a cell at once against those it holds, one matrix product each, which is several times
    faster than searching each vector's cells on its own. Similarities are computed from `vectors` themselves,
    not from the index's stored codes."""
    n = len(rows)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    ivf: Any = faiss.extract_index_ivf(index)
    position = np.full(max(len(vectors), index.ntotal) + 1, -1, dtype=np.int64)
    position[rows] = np.arange(n)
    members = _cell_members(ivf, position)
    visitor, visited = np.repeat(np.arange(n), nearest.shape[1]), nearest.ravel()
    order = np.argsort(visited, kind="stable")
    visitor, visited = visitor[order], visited[order]
    bounds = np.searchsorted(visited, np.arange(ivf.nlist + 1))
    found: list[np.ndarray] = []
    similar: list[np.ndarray] = []
    held = 0
    for cell, inside in enumerate(members):
        queries = visitor[bounds[cell] : bounds[cell + 1]]
        if not len(inside) or not len(queries):
            continue
        scores = vectors[rows[queries]].astype(np.float32, copy=False) @ vectors[rows[inside]].astype(np.float32).T
        q, t = np.nonzero(scores >= threshold)
        found.append(np.stack([queries[q], inside[t]], axis=1))
        similar.append(scores[q, t])
        held += len(q)
        if held > COMPACT_AT:  # many close vectors (one statement in many wordings): keep the k nearest so far
            pairs, values = np.concatenate(found), np.concatenate(similar)
            keep = _nearest_per_row(pairs, values, k + 1)
            found, similar, held = [pairs[keep]], [values[keep]], len(keep)
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs, values = np.concatenate(found), np.concatenate(similar)
    pairs = pairs[_nearest_per_row(pairs, values, k + 1)]  # +1: a vector finds itself
    return _distinct_pairs([pairs[pairs[:, 0] != pairs[:, 1]]])


def _close_pairs(first: int, scores: np.ndarray, found: np.ndarray, threshold: float) -> np.ndarray:
    """(i, j) for the searches of rows `first`, `first` + 1, … and each row j they found (-1: nothing) that is
    another row with a similarity of at least `threshold`."""
    rows = np.repeat(np.arange(first, first + len(found)), found.shape[1]).reshape(found.shape)
    keep = (scores >= threshold) & (found >= 0) & (found != rows)
    return np.stack([rows[keep], found[keep]], axis=1)


def _distinct_pairs(found: list[np.ndarray]) -> np.ndarray:
    """The pairs of `found`, each as (smaller, larger), once."""
    pairs = np.concatenate(found).astype(np.int64)
    pairs.sort(axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


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
    texts: list[str], doc_index: np.ndarray, vectors: np.ndarray, dense: DenseIndex | None = None
) -> np.ndarray:
    """Cluster id of each sentence: the smallest sentence id in its cluster (its own id when unique). With `dense`
    (the index of `vectors`), an IVF index there is searched for the neighbours instead of a second one."""
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

    reuse = (
        dense is not None
        and dense.size == n
        and isinstance(dense.index, faiss.IndexIVF)
        and dense.nearest_cells is not None
        and dense.nearest_cells.shape[1] >= min(IVF_PROBES, faiss.extract_index_ivf(dense.index).nlist)
        and len(representatives) > EXACT_LIMIT
    )
    pairs = (
        cell_pairs(dense.index, vectors, representatives, dense.nearest_cells[representatives, :IVF_PROBES])
        if reuse and dense is not None and dense.nearest_cells is not None
        else neighbour_pairs(vectors[representatives])
    )
    for a, b in pairs.tolist():
        if _shared(token_set(int(representatives[a])), token_set(int(representatives[b]))) < MIN_SHARED_TOKENS:
            continue
        _link(members[a], members[b], doc_index, groups)
        _link(members[b], members[a], doc_index, groups)
    return np.array([groups.find(i) for i in range(n)], dtype=np.int64)


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
    that passes the test of `cluster_sentences` (cosine and shared tokens). More neighbours than a full clustering
    looks at make up for the earlier sentences' neighbour lists, which are not searched again. A cluster held
    together only by sentences of removed documents stays together."""
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
    return _labels(groups.parent)
