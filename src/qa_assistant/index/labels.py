"""Side, speaker and attribution source of every sentence as integer codes plus the distinct names (`labels.npz`):
what retrieval needs for every sentence (filters over a million sentences), without reading the attributions.
The attributions themselves are `index/attributions.py`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa_assistant.ingest.attribution import Attribution

FEW_CODES = 8  # names matched by comparing each sentence's code with each of theirs (more: a lookup table)


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
        codes = [i for i, name in enumerate(names) if name in wanted]
        column_codes = getattr(self, column)
        if len(codes) <= FEW_CODES:  # a comparison per code is several times faster than a lookup per sentence
            found = np.zeros(len(column_codes), dtype=bool)
            for code in codes:
                found |= column_codes == code
            return found
        table = np.zeros(len(names) + 1, dtype=bool)  # by code; the last place is code -1 (no name): False
        table[codes] = True
        return table[column_codes]

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
