"""Hybrid search over a `SentenceIndex`: filters inside each retriever, then fusion."""

from __future__ import annotations

import threading
import time

import numpy as np

from qa_assistant.answer import fusion
from qa_assistant.backends.base import SearchBackend
from qa_assistant.backends.factory import open_backend
from qa_assistant.index.embedder import Embedder
from qa_assistant.index.store import SentenceIndex
from qa_assistant.models import Filters, Hit, SearchSettings, Timings

# Questions encoded at once. The first encoding runs alone: it sets the tokenizer's truncation and padding (a
# mutation that must not overlap another call); later calls only read them, so two may run together (measured:
# 20 clients, distinct questions, 0 errors, p95 579 ms vs 875 ms one at a time on 2 busy cores).
ENCODE_SLOTS = threading.BoundedSemaphore(2)
FIRST_ENCODE = threading.Lock()
_encoded_once = False
QUERY_CACHE = 1024  # recent questions' vectors a retriever remembers
MASK_CACHE = 16  # recent filters' sentence masks a retriever remembers


def _lower_set(values: list[str] | None) -> set[str] | None:
    return {v.strip().lower() for v in values} if values else None


class Retriever:
    def __init__(self, index: SentenceIndex, embedder: Embedder, backend: SearchBackend | None = None):
        self.index = index
        self.embedder = embedder
        self.backend = backend if backend is not None else open_backend(index)  # as the manifest says
        self._query_cache: dict[str, np.ndarray] = {}
        self._mask_cache: dict[str, np.ndarray] = {}
        self._columns: tuple[np.ndarray, list[str], list[str]] | None = None
        self._cache_lock = threading.Lock()
        self.labels = index.labels

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Which sentences pass `filters` (None: all); read-only, and remembered for the last MASK_CACHE filters (a
        question about sides filters each side twice: its search, then its quotes)."""
        if filters is None or filters.is_empty():
            return None
        key = filters.model_dump_json()
        with self._cache_lock:
            mask = self._mask_cache.pop(key, None)
            if mask is not None:
                self._mask_cache[key] = mask  # most recent last
                return mask
        mask = self._compute_mask(filters)
        mask.flags.writeable = False
        with self._cache_lock:
            self._mask_cache[key] = mask
            while len(self._mask_cache) > MASK_CACHE:
                self._mask_cache.pop(next(iter(self._mask_cache)))
        return mask

    def _document_columns(self) -> tuple[np.ndarray, list[str], list[str]]:
        """Each document's date (proleptic ordinal, -1: none), publisher in lower case and id."""
        if self._columns is None:
            docs = self.index.documents
            dates = np.array([d.date.toordinal() if d.date else -1 for d in docs], dtype=np.int64)
            self._columns = (dates, [(d.publisher or "").lower() for d in docs], [d.id for d in docs])
        return self._columns

    def _compute_mask(self, filters: Filters) -> np.ndarray:
        dates, publisher_names, ids = self._document_columns()
        doc_ok = np.ones(len(ids), dtype=bool)
        publishers = _lower_set(filters.publishers)
        if publishers is not None:
            doc_ok &= np.fromiter((name in publishers for name in publisher_names), dtype=bool, count=len(ids))
        if filters.doc_ids:
            wanted = set(filters.doc_ids)
            doc_ok &= np.fromiter((doc_id in wanted for doc_id in ids), dtype=bool, count=len(ids))
        if filters.since:  # a document without a date is outside every period
            doc_ok &= dates >= filters.since.toordinal()
        if filters.until:
            doc_ok &= (dates >= 0) & (dates <= filters.until.toordinal())
        mask = doc_ok[self.index.sentences.doc_index]
        sides = _lower_set(filters.sides)
        if sides is not None:
            mask &= self.labels.with_side(sides)
        speakers = _lower_set(filters.speakers)
        if speakers is not None:
            mask &= self.labels.with_speaker(speakers)
        return mask

    def bm25_search(
        self,
        question: str,
        k: int,
        mask: np.ndarray | None,
        context_weight: float,
        filters: Filters | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best sentences by BM25: each sentence's own score plus `context_weight` times the score of the
        sentence with its neighbours, so a sentence whose neighbours carry the other query words ranks higher."""
        return self.backend.bm25(question, k, filters, mask, context_weight)

    def encode_query(self, question: str) -> np.ndarray:
        """The question's vector (read-only). The last QUERY_CACHE questions are remembered: an evaluation asks each
        question under many settings, and a conversation may ask one again."""
        with self._cache_lock:
            vector = self._query_cache.pop(question, None)
        if vector is None:
            vector = self._encode(question)
        with self._cache_lock:
            self._query_cache[question] = vector  # most recent last
            while len(self._query_cache) > QUERY_CACHE:
                del self._query_cache[next(iter(self._query_cache))]
        return vector

    def _encode(self, question: str) -> np.ndarray:
        global _encoded_once
        if not _encoded_once:
            with FIRST_ENCODE:
                if not _encoded_once:
                    vector = self.embedder.encode([question])[0]
                    _encoded_once = True
                    vector.setflags(write=False)
                    return vector
        with ENCODE_SLOTS:
            vector = self.embedder.encode([question])[0]
        vector.setflags(write=False)
        return vector

    def search(
        self,
        question: str,
        k: int = 10,
        settings: SearchSettings | None = None,
        filters: Filters | None = None,
        query_vector: np.ndarray | None = None,
        timings: Timings | None = None,
    ) -> list[Hit]:
        """The `k` best sentences for `question` under `settings` and `filters`."""
        settings = settings or SearchSettings()
        timings = timings if timings is not None else Timings()
        mask = self.mask(filters) if self.backend.uses_mask else None
        depth = max(k, settings.candidates)
        empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        sparse = dense = empty
        if settings.mode in ("hybrid", "bm25"):
            t0 = time.perf_counter()
            sparse = self.bm25_search(question, depth, mask, settings.bm25_context, filters)
            timings.bm25_ms += (time.perf_counter() - t0) * 1000
        native = None
        if settings.mode in ("hybrid", "dense"):
            if query_vector is None:
                t0 = time.perf_counter()
                query_vector = self.encode_query(question)
                timings.encode_ms += (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            dense = self.backend.dense(query_vector, depth, filters, mask)
            if settings.mode == "hybrid":  # a backend that fuses by itself (Milvus's rankers, when configured)
                native = self.backend.fused(question, query_vector, depth, filters, settings)
            timings.dense_ms += (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        if native is not None:
            fused = native
        elif settings.mode == "bm25":
            fused = dict(zip(sparse[0].tolist(), sparse[1].tolist()))
        elif settings.mode == "dense":
            fused = dict(zip(dense[0].tolist(), dense[1].tolist()))
        elif settings.fusion == "rrf":
            fused = fusion.rrf([sparse, dense], settings.rrf_k)
        else:
            fused = fusion.weighted(sparse, dense, settings.alpha)
        sparse_at = {
            doc: (rank, score) for rank, (doc, score) in enumerate(zip(sparse[0].tolist(), sparse[1].tolist()), 1)
        }
        dense_at = {
            doc: (rank, score) for rank, (doc, score) in enumerate(zip(dense[0].tolist(), dense[1].tolist()), 1)
        }
        hits = []
        table = self.index.sentences
        for sentence_id, score in fusion.ordered(fused)[:k]:
            b_rank, b_score = sparse_at.get(sentence_id, (None, None))
            d_rank, d_score = dense_at.get(sentence_id, (None, None))
            hits.append(
                Hit(
                    sentence_id=sentence_id,
                    doc_id=self.index.document_of(sentence_id).id,
                    start=int(table.start[sentence_id]),
                    end=int(table.end[sentence_id]),
                    score=float(score),
                    bm25_score=b_score,
                    bm25_rank=b_rank,
                    dense_score=d_score,
                    dense_rank=d_rank,
                )
            )
        timings.fuse_ms += (time.perf_counter() - t0) * 1000
        return hits
