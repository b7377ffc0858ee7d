"""The dates each document speaks of (`text.dates.date_mentions`), found once when the index is built and kept in
`date_mentions.npz`, so the first question naming a period does not read every document's text again (about a
minute at a million sentences). A rebuild copies the rows of documents it keeps from the earlier index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from qa_assistant.models import Document
from qa_assistant.text.dates import date_mentions

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass
class DateMentions:
    """One row per date mention (int64 columns), in document order, then text order."""

    document: np.ndarray  # the document's number in the index
    first: np.ndarray  # the first and last day it covers, as ordinals
    last: np.ndarray
    start: np.ndarray  # where it is written in the document's text
    end: np.ndarray
    paragraph_start: np.ndarray  # the paragraph it is written in
    paragraph_end: np.ndarray

    def __len__(self) -> int:
        return len(self.document)

    def columns(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    @classmethod
    def from_columns(cls, columns: Sequence[np.ndarray]) -> DateMentions:
        return cls(*(np.asarray(c, dtype=np.int64) for c in columns))

    @classmethod
    def of_documents(cls, documents: Sequence[Document], numbers: Sequence[int] | None = None) -> DateMentions:
        """The mentions of `documents`, numbered `numbers` (default 0, 1, …)."""
        rows: list[tuple[int, ...]] = []
        for number, doc in zip(numbers if numbers is not None else range(len(documents)), documents, strict=True):
            breaks = [0, *(m.end() for m in _PARAGRAPH_BREAK.finditer(doc.text)), len(doc.text)]
            for mention in date_mentions(doc.text, doc.date):
                at = int(np.searchsorted(breaks, mention.start, side="right")) - 1
                paragraph = breaks[at], breaks[min(at + 1, len(breaks) - 1)]
                first, last = mention.first.toordinal(), mention.last.toordinal()
                rows.append((number, first, last, mention.start, mention.end, *paragraph))
        return cls.from_columns(list(np.array(rows, dtype=np.int64).reshape(-1, 7).T))

    @classmethod
    def reusing(
        cls, documents: Sequence[Document], earlier: DateMentions | None, taken: Mapping[str, int]
    ) -> DateMentions:
        """The mentions of `documents`; those of a document kept from an earlier index (`taken`: its id -> its
        number there) are copied from `earlier`, the others found in their texts."""
        kept = [(i, taken[doc.id]) for i, doc in enumerate(documents) if earlier is not None and doc.id in taken]
        fresh = [i for i, doc in enumerate(documents) if earlier is None or doc.id not in taken]
        parts = [cls.of_documents([documents[i] for i in fresh], fresh)]
        if kept and earlier is not None and len(earlier):
            new_number = np.full(max(int(earlier.document.max()), *(o for _, o in kept)) + 1, -1, dtype=np.int64)
            for number, old in kept:
                new_number[old] = number
            renumbered = new_number[earlier.document]
            rows = np.flatnonzero(renumbered >= 0)
            copied = [column[rows] for column in earlier.columns()]
            copied[0] = renumbered[rows]
            parts.append(cls.from_columns(copied))
        columns = [np.concatenate(c) for c in zip(*(p.columns() for p in parts), strict=True)]
        order = np.lexsort((columns[3], columns[0]))
        return cls.from_columns([c[order] for c in columns])

    def save(self, path: Path) -> None:
        np.savez(path, **{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: Path) -> DateMentions:
        with np.load(path, allow_pickle=False) as arrays:
            return cls.from_columns([arrays[f.name] for f in fields(cls)])
