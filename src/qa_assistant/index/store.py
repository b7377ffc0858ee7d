"""The index on disk: plain files plus a manifest, written atomically (temporary folder, then rename). Building an
index from a corpus is `index/build.py`.

Layout of an index folder:
    manifest.json      schema version, model, dimension, corpus fingerprint, counts, creation time
    documents.jsonl    one `Document` per line (metadata and the text that offsets point into)
    sentences.npz      int arrays doc_index, start, end, cluster (one row per sentence; cluster = near-duplicate group)
    attributions.jsonl one speaker attribution per sentence (speaker, side, cue offsets, confidence), parsed on demand
    labels.npz         side and speaker of each sentence as codes, with the distinct names (what filters read)
    sides.json         the side configuration of the corpus
    skipped.json       files that could not be indexed, with the reason
    bm25/              bm25s arrays (npy) and vocabulary (json), one document per sentence
    bm25_context/      the same over each sentence with its neighbours (backends.context.CONTEXT_SENTENCES on each side, same document)
    tokens/            each sentence's BM25 token ids (npy) and their vocabulary (json): an incremental rebuild copies
                       the rows of unchanged documents instead of tokenizing them again
    dense.faiss        FAISS index of normalized sentence vectors

An index built for the Milvus backend (`backends/base.py`) has the same files; its manifest names the collection that
answers its searches (`backends/milvus/backend.py`).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from qa_assistant.backends.base import BackendInfo
from qa_assistant.backends.local.bm25 import BM25Index, TokenTable
from qa_assistant.backends.local.dense import DenseIndex
from qa_assistant.errors import QAError, StaleIndexError, rebuild_command
from qa_assistant.index.embedder import DEFAULT_ENCODER
from qa_assistant.index.integrity import MANIFEST, FileEntry, corrupt, file_table, reading, verify_files
from qa_assistant.index.labels import AttributionFile, SentenceLabels, json_lines
from qa_assistant.index.lock import IndexLock, PinnedFolder, swap_in
from qa_assistant.index.report import BuildReport
from qa_assistant.ingest.attribution import Attribution
from qa_assistant.ingest.corpus import SkippedFile, corpus_fingerprint
from qa_assistant.ingest.sides import SideConfig
from qa_assistant.models import Document
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


@dataclass
class SentenceTable:
    """Plain arrays, one row per sentence."""

    doc_index: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cluster: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.doc_index)

    def document_bounds(self, documents: int) -> np.ndarray:
        """Where each of `documents` documents' sentences lie (rows are in document order): those of document i
        are rows bounds[i]:bounds[i + 1]; `documents` + 1 values."""
        return np.searchsorted(self.doc_index, np.arange(documents + 1))


@dataclass
class SentenceIndex:
    manifest: Manifest
    documents: list[Document]
    sentences: SentenceTable
    sides: SideConfig
    skipped: list[SkippedFile]
    bm25: BM25Index
    dense: DenseIndex
    attributions: Sequence[Attribution]  # a list when built, an `AttributionFile` (parsed line by line) when loaded
    bm25_context: BM25Index | None = None  # each sentence with its neighbours (see `context_spans`)
    tokens: TokenTable | None = None  # each sentence's BM25 tokens, for incremental rebuilds (not read by load_index)
    precomputed_labels: SentenceLabels | None = None  # read from labels.npz or made by the build; else made on use
    build_report: BuildReport | None = None  # what the build that made (or kept) it in this process did

    @property
    def labels(self) -> SentenceLabels:
        """Side and speaker of every sentence, as codes (for filters over a million sentences)."""
        if self.precomputed_labels is None or len(self.precomputed_labels) != len(self.attributions):
            self.precomputed_labels = SentenceLabels.of(self.attributions)
        return self.precomputed_labels

    def document_of(self, sentence_id: int) -> Document:
        """The document a sentence belongs to."""
        return self.documents[int(self.sentences.doc_index[sentence_id])]

    def sentence_text(self, sentence_id: int) -> str:
        doc = self.document_of(sentence_id)
        return doc.text[int(self.sentences.start[sentence_id]) : int(self.sentences.end[sentence_id])]


def save_index(index: SentenceIndex, index_dir: Path) -> None:
    """Write all files to a temporary sibling folder, then swap it in: a reader never sees half an index.
    Holds the folder's writer lock (see `index/lock.py`); the manifest, with every file's size and checksum, is last."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with IndexLock(index_dir):
        _save_index(index, index_dir)


