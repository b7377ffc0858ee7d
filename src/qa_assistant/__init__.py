"""qa-assistant: answers questions about a document collection with quoted, attributed source sentences."""

from qa_assistant.assistant import Assistant  # noqa: E402
from qa_assistant.backends.milvus.config import MilvusConfig  # noqa: E402
from qa_assistant.errors import IndexCorruptError, IndexLockedError, QAError, StaleIndexError  # noqa: E402
from qa_assistant.models import Answer, Document, Filters, Hit, Quote, SearchSettings, SideGroup  # noqa: E402
from qa_assistant.version import __version__  # noqa: E402

__all__ = [
    "Answer",
    "Assistant",
    "Document",
    "Filters",
    "Hit",
    "IndexCorruptError",
    "IndexLockedError",
    "MilvusConfig",
    "QAError",
    "Quote",
    "SearchSettings",
    "SideGroup",
    "StaleIndexError",
    "__version__",
]
