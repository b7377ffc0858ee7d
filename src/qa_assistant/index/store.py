"""The index on disk: plain files plus a manifest, written atomically (temporary folder, then rename), and read
back (again when a rebuild swapped the folder meanwhile). The index in memory is `index/catalog.py`, the manifest
`index/manifest.py`; building an index from a corpus is `index/build.py`.

Layout of an index folder:
    manifest.json      schema version, model, dimension, corpus fingerprint, counts, creation time
    documents.jsonl    one `Document` per line (metadata and the text that offsets point into)
    sentences.npz      int arrays doc_index, start, end, cluster (one row per sentence; cluster = near-duplicate group)
                       and bool quotable (whether the sentence may be quoted at all: `text/quotable.py`)
    attributions.jsonl one speaker attribution per sentence (speaker, side, cue offsets, confidence), parsed on demand
    labels.npz         side and speaker of each sentence as codes, with the distinct names (what filters read)
    date_mentions.npz  every date, month or year the documents speak of: document, days covered, offsets, paragraph
    sides.json         the side configuration of the corpus
    skipped.json       files that could not be indexed, with the reason
    bm25/              bm25s arrays (npy) and vocabulary (json), one document per sentence
    bm25_context/      the same over each sentence with its neighbours (backends.context.CONTEXT_SENTENCES on each side, same document)
    tokens/            each sentence's BM25 token ids (npy) and their vocabulary (json): an incremental rebuild copies
                       the rows of unchanged documents instead of tokenizing them again
    dense.faiss        FAISS index of normalized sentence vectors

An index built for the Milvus backend (`backends/base.py`) has the same files; its manifest names the collection that
answers its searches (`backends/milvus/backend.py`), and it has the serving tables of a node that answers from Milvus
alone (`index/serving.py`): `load_index(..., serving=True)` reads only those, so the others (vectors, BM25 files,
documents, attributions) may be left out of a serving node's copy of the folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qa_assistant.backends.local.bm25 import BM25Index
from qa_assistant.backends.local.dense import DenseIndex
from qa_assistant.errors import QAError, rebuild_command
from qa_assistant.index.attributions import AttributionFile, json_lines
from qa_assistant.index.catalog import SentenceIndex, SentenceTable
from qa_assistant.index.date_mentions import DateMentions
from qa_assistant.index.integrity import MANIFEST, corrupt, file_table, reading, verify_files
from qa_assistant.index.labels import SentenceLabels
from qa_assistant.index.lock import IndexLock, PinnedFolder, swap_in
from qa_assistant.index.manifest import Manifest, check_fresh, read_manifest
from qa_assistant.index.serving import (
    DATE_MENTIONS,
    DOCUMENTS_TABLE,
    SERVING_FILES,
    TOKEN_COUNTS,
    DocumentEntry,
    RemoteAttributions,
    RemoteDocuments,
    TermCounts,
)
from qa_assistant.ingest.attribution import Attribution
from qa_assistant.ingest.corpus import SkippedFile
from qa_assistant.ingest.sides import SideConfig
from qa_assistant.models import Document


def save_index(index: SentenceIndex, index_dir: Path) -> None:
    """Write all files to a temporary sibling folder, then swap it in: a reader never sees half an index.
    Holds the folder's writer lock (see `index/lock.py`); the manifest, with every file's size and checksum, is last."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with IndexLock(index_dir):
        _save_index(index, index_dir)


def _save_index(index: SentenceIndex, index_dir: Path) -> None:
    if index.bm25 is None or index.dense is None:
        raise QAError(
            f"the index read from the serving tables of {index_dir} cannot be written: it holds no vectors and no BM25 "
            "files; build it where its whole folder is"
        )
    with _written_in(index, index_dir) as tmp:
        with (tmp / "documents.jsonl").open("w", encoding="utf-8") as handle:
            for doc in index.documents:
                handle.write(doc.model_dump_json() + "\n")
        with (tmp / "attributions.jsonl").open("wb") as handle:
            for line in json_lines(index.attributions):
                handle.write(line + b"\n")
        _write_tables(index, tmp)
        index.bm25.save(tmp / "bm25")
        if index.bm25_context is not None:
            index.bm25_context.save(tmp / "bm25_context")
        index.dense.save(tmp / "dense.faiss")
        if index.tokens is not None:
            index.tokens.save(tmp / "tokens")
        if index.manifest.backend.kind == "milvus":
            _save_serving_tables(index, tmp)


