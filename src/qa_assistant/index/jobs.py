"""Background jobs: one worker thread runs the updates of a collection one after the other, in order.

Each job is a `models.Job` (id, state, progress, message, result or error) that any thread may read at any
time (`JobRunner.get` returns a copy). A job's work is a function given a `report(progress, message)` callback;
what it returns is the job's result, and a `QAError` it raises is the job's error (other exceptions too, with
their type named). The runner keeps the last KEPT_JOBS finished jobs.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal

from qa_assistant.errors import QAError
from qa_assistant.models import Job, UpdateResult

log = logging.getLogger(__name__)

KEPT_JOBS = 100

Report = Callable[[float, str], None]
Work = Callable[[Report], UpdateResult]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class JobRunner:
    """Runs submitted jobs on one daemon thread, first in first out."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._work: dict[str, Work] = {}
        self._queue: list[str] = []
        self._guard = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, kind: Literal["add", "remove"], files: list[str], work: Work, message: str = "") -> Job:
        job = Job(id=secrets.token_hex(8), kind=kind, files=files, created_at=_now(), message=message or "queued")
        with self._guard:
            self._jobs[job.id] = job
            self._work[job.id] = work
            self._queue.append(job.id)
            self._forget_old()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="qa-assistant-jobs", daemon=True)
                self._thread.start()
            self._guard.notify_all()
            return job.model_copy(deep=True)

    def get(self, job_id: str) -> Job:
        with self._guard:
            job = self._jobs.get(job_id)
            if job is None:
                raise QAError(f"no job '{job_id}' (jobs are kept while the server runs, the last {KEPT_JOBS})")
            return job.model_copy(deep=True)

    def jobs(self) -> list[Job]:
        with self._guard:
            return [job.model_copy(deep=True) for job in self._jobs.values()]

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """The job once finished (or as it is when `timeout` seconds passed)."""
        with self._guard:
            self._guard.wait_for(lambda: self._jobs[job_id].finished, timeout=timeout)
        return self.get(job_id)

    def busy(self) -> bool:
        with self._guard:
            return any(not job.finished for job in self._jobs.values())

    def _update(self, job_id: str, **changes: object) -> None:
        with self._guard:
            job = self._jobs[job_id]
            for name, value in changes.items():
                setattr(job, name, value)
            self._guard.notify_all()

    def _forget_old(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.finished]
        for job_id in finished[: max(0, len(finished) - KEPT_JOBS)]:
            del self._jobs[job_id]

    def _run(self) -> None:
        while True:
            with self._guard:
                if not self._queue:
                    self._thread = None
                    return
                job_id = self._queue.pop(0)
                work = self._work.pop(job_id)
            self._update(job_id, state="running", started_at=_now(), message="starting")

            def report(progress: float, message: str, job_id: str = job_id) -> None:
                self._update(job_id, progress=max(0.0, min(1.0, progress)), message=message)

            try:
                result = work(report)
            except QAError as exc:
                self._update(job_id, state="failed", error=str(exc), message=str(exc), finished_at=_now())
            except Exception as exc:  # noqa: BLE001 - a job must always finish with a state a client can read
                log.exception("job %s failed", job_id)
                error = f"{type(exc).__name__}: {exc}"
                self._update(job_id, state="failed", error=error, message=error, finished_at=_now())
            else:
                self._update(job_id, state="done", progress=1.0, result=result, finished_at=_now())
