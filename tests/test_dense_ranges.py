"""A search read from a kept range search (`DenseIndex.from_ranges`, what a question's timeline lets its side searches
do) finds what the search itself finds: the same ids, similarities and order, for flat and IVF indexes, within a
mask inside the range's, with repeated vectors (ties); and it is not used where it could differ."""

from __future__ import annotations

import numpy as np
import pytest

from qa_assistant.backends.local.dense import DenseIndex


def unit_vectors(n: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, 32)).astype(np.float32)
    vectors[n // 2 : n // 2 + 40] = vectors[:40]  # repeated sentences: equal similarities
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("kind,storage", [("flat", "float32"), ("flat", "float16"), ("ivf", "float16")])
def test_search_read_from_a_range_equals_the_search(kind, storage, monkeypatch):
    monkeypatch.setattr("qa_assistant.backends.local.dense.SCANNED_KEPT", 0)  # (kept: only those above the floor)
    vectors = unit_vectors(3000, seed=1)
    index = DenseIndex.build(vectors, kind, storage)
    fresh = DenseIndex(index.index)  # the same FAISS index, nothing kept
    query = vectors[7] + 0.3 * vectors[1600]
    query = (query / np.linalg.norm(query)).astype(np.float32)
    scope = np.zeros(len(vectors), dtype=bool)
    scope[::2] = True
    scope[:40] = scope[1500:1540] = True
    scope.flags.writeable = False
    side = scope.copy()
    side[::6] = False
    side.flags.writeable = False
    ids, _ = index.at_least(query, 0.05, scope)
    assert index.at_least(query, 0.05, scope)[0] is ids  # kept: not searched again
    served = 0
    for mask, k in ((scope, 10), (side, 30), (scope, 200)):
        expected = fresh.search(query, k, mask)
        if index.from_ranges(query, k, mask) is not None:
            served += 1
        found = index.search(query, k, mask)
        assert found[0].tolist() == expected[0].tolist()
        assert found[1].tolist() == expected[1].tolist()
    assert served >= 2
    # not read from it: a mask reaching outside the range's, more than it found, another vector
    outside = np.ones(len(vectors), dtype=bool)
    assert index.from_ranges(query, 10, outside) is None
    assert index.from_ranges(query, len(ids) + 1, scope) is None
    assert index.from_ranges(vectors[3], 10, scope) is None


@pytest.mark.parametrize("kind,storage", [("flat", "float16"), ("ivf", "float16")])
def test_a_range_within_a_small_scope_serves_searches_it_found_fewer_than_k_for(kind, storage):
    """Within a scope where the search visits few vectors, the range search keeps every vector it visits: a side
    with fewer than k sentences above the floor is still read from it — the same ids, similarities and order as its
    own search, fewer than k where the search finds fewer — and the range itself is only those above the floor."""
    vectors = unit_vectors(3000, seed=2)
    index = DenseIndex.build(vectors, kind, storage)
    fresh = DenseIndex(index.index)
    query = vectors[11]
    scope = np.zeros(len(vectors), dtype=bool)
    scope[:300] = True
    scope.flags.writeable = False
    side = scope.copy()
    side[::3] = False
    side.flags.writeable = False
    assert index.visits_few(scope) and not index.visits_few(None)
    floor = 0.3
    ids, scores = index.at_least(query, floor, scope)
    expected_ids, expected_scores = fresh.range_search(query, floor, scope)
    assert ids.tolist() == expected_ids.tolist() and scores.tolist() == expected_scores.tolist()
    assert len(ids) < 50  # few above the floor: a search for 100 needs those below it
    for mask, k in ((scope, 100), (side, 100), (side, 5)):
        assert index.from_ranges(query, k, mask) is not None
        found, expected = index.search(query, k, mask), fresh.search(query, k, mask)
        assert found[0].tolist() == expected[0].tolist()
        assert found[1].tolist() == expected[1].tolist()