@contextmanager
def _written_in(index: SentenceIndex, index_dir: Path) -> Iterator[Path]:
    """A temporary sibling folder of `index_dir` for the files of `index`; once they are written, the manifest (with
    every file's size and checksum) is added last and the folder swapped in; on any error it is removed."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    try:
        yield tmp
        index.manifest = index.manifest.model_copy(update={"files": file_table(tmp)})
        (tmp / MANIFEST).write_text(index.manifest.model_dump_json(indent=2), encoding="utf-8")
        swap_in(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_tables(index: SentenceIndex, folder: Path) -> None:
    """The tables every index folder has, a serving node's too: sentences, labels, date mentions, sides, skipped."""
    table = index.sentences
    arrays = {
        "doc_index": table.doc_index,
        "start": table.start,
        "end": table.end,
        "cluster": table.cluster if table.cluster is not None else np.arange(len(table)),
    }
    if table.quotable is not None:
        arrays["quotable"] = table.quotable
    np.savez(folder / "sentences.npz", **arrays)  # type: ignore[arg-type]
    index.labels.save(folder / "labels.npz")
    index.dates_spoken_of().save(folder / "date_mentions.npz")
    (folder / "sides.json").write_text(index.sides.model_dump_json(indent=2), encoding="utf-8")
    (folder / "skipped.json").write_text(
        json.dumps([s.model_dump() for s in index.skipped], indent=2), encoding="utf-8"
    )


def save_serving_index(index: SentenceIndex, index_dir: Path) -> None:
    """Write a Milvus-backed index of the serving tables alone (`index/serving.py`: what a node answering from Milvus
    needs; a distributed build writes no more), swapped in as `save_index` does. `index` holds no search files: its
    token counts are `index.term_counts`, its rows' versions `index.document_keys`."""
    index_dir = Path(index_dir)
    if index.manifest.backend.kind != "milvus" or index.term_counts is None or index.document_keys is None:
        raise QAError("only a Milvus-backed index with its token counts and row versions is written as serving tables")
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with IndexLock(index_dir), _written_in(index, index_dir) as tmp:
        _write_tables(index, tmp)
        _save_serving_tables(index, tmp)


def _save_serving_tables(index: SentenceIndex, folder: Path) -> None:
    """The small tables a node answering from Milvus alone reads (`index/serving.py`)."""
    if index.document_keys is None:
        from qa_assistant.backends.milvus.sync import IndexRows

        index.document_keys = IndexRows(index).keys
    with (folder / DOCUMENTS_TABLE).open("w", encoding="utf-8") as handle:
        for info, key in zip(index.cards, index.document_keys, strict=True):
            handle.write(DocumentEntry(info=info, key=key).model_dump_json() + "\n")
    if index.bm25 is not None:
        TermCounts(index.bm25.token_counts(), len(index.sentences)).save(folder / TOKEN_COUNTS)
    else:
        assert index.term_counts is not None
        index.term_counts.save(folder / TOKEN_COUNTS)


