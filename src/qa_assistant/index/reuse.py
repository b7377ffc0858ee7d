"""What a rebuild takes from the index it replaces, so that adding or changing a few files costs little.

A corpus file whose source key (`corpus.source_key`: its bytes, its metadata row, the side and boilerplate files,
the code version) equals the one recorded at the earlier build gives the same documents, hence the same
sentences; they are copied, not read, cleaned and segmented again. Their speaker attributions are copied too when
the side configuration is unchanged (a new side can change who a sentence is attributed to), and their
near-duplicate clusters seed the new clustering (`dedupe.extend_clusters`), and their BM25 tokens are copied from
the earlier token table (`bm25_index.TokenTable`). Vectors come from the vector cache.
Anything that differs — another model, encoder, FAISS kind or vector storage, another code version, an unreadable
earlier index — means a build from scratch (vectors still from the cache).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa_assistant.backends.local.bm25 import TokenTable
from qa_assistant.errors import QAError
from qa_assistant.index.catalog import SentenceIndex, SentenceTable
from qa_assistant.index.manifest import read_manifest
from qa_assistant.index.store import load_index
from qa_assistant.models import Document


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
