"""The Milvus backend: an index's searches answered by a Milvus collection (server, cluster or Milvus Lite file).

One row per sentence: `doc_id` and `ordinal` (the sentence's number within its document: our sentence id is the
document's first sentence id plus it), `text` and `context` (the sentence, and it with its neighbours, as the
local `bm25_context`), each analyzed and turned into a BM25 sparse vector by a Milvus BM25 function, the dense
`vector` (the index's model), and the scalar fields the filters read: `publisher`, `doc_side`, `speaker_side`,
`speaker` (lower case) and `date_day` (days since 1970-01-01). Filters go into each search as a boolean
expression, so they apply before the top k is cut, as the local mask does.

Analyzer: Milvus's standard tokenizer, lowercase, ASCII folding, our stop words (`tokens.STOPWORDS`) and the
English Snowball stemmer — as `tokens.tokenize`, except that the standard tokenizer splits on Unicode word
boundaries (it keeps "don't", "1.5" and "U.S" as one token, where ours gives "don" "t", "1" "5"). Questions lose
their question-framing words ("what did … say") before they are sent, as locally.

BM25 with context: the `k` best by the sentence's own BM25 and the `k` best by its context's are fetched, then the
missing half of each candidate's score is looked up (a search restricted to those rows), and candidates are ranked
by own + weight x context. A sentence in neither top k is not considered (locally every sentence is scored).
Milvus's BM25 is the same formula as ours (Lucene IDF, k1 1.5, b 0.75) times (k1 + 1); scores are divided by that.

Incremental: each document's rows carry `doc_key`, a hash of the document and its sentences' offsets and labels.
A sync deletes the rows of documents gone or changed and inserts those of documents new or changed; unchanged
documents are left alone (the same documents `index/reuse.py` keeps locally).

Where: the searches here; clients and errors `client.py`, the schema `schema.py`, the rows `rows.py`, the sync
`sync.py`; the filter expression `backends/filters.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa_assistant.backends.base import Ranked
from qa_assistant.backends.filters import expression
from qa_assistant.backends.local.backend import LocalBackend
from qa_assistant.backends.local.bm25 import BM25_K1
from qa_assistant.backends.milvus.client import client_for, milvus_errors, pymilvus
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.backends.milvus.sync import IndexRows
from qa_assistant.errors import QAError, rebuild_command
from qa_assistant.models import Filters, SearchSettings
from qa_assistant.text.tokens import question_words

MAX_LIMIT = 16384  # Milvus's largest top k
HNSW_EF_SEARCH = 128
BM25_SCALE = BM25_K1 + 1  # Milvus's BM25 = ours x (k1 + 1)
OUTPUT = ["doc_id", "ordinal", "doc_key"]
log = logging.getLogger(__name__)


def question_text(question: str) -> str:
    """The question as sent to Milvus's analyzer: words, without the question-framing ones."""
    return " ".join(question_words(question))


