"""Reading a PDF with PDFium (pypdfium2): the text of each page in PDFium's reading order, running headers and
footers recognised across pages and left out, the pages' texts joined with their boundaries kept; and a page drawn
as an image with the boxes of chosen characters, for the document panel.

The text of a page is PDFium's own (`PdfTextPage.get_text_range`): lines end with "\\r\\n", a hyphen that splits a
word at a line end is U+FFFE with the line break taken out ("Azerbai\\ufffejan"). What a document keeps of a page is
one run of that text (only lines at its top and bottom are ever left out), so a quote from one page is a slice of
the text PDFium gives for it, and its character indices are those of the page's character boxes.

Files that cannot be read raise `UnreadablePdf` with the reason a reader can act on.
"""

from __future__ import annotations

import base64
import io
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Between the texts of two pages: a line of only spaces, which the segmenter does not take for the end of a
# paragraph, so a sentence that runs onto the next page stays one sentence.
PAGE_BREAK = "\n \n"
# Running headers and footers are looked for among this many lines at the top and at the bottom of each page.
EDGE_LINES = 3
# A line at the top or bottom of a page is a running header or footer when lines equal to it (digits aside) stand at
# the top or bottom of at least this share of the pages (two pages at least), or of FURNITURE_PAGES pages: a
# chapter's running title ("Chapter 2: Structure handling 3") is on its pages only; one that begins or ends with a
# page number, on two pages.
FURNITURE_SHARE = 0.4
FURNITURE_PAGES = 3
# A page number alone on a line ("3", "- 3 -", "Page 3", "Page 3 of 12", "3/12") at the top or bottom of a page
# is furniture even in a one-page file.
_PAGE_NUMBER = re.compile(r"^[-–—\s]*(?:page\s*)?#(?:\s*(?:of|/)\s*#)?[-–—\s]*$")
_DIGITS = re.compile(r"\d+")
# Lines of a page's text. PDFium joins the two halves of a word hyphenated at a line end with U+FFFE, also when
# what follows is a footer ("a unila\ufffePage 1 of 3"): such a line is two lines here.
_LINE = re.compile(r"[^\r\n\ufffe]+\ufffe?")
# Document properties that name the producing program or file rather than the document.
_NOT_A_TITLE = re.compile(r"^(?:untitled|microsoft word - .*|.*\.(?:docx?|pdf|rtf|odt|txt))$", re.IGNORECASE)


# PDFium is not thread-safe: every use of it in this process (reading a file while an index is built in the
# background, drawing a page for the app) holds this lock.
PDFIUM_LOCK = threading.RLock()


class UnreadablePdf(ValueError):
    """A PDF that gives no text, with the reason (password, no text layer, damaged, empty)."""


@dataclass
class PdfPage:
    number: int  # from 1
    text: str  # PDFium's text of the page
    kept: tuple[int, int] = (0, 0)  # the run of `text` kept once running headers and footers are left out
    furniture: list[str] = field(default_factory=list)  # lines left out as running headers and footers
    chars_match: bool = True  # the text's indices are PDFium's character indices (true for nearly every file)
    images: int = 0  # image objects on the page (a page with images and no text is a scan)


@dataclass
class PdfText:
    """The text of a PDF, its pages' places in it and what its properties say."""

    text: str  # the kept runs of the pages, joined by PAGE_BREAK
    page_map: list[tuple[int, int, int, int]]  # (offset in `text`, page from 1, character index on the page, length)
    pages: list[PdfPage]
    title: str | None  # the Title property, when it names the document

    @property
    def furniture(self) -> list[str]:
        """Every line left out as a running header or footer, first page first."""
        return [line for page in self.pages for line in page.furniture]


def _open(path: Path):
    import pypdfium2 as pdfium

    size = path.stat().st_size
    if size == 0:
        raise UnreadablePdf("empty file (0 bytes)")
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        detail = str(exc)
        if "password" in detail.lower():
            raise UnreadablePdf(
                "password-protected PDF: save a copy without the password (or give its text as .txt) to index it"
            ) from None
        found = re.search(r"PDFium: [^)]*", detail)
        reason = found.group() if found else detail.rstrip(".")
        raise UnreadablePdf(f"damaged or not a PDF ({reason}): it cannot be read") from None


def _title(pdf) -> str | None:
    try:
        title = " ".join(str(pdf.get_metadata_value("Title") or "").split())
    except Exception:  # a damaged information dictionary: no title, the text still counts
        return None
    return title if title and not _NOT_A_TITLE.match(title) else None


def _page(pdf, number: int) -> PdfPage:
    import pypdfium2.raw as pdfium_c

    page = pdf[number - 1]
    try:
        textpage = page.get_textpage()
        try:
            count = textpage.count_chars()
            text = textpage.get_text_range() if count > 0 else ""
        finally:
            textpage.close()
        images = sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    finally:
        page.close()
    return PdfPage(number=number, text=text, kept=(0, len(text)), chars_match=len(text) == count, images=images)


def _furniture_key(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.replace("\ufffe", " ").split()).lower())


def _edge_lines(text: str) -> list[re.Match]:
    """The first and last EDGE_LINES lines of a page with text (fewer on a short page, each once)."""
    lines = [m for m in _LINE.finditer(text) if m.group().strip()]
    return lines if len(lines) <= 2 * EDGE_LINES else lines[:EDGE_LINES] + lines[-EDGE_LINES:]


