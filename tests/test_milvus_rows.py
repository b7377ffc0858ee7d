"""The rows a Milvus-backed index is written as (by a local build's sync or by the workers of a distributed build):
one per sentence with everything a quote needs, and documents longer than a VARCHAR cut into parts that join back
to the same document."""

from __future__ import annotations

import numpy as np

from qa_assistant.backends.milvus.rows import (
    document_key,
    document_parts,
    document_sentence_rows,
    joined_document,
    row_id,
    sentence_row,
)
from qa_assistant.backends.milvus.schema import MAX_TEXT_BYTES
from qa_assistant.ingest.attribution import Attribution
from qa_assistant.models import Document

TEXT = "Armenia said the corridor is open. Azerbaijan denied it. The talks go on."
SPANS = [(0, 34), (35, 56), (57, 73)]


def _doc(text: str = TEXT) -> Document:
    return Document(id="a/b.txt", path="a/b.txt", title="T", publisher="MFA", side="Armenia", text=text)


def _attributions() -> list[Attribution]:
    return [
        Attribution(speaker="Armenia", side="Armenia", source="named", cue_start=0, cue_end=12, confidence=0.9),
        Attribution(speaker=None, side="Azerbaijan", source="named", confidence=0.5),
        Attribution(speaker=None, side=None, source="metadata", confidence=0.3),
    ]


def test_a_sentence_row_holds_what_a_quote_needs():
    doc = _doc()
    row = sentence_row(doc, "k1", 1, 35, 56, "ctx", np.ones(4) / 2, _attributions()[1], row_id(doc.id, 0))
    assert row["pk"] == row_id("a/b.txt", 1) != row_id("a/b.txt", 0)
    assert row["text"] == doc.text[35:56] == "Azerbaijan denied it."
    assert (row["doc_id"], row["doc_key"], row["ordinal"], row["start"], row["end"]) == ("a/b.txt", "k1", 1, 35, 56)
    assert (row["publisher"], row["doc_side"], row["speaker_side"], row["speaker"]) == (
        "mfa",
        "armenia",
        "azerbaijan",
        "",
    )
    assert row["cluster"] == row_id(doc.id, 0) and row["vector"] == [0.5] * 4
    assert row["tokens"] == "azerbaijan deni"  # our BM25 tokens, searched as they are
    assert Attribution.model_validate(row["attribution"]) == _attributions()[1]


def test_document_rows_carry_context_and_a_key_that_follows_every_field():
    doc = _doc()
    starts, ends = [s for s, _ in SPANS], [e for _, e in SPANS]
    clusters = [row_id(doc.id, j) for j in range(3)]
    key = document_key(doc, starts, ends, _attributions(), clusters)
    rows = document_sentence_rows(doc, key, starts, ends, np.eye(3, 4), _attributions(), clusters)
    assert [r["text"] for r in rows] == [doc.text[s:e] for s, e in SPANS]
    assert rows[0]["context"] == "Armenia said the corridor is open. Azerbaijan denied it."
    assert rows[1]["context"] == doc.text  # one sentence on each side
    changed = _attributions()
    changed[2] = changed[2].model_copy(update={"speaker": "Someone"})
    assert document_key(doc, starts, ends, changed, clusters) != key
    assert document_key(doc, starts, ends, _attributions(), [clusters[0]] * 3) != key
    assert document_key(doc, starts, ends, _attributions(), clusters) == key


def test_a_long_document_is_stored_in_parts_that_join_back():
    text = ("Ça coûte cher — 平和 " * 9000).strip()  # multi-byte characters, far over one VARCHAR
    doc = _doc(text)
    parts = document_parts(doc, "k")
    assert len(parts) > 2 and all(len(p["data"].encode("utf-8")) <= MAX_TEXT_BYTES for p in parts)
    assert joined_document(list(reversed(parts))) == doc
    assert joined_document(parts[:-1]) is None  # a part missing: not a document
    assert len({p["pk"] for p in parts}) == len(parts)
