"""Context windows: the BM25 context index scores each sentence together with its neighbours in its document."""

from __future__ import annotations

import numpy as np

# The context BM25 index scores each sentence together with this many sentences on each side (same document).
CONTEXT_SENTENCES = 1


def context_rows(doc_index: np.ndarray, width: int = CONTEXT_SENTENCES) -> tuple[np.ndarray, np.ndarray]:
    """For each sentence (its document number in `doc_index`, sentences in text order), the first and last
    sentence of its context: `width` sentences on each side, never crossing into another document."""
    n = len(doc_index)
    first = np.arange(n)
    last = np.arange(n)
    for _ in range(width):
        previous = np.maximum(first - 1, 0)
        first = np.where((first > 0) & (doc_index[previous] == doc_index), previous, first)
        following = np.minimum(last + 1, n - 1)
        last = np.where((last < n - 1) & (doc_index[following] == doc_index), following, last)
    return first, last