def remove_furniture(pages: list[PdfPage]) -> None:
    """Set each page's kept run: its text without the running headers and footers at its top and bottom, i.e. the
    lines whose text (digits aside: "Page 3 of 12") stands at the top or bottom of enough pages, and page numbers."""
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({_furniture_key(m.group()) for m in _edge_lines(page.text)})
    needed = max(2.0, min(FURNITURE_SHARE * len(pages), FURNITURE_PAGES))

    def is_furniture(line: str) -> bool:
        key = _furniture_key(line)
        numbered = key.startswith("#") or key.endswith("#")
        return counts[key] >= (2 if numbered else needed) or bool(_PAGE_NUMBER.match(key))

    for page in pages:
        lines = [m for m in _LINE.finditer(page.text) if m.group().strip()]
        first, last = 0, len(lines)
        while first < min(EDGE_LINES, last) and is_furniture(lines[first].group()):
            first += 1
        while last > max(first, len(lines) - EDGE_LINES) and is_furniture(lines[last - 1].group()):
            last -= 1
        page.furniture = [m.group().strip().rstrip("\ufffe") for m in lines[:first] + lines[last:]]
        page.kept = (lines[first].start(), lines[last - 1].end()) if first < last else (0, 0)


def _read_pages(path: Path) -> tuple[list[PdfPage], str | None]:
    import pypdfium2 as pdfium

    pdf = _open(path)
    try:
        if len(pdf) == 0:
            raise UnreadablePdf("a PDF without pages")
        try:
            pages = [_page(pdf, number) for number in range(1, len(pdf) + 1)]
        except pdfium.PdfiumError as exc:
            raise UnreadablePdf(f"damaged PDF ({str(exc).rstrip('.')}): it cannot be read") from None
        title = _title(pdf)
    finally:
        pdf.close()
    return pages, title


def read_pdf(path: str | Path) -> PdfText:
    """The text of the PDF at `path` with its pages' places; `UnreadablePdf` with the reason when it has none."""
    with PDFIUM_LOCK:
        try:
            pages, title = _read_pages(Path(path))
        except (UnreadablePdf, OSError):
            raise
        except Exception as exc:  # whatever else PDFium or a damaged structure raises: a file that cannot be read
            raise UnreadablePdf(f"damaged PDF ({type(exc).__name__}: {exc}): it cannot be read") from None
    if not any(page.text.strip() for page in pages):
        if any(page.images for page in pages):
            raise UnreadablePdf(
                f"no text layer: its {len(pages)} page(s) are images (a scan); OCR is not done here, so give a "
                "PDF with text (or its text as .txt)"
            )
        raise UnreadablePdf(f"no text in the PDF ({len(pages)} page(s) without text or images)")
    remove_furniture(pages)
    parts: list[str] = []
    page_map: list[tuple[int, int, int, int]] = []
    length = 0
    for page in pages:
        start, end = page.kept
        if start >= end:
            continue
        if parts:
            parts.append(PAGE_BREAK)
            length += len(PAGE_BREAK)
        parts.append(page.text[start:end])
        page_map.append((length, page.number, start if page.chars_match else -1, end - start))
        length += end - start
    return PdfText(text="".join(parts), page_map=page_map, pages=pages, title=title)


def remap_pages(
    page_map: list[tuple[int, int, int, int]], source_map: list[tuple[int, int, int]]
) -> list[tuple[int, int, int, int]]:
    """`page_map` (offsets in a source text) in the offsets of a text made of runs of it (`source_map`: text
    offset, source offset, length of each run, as `clean_text` gives)."""
    remapped = []
    for text_start, source_start, length in source_map:
        for page_start, page, char, page_length in page_map:
            lo, hi = max(source_start, page_start), min(source_start + length, page_start + page_length)
            if lo < hi:
                remapped.append(
                    (text_start + lo - source_start, page, char + lo - page_start if char >= 0 else -1, hi - lo)
                )
    return remapped


@dataclass
class PageImage:
    """A page drawn as a PNG, with boxes (left, top, width, height as fractions of the page) to highlight."""

    png: bytes
    width: int
    height: int
    boxes: list[tuple[float, float, float, float]]

    def data_url(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def page_image(path: str | Path, page_number: int, char_ranges: list[tuple[int, int]], width: int = 900) -> PageImage:
    """Page `page_number` (from 1) of the PDF at `path` drawn `width` pixels wide, with the boxes of the lines of
    each (first character index, count) of `char_ranges` (PDFium merges a line's characters into one box)."""
    with PDFIUM_LOCK:
        return _page_image(Path(path), page_number, char_ranges, width)


def _page_image(path: Path, page_number: int, char_ranges: list[tuple[int, int]], width: int) -> PageImage:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[page_number - 1]
        try:
            left, bottom, right, top = page.get_bbox()
            page_width, page_height = right - left, top - bottom
            scale = width / page_width
            bitmap = page.render(scale=scale)
            image = bitmap.to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=False)
            image_width, image_height = image.width, image.height
            del image
            bitmap.close()  # within the lock, not whenever it is collected
            boxes = []
            if page.get_rotation() == 0:  # boxes are in unrotated page space
                textpage = page.get_textpage()
                try:
                    total = textpage.count_chars()
                    for first, count in char_ranges:
                        first, count = max(0, first), min(count, total - max(0, first))
                        if count <= 0:
                            continue
                        for i in range(textpage.count_rects(first, count)):
                            x0, y0, x1, y1 = textpage.get_rect(i)
                            boxes.append(
                                (
                                    (x0 - left) / page_width,
                                    (top - y1) / page_height,
                                    (x1 - x0) / page_width,
                                    (y1 - y0) / page_height,
                                )
                            )
                finally:
                    textpage.close()
            return PageImage(png=buffer.getvalue(), width=image_width, height=image_height, boxes=boxes)
        finally:
            page.close()
    finally:
        pdf.close()
