"""Fusing ranked lists: reciprocal rank fusion and weighted min-max normalized scores."""

from __future__ import annotations

import numpy as np

Ranking = tuple[np.ndarray, np.ndarray]  # (ids, scores), best first


def rrf(rankings: list[Ranking], k: int = 60) -> dict[int, float]:
    """fused(id) = sum over rankings of 1 / (k + rank), rank starting at 1."""
    fused: dict[int, float] = {}
    for ids, _scores in rankings:
        for rank, doc in enumerate(ids.tolist(), start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def min_max(scores: np.ndarray) -> np.ndarray:
    if len(scores) == 0:
        return scores.astype(np.float64)
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.ones(len(scores))
    return (scores.astype(np.float64) - low) / (high - low)


def weighted(sparse: Ranking, dense: Ranking, alpha: float = 0.5) -> dict[int, float]:
    """fused(id) = alpha * minmax(dense) + (1 - alpha) * minmax(bm25); absent from a list counts 0."""
    fused: dict[int, float] = {}
    for (ids, scores), weight in ((sparse, 1.0 - alpha), (dense, alpha)):
        for doc, value in zip(ids.tolist(), min_max(scores).tolist()):
            fused[doc] = fused.get(doc, 0.0) + weight * value
    return fused


def ordered(fused: dict[int, float]) -> list[tuple[int, float]]:
    """Best first; ties broken by id so results are deterministic."""
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
