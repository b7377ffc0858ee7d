"""The filter rules, in one place: which sentences `Filters` let through, as the local backend's sentence mask and
as the Milvus backend's boolean expression (the same rules, tested against each other in tests/test_milvus.py).

- publishers and speakers: compared in lower case; sides: the speaker side of each sentence (lower case);
- doc_ids: exact document ids;
- since / until: the document's date; a document without a date is outside every period.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import numpy as np

from qa_assistant.models import Filters

MASK_CACHE = 16  # recent filters' sentence masks remembered
EPOCH = dt.date(1970, 1, 1)
UNKNOWN_DAY = -(2**31)  # the `date_day` of a document without a date


def _lower_set(values: list[str] | None) -> set[str] | None:
    return {v.strip().lower() for v in values} if values else None


class FilterMasks:
    """Which sentences of an index pass `Filters`, as a boolean mask over sentence ids. `index` is the loaded
    `index.store.SentenceIndex` (a layer above the backends, so it is not imported here): its documents, its
    sentences' document numbers and its labels (speaker side and speaker of each sentence) are read."""

    def __init__(self, index: Any):
        self.index = index
        self._cache: dict[str, np.ndarray] = {}
        self._columns: tuple[np.ndarray, list[str], list[str]] | None = None
        self._runs: np.ndarray | None = None  # sentences per document, when stored document by document
        self._lock = threading.Lock()

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Which sentences pass `filters` (None: all); read-only, and remembered for the last MASK_CACHE filters (a
        question about sides filters each side twice: its search, then its quotes)."""
        if filters is None or filters.is_empty():
            return None
        key = filters.model_dump_json()
        with self._lock:
            mask = self._cache.pop(key, None)
            if mask is not None:
                self._cache[key] = mask  # most recent last
                return mask
        mask = self._compute_mask(filters)
        mask.flags.writeable = False
        with self._lock:
            self._cache[key] = mask
            while len(self._cache) > MASK_CACHE:
                self._cache.pop(next(iter(self._cache)))
        return mask

    def _document_columns(self) -> tuple[np.ndarray, list[str], list[str]]:
        """Each document's date (proleptic ordinal, -1: none), publisher in lower case and id."""
        if self._columns is None:
            docs = self.index.cards  # (metadata: no document text is read)
            dates = np.array([d.date.toordinal() if d.date else -1 for d in docs], dtype=np.int64)
            self._columns = (dates, [(d.publisher or "").lower() for d in docs], [d.id for d in docs])
        return self._columns

    def _per_sentence(self, doc_ok: np.ndarray) -> np.ndarray:
        """A flag per document as a flag per sentence: each repeated over its sentences where they are stored
        document by document (as a build writes them: a million sentences in a tenth of the time of a lookup each),
        else looked up per sentence."""
        if doc_ok.all():
            return np.ones(len(self.index.sentences.doc_index), dtype=bool)
        if self._runs is None:
            doc_index = np.asarray(self.index.sentences.doc_index)
            in_order = bool((doc_index[1:] >= doc_index[:-1]).all())
            self._runs = np.bincount(doc_index, minlength=len(doc_ok)) if in_order else np.empty(0, dtype=np.int64)
        if len(self._runs) == len(doc_ok):
            return np.repeat(doc_ok, self._runs)
        return doc_ok[self.index.sentences.doc_index]

    def _compute_mask(self, filters: Filters) -> np.ndarray:
        dates, publisher_names, ids = self._document_columns()
        doc_ok = np.ones(len(ids), dtype=bool)
        publishers = _lower_set(filters.publishers)
        if publishers is not None:
            doc_ok &= np.fromiter((name in publishers for name in publisher_names), dtype=bool, count=len(ids))
        if filters.doc_ids:
            wanted = set(filters.doc_ids)
            doc_ok &= np.fromiter((doc_id in wanted for doc_id in ids), dtype=bool, count=len(ids))
        if filters.since:  # a document without a date is outside every period
            doc_ok &= dates >= filters.since.toordinal()
        if filters.until:
            doc_ok &= (dates >= 0) & (dates <= filters.until.toordinal())
        mask = self._per_sentence(doc_ok)
        sides = _lower_set(filters.sides)
        if sides is not None:
            mask &= self.index.labels.with_side(sides)
        speakers = _lower_set(filters.speakers)
        if speakers is not None:
            mask &= self.index.labels.with_speaker(speakers)
        return mask


def quoted(value: str) -> str:
    """A string literal for a Milvus boolean expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def day(date: dt.date | None) -> int:
    """A document's date as the Milvus `date_day` field: days since 1970-01-01 (UNKNOWN_DAY: no date)."""
    return UNKNOWN_DAY if date is None else (date - EPOCH).days


def expression(filters: Filters | None) -> str:
    """The filters as a Milvus boolean expression ('' = none): the same rules as `FilterMasks.mask`."""
    if filters is None or filters.is_empty():
        return ""
    parts = []

    def one_of(field: str, values: list[str] | None, lower: bool = True) -> None:
        if values:
            items = sorted({v.strip().lower() if lower else v for v in values})
            parts.append(f"{field} in [{', '.join(quoted(v) for v in items)}]")

    one_of("doc_id", filters.doc_ids, lower=False)
    one_of("publisher", filters.publishers)
    one_of("speaker_side", filters.sides)
    one_of("speaker", filters.speakers)
    if filters.since:
        parts.append(f"date_day >= {day(filters.since)}")
    if filters.until:
        parts.append(f"(date_day <= {day(filters.until)} and date_day > {UNKNOWN_DAY})")
    return " and ".join(parts)
