"""The collection's rows of an index: each document's key (what tells a changed document from an unchanged one)
and the rows of its sentences."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from qa_assistant.backends.filters import day
from qa_assistant.backends.milvus.schema import MAX_TEXT_BYTES
from qa_assistant.models import join_soft_hyphens


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