class MilvusBackend:
    """Searches of one index in its Milvus collection."""

    def __init__(self, config: MilvusConfig, client: Any, index: Any):
        self.config = config
        self.client = client
        self.index = index
        self.doc_number = {doc.id: i for i, doc in enumerate(index.documents)}
        self.bounds = index.sentences.document_bounds(len(index.documents))
        self.keys = IndexRows(index).keys  # a row of another version of a document is not ours: skipped
        # Vectors, range searches and tokens are read from the index folder's files, which hold the same: a quote's
        # similarity needs no round trip to the server, and `mentions` and `holding` keep to our own tokens
        # (Milvus's analyzer splits a few words otherwise, see above).
        self.files = LocalBackend(index)
        self._warned = False

    @classmethod
    def open(cls, config: MilvusConfig, index: Any, check: bool = True) -> MilvusBackend:
        """The collection of `index` (an index folder's `SentenceIndex`); with `check`, its row count must be the
        index's sentence count."""
        client = client_for(config)
        backend = cls(config, client, index)
        if check:
            options = ("--backend", "milvus", "--milvus-uri", config.uri, "--collection", config.collection)
            rebuild = f"rebuild with: {rebuild_command('INDEX', index.manifest.corpus_dir, *options)}"
            with milvus_errors(config, "opening the collection"):
                exists = client.has_collection(config.collection)
            if not exists:
                raise QAError(f"the Milvus collection '{config.collection}' at {config.uri} does not exist; {rebuild}")
            rows = backend.count()
            if rows != index.manifest.sentences:
                raise QAError(
                    f"the Milvus collection '{config.collection}' at {config.uri} holds {rows} sentences, the index "
                    f"{index.manifest.sentences}; {rebuild}"
                )
        return backend

    def count(self) -> int:
        with milvus_errors(self.config, "counting rows"):
            result = self.client.query(self.config.collection, filter="", output_fields=["count(*)"])
        return int(result[0]["count(*)"]) if result else 0

    def close(self) -> None:
        pass  # the client is shared by the process (see `client_for`)

    def vectors(self, sentence_ids: np.ndarray) -> np.ndarray:
        return self.files.vectors(sentence_ids)

    def similar_to(self, vector: np.ndarray, floor: float, filters: Filters | None) -> Ranked:
        return self.files.similar_to(vector, floor, filters)

    def holding(self, tokens: Sequence[str], filters: Filters | None) -> Ranked:
        return self.files.holding(tokens, filters)

    def mentions(self, tokens: Sequence[str], filters: Filters | None = None) -> bool:
        return self.files.mentions(tokens, filters)

    # ------------------------------------------------------------------ search

    def _sentence_ids(self, hits: list[dict]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Our sentence ids, the scores and Milvus's primary keys of a result list. A row of a document this index
        does not hold, or holds in another version (the collection was updated by a later build while this index
        was open), is left out: its ordinal would point at another sentence."""
        ids, scores, keys = [], [], []
        for hit in hits:
            entity = hit["entity"]
            number = self.doc_number.get(entity["doc_id"])
            if number is None or entity.get("doc_key") != self.keys[number]:
                if not self._warned:
                    log.warning(
                        "the Milvus collection '%s' holds document '%s' in a version this index does not have: the "
                        "collection was updated by a later build (reload the index) or is shared with another index",
                        self.config.collection,
                        entity["doc_id"],
                    )
                    self._warned = True
                continue
            ids.append(int(self.bounds[number]) + int(entity["ordinal"]))
            scores.append(float(hit["distance"]))
            keys.append(int(hit["id"]))
        return np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32), keys

    def _search(self, data: Any, field: str, k: int, expr: str, params: dict) -> list[dict]:
        with milvus_errors(self.config, f"searching {field}"):
            result = self.client.search(
                self.config.collection,
                data=[data],
                anns_field=field,
                limit=min(k, MAX_LIMIT),
                filter=expr,
                search_params=params,
                output_fields=OUTPUT,
            )
        return list(result[0]) if result else []

    def _bm25_params(self) -> dict:
        return {"metric_type": "BM25", "params": {"drop_ratio_search": 0.0}}

    def _dense_params(self, k: int) -> dict:
        kind = self.config.dense_index
        params: dict[str, Any] = {}
        if kind == "HNSW":
            params = {"ef": max(k, HNSW_EF_SEARCH)}
        elif kind == "IVF_FLAT":
            params = {"nprobe": 16}
        return {"metric_type": "IP", "params": params}

    def bm25(self, question: str, k: int, filters: Filters | None, context_weight: float) -> Ranked:
        text = question_text(question)
        empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        if not text:
            return empty
        expr = expression(filters)
        own_ids, own_scores, own_keys = self._sentence_ids(self._search(text, "sparse", k, expr, self._bm25_params()))
        if context_weight <= 0:
            return own_ids, own_scores / BM25_SCALE
        ctx_ids, ctx_scores, ctx_keys = self._sentence_ids(
            self._search(text, "context_sparse", k, expr, self._bm25_params())
        )
        own = dict(zip(own_ids.tolist(), own_scores.tolist()))
        ctx = dict(zip(ctx_ids.tolist(), ctx_scores.tolist()))
        key_of = dict(zip(own_ids.tolist(), own_keys)) | dict(zip(ctx_ids.tolist(), ctx_keys))
        own.update(self._lookup(text, "sparse", [key_of[s] for s in ctx if s not in own]))
        ctx.update(self._lookup(text, "context_sparse", [key_of[s] for s in own if s not in ctx]))
        combined = {s: (own.get(s, 0.0) + context_weight * ctx.get(s, 0.0)) / BM25_SCALE for s in key_of}
        ranked = sorted(((-score, s) for s, score in combined.items() if score > 0))[:k]  # ties by sentence id
        return (
            np.asarray([s for _, s in ranked], dtype=np.int64),
            np.asarray([-score for score, _ in ranked], dtype=np.float32),
        )

    def _lookup(self, text: str, field: str, keys: list[int]) -> dict[int, float]:
        """The `field` BM25 scores of the rows `keys` (absent: no query word in them, score 0)."""
        if not keys:
            return {}
        hits = self._search(text, field, len(keys), f"pk in {sorted(keys)}", self._bm25_params())
        ids, scores, _ = self._sentence_ids(hits)
        return dict(zip(ids.tolist(), scores.tolist()))

    def dense(self, vector: np.ndarray, k: int, filters: Filters | None) -> Ranked:
        hits = self._search(
            np.asarray(vector, dtype=np.float32).tolist(), "vector", k, expression(filters), self._dense_params(k)
        )
        ids, scores, _ = self._sentence_ids(hits)
        return ids, scores

    def fused(
        self, question: str, vector: np.ndarray, k: int, filters: Filters | None, settings: SearchSettings
    ) -> dict[int, float] | None:
        """With `fusion: milvus`, one hybrid search fused by RRFRanker(rrf_k) or WeightedRanker(1 - alpha, alpha)
        (the sentence's own BM25 only: a ranker takes no context score); else None."""
        if self.config.fusion != "milvus":
            return None
        module = pymilvus()
        expr = expression(filters)
        limit = min(k, MAX_LIMIT)
        requests = []
        weights = []
        text = question_text(question)
        if text:
            requests.append(module.AnnSearchRequest([text], "sparse", self._bm25_params(), limit, expr=expr or None))
            weights.append(1 - settings.alpha)
        dense_params = self._dense_params(k)
        requests.append(
            module.AnnSearchRequest(
                [np.asarray(vector, dtype=np.float32).tolist()], "vector", dense_params, limit, expr=expr or None
            )
        )
        weights.append(settings.alpha)
        ranker = module.RRFRanker(settings.rrf_k) if settings.fusion == "rrf" else module.WeightedRanker(*weights)
        with milvus_errors(self.config, "a hybrid search"):
            result = self.client.hybrid_search(
                self.config.collection, requests, ranker, limit=limit, output_fields=OUTPUT
            )
        ids, scores, _ = self._sentence_ids(list(result[0]) if result else [])
        return dict(zip(ids.tolist(), scores.tolist()))
