"""The index in memory: the sentence table (document number and offsets of every sentence, its near-duplicate
cluster) and `SentenceIndex`, which holds it with the documents, attributions, labels and the search files.
Reading and writing it is `index/store.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa_assistant.backends.local.bm25 import BM25Index, TokenTable
from qa_assistant.backends.local.dense import DenseIndex
from qa_assistant.index.date_mentions import DateMentions
from qa_assistant.index.labels import SentenceLabels
from qa_assistant.index.manifest import Manifest
from qa_assistant.index.report import BuildReport
from qa_assistant.ingest.attribution import Attribution
from qa_assistant.ingest.corpus import SkippedFile
from qa_assistant.ingest.sides import SideConfig
from qa_assistant.models import Document


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
    date_mentions: DateMentions | None = None  # read from date_mentions.npz or made by the build; else made on use

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
        return self.dense.warm() + self.bm25.warm() + context

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
