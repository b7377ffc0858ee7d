"""Building an index from a corpus: sentences, speaker attributions, BM25, dense vectors, near-duplicate clusters.

`index/store.py` reads and writes the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa_assistant.backends.base import BackendInfo
from qa_assistant.backends.context import context_rows
from qa_assistant.backends.local.bm25 import BM25Index, TokenTable, neighbour_sums
from qa_assistant.backends.local.dense import DenseIndex
from qa_assistant.errors import QAError
from qa_assistant.index.catalog import SentenceIndex, SentenceTable
from qa_assistant.index.date_mentions import DateMentions
from qa_assistant.index.dedupe import cluster_sentences, extend_clusters
from qa_assistant.index.embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder
from qa_assistant.index.manifest import SCHEMA_VERSION, Manifest, read_manifest
from qa_assistant.index.report import BuildReport, corpus_changes
from qa_assistant.index.reuse import EarlierBuild, attribute_sentences, segment_reusing, sentence_tokens
from qa_assistant.index.store import load_index, save_index
from qa_assistant.index.vector_cache import VectorCache, cache_dir_for
from qa_assistant.ingest.corpus import LoadedCorpus, corpus_file_hashes, load_corpus, require_corpus_dir
from qa_assistant.models import Document, join_soft_hyphens
from qa_assistant.text.quotable import quotable_flags
from qa_assistant.version import __version__


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
    sentences, earlier_rows = _segment(corpus, corpus_dir, segmenter, earlier, report, say)
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
    say("finding the dates the documents speak of")
    date_mentions = DateMentions.reusing(
        corpus.documents, earlier.index.date_mentions if earlier else None, earlier.taken if earlier else {}
    )
    say(f"BM25 over {len(texts)} sentences and their contexts")
    tokens = sentence_tokens(texts, earlier_rows, earlier)
    bm25, bm25_context = _bm25_indexes(tokens, sentences)
    vectors = SentenceVectors(texts, Embedder(model, encoder), vector_cache, report, say, progress)
    dense = _dense_and_clusters(sentences, earlier_rows, earlier, vectors, faiss_kind, vector_storage)
    if vector_cache is not None:
        vector_cache.compact(texts)
    dimension = vectors.embedder.dimension
    manifest = _manifest(corpus, corpus_dir, len(sentences), model, dimension, encoder, faiss_kind, vector_storage)
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
        date_mentions=date_mentions,
    )


def _manifest(
    corpus: LoadedCorpus,
    corpus_dir: Path,
    sentences: int,
    model: str,
    dimension: int,
    encoder: str,
    faiss_kind: str,
    vector_storage: str,
) -> Manifest:
    """The manifest of an index of `corpus` with `sentences` units, built with these settings (its file table is
    added when it is saved)."""
    return Manifest(
        schema_version=SCHEMA_VERSION,
        package_version=__version__,
        model=model,
        dimension=dimension,
        faiss_kind=faiss_kind,
        encoder=encoder,
        vectors=vector_storage,
        corpus_dir=str(corpus_dir.resolve()),
        corpus_fingerprint=corpus.fingerprint,
        documents=len(corpus.documents),
        sentences=sentences,
        skipped=len(corpus.skipped),
        created_at=dt.datetime.now(dt.UTC),
        corpus_files=corpus.file_hashes,
        source_keys=corpus.source_keys,
    )


def _segment(
    corpus: LoadedCorpus,
    corpus_dir: Path,
    segmenter: Callable[[list[Document]], SentenceTable] | None,
    earlier: EarlierBuild | None,
    report: BuildReport,
    say: Callable[[str], None],
) -> tuple[SentenceTable, np.ndarray]:
    """The units of `corpus` (`segmenter`'s, else its sentences, those of documents kept from `earlier` copied), each
    with whether it may be quoted at all, and for each its id in the earlier build (-1: new)."""
    fresh = len(corpus.documents) - (len(earlier.taken) if earlier is not None else 0)
    report.documents_segmented, report.documents_kept = fresh, len(corpus.documents) - fresh
    say(f"segmenting {fresh} documents" + (f" ({len(earlier.taken)} kept from the last build)" if earlier else ""))
    if segmenter is not None:
        sentences, earlier_rows = segmenter(corpus.documents), np.empty(0, dtype=np.int64)
    else:
        sentences, earlier_rows = segment_reusing(corpus.documents, earlier)
    if len(sentences) == 0:
        raise QAError(f"no sentences found in the documents of {corpus_dir}")
    sentences.quotable = quotable_flags(
        (corpus.documents[d].text[s:e] for d, s, e in zip(sentences.doc_index, sentences.start, sentences.end)),
        len(sentences),
    )  # (of the text a quote shows; checked once here, not per question over the sentences a timeline weighs)
    return sentences, earlier_rows


def _bm25_indexes(tokens: TokenTable, sentences: SentenceTable) -> tuple[BM25Index, BM25Index]:
    """BM25 over each sentence, and over each sentence with its neighbours (`backends.context`)."""
    counts = tokens.counts()
    bm25 = BM25Index.from_counts(counts, tokens.vocab)
    bm25_context = BM25Index.from_counts(neighbour_sums(counts, *context_rows(sentences.doc_index)), tokens.vocab)
    return bm25, bm25_context


class SentenceVectors:
    """The vectors of a build's sentences, from the vector cache where it holds them, else encoded."""

    def __init__(
        self,
        texts: list[str],
        embedder: Embedder,
        vector_cache: VectorCache | None,
        report: BuildReport,
        say: Callable[[str], None],
        progress: bool,
    ):
        self.texts, self.embedder, self.vector_cache = texts, embedder, vector_cache
        self.report, self.say, self.progress = report, say, progress

    def encode(self, rows: np.ndarray | None) -> np.ndarray:
        """The vectors of sentences `rows` (None: all), from the vector cache where it holds them."""
        chosen = self.texts if rows is None else [self.texts[i] for i in rows.tolist()]
        self.report.vectors_looked_up += len(chosen)
        if self.vector_cache is None:
            self.say(f"encoding {len(chosen)} sentences with {self.embedder.name} ({self.embedder.encoder})")
            try:
                return self.embedder.encode(chosen, progress=self.progress)
            finally:
                self.embedder.release()  # (the vector index and the clustering come next: they need the memory)
        self.say(f"looking up {len(chosen)} sentence vectors in the vector cache")
        try:
            found, reused = self.vector_cache.encode(self.embedder, chosen, progress=self.progress, say=self.say)
        finally:
            self.embedder.release()
        self.report.vectors_from_cache += reused
        self.say(f"{reused} of {len(chosen)} sentence vectors came from the vector cache")
        return found


def _dense_and_clusters(
    sentences: SentenceTable,
    earlier_rows: np.ndarray,
    earlier: EarlierBuild | None,
    vectors: SentenceVectors,
    faiss_kind: str,
    vector_storage: str,
) -> DenseIndex:
    """The vector index of the sentences, and their near-duplicate clusters (set in `sentences.cluster`). An update
    keeps the earlier vector index and clusters: only the new sentences' vectors are needed (`updated_faiss`)."""
    say, report, texts = vectors.say, vectors.report, vectors.texts
    earlier_clusters = earlier.sentences.cluster if earlier is not None else None
    dense, all_vectors, new_vectors, cells = None, None, None, None
    new_rows = np.flatnonzero(earlier_rows < 0) if len(earlier_rows) == len(texts) else None
    if (
        earlier is not None
        and earlier.index.dense is not None
        and earlier_clusters is not None
        and new_rows is not None
    ):
        new_vectors = vectors.encode(new_rows)
        say(f"updating the {faiss_kind}/{vector_storage} vector index: {len(new_rows)} vectors added")
        dense = DenseIndex.updated(earlier.index.dense, earlier_rows, new_vectors, faiss_kind, vector_storage)
        report.vectors_added = len(new_rows) if dense is not None else None
    if dense is None:
        all_vectors = vectors.encode(None)
        say(f"building the {faiss_kind}/{vector_storage} vector index")
        dense, cells = DenseIndex.build_noting_cells(
            all_vectors, faiss_kind, vector_storage, earlier.index.dense if earlier else None
        )
    if earlier_clusters is not None and new_rows is not None and new_vectors is not None:
        say(f"clustering {len(new_rows)} new sentences with their near-duplicates")
        sentences.cluster = extend_clusters(
            texts, sentences.doc_index, new_vectors, earlier_rows, earlier_clusters, dense
        )
    else:
        say("clustering near-duplicate sentences")
        sentences.cluster = cluster_sentences(
            texts, sentences.doc_index, vectors.encode(None) if all_vectors is None else all_vectors, dense, cells
        )
    return dense  # (the cells noted for the clustering are dropped here: 64 bytes a sentence not kept)


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
        current = unchanged_index(corpus_dir, index_dir, model, encoder, faiss_kind, vector_storage, hashes, backend)
        if current is not None:
            say(f"the index in {index_dir} is up to date with {corpus_dir}: nothing to do")
            current.build_report = BuildReport(up_to_date=True)
            sync_backend(current, say)  # (a collection emptied or changed meanwhile is filled again)
            return current
    earlier = earlier_build(index_dir, model, encoder, faiss_kind, vector_storage, say) if not force else None
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


def unchanged_index(
    corpus_dir: Path,
    index_dir: Path,
    model: str,
    encoder: str,
    faiss_kind: str,
    vector_storage: str,
    hashes: dict[str, str],
    backend: BackendInfo,
) -> SentenceIndex | None:
    """The index in `index_dir` when it is up to date with `corpus_dir` (see `up_to_date`) and searched through
    `backend`; else None."""
    current = up_to_date(corpus_dir, index_dir, model, encoder, faiss_kind, vector_storage, hashes)
    if current is not None and current.manifest.backend == backend:
        return current
    return None


def earlier_build(
    index_dir: Path, model: str, encoder: str, faiss_kind: str, vector_storage: str, say: Callable[[str], None]
) -> EarlierBuild | None:
    """The index in `index_dir`, opened to keep what did not change; None when there is none."""
    if not (index_dir / "manifest.json").exists():
        return None
    say(f"reading the index in {index_dir} to keep what did not change")
    return EarlierBuild.open(index_dir, model, encoder, faiss_kind, vector_storage)


def sync_backend(index: SentenceIndex, say: Callable[[str], None]) -> None:
    """Bring the search backend of `index` (its manifest's) in step with it: nothing to do for the local one."""
    info = index.manifest.backend
    if info.kind == "milvus" and info.milvus is not None:
        from qa_assistant.backends.milvus.sync import IndexRows, sync

        rows = IndexRows(index)
        index.document_keys = rows.keys  # (written to the serving tables)
        counts = sync(index, info.milvus, say, rows)
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
