"""Pairs of close vectors, the candidates of the near-duplicate clustering (`index/dedupe.py`): each vector's `k`
nearest others with cosine >= a threshold, by an exact search up to EXACT_LIMIT vectors, through the cells of an
IVF index above (a fixed number of cells visited per vector, one cell at a time for all the vectors visiting it).
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from qa_assistant.backends.local.dense import DenseIndex, add_to_cells, make_index, train_ivf

EXACT_LIMIT = 20_000  # up to this many vectors: exact k-NN search; above: IVF
IVF_PROBES = 8  # cells visited per vector
# k-means of the IVF cells: a coarse partition is enough when neighbours are this close (cosine >= 0.86)
IVF_TRAIN_PER_CELL = 20
SEARCH_BATCH = 4096
COMPACT_AT = 4_000_000  # close pairs held before only each vector's nearest are kept
SCORE_BLOCK = 1 << 23  # similarities computed at once (32 MB): the visitors of a cell are taken in blocks


def close_pairs(
    vectors: np.ndarray,
    rows: np.ndarray,
    k: int,
    threshold: float,
    dense: DenseIndex | None = None,
    cells: np.ndarray | None = None,
) -> np.ndarray:
    """`neighbour_pairs` (positions in `rows`) of the vectors `rows`. Above EXACT_LIMIT rows, through the cells of
    `dense` when it is the IVF index of all `vectors` and `cells` the cells nearest each (at least IVF_PROBES, or
    all its cells), instead of a second index."""
    cell_count = dense.cell_count if dense is not None else None
    reuse = (
        dense is not None
        and cells is not None
        and cell_count is not None
        and dense.size == len(vectors)
        and cells.shape[1] >= min(IVF_PROBES, cell_count)
        and len(rows) > EXACT_LIMIT
    )
    if reuse and dense is not None and cells is not None:
        return cell_pairs(dense, vectors, rows, cells[rows, :IVF_PROBES], k, threshold)
    return neighbour_pairs(vectors[rows], k, threshold)


def neighbour_pairs(vectors: np.ndarray, k: int, threshold: float) -> np.ndarray:
    """Pairs (i, j), i < j, where j is among the `k` nearest vectors of i (or i of j) with cosine >= `threshold`."""
    n, dimension = vectors.shape
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    k = min(k + 1, n)  # +1: a vector finds itself
    if n > EXACT_LIMIT:
        index = make_index(dimension, "ivf", "float32", n)
        train_ivf(index, vectors, IVF_TRAIN_PER_CELL)
        nearest = add_to_cells(index, vectors, IVF_PROBES)
        return _ivf_pairs(index, vectors, np.arange(n), nearest, k - 1, threshold)
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
    dense: DenseIndex, vectors: np.ndarray, rows: np.ndarray, nearest: np.ndarray, k: int, threshold: float
) -> np.ndarray:
    """`_ivf_pairs` through the cells of the IVF index `dense`."""
    return _ivf_pairs(dense.index, vectors, rows, nearest, k, threshold)


def _ivf_pairs(
    index: faiss.Index, vectors: np.ndarray, rows: np.ndarray, nearest: np.ndarray, k: int, threshold: float
) -> np.ndarray:
    """`neighbour_pairs` (positions in `rows`) of the vectors `rows`, among themselves, through the cells of the
    IVF index `index`, which holds `vectors` under their ids. Each vector visits the cells `nearest[i]` (those
    nearest it, noted when it was added: `dense.add_to_cells`) and keeps its `k` nearest others with
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
        visitors = visitor[bounds[cell] : bounds[cell + 1]]
        if not len(inside) or not len(visitors):
            continue
        held_vectors = vectors[rows[inside]].astype(np.float32).T
        step = max(1, SCORE_BLOCK // len(inside))  # a large cell of real vectors has 10^5 visitors: in blocks
        for lo in range(0, len(visitors), step):
            queries = visitors[lo : lo + step]
            scores = vectors[rows[queries]].astype(np.float32, copy=False) @ held_vectors
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
