"""Bounds on input size, so a hostile or accidental input costs bounded time and memory.

- A question is cut to MAX_QUESTION_CHARS characters (at the last space before the cut, when there is one): the
  model reads at most 256 word pieces, about 1,000 characters of English, and BM25 cost grows with each query
  word. The answer carries a note saying so (`Answer.notes`).
- Sentences: see `segment.MAX_SENTENCE_CHARS` (a longer run of text without a sentence break is cut into
  pieces of at most that length, at a space when there is one).
- Uploads: at most MAX_UPLOAD_FILES files of at most MAX_UPLOAD_FILE_BYTES bytes each (`UploadLimits`).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_QUESTION_CHARS = 1000


def cut_question(question: str, limit: int = MAX_QUESTION_CHARS) -> tuple[str, str | None]:
    """The question within `limit` characters, and a note when it had to be cut (None otherwise)."""
    if len(question) <= limit:
        return question, None
    cut = question[:limit]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    cut = cut.rstrip()
    note = (
        f"the question was cut to its first {len(cut):,} of {len(question):,} characters: "
        f"only those were searched (the model reads about {limit:,} characters)"
    )
    return cut, note


# Files added while the tool runs (API POST /documents, the app's "Add documents" panel): at most this many files
# per upload, each at most this many bytes (`serve --max-file-mb/--max-files` change them).
MAX_UPLOAD_FILES = 20
MAX_UPLOAD_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """How much one upload may bring: files per upload, bytes per file."""

    max_files: int = MAX_UPLOAD_FILES
    max_file_bytes: int = MAX_UPLOAD_FILE_BYTES
