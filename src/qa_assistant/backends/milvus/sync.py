"""Keeping a collection in step with an index: rows of documents removed or changed deleted, of documents added or
changed inserted, unchanged documents left alone (see `backends/milvus/backend.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from qa_assistant.backends.filters import quoted
from qa_assistant.backends.milvus.client import client_for, milvus_errors
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.backends.milvus.rows import document_key, document_parts, document_sentence_rows, row_id
from qa_assistant.backends.milvus.schema import create_collection, create_documents_collection, documents_collection

INSERT_BATCH = 1000
DELETE_BATCH = 500


class IndexRows:
    """The rows of an index (`index.store.SentenceIndex`, a layer above, hence Any), one document at a time."""

    def __init__(self, index: Any):
        self.index = index
        table = index.sentences
        self.bounds = table.document_bounds(len(index.documents))
        cluster = table.cluster if table.cluster is not None else np.arange(len(table))
        heads = np.unique(cluster)
        head_ids = {
            int(s): row_id(index.documents[int(table.doc_index[s])].id, int(s - self.bounds[table.doc_index[s]]))
            for s in heads.tolist()
        }
        self.cluster = cluster
        self.head_ids = head_ids
        self.keys = [self._key(i) for i in range(len(index.documents))]

    def _span(self, i: int) -> tuple[int, int]:
        return int(self.bounds[i]), int(self.bounds[i + 1])

    def clusters(self, i: int) -> list[int]:
        lo, hi = self._span(i)
        return [self.head_ids[int(c)] for c in self.cluster[lo:hi].tolist()]

    def _key(self, i: int) -> str:
        lo, hi = self._span(i)
        table = self.index.sentences
        attributions = [self.index.attributions[s] for s in range(lo, hi)]
        return document_key(
            self.index.documents[i], table.start[lo:hi], table.end[lo:hi], attributions, self.clusters(i)
        )

    def sentence_rows(self, i: int) -> list[dict]:
        lo, hi = self._span(i)
        if hi == lo:
            return []
        table = self.index.sentences
        return document_sentence_rows(
            self.index.documents[i],
            self.keys[i],
            table.start[lo:hi].tolist(),
            table.end[lo:hi].tolist(),
            self.index.dense.vector_range(lo, hi - lo),
            [self.index.attributions[s] for s in range(lo, hi)],
            self.clusters(i),
        )


def stored_keys(client: Any, config: MilvusConfig) -> dict[str, str]:
    """doc_id -> doc_key of the documents in the collection, read from the documents collection (a document's parts
    are written after its sentences: one whose writing was cut short is not listed, and is written again)."""
    found: dict[str, str] = {}
    iterator = client.query_iterator(
        documents_collection(config), batch_size=4096, filter="part == 0", output_fields=["doc_id", "doc_key"]
    )
    try:
        while batch := iterator.next():
            found.update({row["doc_id"]: row["doc_key"] for row in batch})
    finally:
        iterator.close()
    return found


def prepared_collection(
    client: Any, config: MilvusConfig, dimension: int, say: Callable[[str], None]
) -> dict[str, str]:
    """Create the collections when missing (vectors of `dimension`); doc_id -> doc_key of the documents in them."""
    with milvus_errors(config, "preparing the collection"):
        if not client.has_collection(config.collection):
            made = create_collection(client, config, dimension)
            say(
                f"created Milvus collection '{config.collection}' at {config.uri} ({config.dense_index} vectors"
                + (f", scalar indexes on {', '.join(made)})" if made else ")")
            )
        create_documents_collection(client, config)  # (made with the sentences; here for one cut short)
        return stored_keys(client, config)


def delete_documents(client: Any, config: MilvusConfig, doc_ids: list[str]) -> None:
    """Delete every row of the documents `doc_ids` from both collections, in batches (the parts first: a document
    without parts is one to write again)."""
    with milvus_errors(config, "deleting rows"):
        for start in range(0, len(doc_ids), DELETE_BATCH):
            batch = f"doc_id in [{', '.join(quoted(d) for d in doc_ids[start : start + DELETE_BATCH])}]"
            client.delete(documents_collection(config), filter=batch)
            client.delete(config.collection, filter=batch)


class RowWriter:
    """Rows inserted in batches of INSERT_BATCH, with the time spent in Milvus's insert; `before`: another writer
    flushed before each batch of this one (a document's parts are written after its sentences)."""

    def __init__(self, client: Any, collection: str, before: RowWriter | None = None):
        self.client = client
        self.before = before
        self.collection = collection
        self.rows: list[dict] = []
        self.written = 0
        self.seconds = 0.0

    def add(self, rows: list[dict]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= INSERT_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.before is not None:
            self.before.flush()
        if self.rows:
            started = time.perf_counter()
            self.client.insert(self.collection, self.rows)
            self.seconds += time.perf_counter() - started
            self.written += len(self.rows)
            self.rows = []


def sync(
    index: Any, config: MilvusConfig, say: Callable[[str], None] | None = None, made: IndexRows | None = None
) -> dict[str, int]:
    """Bring the collections in step with `index`: create them when missing, delete the rows of documents removed or
    changed, insert those of documents added or changed (only theirs). Returns the counts (documents kept,
    deleted, inserted, sentences inserted, milliseconds making rows and in Milvus's insert)."""
    say = say or (lambda _msg: None)
    client = client_for(config)
    stored = prepared_collection(client, config, index.manifest.dimension, say)
    started = time.perf_counter()
    made = made if made is not None else IndexRows(index)
    keys = made.keys
    wanted = {doc.id: key for doc, key in zip(index.documents, keys)}
    gone = [d for d in stored if d not in wanted]
    fresh = [i for i, doc in enumerate(index.documents) if stored.get(doc.id) != keys[i]]
    changed = [index.documents[i].id for i in fresh if index.documents[i].id in stored]
    say(
        f"Milvus: {len(wanted) - len(fresh)} documents unchanged, {len(fresh) - len(changed)} to add, "
        f"{len(changed)} changed, {len(gone)} to remove"
    )
    # A document's earlier rows go first (also those of a document whose writing was cut short: it has no parts).
    doomed = gone + [index.documents[i].id for i in fresh]
    delete_documents(client, config, doomed)
    sentences = RowWriter(client, config.collection)
    parts = RowWriter(client, documents_collection(config), before=sentences)
    rows_seconds = time.perf_counter() - started
    with milvus_errors(config, "inserting rows"):
        for i in fresh:
            started = time.perf_counter()
            rows = made.sentence_rows(i)
            document = document_parts(index.documents[i], keys[i])
            rows_seconds += time.perf_counter() - started
            sentences.add(rows)
            parts.add(document)
        parts.flush()
    return {
        "kept": len(wanted) - len(fresh),
        "deleted": len(doomed),
        "inserted": len(fresh),
        "sentences": sentences.written,
        "rows_ms": round(rows_seconds * 1000),
        "insert_ms": round((sentences.seconds + parts.seconds) * 1000),
    }


def drop(config: MilvusConfig) -> None:
    """Delete the collection (tests, benchmarks)."""
    client = client_for(config)
    with milvus_errors(config, "dropping the collection"):
        for name in (config.collection, documents_collection(config)):
            if client.has_collection(name):
                client.drop_collection(name)
