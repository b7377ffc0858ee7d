"""The rows of the collections, made from one document at a time (by the local build's sync and by the workers of a
distributed build alike).

A sentence's row (`sentence_row`): `pk` (`row_id(doc_id, ordinal)`, the same whoever writes it: writing a document
again replaces its rows), `doc_id`, `doc_key` (`document_key`: which version of the document the row belongs to),
`ordinal` (the sentence's number within its document), `start` and `end` (offsets into `Document.text`), `text` and
`context` (the sentence, and it with its neighbours, searched by BM25), `tokens` (its BM25 tokens as
`text.tokens.tokenize` makes them, space-separated: which sentences hold a word), the dense `vector`, the filter fields
`publisher`, `doc_side`, `speaker_side`, `speaker` (lower case) and `date_day`, `cluster` (the row id of the first
sentence of its near-duplicate cluster, its own when unique) and `attribution` (the `Attribution`, as JSON).

A document's rows in the documents collection (`document_parts`): its JSON (`Document.model_dump_json`) cut into
parts of at most `schema.PART_BYTES` bytes, read back whole by `backend.MilvusDocuments`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa_assistant.backends.context import CONTEXT_SENTENCES
from qa_assistant.backends.filters import day
from qa_assistant.backends.milvus.schema import MAX_TEXT_BYTES, PART_BYTES
from qa_assistant.ingest.attribution import Attribution
from qa_assistant.models import Document, join_soft_hyphens
from qa_assistant.text.tokens import tokenize

_ID_MASK = (1 << 63) - 1


def _hash_id(*parts: str) -> int:
    """A non-negative int64 from the parts (SHA-256; a collision in a billion rows has odds of about 1 in 10^10)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & _ID_MASK


def row_id(doc_id: str, ordinal: int) -> int:
    """The primary key of sentence `ordinal` (from 0) of document `doc_id`."""
    return _hash_id("sentence", doc_id, str(ordinal))


def part_id(doc_id: str, part: int) -> int:
    """The primary key of part `part` of document `doc_id` in the documents collection."""
    return _hash_id("document", doc_id, str(part))


def document_key(
    document: Document,
    starts: Sequence[int],
    ends: Sequence[int],
    attributions: Sequence[Attribution],
    clusters: Sequence[int],
) -> str:
    """Which version of a document its rows hold: a hash of the document, its sentences' offsets, attributions and
    clusters (row ids, as `sentence_row` takes them). A document whose key changed is written again."""
    digest = hashlib.sha256(document.model_dump_json().encode("utf-8"))
    digest.update(np.asarray(starts, dtype=np.int64).tobytes())
    digest.update(np.asarray(ends, dtype=np.int64).tobytes())
    digest.update(np.asarray(clusters, dtype=np.int64).tobytes())
    for attribution in attributions:
        digest.update(attribution.model_dump_json().encode("utf-8") + b"\n")
    return digest.hexdigest()[:32]


def clip(text: str) -> str:
    """`text` cut to what a VARCHAR field holds (MAX_TEXT_BYTES bytes of UTF-8)."""
    data = text.encode("utf-8")
    return text if len(data) <= MAX_TEXT_BYTES else data[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")


def sentence_row(
    document: Document,
    doc_key: str,
    ordinal: int,
    start: int,
    end: int,
    context: str,
    vector: Sequence[float] | np.ndarray,
    attribution: Attribution,
    cluster: int,
) -> dict[str, Any]:
    """The row of sentence `ordinal` of `document` (`document.text[start:end]`): `doc_key` from `document_key`,
    `context` the text BM25 scores it with (`document_sentence_rows` makes it), `vector` its normalized embedding,
    `cluster` the `row_id` of the first sentence of its near-duplicate cluster (its own when it has none)."""
    text = join_soft_hyphens(document.text[start:end])  # searched as read (soft hyphens joined)
    return {
        "pk": row_id(document.id, ordinal),
        "doc_id": document.id,
        "doc_key": doc_key,
        "ordinal": ordinal,
        "start": int(start),
        "end": int(end),
        "text": clip(text),
        "context": clip(context),
        "tokens": clip(" ".join(tokenize(text))),
        "vector": np.asarray(vector, dtype=np.float32).tolist(),
        "publisher": (document.publisher or "").lower(),
        "doc_side": (document.side or "").lower(),
        "speaker_side": (attribution.side or "").lower(),
        "speaker": (attribution.speaker or "").lower(),
        "date_day": day(document.date),
        "cluster": int(cluster),
        "attribution": attribution.model_dump(mode="json"),
    }


def document_sentence_rows(
    document: Document,
    doc_key: str,
    starts: Sequence[int],
    ends: Sequence[int],
    vectors: np.ndarray,
    attributions: Sequence[Attribution],
    clusters: Sequence[int],
) -> list[dict[str, Any]]:
    """The rows of all sentences of `document`, in order (each with its context: CONTEXT_SENTENCES sentences on
    each side within the document, as the local `bm25_context`)."""
    texts = [join_soft_hyphens(document.text[int(s) : int(e)]) for s, e in zip(starts, ends)]
    rows = []
    for j, (start, end) in enumerate(zip(starts, ends)):
        lo, hi = max(0, j - CONTEXT_SENTENCES), min(len(texts), j + CONTEXT_SENTENCES + 1)
        context = " ".join(texts[lo:hi])
        rows.append(
            sentence_row(document, doc_key, j, int(start), int(end), context, vectors[j], attributions[j], clusters[j])
        )
    return rows


def document_parts(document: Document, doc_key: str) -> list[dict[str, Any]]:
    """The rows of `document` in the documents collection: its JSON in parts of at most PART_BYTES bytes, each cut
    at a character boundary."""
    data = document.model_dump_json().encode("utf-8")
    pieces: list[str] = []
    at = 0
    while at < len(data) or not pieces:
        end = min(at + PART_BYTES, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # not inside a UTF-8 character
            end -= 1
        pieces.append(data[at:end].decode("utf-8"))
        at = end
    return [
        {
            "pk": part_id(document.id, number),
            "doc_id": document.id,
            "doc_key": doc_key,
            "part": number,
            "parts": len(pieces),
            "data": piece,
            "placeholder": [0.0, 0.0],
        }
        for number, piece in enumerate(pieces)
    ]


def joined_document(parts: Sequence[dict[str, Any]]) -> Document | None:
    """The document of its rows in the documents collection (any order); None when a part is missing."""
    ordered = sorted(parts, key=lambda row: int(row["part"]))
    if (
        not ordered
        or len(ordered) != int(ordered[0]["parts"])
        or [int(r["part"]) for r in ordered] != list(range(len(ordered)))
    ):
        return None
    return Document.model_validate_json("".join(str(row["data"]) for row in ordered))
