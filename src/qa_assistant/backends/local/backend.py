"""The local backend: searches the index folder's own bm25s and FAISS files (the default)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qa_assistant.backends.base import Ranked
from qa_assistant.backends.filters import FilterMasks
from qa_assistant.backends.local.bm25 import top_k
from qa_assistant.models import Filters, SearchSettings


class LocalBackend:
    """The index folder's bm25s and FAISS files (what `Retriever` always did); filters become a sentence mask."""

    def __init__(self, index: Any, masks: FilterMasks | None = None):
        """`index`: the loaded `index.store.SentenceIndex` (the index layer sits above the backends); `masks`: the
        sentence masks of filters, when the caller keeps them too (one cache for both)."""
        self.index = index
        self.masks = masks if masks is not None else FilterMasks(index)

    def bm25(self, question: str, k: int, filters: Filters | None, context_weight: float) -> Ranked:
        scores = self.index.bm25.scores(question)
        context = self.index.bm25_context
        if scores is not None and context_weight > 0 and context is not None:
            around = context.scores(question)
            if around is not None:
                scores = scores + context_weight * around
        return top_k(scores, k, self.masks.mask(filters))

    def dense(self, vector: np.ndarray, k: int, filters: Filters | None) -> Ranked:
        return self.index.dense.search(vector, k, self.masks.mask(filters))

    def fused(
        self, question: str, vector: np.ndarray, k: int, filters: Filters | None, settings: SearchSettings
    ) -> dict[int, float] | None:
        return None

    def vectors(self, sentence_ids: np.ndarray) -> np.ndarray:
        return self.index.dense.vector_batch(sentence_ids)

    def similarities(self, sentence_ids: np.ndarray, vector: np.ndarray) -> np.ndarray:
        return np.array([float(self.vectors(np.array([s]))[0] @ vector) for s in sentence_ids], dtype=np.float32)

    def similar_to(self, vector: np.ndarray, floor: float, filters: Filters | None) -> Ranked:
        return self.index.dense.at_least(vector, floor, self.masks.mask(filters))

    def holding(self, tokens: Sequence[str], filters: Filters | None) -> Ranked:
        return self.index.bm25.holding(tokens, self.masks.mask(filters))

    def mentions(self, tokens: Sequence[str], filters: Filters | None = None) -> bool:
        return self.index.bm25.has_tokens(tokens, self.masks.mask(filters))

    def holds_any(self, tokens: Sequence[str], sentence_ids: np.ndarray) -> np.ndarray:
        return self.index.bm25.holds_any(tokens, sentence_ids)

    def tokens_starting(self, prefix: str) -> list[str]:
        return self.index.bm25.tokens_starting(prefix)

    def close(self) -> None:
        pass
