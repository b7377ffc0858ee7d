"""Keeping a collection in step with an index: rows of documents removed or changed deleted, of documents added or
changed inserted, unchanged documents left alone (see `backends/milvus/backend.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from qa_assistant.backends.filters import quoted
from qa_assistant.backends.milvus.client import client_for, milvus_errors
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.backends.milvus.rows import document_keys, document_rows
from qa_assistant.backends.milvus.schema import create_collection

INSERT_BATCH = 1000
DELETE_BATCH = 500


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


def prepared_collection(
    client: Any, config: MilvusConfig, dimension: int, say: Callable[[str], None]
) -> dict[str, str]:
    """Create the collection when missing (vectors of `dimension`); doc_id -> doc_key of the documents in it."""
    with milvus_errors(config, "preparing the collection"):
        if not client.has_collection(config.collection):
            made = create_collection(client, config, dimension)
            say(
                f"created Milvus collection '{config.collection}' at {config.uri} ({config.dense_index} vectors"
                + (f", scalar indexes on {', '.join(made)})" if made else ")")
            )
        return stored_keys(client, config)


def delete_documents(client: Any, config: MilvusConfig, doc_ids: list[str]) -> None:
    """Delete every row of the documents `doc_ids` from the collection, in batches."""
    with milvus_errors(config, "deleting rows"):
        for start in range(0, len(doc_ids), DELETE_BATCH):
            batch = doc_ids[start : start + DELETE_BATCH]
            client.delete(config.collection, filter=f"doc_id in [{', '.join(quoted(d) for d in batch)}]")


def sync(index: Any, config: MilvusConfig, say: Callable[[str], None] | None = None) -> dict[str, int]:
    """Bring the collection in step with `index`: create it when missing, delete the rows of documents removed or
    changed, insert those of documents added or changed. Returns the counts (documents kept, deleted, inserted,
    sentences inserted)."""
    from qa_assistant.backends.context import context_rows

    say = say or (lambda _msg: None)
    client = client_for(config)
    stored = prepared_collection(client, config, index.manifest.dimension, say)
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
    delete_documents(client, config, doomed)
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
