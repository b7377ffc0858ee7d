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
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa_assistant.backends.base import Ranked
from qa_assistant.backends.filters import expression
from qa_assistant.backends.local.bm25 import BM25_K1
from qa_assistant.backends.milvus.client import client_for, milvus_errors, pymilvus
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.backends.milvus.fetch import MilvusRecords
from qa_assistant.backends.milvus.rows import row_id
from qa_assistant.backends.milvus.sync import IndexRows
from qa_assistant.errors import QAError, rebuild_command
from qa_assistant.models import Filters, SearchSettings
from qa_assistant.text.tokens import question_words

MAX_LIMIT = 16384  # Milvus's largest top k
HNSW_EF_SEARCH = 128
BM25_SCALE = BM25_K1 + 1  # Milvus's BM25 = ours x (k1 + 1)
OUTPUT = ["doc_id", "ordinal", "doc_key"]
SCORE_CACHE = 8  # questions whose dense search scores are remembered (a quote's similarity)
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
        self.doc_ids = [card.id for card in index.cards]
        self.doc_number = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        self.bounds = index.sentences.document_bounds(len(self.doc_ids))
        # a row of another version of a document is not ours: skipped
        self.keys = index.document_keys if index.document_keys is not None else IndexRows(index).keys
        # Vectors, range searches and the sentences holding words are the collection's: a node holds no vectors and
        # no BM25 files (`index/serving.py`).
        self.records = MilvusRecords(config, client)
        self._scores: OrderedDict[bytes, dict[int, float]] = OrderedDict()  # dense scores of recent questions
        self._lock = threading.Lock()
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

    def row_ids(self, sentence_ids: np.ndarray) -> list[int]:
        """The collection's row ids (`rows.row_id`) of our sentence ids."""
        ids = np.asarray(sentence_ids, dtype=np.int64)
        numbers = np.searchsorted(self.bounds, ids, side="right") - 1
        return [row_id(self.doc_ids[n], int(s - self.bounds[n])) for s, n in zip(ids.tolist(), numbers.tolist())]

    def vectors(self, sentence_ids: np.ndarray) -> np.ndarray:
        """The stored vectors of `sentence_ids`, read by row id (one round trip)."""
        ids = np.asarray(sentence_ids, dtype=np.int64)
        keys = self.row_ids(ids)
        rows = self.records.sentence_fields(keys, ["vector"])
        out = np.empty((len(ids), self.index.manifest.dimension), dtype=np.float32)
        numbers = np.searchsorted(self.bounds, ids, side="right") - 1
        for at, (key, number) in enumerate(zip(keys, numbers.tolist())):
            row = rows.get(key)
            if row is None or row["doc_key"] != self.keys[number]:
                raise QAError(
                    f"the Milvus collection '{self.config.collection}' does not hold sentence {int(ids[at])} as this "
                    "index does: it was updated by a later build; reload the index"
                )
            out[at] = row["vector"]
        return out

    def similarities(self, sentence_ids: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of each sentence to `vector`: the score of a recent dense search for `vector`, else
        its stored vector (read by row id) times `vector`."""
        ids = np.asarray(sentence_ids, dtype=np.int64)
        with self._lock:
            known = self._scores.get(np.asarray(vector, dtype=np.float32).tobytes(), {})
        out = np.array([known.get(int(s), np.nan) for s in ids.tolist()], dtype=np.float32)
        missing = np.flatnonzero(np.isnan(out))
        if len(missing):
            stored = self.vectors(ids[missing])
            out[missing] = [float(row @ vector) for row in stored]
        return out

    def _remember(self, vector: np.ndarray, ids: np.ndarray, scores: np.ndarray) -> None:
        key = np.asarray(vector, dtype=np.float32).tobytes()
        with self._lock:
            known = self._scores.pop(key, {})
            known.update(zip(ids.tolist(), scores.tolist()))
            self._scores[key] = known
            while len(self._scores) > SCORE_CACHE:
                self._scores.popitem(last=False)

    def similar_to(self, vector: np.ndarray, floor: float, filters: Filters | None) -> Ranked:
        """A range search: every sentence within `filters` with cosine similarity >= `floor` (at most MAX_LIMIT)."""
        params = self._dense_params(MAX_LIMIT)
        params["params"] = {**params["params"], "radius": floor - 1e-6, "range_filter": 1.0 + 1e-3}
        data = np.asarray(vector, dtype=np.float32).tolist()
        ids, scores, _ = self._sentence_ids(self._search(data, "vector", MAX_LIMIT, expression(filters), params))
        keep = scores >= floor
        return ids[keep], scores[keep]

    def _holding_one(self, token: str, expr: str, limit: int) -> dict[int, float]:
        """The sentences (within `expr`) whose own text holds `token` (one of ours, searched in the `tokens` field),
        with its BM25 score: a BM25 search for the token alone (a sentence without it is not returned)."""
        ids, scores, _ = self._sentence_ids(self._search(token, "tokens_sparse", limit, expr, self._bm25_params()))
        return dict(zip(ids.tolist(), (scores / BM25_SCALE).tolist()))

    def holding(self, tokens: Sequence[str], filters: Filters | None) -> Ranked:
        """Every sentence within `filters` holding each of `tokens` (at most MAX_LIMIT per token: Milvus's largest
        top k), with its BM25 score for them summed in the order of `tokens`."""
        expr = expression(filters)
        found: dict[int, float] | None = None
        for token in tokens:
            held = self._holding_one(token, expr, MAX_LIMIT)
            found = held if found is None else {s: v + held[s] for s, v in found.items() if s in held}
            if not found:
                break
        ordered = sorted((found or {}).items())
        return np.array([s for s, _ in ordered], dtype=np.int64), np.array([v for _, v in ordered], dtype=np.float32)

    def mentions(self, tokens: Sequence[str], filters: Filters | None = None) -> bool:
        """Whether each of `tokens` occurs in some sentence within `filters`: a BM25 search for it (top 1). (Milvus
        Lite 2.5 has no TEXT_MATCH; on a server the same question is the same search.)"""
        expr = expression(filters)
        return all(self._holding_one(token, expr, 1) for token in tokens)

    def holds_any(self, tokens: Sequence[str], sentence_ids: np.ndarray) -> np.ndarray:
        """Whether each of `sentence_ids` holds any of `tokens` (the sentences holding each looked up as in
        `holding`)."""
        expr = expression(None)
        found: set[int] = set()
        for token in tokens:
            found.update(self._holding_one(token, expr, MAX_LIMIT))
        return np.isin(np.asarray(sentence_ids, dtype=np.int64), np.fromiter(found, dtype=np.int64, count=len(found)))

    def tokens_starting(self, prefix: str) -> list[str]:
        """The tokens of the collection that start with `prefix`, read from the `tokens` field of the sentences
        holding such a token (at most MAX_LIMIT sentences: a node answering from Milvus alone holds no
        vocabulary)."""
        if not prefix or not prefix.replace("-", "").isalnum():
            return []
        with milvus_errors(self.config, "looking up the forms of a word"):
            rows = self.client.query(
                self.config.collection,
                filter=f'tokens like "{prefix}%" or tokens like "% {prefix}%"',
                output_fields=["tokens"],
                limit=MAX_LIMIT,
            )
        return sorted({t for row in rows for t in str(row["tokens"]).split() if t.startswith(prefix)})

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
        self._remember(vector, ids, scores)
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
