"""Sentence splitting of many documents on every core: pysbd is pure Python, so a large corpus is split by
worker processes. They are forked after the texts are set aside here, so no text is sent to them: each gets a
range of document numbers and sends back its offsets as plain int64 bytes."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence

import numpy as np

from qa_assistant.text.segment import split_sentences

# Below this many characters to split (about 150 UN speeches), one process does it: forking costs more.
PARALLEL_MIN_CHARS = 5_000_000
# Documents per task handed to a worker: small enough to balance the load, large enough to keep messages few.
DOCUMENTS_PER_TASK = 64
MAX_WORKERS = 8

_texts: Sequence[str] = ()  # the texts being split, read by forked workers


def worker_count() -> int:
    """How many processes may split: the cores this process may run on (at most MAX_WORKERS)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _split_range(bounds: tuple[int, int]) -> bytes:
    """In a worker: for documents lo..hi-1, their sentence counts, then every start, then every end."""
    counts: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    for text in _texts[bounds[0] : bounds[1]]:
        spans = split_sentences(text)
        counts.append(len(spans))
        starts.extend(s for s, _ in spans)
        ends.extend(e for _, e in spans)
    return np.concatenate([np.array(counts, np.int64), np.array(starts, np.int64), np.array(ends, np.int64)]).tobytes()


def _decode(data: bytes, documents: int) -> list[list[tuple[int, int]]]:
    values = np.frombuffer(data, dtype=np.int64)
    counts = values[:documents]
    total = int(counts.sum())
    starts, ends = values[documents : documents + total], values[documents + total :]
    result, at = [], 0
    for count in counts.tolist():
        result.append(list(zip(starts[at : at + count].tolist(), ends[at : at + count].tolist(), strict=True)))
        at += count
    return result


def split_many(texts: Sequence[str], workers: int | None = None) -> list[list[tuple[int, int]]]:
    """`split_sentences` of every text, in order; split by worker processes when there is enough text, more than
    one core and the platform can fork (otherwise here, one after the other)."""
    workers = worker_count() if workers is None else workers
    parallel = (
        workers > 1
        and len(texts) > 1
        and sum(len(text) for text in texts) >= PARALLEL_MIN_CHARS
        and "fork" in multiprocessing.get_all_start_methods()
    )
    if not parallel:
        return [split_sentences(text) for text in texts]
    global _texts
    _texts = texts
    try:
        tasks = [(lo, min(lo + DOCUMENTS_PER_TASK, len(texts))) for lo in range(0, len(texts), DOCUMENTS_PER_TASK)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.imap(_split_range, tasks)
            result: list[list[tuple[int, int]]] = []
            for (lo, hi), data in zip(tasks, parts, strict=True):
                result.extend(_decode(data, hi - lo))
        return result
    finally:
        _texts = ()
