"""The index in memory: the sentence table (document number and offsets of every sentence, its near-duplicate
cluster) and `SentenceIndex`, which holds it with the documents, attributions, labels and the search files.
Reading and writing it is `index/store.py`. A node answering from Milvus alone holds no search files: its documents
and attributions are read from the collection when needed (`index/serving.py`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qa_assistant.backends.local.bm25 import BM25Index, TokenTable
from qa_assistant.backends.local.dense import DenseIndex
from qa_assistant.index.date_mentions import DateMentions
from qa_assistant.index.labels import SentenceLabels
from qa_assistant.index.manifest import Manifest
from qa_assistant.index.report import BuildReport
from qa_assistant.index.serving import DocumentEntry, RemoteAttributions, RemoteDocuments, TermCounts
from qa_assistant.ingest.attribution import Attribution
from qa_assistant.ingest.corpus import SkippedFile
from qa_assistant.ingest.sides import SideConfig
from qa_assistant.models import Document, DocumentInfo
from qa_assistant.text.quotable import may_be_quoted


@dataclass
class SentenceTable:
    """Plain arrays, one row per sentence."""

    doc_index: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cluster: np.ndarray | None = None
    # whether each sentence may be quoted at all (`text.quotable`), made at build time; None (an index built before
    # it was kept): checked on use
    quotable: np.ndarray | None = None

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
    bm25: BM25Index | None  # None on a node answering from Milvus alone (as `dense`)
    dense: DenseIndex | None
    attributions: Sequence[Attribution]  # a list when built, an `AttributionFile` (parsed line by line) when loaded
    # (a `RemoteAttributions` on a node answering from Milvus alone, whose `documents` are a `RemoteDocuments`)
    bm25_context: BM25Index | None = None  # each sentence with its neighbours (see `context_spans`)
    tokens: TokenTable | None = None  # each sentence's BM25 tokens, for incremental rebuilds (not read by load_index)
    precomputed_labels: SentenceLabels | None = None  # read from labels.npz or made by the build; else made on use
    build_report: BuildReport | None = None  # what the build that made (or kept) it in this process did
    date_mentions: DateMentions | None = None  # read from date_mentions.npz or made by the build; else made on use
    document_keys: list[str] | None = None  # Milvus: the version of each document's rows (made by the sync)
    term_counts: TermCounts | None = None  # Milvus alone: how many sentences hold each token (no BM25 files)
    entries: list[DocumentEntry] | None = None  # Milvus alone: the documents' metadata and row versions
    _cards: list[DocumentInfo] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _quotable_checked: np.ndarray | None = field(default=None, repr=False)  # (see `quotable`)

    @property
    def remote(self) -> bool:
        """Whether the documents and attributions are read from Milvus (a node holding no search files)."""
        return isinstance(self.documents, RemoteDocuments)

    @property
    def cards(self) -> list[DocumentInfo]:
        """Every document's metadata and sentence count, in index order, without its text."""
        if self._cards is None:
            if self.entries is not None:
                self._cards = [entry.info for entry in self.entries]
            else:
                counts = np.bincount(self.sentences.doc_index, minlength=len(self.documents)).tolist()
                self._cards = [
                    DocumentInfo(
                        id=doc.id,
                        file=doc.path,
                        title=doc.title,
                        publisher=doc.publisher,
                        side=doc.side,
                        date=doc.date,
                        speaker=doc.speaker,
                        url=doc.url,
                        sentences=int(count),
                    )
                    for doc, count in zip(self.documents, counts, strict=True)
                ]
        return self._cards

    @property
    def terms(self) -> BM25Index | TermCounts:
        """How many sentences hold each BM25 token (`unit_frequency`) and how many there are (`units`)."""
        if self.bm25 is not None:
            return self.bm25
        if self.term_counts is None:
            raise ValueError("an index without BM25 files has its token counts")
        return self.term_counts

    def prefetch(self, sentence_ids: Sequence[int]) -> None:
        """Read the documents and attributions of `sentence_ids` in one round trip each, when they are remote."""
        if isinstance(self.documents, RemoteDocuments):
            self.documents.prefetch([int(self.sentences.doc_index[s]) for s in sentence_ids])
        if isinstance(self.attributions, RemoteAttributions):
            self.attributions.prefetch(list(sentence_ids))

    @property
    def labels(self) -> SentenceLabels:
        """Side and speaker of every sentence, as codes (for filters over a million sentences)."""
        if self.precomputed_labels is None or len(self.precomputed_labels) != len(self.attributions):
            self.precomputed_labels = SentenceLabels.of(self.attributions)
        return self.precomputed_labels

    def warm(self) -> int:
        """Read the mapped search files (vectors, BM25 score arrays) in once, so that questions do not read
        them from disk cell by cell and word by word (`backends/local/pages.py`); the bytes read."""
        context = self.bm25_context.warm() if self.bm25_context is not None else 0
        dense = self.dense.warm() if self.dense is not None else 0  # (none on a node answering from Milvus alone)
        return dense + (self.bm25.warm() if self.bm25 is not None else 0) + context

    def dates_spoken_of(self) -> DateMentions:
        """Every date mention of the documents (found now for an index built before they were kept with it)."""
        if self.date_mentions is None:
            self.date_mentions = DateMentions.of_documents(self.documents)
        return self.date_mentions

    def document_of(self, sentence_id: int) -> Document:
        """The document a sentence belongs to."""
        return self.documents[int(self.sentences.doc_index[sentence_id])]

    def sentence_text(self, sentence_id: int) -> str:
        doc = self.document_of(sentence_id)
        return doc.text[int(self.sentences.start[sentence_id]) : int(self.sentences.end[sentence_id])]

    def quotable(self, sentence_ids: np.ndarray) -> np.ndarray:
        """Whether each sentence may be quoted at all (`text.quotable`): as the index keeps it, else checked on first
        use and remembered (an index built before it was kept)."""
        kept = self.sentences.quotable
        if kept is not None:
            return kept[sentence_ids]
        if self._quotable_checked is None:
            self._quotable_checked = np.full(len(self.sentences), -1, dtype=np.int8)  # -1: not checked yet
        known = self._quotable_checked[sentence_ids]
        for at in np.flatnonzero(known < 0).tolist():
            sentence_id = int(sentence_ids[at])
            known[at] = self._quotable_checked[sentence_id] = may_be_quoted(self.sentence_text(sentence_id))
        return known.astype(bool)

    def may_be_quoted(self, sentence_id: int) -> bool:
        """`quotable` of one sentence."""
        return bool(self.quotable(np.array([sentence_id]))[0])
