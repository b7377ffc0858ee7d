"""Hybrid search over a `SentenceIndex`: filters inside each retriever, then fusion."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from qa_assistant.answer import fusion
from qa_assistant.backends.base import SearchBackend
from qa_assistant.backends.factory import open_backend
from qa_assistant.backends.filters import FilterMasks
from qa_assistant.index.embedder import Embedder
from qa_assistant.index.store import SentenceIndex
from qa_assistant.models import Filters, FusionWeights, Hit, SearchSettings, Timings
from qa_assistant.text.tokens import fold_accents, tokenize, word_tokens, written_words

# Questions encoded at once. The first encoding runs alone: it sets the tokenizer's truncation and padding (a
# mutation that must not overlap another call); later calls only read them, so two may run together (measured:
# 20 clients, distinct questions, 0 errors, p95 579 ms vs 875 ms one at a time on 2 busy cores).
ENCODE_SLOTS = threading.BoundedSemaphore(2)
FIRST_ENCODE = threading.Lock()
_encoded_once = False
QUERY_CACHE = 1024  # recent questions' vectors a retriever remembers
NAME_SAMPLE = 8  # sentences read to tell whether a question word the index holds is written there as a name
NAME_CACHE = 4096  # tokens a retriever remembers that answer


class Retriever:
    def __init__(self, index: SentenceIndex, embedder: Embedder, backend: SearchBackend | None = None):
        self.index = index
        self.embedder = embedder
        self.masks = FilterMasks(index)
        self.backend = backend if backend is not None else open_backend(index, self.masks)  # as the manifest says
        self._query_cache: dict[str, np.ndarray] = {}
        self._name_tokens: dict[str, bool] = {}
        self._weights: dict[tuple[str, bool], FusionWeights] = {}  # recent questions' adaptive weights
        self._cache_lock = threading.Lock()

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Which sentences pass `filters` (None: all); read-only, remembered (`backends.filters.FilterMasks`)."""
        return self.masks.mask(filters)

    def query_terms(self, question: str, topic: bool = False) -> list[fusion.QueryTerm]:
        """The BM25 terms of `question`, each with the word it was written as, how many sentences hold it, and whether
        it is a name: written as one in the question, or, when the question does not tell (its first word, or any
        word of a question that writes no name with a capital, as in 'tovuz attacks'), written as one where the
        index holds it. A `topic` is cut from inside a question: its first word is written as the user wrote it."""
        bm25 = self.index.terms
        words = word_tokens(question, query=True)
        initial = 0 if not topic and words else -1  # the position of a sentence-initial word (-1: none)
        cased = fusion.writes_names_in_capitals(
            [word for position, (word, _t) in enumerate(words) if position != initial]
        )
        terms = []
        for position, (word, tokens) in enumerate(words):
            written = fusion.is_name(word, first=position == initial)
            untold = position == initial or not cased
            for token in tokens:
                held = bm25.unit_frequency(token)
                name = written or (untold and held > 0 and self._written_as_name(token))
                terms.append(fusion.QueryTerm(word, token, held, name))
        return terms

    def _written_as_name(self, token: str) -> bool:
        """Whether the first NAME_SAMPLE sentences holding `token` (in index order) write it as a name more often than
        not, leaving out sentence-initial words (capitalized anyway). Remembered per token."""
        known = self._name_tokens.get(token)
        if known is None:
            known = self._read_as_name(token)
            self._remember(self._name_tokens, token, known, NAME_CACHE)
        return known

    def _read_as_name(self, token: str) -> bool:
        table = self.index.sentences
        documents = self.index.documents
        as_name = other = 0
        head = token[:2]
        if self.index.bm25 is not None:
            holders = self.index.bm25.units_holding(token, NAME_SAMPLE)
        else:  # (a node answering from Milvus alone: the first in index order of those Milvus finds)
            holders = np.sort(self.backend.holding([token], None)[0])[:NAME_SAMPLE]
            self.index.prefetch(holders.tolist())
        for sentence_id in holders.tolist():
            text = documents[int(table.doc_index[sentence_id])].text[
                int(table.start[sentence_id]) : int(table.end[sentence_id])
            ]
            for position, word in enumerate(written_words(text)):
                # (a stem keeps its word's first letters: only a word holding them is stemmed to compare)
                if position > 0 and head in fold_accents(word).lower() and token in tokenize(word):
                    if fusion.is_name(word, first=False):
                        as_name += 1
                    else:
                        other += 1
        return as_name > other

    def fusion_weights(self, question: str, topic: bool = False) -> FusionWeights:
        """Adaptive fusion's weights for `question` on this index (the same question, the same weights); `topic`:
        it is the topic a question about sides names, not a question (`fusion.ADAPTIVE_TOPIC_ALPHA`). The last
        QUERY_CACHE are remembered: an answer searches its question once per side and period."""
        key = (question, topic)
        with self._cache_lock:
            weights = self._weights.get(key)
        if weights is None:
            weights = fusion.adaptive_weights(self.query_terms(question, topic), self.index.terms.units, topic)
            self._remember(self._weights, key, weights, QUERY_CACHE)
        return weights

    def encode_query(self, question: str) -> np.ndarray:
        """The question's vector (read-only). The last QUERY_CACHE questions are remembered: an evaluation asks each
        question under many settings, and a conversation may ask one again."""
        with self._cache_lock:
            vector = self._query_cache.pop(question, None)
        if vector is None:
            vector = self._encode(question)
        self._remember(self._query_cache, question, vector, QUERY_CACHE)  # most recent last
        return vector

    def _remember(self, cache: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
        """Put `value` last in `cache` (a retriever's memory of recent questions or words), the oldest dropped
        beyond `limit`."""
        with self._cache_lock:
            cache[key] = value
            while len(cache) > limit:
                del cache[next(iter(cache))]

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
        topic: bool = False,
    ) -> list[Hit]:
        """The `k` best sentences for `question` under `settings` and `filters`; `topic`: `question` is the topic of a
        question about sides (adaptive fusion weighs its words as a topic's, `fusion_weights`)."""
        settings = settings or SearchSettings()
        timings = timings if timings is not None else Timings()
        depth = max(k, settings.candidates)
        empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        sparse = dense = empty
        if settings.mode in ("hybrid", "bm25"):
            t0 = time.perf_counter()
            sparse = self.backend.bm25(question, depth, filters, settings.bm25_context)
            timings.bm25_ms += (time.perf_counter() - t0) * 1000
        native = None
        weights: FusionWeights | None = None
        if settings.mode in ("hybrid", "dense"):
            if query_vector is None:
                t0 = time.perf_counter()
                query_vector = self.encode_query(question)
                timings.encode_ms += (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            dense = self.backend.dense(query_vector, depth, filters)
            if settings.mode == "hybrid" and settings.fusion != "adaptive":  # a backend's own fusion (Milvus rankers)
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
        elif settings.fusion == "adaptive":
            weights = self.fusion_weights(question, topic)
            fused = fusion.adaptive(sparse, dense, weights)
        else:
            fused = fusion.weighted(sparse, dense, settings.alpha)
        hits = self.hits(fused, sparse, dense, k, weights)
        timings.fuse_ms += (time.perf_counter() - t0) * 1000
        return hits

    def hits(
        self,
        fused: dict[int, float],
        sparse: tuple[np.ndarray, np.ndarray],
        dense: tuple[np.ndarray, np.ndarray],
        k: int,
        weights: FusionWeights | None,
    ) -> list[Hit]:
        """The `k` best of `fused` as hits, each with its BM25 and dense rank and score (`sparse`, `dense`)."""
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
                    fusion_weights=weights,
                )
            )
        return hits
