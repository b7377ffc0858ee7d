"""The retrieval backend: what answers "the best sentences for this question (within these filters)".

`LocalBackend` searches the index folder's own files (bm25s + FAISS), the default. `MilvusBackend`
(`milvus_backend.py`) sends the same searches to a Milvus collection (a server, a cluster or a Milvus Lite file).
Either way the index folder keeps the documents, sentence offsets, attributions and clusters, so quotes are
`document.text[start:end]` and everything above retrieval (answers, groups, abstention, UI, eval) is unchanged.

A backend returns (sentence ids, scores) best first, with the filters applied inside each search: the local one
through a mask over sentences, Milvus through a boolean expression on its scalar fields.
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel

from .bm25_index import top_k
from .milvus_config import MilvusConfig
from .models import Filters, SearchSettings

BackendKind = Literal["local", "milvus"]
Ranked = tuple[np.ndarray, np.ndarray]  # sentence ids (int64) and scores (float32), best first


class BackendInfo(BaseModel):
    """The backend an index was built for, as the manifest records it (no secrets)."""

    kind: BackendKind = "local"
    milvus: MilvusConfig | None = None


class SearchBackend(Protocol):
    """Search over the sentences of one index."""

    uses_mask: bool  # True: wants the sentence mask of the filters; False: reads the filters themselves

    def bm25(
        self, question: str, k: int, filters: Filters | None, mask: np.ndarray | None, context_weight: float
    ) -> Ranked:
        """The `k` best sentences by BM25 (own score + `context_weight` x the score with its neighbours)."""
        ...

    def dense(self, vector: np.ndarray, k: int, filters: Filters | None, mask: np.ndarray | None) -> Ranked:
        """The `k` nearest sentences to `vector` by cosine similarity."""
        ...

    def fused(
        self, question: str, vector: np.ndarray, k: int, filters: Filters | None, settings: SearchSettings
    ) -> dict[int, float] | None:
        """Hybrid results fused by the backend itself, or None: fuse `bm25` and `dense` here (`fusion.py`)."""
        ...

    def close(self) -> None: ...


class LocalBackend:
    """The index folder's bm25s and FAISS files (what `Retriever` always did)."""

    uses_mask = True

    def __init__(self, index):  # index: store.SentenceIndex (not imported: store imports this module)
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


def open_backend(index) -> SearchBackend:
    """The backend recorded in `index.manifest` (local when none is)."""
    info: BackendInfo = index.manifest.backend
    if info.kind == "local" or info.milvus is None:
        return LocalBackend(index)
    from .milvus_backend import MilvusBackend

    return MilvusBackend.open(info.milvus, index)
