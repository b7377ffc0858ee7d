"""The index on disk: plain files plus a manifest, written atomically (temporary folder, then rename). Building an
index from a corpus is `indexing.py`.

Layout of an index folder:
    manifest.json      schema version, model, dimension, corpus fingerprint, counts, creation time
    documents.jsonl    one `Document` per line (metadata and the text that offsets point into)
    sentences.npz      int arrays doc_index, start, end, cluster (one row per sentence; cluster = near-duplicate group)
    attributions.jsonl one speaker attribution per sentence (speaker, side, cue offsets, confidence)
    sides.json         the side configuration of the corpus
    skipped.json       files that could not be indexed, with the reason
    bm25/              bm25s arrays (npy) and vocabulary (json), one document per sentence
    bm25_context/      the same over each sentence with its neighbours (indexing.CONTEXT_SENTENCES on each side, same document)
    dense.faiss        FAISS index of normalized sentence vectors
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from .attribution import Attribution
from .bm25_index import BM25Index
from .corpus import SkippedFile, corpus_fingerprint
from .dense_index import DenseIndex
from .errors import QAError, StaleIndexError
from .models import Document
from .sides import SideConfig

SCHEMA_VERSION = 3
MANIFEST = "manifest.json"


class Manifest(BaseModel):
    schema_version: int
    package_version: str
    model: str
    dimension: int
    faiss_kind: str
    corpus_dir: str
    corpus_fingerprint: str
    documents: int
    sentences: int
    skipped: int
    created_at: dt.datetime


@dataclass
class SentenceTable:
    """Plain arrays, one row per sentence."""

    doc_index: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cluster: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.doc_index)


@dataclass
class SentenceIndex:
    manifest: Manifest
    documents: list[Document]
    sentences: SentenceTable
    sides: SideConfig
    skipped: list[SkippedFile]
    bm25: BM25Index
    dense: DenseIndex
    attributions: list[Attribution]
    bm25_context: BM25Index | None = None  # each sentence with its neighbours (see `context_spans`)

    def document_of(self, sentence_id: int) -> Document:
        """The document a sentence belongs to."""
        return self.documents[int(self.sentences.doc_index[sentence_id])]

    def sentence_text(self, sentence_id: int) -> str:
        doc = self.document_of(sentence_id)
        return doc.text[int(self.sentences.start[sentence_id]) : int(self.sentences.end[sentence_id])]


def save_index(index: SentenceIndex, index_dir: Path) -> None:
    """Write all files to a temporary sibling folder, then swap it in: a reader never sees half an index."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    try:
        with (tmp / "documents.jsonl").open("w", encoding="utf-8") as handle:
            for doc in index.documents:
                handle.write(doc.model_dump_json() + "\n")
        np.savez(
            tmp / "sentences.npz",
            doc_index=index.sentences.doc_index,
            start=index.sentences.start,
            end=index.sentences.end,
            cluster=index.sentences.cluster,
        )
        with (tmp / "attributions.jsonl").open("w", encoding="utf-8") as handle:
            for attribution in index.attributions:
                handle.write(attribution.model_dump_json() + "\n")
        (tmp / "sides.json").write_text(index.sides.model_dump_json(indent=2), encoding="utf-8")
        (tmp / "skipped.json").write_text(
            json.dumps([s.model_dump() for s in index.skipped], indent=2), encoding="utf-8"
        )
        index.bm25.save(tmp / "bm25")
        if index.bm25_context is not None:
            index.bm25_context.save(tmp / "bm25_context")
        index.dense.save(tmp / "dense.faiss")
        (tmp / MANIFEST).write_text(index.manifest.model_dump_json(indent=2), encoding="utf-8")
        old = None
        if index_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.old-", dir=index_dir.parent))
            old.rmdir()
            index_dir.rename(old)
        tmp.rename(index_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_manifest(index_dir: Path) -> Manifest:
    path = Path(index_dir) / MANIFEST
    if not path.exists():
        raise QAError(f"no index at {index_dir} (build one with: qa-assistant index CORPUS --index {index_dir})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise StaleIndexError(
            f"{path} is damaged; rebuild with: qa-assistant index CORPUS --index {index_dir}"
        ) from None
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise StaleIndexError(
            f"index at {index_dir} has schema version {version}, this qa-assistant reads version {SCHEMA_VERSION}; "
            f"rebuild with: qa-assistant index {data.get('corpus_dir', 'CORPUS')} --index {index_dir}"
        )
    return Manifest.model_validate(data)


def check_fresh(manifest: Manifest, index_dir: Path, corpus_dir: Path | None = None, model: str | None = None) -> None:
    """Raise StaleIndexError when the corpus changed since the build, or another model is asked for."""
    rebuild = f"rebuild with: qa-assistant index {corpus_dir or manifest.corpus_dir} --index {index_dir}"
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


def load_index(
    index_dir: str | Path, corpus_dir: str | Path | None = None, model: str | None = None, check: bool = True
) -> SentenceIndex:
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if check:
        check_fresh(manifest, index_dir, Path(corpus_dir) if corpus_dir else None, model)
    with (index_dir / "documents.jsonl").open(encoding="utf-8") as handle:
        documents = [Document.model_validate_json(line) for line in handle if line.strip()]
    with np.load(index_dir / "sentences.npz", allow_pickle=False) as arrays:
        sentences = SentenceTable(arrays["doc_index"], arrays["start"], arrays["end"], arrays["cluster"])
    with (index_dir / "attributions.jsonl").open(encoding="utf-8") as handle:
        attributions = [Attribution.model_validate_json(line) for line in handle if line.strip()]
    sides = SideConfig.model_validate_json((index_dir / "sides.json").read_text(encoding="utf-8"))
    skipped = [SkippedFile(**s) for s in json.loads((index_dir / "skipped.json").read_text(encoding="utf-8"))]
    bm25 = BM25Index.load(index_dir / "bm25")
    bm25_context = BM25Index.load(index_dir / "bm25_context")
    dense = DenseIndex.load(index_dir / "dense.faiss")
    if dense.size != len(sentences) or dense.index.d != manifest.dimension or len(attributions) != len(sentences):
        raise StaleIndexError(
            f"index at {index_dir} is inconsistent (vectors or attributions do not match sentences); rebuild it"
        )
    return SentenceIndex(manifest, documents, sentences, sides, skipped, bm25, dense, attributions, bm25_context)
