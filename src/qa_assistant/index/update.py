"""Updating a built index after files were added to or removed from its corpus folder, while it is being served.

The corpus folder is changed (`ingest.uploads.CorpusEdit`) and the index rebuilt incrementally
(`build_and_save`, with the settings recorded in the index's manifest: only the new documents are read,
segmented and encoded) under the index folder's writer lock, the new index being swapped in atomically by
`save_index`. If the build fails, the corpus folder is put back as it was and the index on disk is untouched.
Each stage's start is reported with a progress estimate, and its duration is kept (`UpdateResult.stage_seconds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from qa_assistant.errors import QAError
from qa_assistant.index.build import build_and_save
from qa_assistant.index.catalog import SentenceIndex
from qa_assistant.index.lock import IndexLock
from qa_assistant.ingest.uploads import CorpusEdit, Staging, unreadable
from qa_assistant.models import DocumentInfo, UpdateResult

LOCK_WAIT = 600.0  # seconds an update waits for another writer of the same index (a shell build, say)

# Build messages (their first words) -> the name of the stage they start and the progress reached there.
STAGES = [
    ("checking the new files", "read new files", 0.02),
    ("waiting for", "wait for lock", 0.03),
    ("reading the index", "read index", 0.05),
    ("reading the corpus", "read corpus", 0.12),
    ("since the last build", "read corpus", 0.2),
    ("segmenting", "segment", 0.25),
    ("attributing", "attribute speakers", 0.3),
    ("BM25", "BM25", 0.35),
    ("looking up", "encode", 0.4),
    ("encoding", "encode", 0.45),
    ("updating the", "vector index", 0.8),
    ("building the", "vector index", 0.8),
    ("clustering", "cluster", 0.85),
    ("writing the index", "write index", 0.9),
    ("loading the new index", "swap in", 0.97),
]

Report = Callable[[float, str], None]


class StageClock:
    """Turns build messages into progress reports and per-stage durations."""

    def __init__(self, report: Report):
        self.report = report
        self.seconds: dict[str, float] = {}
        self.stage: str | None = None
        self.since = time.perf_counter()
        self.progress = 0.0

    def __call__(self, message: str) -> None:
        for prefix, stage, progress in STAGES:
            if message.startswith(prefix):
                self._enter(stage)
                self.progress = max(self.progress, progress)
                break
        self.report(self.progress, message)

    def _enter(self, stage: str) -> None:
        now = time.perf_counter()
        if self.stage is not None:
            self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + now - self.since
        self.stage, self.since = stage, now

    def stop(self) -> dict[str, float]:
        self._enter("")
        return {stage: round(seconds, 3) for stage, seconds in self.seconds.items() if stage}


def document_infos(index: SentenceIndex) -> list[DocumentInfo]:
    """Every document of `index`, with its sentence count, in index order."""
    return list(index.cards)


def _rebuild(index: SentenceIndex, corpus_dir: Path, index_dir: Path, say: Callable[[str], None]) -> SentenceIndex:
    m = index.manifest
    return build_and_save(
        corpus_dir,
        index_dir,
        m.model,
        m.faiss_kind,
        on_stage=say,
        encoder=m.encoder,
        vector_storage=m.vectors,
        backend=m.backend,
    )


def add_files(
    staging: Staging, index: SentenceIndex, corpus_dir: Path, index_dir: Path, report: Report
) -> tuple[SentenceIndex | None, UpdateResult]:
    """Check the staged files with the corpus reader, move the readable ones into the corpus folder (with their
    metadata rows) and update the index. Returns the new index (None when no file could be added)."""
    clock = StageClock(report)
    try:
        clock("checking the new files")
        refused = unreadable(staging, corpus_dir)
        skip = {item.file for item in refused}
        if len(skip) == len(staging.files):
            reasons = "; ".join(f"{item.file}: {item.reason}" for item in refused)
            raise QAError(f"nothing added: {reasons}")
        edit = CorpusEdit(corpus_dir)
        with IndexLock(index_dir, wait=LOCK_WAIT, on_wait=clock):
            names = edit.add(staging, skip)
            try:
                new_index = _rebuild(index, corpus_dir, index_dir, clock)
            except BaseException:
                edit.rollback()
                raise
    finally:
        staging.discard()
    infos = [info for info in document_infos(new_index) if info.file in set(names)]
    result = UpdateResult(
        added=infos,
        not_added=refused,
        documents=new_index.manifest.documents,
        sentences=new_index.manifest.sentences,
        stage_seconds=clock.stop(),
    )
    return new_index, result


def remove_document(
    doc_id: str, index: SentenceIndex, corpus_dir: Path, index_dir: Path, report: Report
) -> tuple[SentenceIndex, UpdateResult]:
    """Move the file of document `doc_id` out of the corpus folder (to `.removed/`), drop its metadata row and
    update the index."""
    clock = StageClock(report)
    doc = next((d for d in index.cards if d.id == doc_id), None)
    doc = doc or next((d for d in index.cards if d.file == doc_id), None)  # a .jsonl file: all its records
    if doc is None:
        raise QAError(f"no document '{doc_id}' in the index (GET /documents lists them)")
    if doc.id != doc.file and doc_id != doc.file:
        raise QAError(
            f"'{doc_id}' is one record of {doc.file}, which holds {sum(d.file == doc.file for d in index.cards)} "
            f"documents: remove the whole file ('{doc.file}') or edit it and rebuild"
        )
    edit = CorpusEdit(corpus_dir)
    with IndexLock(index_dir, wait=LOCK_WAIT, on_wait=clock):
        edit.remove(doc.file)
        try:
            new_index = _rebuild(index, corpus_dir, index_dir, clock)
        except BaseException:
            edit.rollback()
            raise
    removed = [d.id for d in index.cards if d.file == doc.file]
    result = UpdateResult(
        removed=removed,
        documents=new_index.manifest.documents,
        sentences=new_index.manifest.sentences,
        stage_seconds=clock.stop(),
    )
    return new_index, result
