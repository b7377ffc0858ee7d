"""`Assistant`: the one facade behind the Python API, the CLI and the UI."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from qa_assistant.answer.builder import DEFAULT_MIN_SIMILARITY, AnswerBuilder
from qa_assistant.answer.retriever import Retriever
from qa_assistant.backends.base import BackendInfo
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.errors import QAError, validation_problems
from qa_assistant.index.build import build_and_save
from qa_assistant.index.catalog import SentenceIndex
from qa_assistant.index.embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder
from qa_assistant.index.jobs import JobRunner, Report
from qa_assistant.index.manifest import Manifest
from qa_assistant.index.store import load_index
from qa_assistant.index.update import add_files, document_infos
from qa_assistant.index.update import remove_document as remove_files
from qa_assistant.ingest.uploads import Incoming, stage_files
from qa_assistant.limits import UploadLimits, cut_question
from qa_assistant.models import (
    Answer,
    Document,
    DocumentInfo,
    Filters,
    Hit,
    Job,
    Quote,
    SearchSettings,
    Timings,
    UpdateResult,
    UploadMetadata,
)
from qa_assistant.text.dates import prepare_date_parsing


def _filters(
    sides: list[str] | str | None = None,
    publishers: list[str] | str | None = None,
    doc_ids: list[str] | None = None,
    speakers: list[str] | str | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    filters: Filters | None = None,
) -> Filters:
    if filters is None:
        as_list = lambda v: [v] if isinstance(v, str) else v  # noqa: E731
        try:
            filters = Filters(
                sides=as_list(sides),
                publishers=as_list(publishers),
                doc_ids=doc_ids,
                speakers=as_list(speakers),
                since=since,
                until=until,
            )
        except ValidationError as exc:
            raise QAError(f"bad filter ({'; '.join(validation_problems(exc))}); dates are YYYY-MM-DD") from None
    if filters.since and filters.until and filters.since > filters.until:
        raise QAError(f"the date range is empty: since {filters.since} is after until {filters.until}")
    return filters


def _settings(settings: SearchSettings | None, options: dict[str, Any]) -> tuple[SearchSettings, dict[str, Any]]:
    """`settings` with the keyword overrides among `options` applied, and the options left (the filters)."""
    fields = SearchSettings.model_fields
    overrides = {name: value for name, value in options.items() if name in fields}
    rest = {name: value for name, value in options.items() if name not in fields}
    settings = settings or SearchSettings()
    if overrides:
        try:
            settings = SearchSettings.model_validate({**settings.model_dump(), **overrides})
        except ValidationError as exc:
            raise QAError(f"bad search setting ({'; '.join(validation_problems(exc))})") from None
    return settings, rest


class Assistant:
    """Answers questions with quoted, attributed source sentences.

    >>> assistant = Assistant.load("index")
    >>> answer = assistant.ask("What did each side say about Lachin?")
    """

    def __init__(
        self,
        index: SentenceIndex,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
        index_dir: str | Path | None = None,
        corpus_dir: str | Path | None = None,
    ):
        self.index = index
        self.embedder = Embedder(index.manifest.model, index.manifest.encoder)  # questions encoded as the index
        self.retriever = Retriever(index, self.embedder)
        self.answers = AnswerBuilder(index, self.retriever)
        self.min_similarity = min_similarity
        self.index_dir = Path(index_dir) if index_dir is not None else None
        self.corpus_dir = Path(corpus_dir or index.manifest.corpus_dir)
        self.jobs = JobRunner()
        self._infos: tuple[SentenceIndex, list[DocumentInfo]] | None = None
        self.keep_warm = False  # read each index's mapped search files in before answering from it (`load`)

    def _use(self, index: SentenceIndex) -> None:
        """Answer from `index` from now on. A question being answered keeps the builder it started with (`ask`
        reads `self.answers` once), so it is answered wholly from the old index or wholly from the new one."""
        if self.keep_warm:
            index.warm()
        retriever = Retriever(index, self.embedder)
        answers = AnswerBuilder(index, retriever)
        self.index, self.retriever, self.answers = index, retriever, answers

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
        force: bool = False,
        backend: BackendInfo | MilvusConfig | None = None,
        **kwargs: Any,
    ) -> Assistant:
        """Index `corpus_dir` into `index_dir` (replacing it atomically) and return an assistant over it. An index
        already there is updated incrementally, or kept as it is when the corpus did not change (`force`: rebuild).

        `encoder`: torch, onnx or onnx-int8 (see index/embedder.py); `vectors`: float32, float16 or int8 storage.
        `backend`: where searches go — None (the local files), or a `MilvusConfig` (a Milvus collection, kept in
        step with the index; see backends/milvus/backend.py); recorded in the manifest, which `load` reads it from."""
        if isinstance(backend, MilvusConfig):
            backend = BackendInfo(kind="milvus", milvus=backend)
        index = build_and_save(
            corpus_dir,
            index_dir,
            model,
            faiss_kind,
            progress,
            on_stage,
            encoder=encoder,
            vector_storage=vectors,
            force=force,
            backend=backend,
        )
        return cls(index, index_dir=index_dir, corpus_dir=corpus_dir, **kwargs)

    @classmethod
    def load(
        cls,
        index_dir: str | Path,
        corpus_dir: str | Path | None = None,
        check: bool = True,
        verify: bool = False,
        encoder: str | None = None,
        warm: bool = False,
        **kwargs: Any,
    ) -> Assistant:
        """Open an index; with `warm` (what a server wants), its mapped search files are read in at once, and so
        are those of each index it answers from later, so no question reads them from disk. Raises StaleIndexError when its corpus changed or its schema is old, IndexCorruptError
        when a file is missing, of another size than the manifest says (or checksum, with `verify`), or unreadable,
        and QAError when `encoder` is given and differs from the index's (questions are encoded as the index was).
        A Milvus-backed index is read from its serving tables alone: documents, attributions, vectors and searches
        come from the collection (`index/serving.py`)."""
        index = load_index(index_dir, corpus_dir, check=check, verify=verify, encoder=encoder, serving=True)
        assistant = cls(index, index_dir=index_dir, corpus_dir=corpus_dir, **kwargs)
        if warm:
            assistant.keep_warm = True
            index.warm()
            prepare_date_parsing()  # (a question's dates are read with it)
        return assistant

    @property
    def documents(self) -> list[Document]:
        return self.index.documents

    @property
    def manifest(self) -> Manifest:
        return self.index.manifest

    @property
    def sides(self) -> list[str]:
        """Every side a filter can ask for: those of the publishers and of the speakers."""
        found = {d.side for d in self.index.cards if d.side} | set(self.index.labels.side_names)
        return sorted(found, key=str.lower)

    @property
    def publishers(self) -> list[str]:
        return sorted({d.publisher for d in self.index.cards if d.publisher}, key=str.lower)

    def source_file(self, doc: Document) -> Path | None:
        """The file `doc` was read from, when the corpus folder still holds it with the bytes the index was built
        from (else None: a page drawn from a changed file would not be the page quoted)."""
        expected = self.manifest.corpus_files.get(doc.path)
        path = Path(self.manifest.corpus_dir) / doc.path
        if expected is None or not path.is_file():
            return None
        return path if hashlib.sha256(path.read_bytes()).hexdigest() == expected else None

    def document(self, doc_id: str) -> Document:
        for number, card in enumerate(self.index.cards):
            if card.id == doc_id:
                return self.index.documents[number]
        raise QAError(f"no document '{doc_id}' in the index")

    def search(self, question: str, k: int = 10, settings: SearchSettings | None = None, **options: Any) -> list[Hit]:
        """Raw ranked sentences, with each retriever's rank and score: no threshold, no grouping.

        `settings` (default: `SearchSettings()`) says how to retrieve; any of its fields given as a keyword
        (mode=, fusion=, rrf_k=, alpha=, bm25_context=, candidates=) overrides it. Filters as in `ask`."""
        if not question or not question.strip():
            raise QAError("the question is empty: type a question")
        settings, filter_args = _settings(settings, options)
        question, _note = cut_question(question.strip())
        retriever = self.retriever  # (one index for the whole search, see `_use`)
        return retriever.search(question, k, settings, _filters(**filter_args))

    def ask(
        self,
        question: str,
        k: int = 6,
        settings: SearchSettings | None = None,
        min_similarity: float | None = None,
        infer: bool = True,
        answer_unknown_names: bool = False,
        timeline: bool = True,
        **options: Any,
    ) -> Answer:
        """Quotes that answer `question`, grouped by side when it asks about sides; abstains when nothing is relevant.

        With `infer` (default), what the question writes about its period ("in July 2023", "since 2020", "last
        year"), its speaker ("What did the Armenian foreign ministry say …", one side, a publisher) becomes filters
        where no explicit filter of that kind is given (`Answer.understood` says what was read), and a name that no
        document mentions makes the answer abstain — unless `answer_unknown_names`, which quotes what matches the
        rest of the question and says so in `Answer.notes`.

        With `timeline` (default), `Answer.timeline` counts every statement within the filters that the answer may
        quote, per side (or speaker when no sides are asked) per period; `period_quotes` opens one of its cells.

        Settings: settings=SearchSettings(...), and/or any of its fields as keywords (mode=, fusion=, rrf_k=,
        alpha=, bm25_context=, candidates=), which override it.
        Filters: sides=, publishers=, doc_ids=, since=, until= (dates as date or YYYY-MM-DD), or filters=Filters(...).
        """
        if not question or not question.strip():
            raise QAError("the question is empty: type a question")
        if k < 1:
            raise QAError(f"k must be at least 1 (got {k})")
        started = time.perf_counter()
        timings = Timings()
        settings, filter_args = _settings(settings, options)
        threshold = self.min_similarity if min_similarity is None else min_similarity
        question, note = cut_question(question.strip())  # bounded: see limits.py
        answers = self.answers  # one index for the whole answer, even if an update is swapped in meanwhile
        answer = answers.answer(
            question, k, settings, _filters(**filter_args), threshold, timings, infer, answer_unknown_names, timeline
        )
        answer.k = k
        if note:
            answer.notes.insert(0, note)  # about the whole question: first
        answer.timings.total_ms = (time.perf_counter() - started) * 1000
        return answer

    # ------------------------------------------------------------------ the collection, changed while serving

    def list_documents(self) -> list[DocumentInfo]:
        """Every document of the index in use, with its metadata and sentence count."""
        index = self.index
        if self._infos is None or self._infos[0] is not index:
            self._infos = (index, document_infos(index))
        return list(self._infos[1])

    def _writable(self) -> Path:
        if self.index_dir is None:
            raise QAError("this assistant was made from an index in memory: load it from its folder to change it")
        if not self.corpus_dir.is_dir():
            raise QAError(
                f"the corpus folder {self.corpus_dir} the index was built from is not there: name it "
                "(serve --corpus FOLDER, Assistant.load(..., corpus_dir=FOLDER))"
            )
        return self.index_dir

    def add_documents(
        self,
        files: Iterable[Incoming],
        metadata: UploadMetadata | None = None,
        limits: UploadLimits | None = None,
    ) -> Job:
        """Add files (name, bytes | Path | binary file) to the corpus folder and update the index in the background.

        Names, types, count and sizes are checked now (QAError names the file and the rule, nothing is kept); the
        returned `Job` then reads the files (one the reader cannot use is reported in `result.not_added`, not
        stored), moves them into the corpus folder with their `metadata.csv` rows (`metadata`: side, publisher,
        date, speaker, title), updates the index incrementally and swaps it in. Questions are answered from the
        current index until then. Follow it with `job(id)` or `wait(id)`."""
        index_dir = self._writable()
        staging = stage_files(self.corpus_dir, files, metadata, limits)
        names = [staged.name for staged in staging.files]

        def work(report: Report) -> UpdateResult:
            new_index, result = add_files(staging, self.index, self.corpus_dir, index_dir, report)
            if new_index is not None:
                self._swap(new_index, result, report)
            added = ", ".join(info.id for info in result.added) or "nothing"
            refused = "; ".join(f"{item.file} not added: {item.reason}" for item in result.not_added)
            report(1.0, f"added {added}" + (f" ({refused})" if refused else ""))
            return result

        return self.jobs.submit("add", names, work, message=f"waiting to add {', '.join(names)}")

    def remove_document(self, doc_id: str) -> Job:
        """Remove document `doc_id` (as quotes carry it; for a .jsonl file, its file name removes all its
        records) in the background: its file is moved to the corpus's `.removed/` folder, its `metadata.csv` row
        dropped, and the index updated and swapped in. QAError now when no such document is indexed."""
        index_dir = self._writable()
        index = self.index
        if not any(doc_id in (card.id, card.file) for card in index.cards):
            raise QAError(f"no document '{doc_id}' in the index (list them with list_documents or GET /documents)")

        def work(report: Report) -> UpdateResult:
            new_index, result = remove_files(doc_id, self.index, self.corpus_dir, index_dir, report)
            self._swap(new_index, result, report)
            report(1.0, f"removed {', '.join(result.removed)}")
            return result

        return self.jobs.submit("remove", [doc_id], work, message=f"waiting to remove {doc_id}")

    def _swap(self, index: SentenceIndex, result: UpdateResult, report: Report) -> None:
        report(0.97, "loading the new index")
        started = time.perf_counter()
        self._use(index)
        result.stage_seconds["swap in"] = round(time.perf_counter() - started, 3)

    def job(self, job_id: str) -> Job:
        return self.jobs.get(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """The job once finished (or as it is after `timeout` seconds)."""
        return self.jobs.wait(job_id, timeout)

    def period_quotes(self, answer: Answer, side: str, period: str) -> list[Quote]:
        """The quotes behind one mark of `answer.timeline`: the best statements of `side` (a row of the timeline)
        in `period` (as the timeline writes it, or "undated"), best first; [] when it has none. QAError when the
        index changed since the answer (its sentence ids would point elsewhere): ask again."""
        if answer.timeline is None:
            raise QAError("this answer has no timeline: ask with timeline=True")
        answers = self.answers  # (one index throughout, see `_use`)
        if answer.timeline.index_fingerprint != answers.timelines.fingerprint:
            raise QAError("the collection changed since this answer: ask the question again to open its timeline")
        cell = answer.timeline.cell(side, period)
        if cell is None:
            return []
        query_vector = answers.retriever.encode_query(
            answer.topic or (answer.understood.searched if answer.understood else answer.question)
        )
        return answers.timelines.open(cell.sentence_ids, query_vector)
