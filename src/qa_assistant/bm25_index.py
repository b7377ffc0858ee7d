"""Sparse retrieval: bm25s over our own tokens, saved as plain npy/json files."""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np

from .tokens import tokenize

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG

BM25_METHOD = "lucene"
BM25_K1 = 1.5
BM25_B = 0.75


class BM25Index:
    def __init__(self, model: bm25s.BM25):
        self.model = model

    @classmethod
    def build(cls, texts: list[str]) -> BM25Index:
        model = bm25s.BM25(method=BM25_METHOD, k1=BM25_K1, b=BM25_B)
        model.index([tokenize(t) for t in texts], show_progress=False)
        return cls(model)

    def save(self, directory: Path) -> None:
        self.model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        return cls(bm25s.BM25.load(str(directory), mmap=False))

    def scores(self, question: str) -> np.ndarray | None:
        """The BM25 score of every unit for `question`; None when no query token is in the vocabulary."""
        vocab = self.model.vocab_dict
        tokens = [t for t in tokenize(question, query=True) if t in vocab]
        if not tokens:
            return None
        return self.model.get_scores(tokens)

    def search(self, question: str, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sentence ids and scores of the top `k` sentences with a positive score (within `mask`)."""
        return top_k(self.scores(question), k, mask)


def top_k(scores: np.ndarray | None, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ids and scores of the `k` best positive `scores` (within `mask`), best first, ties by id."""
    if scores is None or len(scores) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((top, -scores[top]))]  # by score, ties by sentence id
    top = top[scores[top] > 0]
    return top.astype(np.int64), scores[top].astype(np.float32)
