"""The app's "Add documents" panel: files dropped with their side, publisher, date and speaker are added to the
corpus folder and the index updated in the background (`Assistant.add_documents`), with a progress bar; the same
panel lists the documents and removes one. Questions keep being answered meanwhile, from the current index.

Who may change the collection (`WriteAccess`): anyone when the app is bound to 127.0.0.1; otherwise only with
the token the app was started with (`--token` or QA_ASSISTANT_TOKEN), typed into the panel and compared in
constant time; without one configured, the panel is read-only.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from qa_assistant.assistant import Assistant
from qa_assistant.errors import QAError, validation_problems
from qa_assistant.models import DocumentInfo, Job, UploadMetadata
from qa_assistant.ui import render

POLL_SECONDS = 0.3
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class WriteAccess:
    """Whether the panel may change the collection, and with which token."""

    local: bool = True  # bound to this machine only: no token needed
    token: str | None = None

    @classmethod
    def for_host(cls, host: str, token: str | None) -> WriteAccess:
        return cls(local=host in LOCAL_HOSTS, token=token or None)

    @property
    def needs_token(self) -> bool:
        return not self.local

    @property
    def enabled(self) -> bool:
        return self.local or self.token is not None

    def refusal(self, given: str | None) -> str | None:
        """None when a change may be made with `given` (the token typed in the panel); else why not."""
        if self.local:
            return None
        if self.token is None:
            return (
                "Adding and removing documents is off: the app is reachable from other machines and was started "
                "without a token (start it with --token TOKEN or set QA_ASSISTANT_TOKEN)."
            )
        if not hmac.compare_digest((given or "").strip().encode(), self.token.encode()):
            return "Type the app's token to add or remove documents." if not given else "Wrong token."
        return None


def status_html(job: Job | None = None, error: str | None = None) -> str:
    """The panel's status line: a progress bar while a job runs, then what it did, or an error."""
    if error is not None:
        return f'<div class="qa-upload-status" data-state="error" role="alert">{render.esc(error)}</div>'
    if job is None:
        return '<div class="qa-upload-status" data-state="idle"></div>'
    if job.state == "failed":
        text = render.esc(job.error or job.message)
        return f'<div class="qa-upload-status" data-state="failed" role="alert">Not done: {text}</div>'
    if job.state == "done" and job.result is not None:
        result = job.result
        parts = []
        if result.added:
            added = ", ".join(f"{info.id} ({info.sentences} sentences)" for info in result.added)
            parts.append(f"Added {added}.")
        if result.removed:
            parts.append(f"Removed {', '.join(result.removed)}.")
        parts.extend(f"{item.file} not added: {item.reason}." for item in result.not_added)
        parts.append(f"The index now has {result.documents} documents, {result.sentences} sentences.")
        seconds = sum(result.stage_seconds.values())
        return (
            f'<div class="qa-upload-status" data-state="done">{render.esc(" ".join(parts))}'
            f" <span>({seconds:.1f} s)</span></div>"
        )
    return (
        f'<div class="qa-upload-status" data-state="{job.state}"><progress value="{job.progress:.2f}" max="1">'
        f"{round(100 * job.progress)} %</progress><span>{render.esc(job.message)}</span></div>"
    )


def documents_html(documents: list[DocumentInfo]) -> str:
    """The list of the collection's documents."""
    rows = []
    for info in documents:
        meta = " · ".join(render.esc(v) for v in (info.side, info.publisher, info.date) if v)
        rows.append(
            f'<li data-doc-id="{render.esc(info.id)}"><b>{render.esc(info.title or info.id)}</b>'
            f"<span>{render.esc(info.id)} · {info.sentences} sentences{' · ' + meta if meta else ''}</span></li>"
        )
    return (
        f'<div class="qa-doc-list"><p>{len(documents)} documents</p><ul>{"".join(rows)}</ul></div>'
        if rows
        else '<div class="qa-doc-list"><p>No documents.</p></div>'
    )


def document_choices(documents: list[DocumentInfo]) -> list[tuple[str, str]]:
    return [(f"{info.title or info.id} — {info.id}" if info.title else info.id, info.id) for info in documents]


class CollectionPanel:
    """Handlers of the panel; `follow` yields the status until the job is done."""

    def __init__(self, assistant: Assistant, access: WriteAccess):
        self.assistant = assistant
        self.access = access

    def follow(self, job: Job) -> Iterator[Job]:
        while not job.finished:
            yield job
            time.sleep(POLL_SECONDS)
            job = self.assistant.job(job.id)
        yield job

    def start_add(
        self,
        files: list[str] | None,
        side: str | None,
        publisher: str | None,
        date: str | None,
        speaker: str | None,
        token: str | None,
    ) -> Job:
        """Start adding `files` (paths of the uploaded copies; their names are the names the user gave)."""
        refused = self.access.refusal(token)
        if refused is not None:
            raise QAError(refused)
        if not files:
            raise QAError("Choose one or more files first.")
        try:
            metadata = UploadMetadata(side=side, publisher=publisher, date=date, speaker=speaker)
        except ValidationError as exc:
            raise QAError("; ".join(validation_problems(exc)).replace("date: ", "Date: ")) from None
        return self.assistant.add_documents([(Path(path).name, Path(path)) for path in files], metadata)

    def start_remove(self, doc_id: str | None, token: str | None) -> Job:
        refused = self.access.refusal(token)
        if refused is not None:
            raise QAError(refused)
        if not doc_id:
            raise QAError("Choose the document to remove first.")
        return self.assistant.remove_document(doc_id)
