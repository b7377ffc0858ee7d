"""Per-sentence attributions of a large index, read without parsing a million JSON lines.

`attributions.jsonl` keeps one attribution per sentence (the full record); an index opens it as
`AttributionFile`, which finds where each line starts (one pass over the bytes) and parses a line only when a quote
needs it. What retrieval needs for every sentence — its side and its speaker, for filters — is in
`labels.npz`: integer codes per sentence plus the distinct names, written beside it at build time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from qa_assistant.ingest.attribution import Attribution


@dataclass
class SentenceLabels:
    """Side, speaker and attribution source of every sentence as codes into lists of distinct names (-1: none)."""

    side: np.ndarray
    side_names: list[str]
    speaker: np.ndarray
    speaker_names: list[str]
    source: np.ndarray
    source_names: list[str]
    _lowered: dict[str, list[str]] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, attributions: Sequence[Attribution]) -> SentenceLabels:
        columns: dict[str, tuple[list[int], dict[str, int]]] = {f: ([], {}) for f in ("side", "speaker", "source")}
        for a in attributions:
            for field, (codes, names) in columns.items():
                value = getattr(a, field)
                codes.append(names.setdefault(value, len(names)) if value else -1)
        arrays = {f: (np.asarray(codes, dtype=np.int32), list(names)) for f, (codes, names) in columns.items()}
        return cls(*arrays["side"], *arrays["speaker"], *arrays["source"])

    @staticmethod
    def merged(parts: list[tuple[SentenceLabels, np.ndarray]], n: int) -> SentenceLabels:
        """One table of `n` sentences from parts, each (labels, the sentence numbers its rows go to)."""
        out: dict[str, tuple[np.ndarray, list[str]]] = {}
        for field in ("side", "speaker", "source"):
            names: dict[str, int] = {}
            codes = np.full(n, -1, dtype=np.int32)
            for labels, where in parts:
                remap = np.array(
                    [names.setdefault(name, len(names)) for name in getattr(labels, f"{field}_names")] + [-1],
                    dtype=np.int32,
                )
                codes[where] = remap[getattr(labels, field)]  # code -1 picks the appended -1
            out[field] = (codes, list(names))
        return SentenceLabels(*out["side"], *out["speaker"], *out["source"])

    def rows(self, take: np.ndarray) -> SentenceLabels:
        return SentenceLabels(
            self.side[take],
            self.side_names,
            self.speaker[take],
            self.speaker_names,
            self.source[take],
            self.source_names,
        )

    def __len__(self) -> int:
        return len(self.side)

    def matching(self, column: str, wanted: set[str]) -> np.ndarray:
        """Which sentences have, in `column` (side, speaker), one of the `wanted` names (compared in lower case)."""
        if column not in self._lowered:  # thousands of speakers at a million sentences: lowered once
            self._lowered[column] = [name.lower() for name in getattr(self, f"{column}_names")]
        names = self._lowered[column]
        table = np.zeros(len(names) + 1, dtype=bool)  # by code; the last place is code -1 (no name): False
        table[[i for i, name in enumerate(names) if name in wanted]] = True
        return table[getattr(self, column)]

    def with_side(self, wanted: set[str]) -> np.ndarray:
        return self.matching("side", wanted)

    def with_speaker(self, wanted: set[str]) -> np.ndarray:
        return self.matching("speaker", wanted)

    def save(self, path: Path) -> None:
        names = {f"{f}_names": getattr(self, f"{f}_names") for f in ("side", "speaker", "source")}
        encoded = np.frombuffer(json.dumps(names, ensure_ascii=False).encode("utf-8"), np.uint8)
        np.savez(path, side=self.side, speaker=self.speaker, source=self.source, names=encoded)

    @classmethod
    def load(cls, path: Path) -> SentenceLabels:
        with np.load(path, allow_pickle=False) as arrays:
            codes = {f: arrays[f] for f in ("side", "speaker", "source")}
            names = json.loads(arrays["names"].tobytes().decode("utf-8"))
        for field, column in codes.items():
            known = names[f"{field}_names"]
            if column.ndim != 1 or len(column) != len(codes["side"]):
                raise ValueError(f"label column {field} has another shape")
            if len(column) and (column.min() < -1 or column.max() >= len(known)):
                raise ValueError(f"label codes of {field} out of range")
        return cls(
            codes["side"],
            list(names["side_names"]),
            codes["speaker"],
            list(names["speaker_names"]),
            codes["source"],
            list(names["source_names"]),
        )


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
