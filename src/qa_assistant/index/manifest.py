"""The manifest of an index folder (`manifest.json`): its schema, reading it, and what it says about the index —
built with which settings (`Manifest.built_with`), and fresh for its corpus and model or not (`check_fresh`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pydantic import BaseModel

from qa_assistant.backends.base import BackendInfo
from qa_assistant.errors import QAError, StaleIndexError, rebuild_command
from qa_assistant.index.embedder import DEFAULT_ENCODER
from qa_assistant.index.integrity import MANIFEST, FileEntry, reading
from qa_assistant.ingest.corpus import corpus_fingerprint
from qa_assistant.version import __version__

SCHEMA_VERSION = 4  # 4: the manifest lists every file with its size and SHA-256


class Manifest(BaseModel):
    schema_version: int
    package_version: str
    model: str
    dimension: int
    faiss_kind: str
    encoder: str = DEFAULT_ENCODER  # how the vectors were encoded; queries use the same (older manifests: torch)
    vectors: str = "float32"  # how FAISS stores them: float32, float16 or int8
    corpus_dir: str
    corpus_fingerprint: str
    documents: int
    sentences: int
    skipped: int
    created_at: dt.datetime
    files: dict[str, FileEntry] | None = None  # size and SHA-256 of every other file, by relative path
    corpus_files: dict[str, str] = {}  # SHA-256 of every file of the corpus, by relative path (what changed since)
    source_keys: dict[str, str] = {}  # of each document file: what its documents were made from (`index/reuse.py`)
    backend: BackendInfo = BackendInfo()  # where searches go: the files here (local) or a Milvus collection

    def built_with(self, model: str, encoder: str, faiss_kind: str | None = None, vectors: str | None = None) -> bool:
        """Whether the index was built by this version of the package with `model` and `encoder` (and, when given,
        this FAISS kind and vector storage): whether a build may keep it, or reuse what it holds."""
        return (
            self.package_version == __version__
            and self.model == model
            and self.encoder == encoder
            and faiss_kind in (None, self.faiss_kind)
            and vectors in (None, self.vectors)
        )


def read_manifest(index_dir: Path, root: Path | None = None) -> Manifest:
    """The manifest of `index_dir` (read through `root`, a pinned handle on it, when given)."""
    path = Path(root or index_dir) / MANIFEST
    if not path.exists():
        raise QAError(f"no index at {index_dir} (build one with: {rebuild_command(index_dir)})")
    with reading(Path(index_dir), MANIFEST):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise StaleIndexError(
            f"index at {index_dir} has schema version {version}, this qa-assistant reads version {SCHEMA_VERSION}; "
            f"rebuild with: {rebuild_command(index_dir, data.get('corpus_dir', 'CORPUS'))}"
        )
    with reading(Path(index_dir), MANIFEST, data.get("corpus_dir")):
        return Manifest.model_validate(data)


def check_fresh(manifest: Manifest, index_dir: Path, corpus_dir: Path | None = None, model: str | None = None) -> None:
    """Raise StaleIndexError when the corpus changed since the build, or another model is asked for."""
    rebuild = f"rebuild with: {rebuild_command(index_dir, corpus_dir or manifest.corpus_dir)}"
    if model is not None and model != manifest.model:
        raise StaleIndexError(
            f"index at {index_dir} was built with model '{manifest.model}', not '{model}'; {rebuild} --model {model}"
        )
    corpus_dir = Path(corpus_dir or manifest.corpus_dir)
    if not corpus_dir.is_dir():
        return  # the corpus is not here (index copied elsewhere): nothing to compare with
    if corpus_fingerprint(corpus_dir) != manifest.corpus_fingerprint:
        raise StaleIndexError(
            f"index at {index_dir} is stale: the corpus {corpus_dir} changed since it was built; {rebuild}"
        )
