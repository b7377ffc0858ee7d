"""`Assistant`: the one facade behind the Python API, the CLI and the UI."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from .answer import DEFAULT_MIN_SIMILARITY, AnswerBuilder
from .embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder
from .errors import QAError, validation_problems
from .models import (
    DEFAULT_ALPHA,
    DEFAULT_BM25_CONTEXT,
    DEFAULT_CANDIDATES,
    DEFAULT_FUSION,
    DEFAULT_RRF_K,
    Answer,
    Document,
    Filters,
    FusionMethod,
    Hit,
    RetrievalMode,
    SearchSettings,
    Timings,
)
from .retriever import Retriever
from .store import Manifest, SentenceIndex, build_and_save, load_index


def _filters(
    sides: list[str] | str | None = None,
    publishers: list[str] | str | None = None,
    doc_ids: list[str] | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    filters: Filters | None = None,
) -> Filters:
    if filters is None:
        as_list = lambda v: [v] if isinstance(v, str) else v  # noqa: E731
        try:
            filters = Filters(
                sides=as_list(sides), publishers=as_list(publishers), doc_ids=doc_ids, since=since, until=until
            )
        except ValidationError as exc:
            raise QAError(f"bad filter ({'; '.join(validation_problems(exc))}); dates are YYYY-MM-DD") from None
    if filters.since and filters.until and filters.since > filters.until:
        raise QAError(f"the date range is empty: since {filters.since} is after until {filters.until}")
    return filters


class Assistant:
    """Answers questions with quoted, attributed source sentences.

    >>> assistant = Assistant.load("index")
    >>> answer = assistant.ask("What did each side say about Lachin?")
    """

    def __init__(self, index: SentenceIndex, min_similarity: float = DEFAULT_MIN_SIMILARITY):
        self.index = index
        self.embedder = Embedder(index.manifest.model, index.manifest.encoder)  # questions encoded as the index
        self.retriever = Retriever(index, self.embedder)
        self.answers = AnswerBuilder(index, self.retriever)
        self.min_similarity = min_similarity

    @classmethod
    def build(
        cls,
        corpus_dir: str | Path,
        index_dir: str | Path,
        model: str = DEFAULT_MODEL,
        faiss_kind: str = "flat",
        progress: bool = False,
        on_stage: Callable[[str], None] | None = None,
        encoder: str = DEFAULT_ENCODER,
        vectors: str = "float32",
        **kwargs,
    ) -> Assistant:
        """Index `corpus_dir` into `index_dir` (replacing it atomically) and return an assistant over it.

        `encoder`: torch, onnx or onnx-int8 (see embedder.py); `vectors`: float32, float16 or int8 storage."""
        index = build_and_save(
            corpus_dir, index_dir, model, faiss_kind, progress, on_stage, encoder=encoder, vector_storage=vectors
        )
        return cls(index, **kwargs)

    @classmethod
    def load(
        cls,
        index_dir: str | Path,
        corpus_dir: str | Path | None = None,
        check: bool = True,
        encoder: str | None = None,
        **kwargs,
    ) -> Assistant:
        """Open an index; raises StaleIndexError when its corpus changed or its schema is old, and QAError when
        `encoder` is given and differs from the index's (questions are always encoded as the index was)."""
        return cls(load_index(index_dir, corpus_dir, check=check, encoder=encoder), **kwargs)

    @property
    def documents(self) -> list[Document]:
        return self.index.documents

    @property
    def manifest(self) -> Manifest:
        return self.index.manifest

    @property
    def sides(self) -> list[str]:
        """Every side a filter can ask for: those of the publishers and of the speakers."""
        found = {d.side for d in self.index.documents if d.side} | {a.side for a in self.index.attributions if a.side}
        return sorted(found, key=str.lower)

    @property
    def publishers(self) -> list[str]:
        return sorted({d.publisher for d in self.index.documents if d.publisher}, key=str.lower)

    def document(self, doc_id: str) -> Document:
        for doc in self.index.documents:
            if doc.id == doc_id:
                return doc
        raise QAError(f"no document '{doc_id}' in the index")

    def _settings(
        self, mode: RetrievalMode, fusion: FusionMethod, rrf_k: int, alpha: float, candidates: int, bm25_context: float
    ) -> SearchSettings:
        try:
            return SearchSettings(
                mode=mode, fusion=fusion, rrf_k=rrf_k, alpha=alpha, candidates=candidates, bm25_context=bm25_context
            )
        except ValidationError as exc:
            raise QAError(f"bad search setting ({'; '.join(validation_problems(exc))})") from None

    def search(
        self,
        question: str,
        k: int = 10,
        mode: RetrievalMode = "hybrid",
        fusion: FusionMethod = DEFAULT_FUSION,
        rrf_k: int = DEFAULT_RRF_K,
        alpha: float = DEFAULT_ALPHA,
        candidates: int = DEFAULT_CANDIDATES,
        bm25_context: float = DEFAULT_BM25_CONTEXT,
        **filter_args,
    ) -> list[Hit]:
        """Raw ranked sentences, with each retriever's rank and score: no threshold, no grouping."""
        if not question or not question.strip():
            raise QAError("the question is empty: type a question")
        settings = self._settings(mode, fusion, rrf_k, alpha, candidates, bm25_context)
        return self.retriever.search(question, k, settings, _filters(**filter_args))

    def ask(
        self,
        question: str,
        k: int = 6,
        mode: RetrievalMode = "hybrid",
        fusion: FusionMethod = DEFAULT_FUSION,
        rrf_k: int = DEFAULT_RRF_K,
        alpha: float = DEFAULT_ALPHA,
        candidates: int = DEFAULT_CANDIDATES,
        bm25_context: float = DEFAULT_BM25_CONTEXT,
        min_similarity: float | None = None,
        **filter_args,
    ) -> Answer:
        """Quotes that answer `question`, grouped by side when it asks about sides; abstains when nothing is relevant.

        Filters: sides=, publishers=, doc_ids=, since=, until= (dates as date or YYYY-MM-DD), or filters=Filters(...).
        """
        if not question or not question.strip():
            raise QAError("the question is empty: type a question")
        if k < 1:
            raise QAError(f"k must be at least 1 (got {k})")
        started = time.perf_counter()
        timings = Timings()
        settings = self._settings(mode, fusion, rrf_k, alpha, candidates, bm25_context)
        threshold = self.min_similarity if min_similarity is None else min_similarity
        answer = self.answers.answer(question.strip(), k, settings, _filters(**filter_args), threshold, timings)
        answer.k = k
        answer.timings.total_ms = (time.perf_counter() - started) * 1000
        return answer
