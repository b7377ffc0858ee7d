"""Reading rows back by key: sentences' fields by their row ids (`rows.row_id`) and whole documents from the
documents collection. What a node answering from Milvus alone reads instead of the index folder's files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qa_assistant.backends.filters import quoted
from qa_assistant.backends.milvus.client import client_for, milvus_errors
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.backends.milvus.rows import joined_document
from qa_assistant.backends.milvus.schema import documents_collection
from qa_assistant.errors import QAError
from qa_assistant.models import Document

GET_BATCH = 1000  # row ids per `get`
DOCUMENT_BATCH = 64  # documents per query


class MilvusRecords:
    """Rows of one collection (and its documents collection) read by key."""

    def __init__(self, config: MilvusConfig, client: Any | None = None):
        self.config = config
        self.client = client if client is not None else client_for(config)

    def sentence_fields(self, row_ids: Sequence[int], fields: list[str]) -> dict[int, dict[str, Any]]:
        """`fields` of the rows `row_ids` (with `doc_key`), by row id; a row id not in the collection is missing."""
        found: dict[int, dict[str, Any]] = {}
        unique = list(dict.fromkeys(int(r) for r in row_ids))
        with milvus_errors(self.config, "reading rows"):
            for at in range(0, len(unique), GET_BATCH):
                batch = unique[at : at + GET_BATCH]
                for row in self.client.get(self.config.collection, ids=batch, output_fields=[*fields, "doc_key"]):
                    found[int(row["pk"])] = row
        return found

    def documents(self, doc_ids: Sequence[str], keys: dict[str, str] | None = None) -> dict[str, Document]:
        """The documents `doc_ids`, by id. With `keys` (doc id -> doc_key), a document stored in another version is
        an error naming what to do (the collection was rebuilt after this node read its index folder)."""
        found: dict[str, Document] = {}
        wanted = list(dict.fromkeys(doc_ids))
        name = documents_collection(self.config)
        with milvus_errors(self.config, "reading documents"):
            for at in range(0, len(wanted), DOCUMENT_BATCH):
                batch = wanted[at : at + DOCUMENT_BATCH]
                rows = self.client.query(
                    name,
                    filter=f"doc_id in [{', '.join(quoted(d) for d in batch)}]",
                    output_fields=["doc_id", "doc_key", "part", "parts", "data"],
                )
                by_doc: dict[str, list[dict[str, Any]]] = {}
                for row in rows:
                    by_doc.setdefault(row["doc_id"], []).append(row)
                for doc_id, parts in by_doc.items():
                    if keys is not None and any(row["doc_key"] != keys.get(doc_id) for row in parts):
                        raise QAError(
                            f"the Milvus collection '{name}' holds document '{doc_id}' in a version this index does not "
                            "have: the collection was updated by a later build; copy that build's index folder here "
                            "(or reload it) and open it again"
                        )
                    document = joined_document(parts)
                    if document is not None:
                        found[doc_id] = document
        missing = [d for d in wanted if d not in found]
        if missing:
            raise QAError(
                f"the Milvus collection '{name}' at {self.config.uri} lacks {len(missing)} documents of this index "
                f"(first: '{missing[0]}'); build the index again with --backend milvus to fill it"
            )
        return found
