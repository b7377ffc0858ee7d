"""The local backend: searches the index folder's own bm25s and FAISS files (the default)."""

from __future__ import annotations

import numpy as np

from qa_assistant.backends.base import Ranked
from qa_assistant.backends.local.bm25 import top_k
from qa_assistant.models import Filters, SearchSettings


class LocalBackend:
    """The index folder's bm25s and FAISS files (what `Retriever` always did)."""

    uses_mask = True

    def __init__(self, index):  # index: index.store.SentenceIndex (the index layer sits above the backends)
        self.index = index

    def bm25(
        self, question: str, k: int, filters: Filters | None, mask: np.ndarray | None, context_weight: float
    ) -> Ranked:
        scores = self.index.bm25.scores(question)
        context = self.index.bm25_context
        if scores is not None and context_weight > 0 and context is not None:
            around = context.scores(question)
            if around is not None:
                scores = scores + context_weight * around
        return top_k(scores, k, mask)

    def dense(self, vector: np.ndarray, k: int, filters: Filters | None, mask: np.ndarray | None) -> Ranked:
        return self.index.dense.search(vector, k, mask)

    def fused(
        self, question: str, vector: np.ndarray, k: int, filters: Filters | None, settings: SearchSettings
    ) -> dict[int, float] | None:
        return None

    def close(self) -> None:
        pass
