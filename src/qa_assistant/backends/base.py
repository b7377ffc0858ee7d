"""The retrieval backend: what answers "the best sentences for this question (within these filters)".

`local.backend.LocalBackend` searches the index folder's own files (bm25s + FAISS), the default.
`milvus.backend.MilvusBackend` sends the same searches to a Milvus collection (a server, a cluster or a Milvus Lite file).
Quotes are `document.text[start:end]` either way and everything above retrieval (answers, groups, abstention, UI,
eval) is the same; a node answering from Milvus alone reads documents, attributions and vectors from the
collection (`index/serving.py`).

A backend returns (sentence ids, scores) best first, with the filters applied inside each search: each backend turns
`Filters` into its own form (the local one a mask over sentences, Milvus a boolean expression on its scalar fields;
both in `backends/filters.py`, the one owner of the filter rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel

from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.models import Filters, SearchSettings

BackendKind = Literal["local", "milvus"]
Ranked = tuple[np.ndarray, np.ndarray]  # sentence ids (int64) and scores (float32), best first


class BackendInfo(BaseModel):
    """The backend an index was built for, as the manifest records it (no secrets)."""

    kind: BackendKind = "local"
    milvus: MilvusConfig | None = None


class SearchBackend(Protocol):
    """Search over the sentences of one index."""

    def bm25(self, question: str, k: int, filters: Filters | None, context_weight: float) -> Ranked:
        """The `k` best sentences by BM25 (own score + `context_weight` x the score with its neighbours)."""
        ...

    def dense(self, vector: np.ndarray, k: int, filters: Filters | None) -> Ranked:
        """The `k` nearest sentences to `vector` by cosine similarity."""
        ...

    def fused(
        self, question: str, vector: np.ndarray, k: int, filters: Filters | None, settings: SearchSettings
    ) -> dict[int, float] | None:
        """Hybrid results fused by the backend itself, or None: fuse `bm25` and `dense` here (`answer/fusion.py`)."""
        ...

    def vectors(self, sentence_ids: np.ndarray) -> np.ndarray:
        """The stored (normalized) vectors of `sentence_ids`, one row each: a quote's similarity to the question."""
        ...

    def similarities(self, sentence_ids: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of each of `sentence_ids` to `vector` (float32): whether a quote is relevant."""
        ...

    def similar_to(self, vector: np.ndarray, floor: float, filters: Filters | None) -> Ranked:
        """Every sentence within `filters` whose cosine similarity to `vector` is at least `floor` (a range search;
        an approximate index may miss some), in no particular order."""
        ...

    def holding(self, tokens: Sequence[str], filters: Filters | None) -> Ranked:
        """Every sentence within `filters` holding each of `tokens` (BM25 tokens), with its BM25 score for them
        (summed in the order of `tokens`)."""
        ...

    def mentions(self, tokens: Sequence[str], filters: Filters | None = None) -> bool:
        """Whether every one of `tokens` (BM25 tokens, `text.tokens.tokenize`) occurs in some sentence within
        `filters` (not necessarily the same sentence; no tokens: True)."""
        ...

    def holds_any(self, tokens: Sequence[str], sentence_ids: np.ndarray) -> np.ndarray:
        """Whether each of `sentence_ids` holds at least one of `tokens` (BM25 tokens): one flag per id."""
        ...

    def tokens_starting(self, prefix: str) -> list[str]:
        """The BM25 tokens of the index that start with `prefix` (a word's stem and its longer forms)."""
        ...

    def close(self) -> None: ...
