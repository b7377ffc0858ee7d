"""Building an index from a corpus: sentences, speaker attributions, BM25, dense vectors, near-duplicate clusters.

`index/store.py` reads and writes the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa_assistant.backends.base import BackendInfo
from qa_assistant.backends.context import context_rows
from qa_assistant.backends.local.bm25 import BM25Index, TokenTable, neighbour_sums
from qa_assistant.backends.local.dense import DenseIndex
from qa_assistant.errors import QAError
from qa_assistant.index.attributions import KeptAttributions
from qa_assistant.index.catalog import SentenceIndex, SentenceTable
from qa_assistant.index.dedupe import cluster_sentences, extend_clusters
from qa_assistant.index.embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder
from qa_assistant.index.labels import KeptAttributions, SentenceLabels
from qa_assistant.index.manifest import SCHEMA_VERSION, Manifest, read_manifest
from qa_assistant.index.report import BuildReport, corpus_changes
from qa_assistant.index.reuse import EarlierBuild
from qa_assistant.index.store import load_index, save_index
from qa_assistant.index.vector_cache import VectorCache, cache_dir_for
from qa_assistant.ingest.attribution import Attribution, attribute_document
from qa_assistant.ingest.corpus import LoadedCorpus, corpus_file_hashes, load_corpus, require_corpus_dir
from qa_assistant.models import Document, join_soft_hyphens
from qa_assistant.text.segment_parallel import split_many
from qa_assistant.version import __version__


def sentence_tokens(texts: list[str], earlier_rows: np.ndarray, earlier: EarlierBuild | None) -> TokenTable:
    """The BM25 tokens of every sentence; those kept from `earlier` are copied from its token table."""
    if earlier is None or earlier.tokens is None or len(earlier_rows) != len(texts):
        return TokenTable.of(texts)
    kept = np.flatnonzero(earlier_rows >= 0)
    new = np.flatnonzero(earlier_rows < 0)
    parts = [(earlier.tokens.rows(earlier_rows[kept]), kept), (TokenTable.of([texts[i] for i in new.tolist()]), new)]
    return TokenTable.merge(parts, len(texts))


def segment_reusing(documents: list[Document], earlier: EarlierBuild | None) -> tuple[SentenceTable, np.ndarray]:
    """The sentences of `documents`, and for each its id in the earlier build (-1: segmented now). A document
    taken from the earlier build keeps its sentences; the others are split by `split_sentences`, on every core
    when there are many (`text/segment_parallel.py`)."""
    doc_index, starts, ends, earlier_rows = [], [], [], []
    kept = [earlier.sentence_rows(doc) if earlier is not None else None for doc in documents]
    to_split = [doc.text for doc, rows in zip(documents, kept, strict=True) if rows is None]
    split = iter(split_many(to_split))
    for i, rows in enumerate(kept):
        if rows is not None and earlier is not None:
            table = earlier.sentences
            doc_index.append(np.full(len(rows), i, dtype=np.int32))
            starts.append(table.start[rows])
            ends.append(table.end[rows])
            earlier_rows.append(rows.astype(np.int64))
            continue
        spans = next(split)
        doc_index.append(np.full(len(spans), i, dtype=np.int32))
        starts.append(np.array([s for s, _ in spans], dtype=np.int64))
        ends.append(np.array([e for _, e in spans], dtype=np.int64))
        earlier_rows.append(np.full(len(spans), -1, dtype=np.int64))

    def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)

    table = SentenceTable(
        doc_index=joined(doc_index, np.int32), start=joined(starts, np.int64), end=joined(ends, np.int64)
    )
    return table, joined(earlier_rows, np.int64)


def build_index(
    corpus: LoadedCorpus,
    corpus_dir: Path,
    model: str = DEFAULT_MODEL,
    faiss_kind: str = "flat",
    progress: bool = False,
    on_stage: Callable[[str], None] | None = None,
    segmenter: Callable[[list[Document]], SentenceTable] | None = None,
    encoder: str = DEFAULT_ENCODER,
    vector_storage: str = "float32",
    vector_cache: VectorCache | None = None,
    earlier: EarlierBuild | None = None,
) -> SentenceIndex:
    """Index `corpus`: one unit per sentence, or per unit that `segmenter` cuts (evaluation: whole documents, windows).
    With `vector_cache`, only sentences it does not hold are encoded, and they are added to it as they are.
    With `earlier` (the index being replaced, see `index/reuse.py`), documents taken from it keep their sentences,
    attributions and clusters."""
    say = on_stage or (lambda _msg: None)
    report = BuildReport()
    if segmenter is not None:
        earlier = None
    fresh = len(corpus.documents) - (len(earlier.taken) if earlier is not None else 0)
    report.documents_segmented, report.documents_kept = fresh, len(corpus.documents) - fresh
    say(f"segmenting {fresh} documents" + (f" ({len(earlier.taken)} kept from the last build)" if earlier else ""))
    if segmenter is not None:
        sentences, earlier_rows = segmenter(corpus.documents), np.empty(0, dtype=np.int64)
    else:
        sentences, earlier_rows = segment_reusing(corpus.documents, earlier)
    if len(sentences) == 0:
        raise QAError(f"no sentences found in the documents of {corpus_dir}")
    # What is searched and encoded: the sentence with words split by a soft hyphen (PDF line ends) joined
    texts = [
        join_soft_hyphens(corpus.documents[d].text[s:e])
        for d, s, e in zip(sentences.doc_index, sentences.start, sentences.end)
    ]
    say("attributing speakers")
    same_sides = earlier is not None and earlier.index.sides.model_dump() == corpus.sides.model_dump()
    attributions, labels = attribute_sentences(
        corpus, sentences, earlier_rows if same_sides else None, earlier if same_sides else None
    )
    say(f"BM25 over {len(texts)} sentences and their contexts")
    tokens = sentence_tokens(texts, earlier_rows, earlier)
    counts = tokens.counts()
    bm25 = BM25Index.from_counts(counts, tokens.vocab)
    bm25_context = BM25Index.from_counts(neighbour_sums(counts, *context_rows(sentences.doc_index)), tokens.vocab)
    del counts
    embedder = Embedder(model, encoder)

    def encode(rows: np.ndarray | None) -> np.ndarray:
        """The vectors of sentences `rows` (None: all), from the vector cache where it holds them."""
        chosen = texts if rows is None else [texts[i] for i in rows.tolist()]
        report.vectors_looked_up += len(chosen)
        if vector_cache is None:
            say(f"encoding {len(chosen)} sentences with {model} ({encoder})")
            return embedder.encode(chosen, progress=progress)
        say(f"looking up {len(chosen)} sentence vectors in the vector cache")
        found, reused = vector_cache.encode(embedder, chosen, progress=progress, say=say)
        report.vectors_from_cache += reused
        say(f"{reused} of {len(chosen)} sentence vectors came from the vector cache")
        return found

    # An update keeps the earlier vector index: only the new sentences' vectors are needed (`updated_faiss`).
    earlier_clusters = earlier.sentences.cluster if earlier is not None else None
    dense, vectors, new_vectors, cells = None, None, None, None
    new_rows = np.flatnonzero(earlier_rows < 0) if len(earlier_rows) == len(texts) else None
    if earlier is not None and earlier_clusters is not None and new_rows is not None:
        new_vectors = encode(new_rows)
        say(f"updating the {faiss_kind}/{vector_storage} vector index: {len(new_rows)} vectors added")
        dense = DenseIndex.updated(earlier.index.dense, earlier_rows, new_vectors, faiss_kind, vector_storage)
        report.vectors_added = len(new_rows) if dense is not None else None
    if dense is None:
        vectors = encode(None)
        say(f"building the {faiss_kind}/{vector_storage} vector index")
        dense, cells = DenseIndex.build_noting_cells(
            vectors, faiss_kind, vector_storage, earlier.index.dense if earlier else None
        )
    if earlier_clusters is not None and new_rows is not None and new_vectors is not None:
        say(f"clustering {len(new_rows)} new sentences with their near-duplicates")
        sentences.cluster = extend_clusters(
            texts, sentences.doc_index, new_vectors, earlier_rows, earlier_clusters, dense
        )
    else:
        say("clustering near-duplicate sentences")
        sentences.cluster = cluster_sentences(
            texts, sentences.doc_index, encode(None) if vectors is None else vectors, dense, cells
        )
    del cells  # (only the clustering needs them: 64 bytes a sentence not kept)
    if vector_cache is not None:
        vector_cache.compact(texts)
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        package_version=__version__,
        model=model,
        dimension=embedder.dimension,
        faiss_kind=faiss_kind,
        encoder=encoder,
        vectors=vector_storage,
        corpus_dir=str(corpus_dir.resolve()),
        corpus_fingerprint=corpus.fingerprint,
        documents=len(corpus.documents),
        sentences=len(sentences),
        skipped=len(corpus.skipped),
        created_at=dt.datetime.now(dt.UTC),
        corpus_files=corpus.file_hashes,
        source_keys=corpus.source_keys,
    )
    return SentenceIndex(
        manifest,
        corpus.documents,
        sentences,
        corpus.sides,
        corpus.skipped,
        bm25,
        dense,
        attributions,
        bm25_context,
        tokens,
        precomputed_labels=labels,
        build_report=report,
    )


def attribute_sentences(
    corpus: LoadedCorpus,
    sentences: SentenceTable,
    earlier_rows: np.ndarray | None = None,
    earlier: EarlierBuild | None = None,
) -> tuple[Sequence[Attribution], SentenceLabels]:
    """Speaker attribution of every sentence, and their labels (side, speaker codes). A document kept from
    `earlier` (its sentences' rows there in `earlier_rows`) keeps the attributions and labels it had there."""
    made: list[Attribution | None] = []
    bounds = sentences.document_bounds(len(corpus.documents))
    for i, doc in enumerate(corpus.documents):
        lo, hi = bounds[i], bounds[i + 1]
        if earlier is not None and earlier_rows is not None and hi > lo and earlier_rows[lo] >= 0:
            made.extend([None] * (hi - lo))
            continue
        spans = list(zip(sentences.start[lo:hi].tolist(), sentences.end[lo:hi].tolist()))
        made.extend(attribute_document(doc, spans, corpus.sides))
    if earlier is None or earlier_rows is None:
        complete = [a for a in made if a is not None]
        return complete, SentenceLabels.of(complete)
    kept = np.flatnonzero(np.array([a is None for a in made], dtype=bool))
    new = np.flatnonzero(np.array([a is not None for a in made], dtype=bool))
    labels = SentenceLabels.merged(
        [
            (earlier.index.labels.rows(earlier_rows[kept]), kept),
            (SentenceLabels.of([a for a in made if a is not None]), new),
        ],
        len(made),
    )
    return KeptAttributions(earlier.index.attributions, earlier_rows, made), labels


def build_and_save(
    corpus_dir: str | Path,
    index_dir: str | Path,
    model: str = DEFAULT_MODEL,
    faiss_kind: str = "flat",
    progress: bool = False,
    on_stage: Callable[[str], None] | None = None,
    encoder: str = DEFAULT_ENCODER,
    vector_storage: str = "float32",
    force: bool = False,
    backend: BackendInfo | None = None,
) -> SentenceIndex:
    """Index `corpus_dir` into `index_dir`, replacing it atomically, unless the index there was built from the
    same files with the same settings (then it is loaded as it is; `force` rebuilds anyway).

    A rebuild is incremental: documents of unchanged files, with their sentences, attributions and clusters, come
    from the index being replaced (`index/reuse.py`), and sentence vectors from the vector cache beside the index
    (`index/vector_cache.py`), so after files were added, changed or removed only the new sentences are segmented and
    encoded, and a build killed half way goes on from the vector chunks it had saved.

    `backend` (default: local) says where searches go; for Milvus its collection is brought in step with the
    index (`backends.milvus.sync.sync`: rows of changed and removed documents deleted, of new and changed ones
    inserted) before the index is written."""
    corpus_dir = require_corpus_dir(corpus_dir)
    index_dir = Path(index_dir)
    backend = backend or BackendInfo()
    say = on_stage or (lambda _msg: None)
    hashes = corpus_file_hashes(corpus_dir)  # read once: every file is hashed, which takes seconds at a million
    if not force:
        current = up_to_date(corpus_dir, index_dir, model, encoder, faiss_kind, vector_storage, hashes)
        if current is not None and current.manifest.backend == backend:
            say(f"the index in {index_dir} is up to date with {corpus_dir}: nothing to do")
            current.build_report = BuildReport(up_to_date=True)
            sync_backend(current, say)  # (a collection emptied or changed meanwhile is filled again)
            return current
    earlier = None
    if not force and (index_dir / "manifest.json").exists():
        say(f"reading the index in {index_dir} to keep what did not change")
        earlier = EarlierBuild.open(index_dir, model, encoder, faiss_kind, vector_storage)
    say(f"reading the corpus in {corpus_dir}")
    corpus = load_corpus(corpus_dir, reuse=earlier.documents if earlier is not None else None, hashes=hashes)
    changes = corpus_changes(recorded_corpus_files(index_dir), corpus.file_hashes)
    say(changes.describe())
    cache = VectorCache(cache_dir_for(index_dir), model, encoder)
    index = build_index(
        corpus,
        corpus_dir,
        model,
        faiss_kind,
        progress,
        on_stage,
        encoder=encoder,
        vector_storage=vector_storage,
        vector_cache=cache,
        earlier=earlier,
    )
    index.manifest.backend = backend
    if index.build_report is not None:
        index.build_report.changes = changes
    sync_backend(index, say)
    say(f"writing the index to {index_dir}")
    save_index(index, index_dir)
    return index


def sync_backend(index: SentenceIndex, say: Callable[[str], None]) -> None:
    """Bring the search backend of `index` (its manifest's) in step with it: nothing to do for the local one."""
    info = index.manifest.backend
    if info.kind == "milvus" and info.milvus is not None:
        from qa_assistant.backends.milvus.sync import sync

        counts = sync(index, info.milvus, say)
        if index.build_report is not None:
            index.build_report.milvus = counts
        say(
            f"Milvus collection '{info.milvus.collection}': {counts['kept']} documents kept, {counts['inserted']} "
            f"inserted ({counts['sentences']} sentences)"
        )


def recorded_corpus_files(index_dir: Path) -> dict[str, str]:
    """The corpus files (SHA-256 by relative path) the manifest in `index_dir` records; empty when there is none."""
    try:
        return read_manifest(index_dir).corpus_files
    except QAError:
        return {}


def up_to_date(
    corpus_dir: Path,
    index_dir: Path,
    model: str,
    encoder: str,
    faiss_kind: str,
    vector_storage: str,
    hashes: dict[str, str] | None = None,
) -> SentenceIndex | None:
    """The index in `index_dir` when it was built by this version, with these settings, from exactly the files now
    in `corpus_dir` (compared by SHA-256; `hashes`: those of `corpus_file_hashes`, when already computed), and all
    its files are there with their recorded checksums; else None."""
    try:
        manifest = read_manifest(index_dir)
    except (QAError, OSError, ValueError):
        return None
    if not manifest.built_with(model, encoder, faiss_kind, vector_storage):
        return None
    if manifest.corpus_dir != str(corpus_dir.resolve()) or not manifest.corpus_files:
        return None
    if manifest.corpus_files != (corpus_file_hashes(corpus_dir) if hashes is None else hashes):
        return None
    try:
        return load_index(index_dir, corpus_dir, check=False, verify=True)  # checksums too: a damaged index is rebuilt
    except (QAError, OSError, ValueError):
        return None
