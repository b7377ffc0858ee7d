"""Reading a Word file (.docx) with python-docx: the body's paragraphs in order, each cell of a table as paragraphs
of its own, and the title of its core properties. Headers, footers and notes are not part of the body and are left
out; the core properties' creation and modification dates are not publication dates and are not read.

Files that cannot be read raise `UnreadableDocx` with the reason.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Paragraphs are separated by an empty line: the segmenter ends a paragraph there.
PARAGRAPH_BREAK = "\n\n"
# An encrypted Office file (and an old binary .doc) is an OLE compound file, not a zip.
_OLE_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")


class UnreadableDocx(ValueError):
    """A Word file that gives no text, with the reason (password, damaged, old format, empty)."""


@dataclass
class DocxText:
    text: str
    title: str | None


def _blocks(parent) -> Iterator[str]:
    """The text of each paragraph of `parent` (a document body or a table cell), tables' cells in reading order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for block in parent.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block.text
        elif isinstance(block, Table):
            seen: set[int] = set()
            for row in block.rows:
                for cell in row.cells:
                    if id(cell._tc) in seen:  # a merged cell is listed once for each grid cell it spans
                        continue
                    seen.add(id(cell._tc))
                    yield from _blocks(cell)


def read_docx(path: str | Path) -> DocxText:
    """The text of the Word file at `path`; `UnreadableDocx` with the reason when it has none."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    path = Path(path)
    data = path.read_bytes()
    if not data:
        raise UnreadableDocx("empty file (0 bytes)")
    if data.startswith(_OLE_SIGNATURE):
        raise UnreadableDocx(
            "password-protected Word file (or an old binary .doc): save it as .docx without a password to index it"
        )
    try:
        document = docx.Document(str(path))
        paragraphs = [text for text in _blocks(document) if text.strip()]
        title = " ".join((document.core_properties.title or "").split()) or None
    except (PackageNotFoundError, zipfile.BadZipFile):
        raise UnreadableDocx(
            "damaged or not a Word .docx file (not a readable zip package): it cannot be read"
        ) from None
    except Exception as exc:  # python-docx and lxml raise many kinds for a damaged part: each is a damaged file
        raise UnreadableDocx(f"damaged Word file ({type(exc).__name__}: {exc}): it cannot be read") from None
    if not paragraphs:
        raise UnreadableDocx("no text in the Word file")
    return DocxText(text=PARAGRAPH_BREAK.join(paragraphs), title=title)
