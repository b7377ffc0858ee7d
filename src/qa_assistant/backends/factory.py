"""The one place that knows every backend: opens the one an index's manifest records."""

from __future__ import annotations

from typing import Any

from qa_assistant.backends.base import BackendInfo, SearchBackend
from qa_assistant.backends.local.backend import LocalBackend


def open_backend(index: Any) -> SearchBackend:
    """The backend recorded in `index.manifest` (local when none is). `index` is the loaded
    `index.store.SentenceIndex`, a layer above the backends, so it is not imported here."""
    info: BackendInfo = index.manifest.backend
    if info.kind == "local" or info.milvus is None:
        return LocalBackend(index)
    from qa_assistant.backends.milvus.backend import MilvusBackend

    return MilvusBackend.open(info.milvus, index)
