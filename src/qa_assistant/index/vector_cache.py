"""Sentence vectors kept between builds, keyed by the encoder and the sentence text.

A rebuild after files were added, changed or removed encodes only the sentences it has not seen; a build killed
half way keeps what it had encoded, in whole chunks, and the next build starts from there. The cache lives next to
the index folder (`.<index name>.vectors/<model and encoder>/`), outside the folder that a build replaces.

Files: `chunk-<n>.npz`, each with `keys` (SHA-256 of the sentence text, 32 bytes each) and `vectors` (float32, as the
encoder gave them), written under a temporary name and renamed. Plain npz, read with allow_pickle=False. When
more than half of the cached vectors belong to no current sentence, the cache is rewritten with the live ones.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa_assistant.index.embedder import Embedder

MIN_CHUNK = 256  # sentences encoded and saved together; a kill loses at most the chunk under way
MAX_CHUNK = 8192
_CHUNK_FILE = re.compile(r"chunk-(\d+)\.npz")


def cache_dir_for(index_dir: str | Path) -> Path:
    index_dir = Path(index_dir)
    return index_dir.parent / f".{index_dir.name}.vectors"


def text_keys(texts: list[str]) -> np.ndarray:
    return np.array([hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest() for t in texts], dtype="S32")


class VectorCache:
    """The vectors of one model and encoder, in `root/<model and encoder>/`."""

    def __init__(self, root: Path, model: str, encoder: str):
        label = re.sub(r"[^\w.-]+", "_", model)[-60:]
        digest = hashlib.sha256(f"{model}\0{encoder}".encode()).hexdigest()[:12]
        self.directory = Path(root) / f"{label}-{encoder}-{digest}"

    def _chunks(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.directory.iterdir() if (m := _CHUNK_FILE.fullmatch(p.name))]
        return [p for _, p in sorted(found)]

    def _next_number(self) -> int:
        chunks = self._chunks()
        match = _CHUNK_FILE.fullmatch(chunks[-1].name) if chunks else None
        return int(match.group(1)) + 1 if match else 0

    def _read(self, path: Path, member: str) -> np.ndarray | None:
        """One array of a chunk; None (and the chunk deleted) when it is unreadable: a disk fault, never trusted."""
        try:
            with np.load(path, allow_pickle=False) as arrays:
                array = arrays[member]
            if member == "keys" and array.dtype != np.dtype("S32"):
                raise ValueError("unexpected keys")
            if member == "vectors" and array.ndim != 2:
                raise ValueError("unexpected vectors")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            path.unlink(missing_ok=True)
            return None
        return array

    def _chunk_keys(self) -> list[tuple[Path, np.ndarray]]:
        """The keys of every readable chunk (the vectors are read only where they are needed)."""
        found = []
        for path in self._chunks():
            keys = self._read(path, "keys")
            if keys is not None:
                found.append((path, keys))
        return found

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """Every cached (key, vector)."""
        keys, vectors = [], []
        for path, k in self._chunk_keys():
            v = self._read(path, "vectors")
            if v is None or len(v) != len(k):
                path.unlink(missing_ok=True)
                continue
            keys.append(k)
            vectors.append(v.astype(np.float32, copy=False))
        if not keys:
            return np.empty(0, dtype="S32"), np.empty((0, 0), dtype=np.float32)
        return np.concatenate(keys), np.concatenate(vectors)

    def fill(self, keys: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Copy the cached vector of each key into its row of `vectors`; which rows were found. Only the chunks
        holding some of `keys` are read beyond their keys, one at a time (no second copy of the cache in memory)."""
        found = np.zeros(len(keys), dtype=bool)
        if len(keys) == 0:
            return found
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        for path, chunk_keys in self._chunk_keys():
            lo = np.searchsorted(ordered, chunk_keys, side="left")
            hi = np.searchsorted(ordered, chunk_keys, side="right")
            counts = hi - lo
            if not counts.any():
                continue
            chunk_vectors = self._read(path, "vectors")
            if chunk_vectors is None or chunk_vectors.shape != (len(chunk_keys), vectors.shape[1]):
                path.unlink(missing_ok=True)  # (another dimension cannot be this model's)
                continue
            hit = np.flatnonzero(counts)
            starts = np.repeat(lo[hit] - np.cumsum(counts[hit]) + counts[hit], counts[hit])
            rows = order[starts + np.arange(int(counts[hit].sum()))]
            vectors[rows] = chunk_vectors[np.repeat(hit, counts[hit])]
            found[rows] = True
        return found

    def _write(self, number: int, keys: np.ndarray, vectors: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=".chunk-", suffix=".npz", dir=self.directory)
        os.close(handle)
        try:
            np.savez(tmp, keys=keys, vectors=vectors)
            os.replace(tmp, self.directory / f"chunk-{number:06d}.npz")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def encode(
        self,
        embedder: Embedder,
        texts: list[str],
        progress: bool = False,
        say: Callable[[str], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """The vectors of `texts`, and how many came from the cache; new ones are encoded and saved chunk by chunk."""
        keys = text_keys(texts)
        vectors = np.empty((len(texts), embedder.dimension), dtype=np.float32)
        found = self.fill(keys, vectors)
        reused = int(found.sum())
        missing: dict[bytes, list[int]] = {}
        for row in np.flatnonzero(~found).tolist():
            missing.setdefault(bytes(keys[row]), []).append(row)
        todo = list(missing)
        if say and todo:
            say(f"encoding {len(todo)} new sentences with {embedder.name} ({embedder.encoder})")
        chunk = max(MIN_CHUNK, min(MAX_CHUNK, len(todo) // 50 or MIN_CHUNK))
        number = self._next_number()
        for lo in range(0, len(todo), chunk):
            part = todo[lo : lo + chunk]
            encoded = embedder.encode([texts[missing[k][0]] for k in part], progress=progress)
            self._write(number, np.array(part, dtype="S32"), encoded)
            number += 1
            for key, vector in zip(part, encoded):
                vectors[missing[key]] = vector
        return vectors, reused

    def compact(self, live_texts: list[str]) -> None:
        """Rewrite the cache with only the vectors of `live_texts` when most of what it holds is dead (read key by
        key first: nothing is rewritten, nor are vectors read, while at least half is alive). Called after every
        live text's vector went through the cache, so a cache holding at most twice as many vectors as there are
        distinct live texts is left as it is without hashing them."""
        chunks = self._chunk_keys()
        held = np.concatenate([k for _, k in chunks]) if chunks else np.empty(0, dtype="S32")
        if len(held) == 0 or len(set(live_texts)) * 2 >= len(held):
            return
        live = text_keys(live_texts)
        if np.isin(held, live).sum() * 2 >= len(held):
            return
        all_keys, all_vectors = self.load()
        keep = np.isin(all_keys, live)
        old = self._chunks()
        self._write(self._next_number(), all_keys[keep], all_vectors[keep])  # first the new, then the old goes
        for path in old:
            path.unlink(missing_ok=True)