def _save_index(index: SentenceIndex, index_dir: Path) -> None:
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
            cluster=index.sentences.cluster if index.sentences.cluster is not None else np.arange(len(index.sentences)),
        )
        with (tmp / "attributions.jsonl").open("wb") as handle:
            for line in json_lines(index.attributions):
                handle.write(line + b"\n")
        index.labels.save(tmp / "labels.npz")
        (tmp / "sides.json").write_text(index.sides.model_dump_json(indent=2), encoding="utf-8")
        (tmp / "skipped.json").write_text(
            json.dumps([s.model_dump() for s in index.skipped], indent=2), encoding="utf-8"
        )
        index.bm25.save(tmp / "bm25")
        if index.bm25_context is not None:
            index.bm25_context.save(tmp / "bm25_context")
        index.dense.save(tmp / "dense.faiss")
        if index.tokens is not None:
            index.tokens.save(tmp / "tokens")
        index.manifest = index.manifest.model_copy(update={"files": file_table(tmp)})
        (tmp / MANIFEST).write_text(index.manifest.model_dump_json(indent=2), encoding="utf-8")
        swap_in(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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


def load_index(
    index_dir: str | Path,
    corpus_dir: str | Path | None = None,
    model: str | None = None,
    check: bool = True,
    verify: bool = False,
    encoder: str | None = None,
) -> SentenceIndex:
    """Read an index. File sizes are compared with the manifest always, checksums when `verify`; any file that
    cannot be read raises IndexCorruptError. A load that overlaps a rebuild swapping the folder is read again."""
    index_dir = Path(index_dir)
    attempts = 5
    for attempt in range(attempts):
        # Every file is read through one open handle on the folder, so all come from the same build even when
        # a writer swaps in a new folder meanwhile; one that vanishes as the old folder is deleted means: again.
        with PinnedFolder(index_dir) as folder:
            try:
                return _load_index(folder.root, index_dir, corpus_dir, model, check, verify, encoder)
            except QAError:
                # the pinned folder was swapped out and is being deleted (its manifest may already be gone, which
                # reads as "no index"): whatever failed, the new folder is read instead
                if attempt < attempts - 1 and folder.replaced():
                    continue
                raise
    raise AssertionError("unreachable")


def _load_index(
    root: Path,
    index_dir: Path,
    corpus_dir: str | Path | None,
    model: str | None,
    check: bool,
    verify: bool,
    encoder: str | None,
) -> SentenceIndex:
    """Read the index through `root` (a handle on `index_dir`); messages name `index_dir`."""
    manifest = read_manifest(index_dir, root)
    if encoder is not None and encoder != manifest.encoder:
        raise QAError(
            f"index at {index_dir} was built with encoder '{manifest.encoder}': questions are encoded the same way; "
            f"leave out --encoder, or rebuild with: "
            f"{rebuild_command(index_dir, manifest.corpus_dir, '--encoder', encoder)}"
        )
    if check:
        check_fresh(manifest, index_dir, Path(corpus_dir) if corpus_dir else None, model)
    source = corpus_dir or manifest.corpus_dir
    verify_files(index_dir, manifest.files, source, checksums=verify, root=root)
    with (
        reading(index_dir, "documents.jsonl", source),
        (root / "documents.jsonl").open(encoding="utf-8") as handle,
    ):
        documents = [Document.model_validate_json(line) for line in handle if line.strip()]
    with (
        reading(index_dir, "sentences.npz", source),
        np.load(root / "sentences.npz", allow_pickle=False) as arrays,
    ):
        sentences = SentenceTable(arrays["doc_index"], arrays["start"], arrays["end"], arrays["cluster"])
    with reading(index_dir, "attributions.jsonl", source):
        attributions = AttributionFile.read(root / "attributions.jsonl")
        attributions.check()
    labels = None
    if (root / "labels.npz").exists():  # (indexes of an earlier version have none: made from the attributions)
        with reading(index_dir, "labels.npz", source):
            labels = SentenceLabels.load(root / "labels.npz")
        if len(labels) != manifest.sentences:
            raise corrupt(index_dir, "labels.npz", f"{len(labels)} rows, expected {manifest.sentences}", source)
    with reading(index_dir, "sides.json", source):
        sides = SideConfig.model_validate_json((root / "sides.json").read_text(encoding="utf-8"))
    with reading(index_dir, "skipped.json", source):
        skipped = [SkippedFile(**s) for s in json.loads((root / "skipped.json").read_text(encoding="utf-8"))]
    with reading(index_dir, "bm25", source):
        bm25 = BM25Index.load(root / "bm25")
    with reading(index_dir, "bm25_context", source):
        bm25_context = BM25Index.load(root / "bm25_context")
    with reading(index_dir, "dense.faiss", source):
        dense = DenseIndex.load(root / "dense.faiss")
    problem = _inconsistency(manifest, documents, sentences, attributions, dense, bm25, bm25_context)
    if problem:
        raise corrupt(index_dir, problem[0], problem[1], source)
    return SentenceIndex(
        manifest,
        documents,
        sentences,
        sides,
        skipped,
        bm25,
        dense,
        attributions,
        bm25_context,
        precomputed_labels=labels,
    )


def _inconsistency(
    manifest: Manifest,
    documents: list[Document],
    sentences: SentenceTable,
    attributions: Sequence[Attribution],
    dense: DenseIndex,
    bm25: BM25Index,
    bm25_context: BM25Index,
) -> tuple[str, str] | None:
    """(file, problem) when the files disagree with each other or with the manifest; None when they agree."""
    n = manifest.sentences
    if len(documents) != manifest.documents:
        return "documents.jsonl", f"{len(documents)} documents, the manifest says {manifest.documents}"
    arrays = (sentences.doc_index, sentences.start, sentences.end, sentences.cluster)
    if any(a is None or a.ndim != 1 or len(a) != n for a in arrays):
        return "sentences.npz", f"its arrays do not all have {n} rows"
    if n and (
        sentences.doc_index.min() < 0
        or sentences.doc_index.max() >= len(documents)
        or np.any(np.diff(sentences.doc_index) < 0)
        or np.any(sentences.start < 0)
        or np.any(sentences.end < sentences.start)
    ):
        return "sentences.npz", "sentence offsets or document numbers out of range"
    lengths = np.fromiter((len(d.text) for d in documents), dtype=np.int64, count=len(documents))
    if n and np.any(sentences.end > lengths[sentences.doc_index]):
        return "sentences.npz", "a sentence ends beyond its document's text"
    if len(attributions) != n:
        return "attributions.jsonl", f"{len(attributions)} attributions for {n} sentences"
    if dense.size != n or dense.dimension != manifest.dimension:
        return (
            "dense.faiss",
            f"{dense.size} vectors of dimension {dense.dimension}, expected {n} of {manifest.dimension}",
        )
    for name, sparse in (("bm25", bm25), ("bm25_context", bm25_context)):
        if sparse.size not in (None, n):
            return name, f"it indexes {sparse.size} sentences, expected {n}"
    return None
