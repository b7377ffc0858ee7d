"""What a node answering from Milvus alone holds: the small tables of a Milvus-backed index folder, and the
documents and attributions it reads from the collection when a quote needs them.

A Milvus-backed index folder has, besides the build's files (kept for incremental rebuilds where the index is
built), the serving tables a node reads (SERVING_FILES): the manifest, `milvus_documents.jsonl` (each document's
metadata, sentence count and row version), `token_counts.json` (how many sentences hold each BM25 token: the
weights of adaptive fusion), `date_mentions.npz` (the dates the texts speak of: periods read from a question),
`sentences.npz` and `labels.npz` (offsets, near-duplicate cluster, side and speaker codes of each sentence: sentence
masks of filters), `sides.json` and `skipped.json`. No vectors, no BM25 postings, no document text, no
attributions: those are the collection's (`backends/milvus`).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from qa_assistant.ingest.attribution import Attribution
from qa_assistant.models import Document, DocumentInfo

T = TypeVar("T")

DOCUMENTS_TABLE = "milvus_documents.jsonl"
TOKEN_COUNTS = "token_counts.json"
DATE_MENTIONS = "date_mentions.npz"
SERVING_FILES = (
    DOCUMENTS_TABLE,
    TOKEN_COUNTS,
    DATE_MENTIONS,
    "sentences.npz",
    "labels.npz",
    "sides.json",
    "skipped.json",
)
DOCUMENT_CACHE = 512  # whole documents a node keeps after reading them (quotes of one answer come from a few)
ATTRIBUTION_CACHE = 65536


class DocumentEntry(BaseModel):
    """One line of `milvus_documents.jsonl`."""

    info: DocumentInfo
    key: str  # the version of its rows (`backends.milvus.rows.document_key`)


@dataclass
class TermCounts:
    """How many sentences hold each BM25 token (what adaptive fusion weighs terms by)."""

    counts: dict[str, int]
    units: int

    def unit_frequency(self, token: str) -> int:
        return self.counts.get(token, 0)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"units": self.units, "counts": self.counts}), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TermCounts:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls({str(k): int(v) for k, v in data["counts"].items()}, int(data["units"]))


class _Cache(OrderedDict):
    def remember(self, key: Any, value: Any, size: int) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > size:
            self.popitem(last=False)


class _Fetched(Sequence[T]):
    """A sequence whose items are read from the collection on first use: `prefetch` puts them in `_cache`."""

    _cache: _Cache
    _lock: threading.Lock

    def prefetch(self, numbers: Sequence[int]) -> None:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> list[T]: ...

    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            numbers = list(range(*i.indices(len(self))))
            self.prefetch(numbers)
            return [self[n] for n in numbers]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        with self._lock:
            found = self._cache.get(i)
        if found is None:
            self.prefetch([i])
            with self._lock:
                found = self._cache[i]
        return found


class RemoteDocuments(_Fetched[Document]):
    """The documents of the index, read whole from the collection when first asked for (the last DOCUMENT_CACHE
    kept). Metadata (ids, titles, dates...) is `SentenceIndex.cards`, held here without reading any text."""

    def __init__(self, entries: list[DocumentEntry], fetch: Callable[[list[str], dict[str, str]], dict[str, Document]]):
        self.entries = entries
        self.fetch = fetch
        self.keys = {entry.info.id: entry.key for entry in entries}
        self._cache: _Cache = _Cache()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.entries)

    def prefetch(self, numbers: Sequence[int]) -> None:
        """Read the documents `numbers` not held yet in one round trip."""
        with self._lock:
            wanted = {self.entries[n].info.id: n for n in dict.fromkeys(numbers) if n not in self._cache}
        if not wanted:
            return
        found = self.fetch(list(wanted), self.keys)
        with self._lock:
            for doc_id, document in found.items():
                self._cache.remember(wanted[doc_id], document, max(DOCUMENT_CACHE, len(wanted)))

    def __iter__(self) -> Iterator[Document]:
        for at in range(0, len(self), 64):
            yield from self[at : at + 64]


class RemoteAttributions(_Fetched[Attribution]):
    """The attributions of the sentences, read from their rows when first asked for (the last ATTRIBUTION_CACHE
    kept). `fetch`: sentence ids -> their attributions."""

    def __init__(self, size: int, fetch: Callable[[list[int]], dict[int, Attribution]]):
        self.size = size
        self.fetch = fetch
        self._cache: _Cache = _Cache()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.size

    def prefetch(self, sentence_ids: Sequence[int]) -> None:
        with self._lock:
            wanted = [int(s) for s in dict.fromkeys(sentence_ids) if int(s) not in self._cache]
        if wanted:
            found = self.fetch(wanted)
            with self._lock:
                for sentence_id, attribution in found.items():
                    self._cache.remember(sentence_id, attribution, ATTRIBUTION_CACHE)
