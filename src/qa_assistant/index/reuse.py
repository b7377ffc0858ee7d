"""What a rebuild takes from the index it replaces, so that adding or changing a few files costs little.

A corpus file whose source key (`corpus.source_key`: its bytes, its metadata row, the side and boilerplate files,
the code version) equals the one recorded at the earlier build gives the same documents, hence the same
sentences; they are copied, not read, cleaned and segmented again. Their speaker attributions are copied too when
the side configuration is unchanged (a new side can change who a sentence is attributed to), and their
near-duplicate clusters seed the new clustering (`dedupe.extend_clusters`), and their BM25 tokens are copied from
the earlier token table (`backends/local/bm25.TokenTable`). Vectors come from the vector cache.
`EarlierBuild` holds the earlier index; `segment_reusing`, `sentence_tokens` and `attribute_sentences` are the
build's stages that copy from it.
Anything that differs — another model, encoder, FAISS kind or vector storage, another code version, an unreadable
earlier index — means a build from scratch (vectors still from the cache).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa_assistant.backends.local.bm25 import TokenTable
from qa_assistant.errors import QAError
from qa_assistant.index.attributions import KeptAttributions
from qa_assistant.index.catalog import SentenceIndex, SentenceTable
from qa_assistant.index.labels import SentenceLabels
from qa_assistant.index.manifest import read_manifest
from qa_assistant.index.store import load_index
from qa_assistant.ingest.attribution import Attribution, attribute_document
from qa_assistant.ingest.corpus import LoadedCorpus
from qa_assistant.models import Document
from qa_assistant.text.segment_parallel import split_many


class EarlierBuild:
    """The index being replaced, with its documents grouped by corpus file."""

    def __init__(self, index: SentenceIndex, tokens: TokenTable | None = None):
        self.index = index
        self.tokens = tokens if tokens is not None and len(tokens) == len(index.sentences) else None
        self.docs_of_file: dict[str, list[int]] = {}
        for i, doc in enumerate(index.documents):
            self.docs_of_file.setdefault(doc.path, []).append(i)
        self.taken: dict[str, int] = {}  # document id -> its number in the earlier index
        self.bounds = index.sentences.document_bounds(len(index.documents))

    @classmethod
    def open(
        cls, index_dir: str | Path, model: str, encoder: str, faiss_kind: str, vector_storage: str
    ) -> EarlierBuild | None:
        """The index in `index_dir` when it was built by this version with the same settings, else None."""
        index_dir = Path(index_dir)
        try:
            manifest = read_manifest(index_dir)
        except (QAError, OSError, ValueError):
            return None
        if not manifest.built_with(model, encoder, faiss_kind, vector_storage) or not manifest.source_keys:
            return None
        try:
            index = load_index(index_dir, check=False, verify=True)  # nothing is copied from a damaged index
        except (QAError, OSError, ValueError):
            return None
        try:
            tokens = TokenTable.load(index_dir / "tokens")
        except (OSError, ValueError):
            tokens = None  # tokenized again
        return cls(index, tokens)

    def documents(self, path: str, key: str) -> list[Document] | None:
        """The documents the earlier build made from corpus file `path`, when made from the same source key."""
        if self.index.manifest.source_keys.get(path) != key or path not in self.docs_of_file:
            return None
        numbers = self.docs_of_file[path]
        for i in numbers:
            self.taken[self.index.documents[i].id] = i
        return [self.index.documents[i] for i in numbers]

    def sentence_rows(self, doc: Document) -> np.ndarray | None:
        """The earlier sentence ids of a document taken from the earlier build (None: not taken)."""
        old = self.taken.get(doc.id)
        if old is None or self.index.documents[old] is not doc:
            return None
        return np.arange(self.bounds[old], self.bounds[old + 1])

    @property
    def sentences(self) -> SentenceTable:
        return self.index.sentences


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


def sentence_tokens(texts: list[str], earlier_rows: np.ndarray, earlier: EarlierBuild | None) -> TokenTable:
    """The BM25 tokens of every sentence; those kept from `earlier` are copied from its token table."""
    if earlier is None or earlier.tokens is None or len(earlier_rows) != len(texts):
        return TokenTable.of(texts)
    kept = np.flatnonzero(earlier_rows >= 0)
    new = np.flatnonzero(earlier_rows < 0)
    parts = [(earlier.tokens.rows(earlier_rows[kept]), kept), (TokenTable.of([texts[i] for i in new.tolist()]), new)]
    return TokenTable.merge(parts, len(texts))


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
