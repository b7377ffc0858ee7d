"""qa-assistant: answers questions about a document collection with quoted, attributed source sentences."""

__version__ = "0.1.0"

from .assistant import Assistant  # noqa: E402
from .errors import IndexCorruptError, IndexLockedError, QAError, StaleIndexError  # noqa: E402
from .milvus_config import MilvusConfig  # noqa: E402
from .models import Answer, Document, Filters, Hit, Quote, SearchSettings, SideGroup  # noqa: E402

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
