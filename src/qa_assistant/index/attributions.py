"""Per-sentence attributions of a large index, read without parsing a million JSON lines.

`attributions.jsonl` keeps one attribution per sentence (the full record); an index opens it as
`AttributionFile`, which finds where each line starts (one pass over the bytes) and parses a line only when a quote
needs it. A rebuild keeps the attributions of unchanged documents without parsing them (`KeptAttributions`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from qa_assistant.ingest.attribution import Attribution


class AttributionFile(Sequence[Attribution]):
    """The attributions of `attributions.jsonl`, one per line, each parsed when first asked for."""

    def __init__(self, data: bytes):
        self.data = data
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
        if len(data) and (not len(ends) or ends[-1] != len(data) - 1):
            ends = np.append(ends, len(data))
        self.starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64) if len(ends) else np.empty(0, np.int64)
        self.ends = ends.astype(np.int64)
        self._parsed: dict[int, Attribution] = {}

    @classmethod
    def read(cls, path: Path) -> AttributionFile:
        return cls(path.read_bytes())

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, i: int) -> Attribution: ...

    @overload
    def __getitem__(self, i: slice) -> list[Attribution]: ...

    def __getitem__(self, i: int | slice) -> Attribution | list[Attribution]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        found = self._parsed.get(i)
        if found is None:
            found = Attribution.model_validate_json(self.data[self.starts[i] : self.ends[i]])
            self._parsed[i] = found
        return found

    def __iter__(self) -> Iterator[Attribution]:
        return (self[i] for i in range(len(self)))

    def raw(self, i: int) -> bytes:
        """Line `i` as stored (JSON, no newline)."""
        return self.data[self.starts[i] : self.ends[i]]

    def check(self, sample: int = 64) -> None:
        """Parse the first and last lines and a spread of others: a damaged file fails here, not in a later ask."""
        if not len(self):
            return
        for i in {0, len(self) - 1, *np.linspace(0, len(self) - 1, sample).astype(int).tolist()}:
            self[i]


class KeptAttributions(Sequence[Attribution]):
    """The attributions of a rebuilt index: those of sentences kept from the earlier index are read from its file
    (and written back as the same bytes), the others were made now."""

    def __init__(self, earlier: Sequence[Attribution], earlier_rows: np.ndarray, made: list[Attribution | None]):
        self.earlier = earlier
        self.earlier_rows = earlier_rows
        self.made = made

    def __len__(self) -> int:
        return len(self.made)

    @overload
    def __getitem__(self, i: int) -> Attribution: ...

    @overload
    def __getitem__(self, i: slice) -> list[Attribution]: ...

    def __getitem__(self, i: int | slice) -> Attribution | list[Attribution]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        made = self.made[i]
        return made if made is not None else self.earlier[int(self.earlier_rows[i])]

    def json_line(self, i: int) -> bytes:
        made = self.made[i]
        if made is None and isinstance(self.earlier, AttributionFile):
            return self.earlier.raw(int(self.earlier_rows[i]))
        return (made or self[i]).model_dump_json().encode("utf-8")


def json_lines(attributions: Sequence[Attribution]) -> Iterator[bytes]:
    """Each attribution as one JSON line (bytes, no newline), copying kept lines as they were."""
    if isinstance(attributions, KeptAttributions):
        return (attributions.json_line(i) for i in range(len(attributions)))
    if isinstance(attributions, AttributionFile):
        return (attributions.raw(i) for i in range(len(attributions)))
    return (a.model_dump_json().encode("utf-8") for a in attributions)
