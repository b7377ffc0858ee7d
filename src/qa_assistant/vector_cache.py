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

from .embedder import Embedder

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

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """Every cached (key, vector); an unreadable chunk (a disk fault) is dropped, never trusted."""
        keys, vectors = [], []
        for path in self._chunks():
            try:
                with np.load(path, allow_pickle=False) as arrays:
                    k, v = arrays["keys"], arrays["vectors"]
                if k.dtype != np.dtype("S32") or v.ndim != 2 or len(k) != len(v):
                    raise ValueError("unexpected arrays")
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                path.unlink(missing_ok=True)
                continue
            keys.append(k)
            vectors.append(v.astype(np.float32, copy=False))
        if not keys:
            return np.empty(0, dtype="S32"), np.empty((0, 0), dtype=np.float32)
        return np.concatenate(keys), np.concatenate(vectors)

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
        cached_keys, cached_vectors = self.load()
        if len(cached_keys) and cached_vectors.shape[1] != embedder.dimension:
            cached_keys, cached_vectors = np.empty(0, dtype="S32"), np.empty((0, 0), dtype=np.float32)
        position = {k: i for i, k in enumerate(cached_keys.tolist())}
        vectors = np.empty((len(texts), embedder.dimension), dtype=np.float32)
        missing: dict[bytes, list[int]] = {}
        reused = 0
        for row, key in enumerate(keys.tolist()):
            at = position.get(key)
            if at is None:
                missing.setdefault(key, []).append(row)
            else:
                vectors[row] = cached_vectors[at]
                reused += 1
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
        self._compact(cached_keys, cached_vectors, keys)
        return vectors, reused

    def _compact(self, cached_keys: np.ndarray, cached_vectors: np.ndarray, live: np.ndarray) -> None:
        """Rewrite the cache with only the live vectors when most of what it held is dead."""
        if len(cached_keys) <= len(set(live.tolist())):
            return
        all_keys, all_vectors = self.load()
        keep = np.isin(all_keys, live)
        if keep.sum() * 2 >= len(all_keys):
            return
        old = self._chunks()
        self._write(self._next_number(), all_keys[keep], all_vectors[keep])  # first the new, then the old goes
        for path in old:
            path.unlink(missing_ok=True)
