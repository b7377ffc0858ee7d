"""Building an index from a corpus: sentences, speaker attributions, BM25, dense vectors, near-duplicate clusters.

`store.py` reads and writes the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import __version__
from .attribution import Attribution, attribute_document
from .bm25_index import BM25Index
from .corpus import LoadedCorpus, load_corpus
from .dedupe import cluster_sentences
from .dense_index import DenseIndex
from .embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder
from .errors import QAError
from .models import Document
from .segment import split_sentences
from .store import SCHEMA_VERSION, Manifest, SentenceIndex, SentenceTable, read_manifest, save_index
from .vector_cache import VectorCache, cache_dir_for

# The context BM25 index scores each sentence together with this many sentences on each side (same document).
CONTEXT_SENTENCES = 1


def context_spans(sentences: SentenceTable, width: int = CONTEXT_SENTENCES) -> tuple[np.ndarray, np.ndarray]:
    """For each sentence, the span from the start of the sentence `width` before it to the end of the one `width`
    after it, never crossing into another document."""
    n = len(sentences)
    doc = sentences.doc_index
    first = np.arange(n)
    last = np.arange(n)
    for _ in range(width):
        previous = np.maximum(first - 1, 0)
        first = np.where((first > 0) & (doc[previous] == doc), previous, first)
        following = np.minimum(last + 1, n - 1)
        last = np.where((last < n - 1) & (doc[following] == doc), following, last)
    return sentences.start[first], sentences.end[last]


def segment_documents(documents: list[Document]) -> SentenceTable:
    doc_index, starts, ends = [], [], []
    for i, doc in enumerate(documents):
        for start, end in split_sentences(doc.text):
            doc_index.append(i)
            starts.append(start)
            ends.append(end)
    return SentenceTable(
        doc_index=np.asarray(doc_index, dtype=np.int32),
        start=np.asarray(starts, dtype=np.int64),
        end=np.asarray(ends, dtype=np.int64),
    )


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
) -> SentenceIndex:
    """Index `corpus`: one unit per sentence, or per unit that `segmenter` cuts (evaluation: whole documents, windows).
    With `vector_cache`, only sentences it does not hold are encoded, and they are added to it as they are."""
    say = on_stage or (lambda _msg: None)
    say(f"segmenting {len(corpus.documents)} documents")
    sentences = (segmenter or segment_documents)(corpus.documents)
    if len(sentences) == 0:
        raise QAError(f"no sentences found in the documents of {corpus_dir}")
    texts = [corpus.documents[d].text[s:e] for d, s, e in zip(sentences.doc_index, sentences.start, sentences.end)]
    context_start, context_end = context_spans(sentences)
    contexts = [corpus.documents[d].text[s:e] for d, s, e in zip(sentences.doc_index, context_start, context_end)]
    say("attributing speakers")
    attributions = attribute_sentences(corpus, sentences)
    say(f"BM25 over {len(texts)} sentences and their contexts")
    bm25 = BM25Index.build(texts)
    bm25_context = BM25Index.build(contexts)
    embedder = Embedder(model, encoder)
    if vector_cache is None:
        say(f"encoding {len(texts)} sentences with {model} ({encoder})")
        vectors = embedder.encode(texts, progress=progress)
    else:
        vectors, reused = vector_cache.encode(embedder, texts, progress=progress, say=say)
        say(f"{reused} of {len(texts)} sentence vectors came from the vector cache")
    dense = DenseIndex.build(vectors, faiss_kind, vector_storage)
    say("clustering near-duplicate sentences")
    sentences.cluster = cluster_sentences(texts, sentences.doc_index, vectors)
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
    )
    return SentenceIndex(
        manifest, corpus.documents, sentences, corpus.sides, corpus.skipped, bm25, dense, attributions, bm25_context
    )


def attribute_sentences(corpus: LoadedCorpus, sentences: SentenceTable) -> list[Attribution]:
    result: list[Attribution] = []
    bounds = np.searchsorted(sentences.doc_index, np.arange(len(corpus.documents) + 1))
    for i, doc in enumerate(corpus.documents):
        lo, hi = bounds[i], bounds[i + 1]
        spans = list(zip(sentences.start[lo:hi].tolist(), sentences.end[lo:hi].tolist()))
        result.extend(attribute_document(doc, spans, corpus.sides))
    return result


def build_and_save(
    corpus_dir: str | Path,
    index_dir: str | Path,
    model: str = DEFAULT_MODEL,
    faiss_kind: str = "flat",
    progress: bool = False,
    on_stage: Callable[[str], None] | None = None,
    encoder: str = DEFAULT_ENCODER,
    vector_storage: str = "float32",
) -> SentenceIndex:
    """Index `corpus_dir` into `index_dir`, replacing it atomically. Sentence vectors come from the vector cache
    beside the index where they can (`vector_cache.py`): after files were added, changed or removed, only the new
    sentences are encoded, and a build killed half way goes on from the chunks it had saved."""
    corpus_dir = Path(corpus_dir)
    corpus = load_corpus(corpus_dir)
    if on_stage is not None:
        on_stage(corpus_changes(Path(index_dir), corpus.file_hashes))
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
    )
    save_index(index, Path(index_dir))
    return index


def corpus_changes(index_dir: Path, hashes: dict[str, str]) -> str:
    """What changed in the corpus since the index in `index_dir` was built, in one line."""
    try:
        before = read_manifest(index_dir).corpus_files
    except QAError:
        before = {}
    if not before:
        return f"{len(hashes)} corpus files, no earlier build to compare with"
    added = sum(1 for path in hashes if path not in before)
    removed = sum(1 for path in before if path not in hashes)
    changed = sum(1 for path, sha in hashes.items() if path in before and before[path] != sha)
    return f"since the last build: {added} files added, {changed} changed, {removed} removed"