def load_index(
    index_dir: str | Path,
    corpus_dir: str | Path | None = None,
    model: str | None = None,
    check: bool = True,
    verify: bool = False,
    encoder: str | None = None,
    serving: bool = False,
) -> SentenceIndex:
    """Read an index. File sizes are compared with the manifest always, checksums when `verify`; any file that
    cannot be read raises IndexCorruptError. A load that overlaps a rebuild swapping the folder is read again.
    `serving`: a Milvus-backed index is read from its serving tables alone (`index/serving.py`; its documents and
    attributions are read from the collection when needed); a local index is read whole either way."""
    index_dir = Path(index_dir)
    attempts = 5
    for attempt in range(attempts):
        # Every file is read through one open handle on the folder, so all come from the same build even when
        # a writer swaps in a new folder meanwhile; one that vanishes as the old folder is deleted means: again.
        with PinnedFolder(index_dir) as folder:
            try:
                return _load_index(folder.root, index_dir, corpus_dir, model, check, verify, encoder, serving)
            except QAError:
                # the pinned folder was swapped out and is being deleted (its manifest may already be gone, which
                # reads as "no index"): whatever failed, the new folder is read instead
                if attempt < attempts - 1 and folder.replaced():
                    continue
                raise
    raise AssertionError("unreachable")


def _usable_manifest(
    root: Path, index_dir: Path, corpus_dir: str | Path | None, model: str | None, check: bool, encoder: str | None
) -> Manifest:
    """The manifest of the index through `root`, once it is known to answer questions encoded with `encoder` and
    (with `check`) to be fresh for `corpus_dir` and `model`."""
    manifest = read_manifest(index_dir, root)
    if encoder is not None and encoder != manifest.encoder:
        raise QAError(
            f"index at {index_dir} was built with encoder '{manifest.encoder}': questions are encoded the same way; "
            f"leave out --encoder, or rebuild with: "
            f"{rebuild_command(index_dir, manifest.corpus_dir, '--encoder', encoder)}"
        )
    if check:
        check_fresh(manifest, index_dir, Path(corpus_dir) if corpus_dir else None, model)
    return manifest


def _read_labels(root: Path, index_dir: Path, manifest: Manifest, source: str | Path) -> SentenceLabels | None:
    """The sentence labels of the index through `root`; None for an index of an earlier version, which has none
    (they are made from the attributions)."""
    if not (root / "labels.npz").exists():
        return None
    with reading(index_dir, "labels.npz", source):
        labels = SentenceLabels.load(root / "labels.npz")
    if len(labels) != manifest.sentences:
        raise corrupt(index_dir, "labels.npz", f"{len(labels)} rows, expected {manifest.sentences}", source)
    return labels


def _read_date_mentions(
    root: Path, index_dir: Path, documents: list[Document], source: str | Path
) -> DateMentions | None:
    """The date mentions of the index through `root`; None for an index of an earlier version (found on use)."""
    if not (root / "date_mentions.npz").exists():
        return None
    with reading(index_dir, "date_mentions.npz", source):
        mentions = DateMentions.load(root / "date_mentions.npz")
    if len(mentions) and not (mentions.document.min() >= 0 and mentions.document.max() < len(documents)):
        raise corrupt(index_dir, "date_mentions.npz", "document numbers out of range", source)
    return mentions


def _sentence_table(arrays: Any) -> SentenceTable:
    """The sentence table of sentences.npz (`quotable` only in an index made since it is kept there)."""
    quotable = arrays["quotable"].astype(bool) if "quotable" in arrays.files else None
    return SentenceTable(arrays["doc_index"], arrays["start"], arrays["end"], arrays["cluster"], quotable)


def _load_index(
    root: Path,
    index_dir: Path,
    corpus_dir: str | Path | None,
    model: str | None,
    check: bool,
    verify: bool,
    encoder: str | None,
    serving: bool = False,
) -> SentenceIndex:
    """Read the index through `root` (a handle on `index_dir`); messages name `index_dir`."""
    manifest = _usable_manifest(root, index_dir, corpus_dir, model, check, encoder)
    source = corpus_dir or manifest.corpus_dir
    if serving and manifest.backend.kind == "milvus" and manifest.backend.milvus is not None:
        return _load_serving(root, index_dir, manifest, source, verify)
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
        sentences = _sentence_table(arrays)
    with reading(index_dir, "attributions.jsonl", source):
        attributions = AttributionFile.read(root / "attributions.jsonl")
        attributions.check()
    labels = _read_labels(root, index_dir, manifest, source)
    date_mentions = _read_date_mentions(root, index_dir, documents, source)
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
        date_mentions=date_mentions,
    )


