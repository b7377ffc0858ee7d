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
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from qa_assistant.backends.base import Ranked
from qa_assistant.backends.filters import day, expression, quoted
from qa_assistant.backends.local.backend import LocalBackend
from qa_assistant.backends.local.bm25 import BM25_B, BM25_K1
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.errors import QAError, rebuild_command
from qa_assistant.extras import missing_extra
from qa_assistant.models import Filters, SearchSettings, join_soft_hyphens
from qa_assistant.text.tokens import STOPWORDS, question_words

MAX_TEXT_BYTES = 65535
MAX_LIMIT = 16384  # Milvus's largest top k
INSERT_BATCH = 1000
DELETE_BATCH = 500
HNSW_PARAMS = {"M": 32, "efConstruction": 200}
HNSW_EF_SEARCH = 128
ANALYZER = {
    "tokenizer": "standard",
    "filter": [
        "lowercase",
        "asciifolding",
        {"type": "stop", "stop_words": sorted(STOPWORDS)},
        {"type": "stemmer", "language": "english"},
    ],
}
BM25_SCALE = BM25_K1 + 1  # Milvus's BM25 = ours x (k1 + 1)
SCALAR_INDEXES = {"doc_id": "INVERTED", "publisher": "INVERTED", "speaker_side": "INVERTED", "date_day": "STL_SORT"}
OUTPUT = ["doc_id", "ordinal", "doc_key"]
log = logging.getLogger(__name__)

_clients: dict[tuple[str, str, str], Any] = {}
_clients_lock = threading.Lock()


def pymilvus() -> Any:
    """The pymilvus module, or a QAError saying how to install it."""
    try:
        import pymilvus as module
    except ImportError:
        raise missing_extra("milvus", ["pymilvus"]) from None
    return module


@contextmanager
def milvus_errors(config: MilvusConfig, doing: str) -> Iterator[None]:
    """Turn a pymilvus failure into a QAError naming the URI, the collection and what to do."""
    module = pymilvus()
    try:
        yield
    except module.exceptions.MilvusException as exc:
        hint = (
            "check that the Milvus Lite file can be written"
            if config.is_lite
            else f"check that Milvus is running at {config.uri} (and the token in ${config.token_env}, if it needs one)"
        )
        raise QAError(
            f"Milvus failed while {doing} (collection '{config.collection}' at {config.uri}): "
            f"{getattr(exc, 'message', exc)}; {hint}"
        ) from None


def client_for(config: MilvusConfig) -> Any:
    """One client per URI, database and token in this process (a Milvus Lite file is opened once)."""
    module = pymilvus()
    key = (config.uri, config.db_name, config.token())
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if config.is_lite and not config.uri.endswith(".db"):
                raise QAError(f"Milvus Lite file '{config.uri}' must end in .db (or give a server: http://host:19530)")
            try:
                client = module.MilvusClient(
                    uri=config.uri, token=config.token(), db_name=config.db_name, timeout=config.timeout
                )
            except Exception as exc:  # the connection fails in several ways (MilvusException, OSError, gRPC)
                raise QAError(
                    f"cannot reach Milvus at {config.uri} ({type(exc).__name__}: {exc}); start the server (see the "
                    "README's Milvus section) or give another --milvus-uri"
                ) from None
            _clients[key] = client
        return client


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
        self.keys = document_keys(index)  # a row of another version of a document is not ours: skipped
        # Vectors and tokens are read from the index folder's files, which hold the same: a quote's similarity
        # needs no round trip to the server, and `mentions` keeps to our own tokens (Milvus's analyzer splits a
        # few words otherwise, see above).
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


