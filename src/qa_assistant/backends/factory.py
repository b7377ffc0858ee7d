"""The one place that knows every backend: opens the one an index's manifest records."""

from __future__ import annotations

from typing import Any

from qa_assistant.backends.base import BackendInfo, SearchBackend
from qa_assistant.backends.filters import FilterMasks
from qa_assistant.backends.local.backend import LocalBackend


def open_backend(index: Any, masks: FilterMasks | None = None) -> SearchBackend:
    """The backend recorded in `index.manifest` (local when none is). `index` is the loaded
    `index.store.SentenceIndex`, a layer above the backends, so it is not imported here; `masks`: the caller's
    sentence masks of filters, which the local backend shares."""
    info: BackendInfo = index.manifest.backend
    if info.kind == "local" or info.milvus is None:
        return LocalBackend(index, masks)
    from qa_assistant.backends.milvus.backend import MilvusBackend

    return MilvusBackend.open(info.milvus, index)