def _load_serving(root: Path, index_dir: Path, manifest: Manifest, source: str | Path, verify: bool) -> SentenceIndex:
    """The index of a node answering from Milvus alone: the serving tables, documents and attributions read from the
    collection."""
    from qa_assistant.backends.milvus.fetch import MilvusRecords

    table = manifest.files or {}
    if DOCUMENTS_TABLE not in table:
        raise corrupt(
            index_dir, DOCUMENTS_TABLE, "missing (an index built before nodes answered from Milvus alone)", source
        )
    verify_files(index_dir, {name: table[name] for name in SERVING_FILES if name in table}, source, verify, root)
    with reading(index_dir, DOCUMENTS_TABLE, source), (root / DOCUMENTS_TABLE).open(encoding="utf-8") as handle:
        entries = [DocumentEntry.model_validate_json(line) for line in handle if line.strip()]
    with reading(index_dir, "sentences.npz", source), np.load(root / "sentences.npz", allow_pickle=False) as arrays:
        sentences = _sentence_table(arrays)
    labels = _read_labels(root, index_dir, manifest, source)
    with reading(index_dir, "sides.json", source):
        sides = SideConfig.model_validate_json((root / "sides.json").read_text(encoding="utf-8"))
    with reading(index_dir, "skipped.json", source):
        skipped = [SkippedFile(**s) for s in json.loads((root / "skipped.json").read_text(encoding="utf-8"))]
    with reading(index_dir, TOKEN_COUNTS, source):
        terms = TermCounts.load(root / TOKEN_COUNTS)
    with reading(index_dir, DATE_MENTIONS, source):
        mentions = DateMentions.load(root / DATE_MENTIONS)
    if len(entries) != manifest.documents or len(sentences) != manifest.sentences or labels is None:
        raise corrupt(index_dir, DOCUMENTS_TABLE, "its tables disagree with the manifest's counts", source)
    assert manifest.backend.milvus is not None
    records = MilvusRecords(manifest.backend.milvus)
    bounds = sentences.document_bounds(len(entries))
    ids = [entry.info.id for entry in entries]
    keys = [entry.key for entry in entries]
    fetch = lambda wanted: attributions_of(records, wanted, sentences.doc_index, bounds, ids, keys)  # noqa: E731
    return SentenceIndex(
        manifest,
        RemoteDocuments(entries, records.documents),  # type: ignore[arg-type]
        sentences,
        sides,
        skipped,
        None,
        None,
        RemoteAttributions(len(sentences), fetch),
        None,
        precomputed_labels=labels,
        document_keys=keys,
        term_counts=terms,
        date_mentions=mentions,
        entries=entries,
    )


def attributions_of(
    records: Any, wanted: list[int], doc_index: np.ndarray, bounds: np.ndarray, ids: list[str], keys: list[str]
) -> dict[int, Attribution]:
    """The attributions of sentences `wanted`, read from their rows (`records`: `backends.milvus.fetch.MilvusRecords`);
    a row of another version of its document is an error saying what to do."""
    from qa_assistant.backends.milvus.rows import row_id

    numbers = {s: int(doc_index[s]) for s in wanted}
    row_of = {row_id(ids[n], s - int(bounds[n])): s for s, n in numbers.items()}
    rows = records.sentence_fields(list(row_of), ["attribution"])
    found: dict[int, Attribution] = {}
    for pk, sentence_id in row_of.items():
        row = rows.get(pk)
        if row is None or row["doc_key"] != keys[numbers[sentence_id]]:
            raise QAError(
                f"the Milvus collection '{records.config.collection}' does not hold sentence {sentence_id} of document "
                f"'{ids[numbers[sentence_id]]}' as this index does: it was updated by a later build; copy that "
                "build's index folder here (or reload it) and open it again"
            )
        found[sentence_id] = Attribution.model_validate(row["attribution"])
    return found


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