def create_collection(client: Any, config: MilvusConfig, dimension: int) -> list[str]:
    """Make the collection (schema, BM25 functions, vector indexes); returns the scalar indexes made (Milvus Lite
    makes none: it filters by scanning)."""
    module = pymilvus()
    types = module.DataType
    schema = client.create_schema(auto_id=True, enable_dynamic_field=False)
    schema.add_field("pk", types.INT64, is_primary=True)
    schema.add_field("doc_id", types.VARCHAR, max_length=2048)
    schema.add_field("doc_key", types.VARCHAR, max_length=64)
    schema.add_field("ordinal", types.INT32)
    for name in ("text", "context"):
        schema.add_field(name, types.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True, analyzer_params=ANALYZER)
    schema.add_field("sparse", types.SPARSE_FLOAT_VECTOR)
    schema.add_field("context_sparse", types.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", types.FLOAT_VECTOR, dim=dimension)
    for name in ("publisher", "doc_side", "speaker_side"):
        schema.add_field(name, types.VARCHAR, max_length=1024)
    schema.add_field("speaker", types.VARCHAR, max_length=4096)
    schema.add_field("date_day", types.INT32)
    for source, target in (("text", "sparse"), ("context", "context_sparse")):
        schema.add_function(
            module.Function(
                name=f"{source}_bm25",
                function_type=module.FunctionType.BM25,
                input_field_names=[source],
                output_field_names=[target],
            )
        )
    params = client.prepare_index_params()
    for field in ("sparse", "context_sparse"):
        params.add_index(
            field_name=field,
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
        )
    kind = config.dense_index
    params.add_index(
        field_name="vector",
        index_type=kind,
        metric_type="IP",
        params=HNSW_PARAMS if kind == "HNSW" else ({"nlist": 1024} if kind == "IVF_FLAT" else {}),
    )
    made = []
    if not config.is_lite:  # (made with the collection, before it is loaded)
        for field, scalar in SCALAR_INDEXES.items():
            params.add_index(field_name=field, index_type=scalar)
            made.append(field)
    client.create_collection(config.collection, schema=schema, index_params=params, consistency_level="Strong")
    return made


def document_keys(index: Any) -> list[str]:
    """Per document: a hash of the document, its sentences' offsets and their side and speaker labels."""
    labels = index.labels
    table = index.sentences
    bounds = table.document_bounds(len(index.documents))
    keys = []
    for i, doc in enumerate(index.documents):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        digest = hashlib.sha256(doc.model_dump_json().encode("utf-8"))
        digest.update(np.asarray(table.start[lo:hi], dtype=np.int64).tobytes())
        digest.update(np.asarray(table.end[lo:hi], dtype=np.int64).tobytes())
        digest.update(np.asarray(labels.side[lo:hi], dtype=np.int32).tobytes())
        digest.update(np.asarray(labels.speaker[lo:hi], dtype=np.int32).tobytes())
        digest.update("\x1f".join(labels.side_names + ["\x1e"] + labels.speaker_names).encode("utf-8"))
        keys.append(digest.hexdigest()[:32])
    return keys


def stored_keys(client: Any, config: MilvusConfig) -> dict[str, str]:
    """doc_id -> doc_key of the documents in the collection (read from each document's first row)."""
    found: dict[str, str] = {}
    iterator = client.query_iterator(
        config.collection, batch_size=4096, filter="ordinal == 0", output_fields=["doc_id", "doc_key"]
    )
    try:
        while batch := iterator.next():
            found.update({row["doc_id"]: row["doc_key"] for row in batch})
    finally:
        iterator.close()
    return found


def _clip(text: str) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= MAX_TEXT_BYTES else data[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")


def document_rows(index: Any, i: int, key: str, first: np.ndarray, last: np.ndarray, bounds: np.ndarray) -> list[dict]:
    """The collection rows of document `i` of `index` (`bounds`: `SentenceTable.document_bounds`)."""
    doc = index.documents[i]
    table = index.sentences
    lo, hi = int(bounds[i]), int(bounds[i + 1])
    if hi == lo:
        return []
    # searched as read: words split by a soft hyphen at a PDF line end joined
    texts = [join_soft_hyphens(doc.text[int(table.start[s]) : int(table.end[s])]) for s in range(lo, hi)]
    vectors = index.dense.vector_range(lo, hi - lo)
    labels = index.labels
    name = lambda names, code: names[code].lower() if code >= 0 else ""  # noqa: E731
    rows = []
    for j, s in enumerate(range(lo, hi)):
        context = " ".join(texts[int(first[s]) - lo : int(last[s]) - lo + 1])
        rows.append(
            {
                "doc_id": doc.id,
                "doc_key": key,
                "ordinal": j,
                "text": _clip(texts[j]),
                "context": _clip(context),
                "vector": vectors[j].tolist(),
                "publisher": (doc.publisher or "").lower(),
                "doc_side": (doc.side or "").lower(),
                "speaker_side": name(labels.side_names, int(labels.side[s])),
                "speaker": name(labels.speaker_names, int(labels.speaker[s])),
                "date_day": day(doc.date),
            }
        )
    return rows


def sync(index: Any, config: MilvusConfig, say: Callable[[str], None] | None = None) -> dict[str, int]:
    """Bring the collection in step with `index`: create it when missing, delete the rows of documents removed or
    changed, insert those of documents added or changed. Returns the counts (documents kept, deleted, inserted,
    sentences inserted)."""
    from qa_assistant.backends.context import context_rows

    say = say or (lambda _msg: None)
    client = client_for(config)
    with milvus_errors(config, "preparing the collection"):
        if not client.has_collection(config.collection):
            made = create_collection(client, config, index.manifest.dimension)
            say(
                f"created Milvus collection '{config.collection}' at {config.uri} ({config.dense_index} vectors"
                + (f", scalar indexes on {', '.join(made)})" if made else ")")
            )
        stored = stored_keys(client, config)
    keys = document_keys(index)
    wanted = {doc.id: key for doc, key in zip(index.documents, keys)}
    gone = [d for d in stored if d not in wanted]
    fresh = [i for i, doc in enumerate(index.documents) if stored.get(doc.id) != keys[i]]
    changed = [index.documents[i].id for i in fresh if index.documents[i].id in stored]
    say(
        f"Milvus: {len(wanted) - len(fresh)} documents unchanged, {len(fresh) - len(changed)} to add, "
        f"{len(changed)} changed, {len(gone)} to remove"
    )
    # A document's earlier rows go first (also those of a document whose insert was cut short: it has no key yet).
    doomed = gone + [index.documents[i].id for i in fresh]
    with milvus_errors(config, "deleting rows"):
        for start in range(0, len(doomed), DELETE_BATCH):
            batch = doomed[start : start + DELETE_BATCH]
            client.delete(config.collection, filter=f"doc_id in [{', '.join(quoted(d) for d in batch)}]")
    first, last = context_rows(index.sentences.doc_index)
    bounds = index.sentences.document_bounds(len(index.documents))
    rows: list[dict] = []
    inserted = 0
    spent = {"rows": 0.0, "insert": 0.0}  # seconds making rows here, and in Milvus's insert (analysis, BM25, storage)

    def insert() -> None:
        started = time.perf_counter()
        client.insert(config.collection, rows)
        spent["insert"] += time.perf_counter() - started

    with milvus_errors(config, "inserting rows"):
        for i in fresh:
            started = time.perf_counter()
            rows.extend(document_rows(index, i, keys[i], first, last, bounds))
            spent["rows"] += time.perf_counter() - started
            if len(rows) >= INSERT_BATCH:
                insert()
                inserted += len(rows)
                rows = []
        if rows:
            insert()
            inserted += len(rows)
    return {
        "kept": len(wanted) - len(fresh),
        "deleted": len(doomed),
        "inserted": len(fresh),
        "sentences": inserted,
        "rows_ms": round(spent["rows"] * 1000),
        "insert_ms": round(spent["insert"] * 1000),
    }


def drop(config: MilvusConfig) -> None:
    """Delete the collection (tests, benchmarks)."""
    client = client_for(config)
    with milvus_errors(config, "dropping the collection"):
        if client.has_collection(config.collection):
            client.drop_collection(config.collection)
