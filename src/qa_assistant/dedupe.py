"""Near-duplicate sentences across documents: one cluster id per sentence.

Two sentences of different documents are duplicates when their normalized text is equal (case, accents,
punctuation and quote marks ignored), or when their embeddings have cosine similarity >= NEAR_DUPLICATE_COSINE
and at least MIN_SHARED_TOKENS of the shorter one's BM25 tokens occur in the other (a re-quoted or
re-translated statement, not just the same topic).
"""

from __future__ import annotations

import faiss
import numpy as np

from .tokens import normalize, tokenize

NEAR_DUPLICATE_COSINE = 0.86
MIN_SHARED_TOKENS = 0.5


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
    ta, tb = set(tokenize(a)), set(tokenize(b))
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb))


def cluster_sentences(texts: list[str], doc_index: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Cluster id of each sentence: the smallest sentence id in its cluster (its own id when unique)."""
    n = len(texts)
    groups = _UnionFind(n)
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
            if j > i and doc_index[i] != doc_index[j] and _shared_tokens(texts[i], texts[j]) >= MIN_SHARED_TOKENS:
                groups.union(i, j)
    return np.array([groups.find(i) for i in range(n)], dtype=np.int64)
