"""Reading a corpus folder: document files, the metadata sidecar and the side configuration."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ValidationError

from qa_assistant.errors import QAError, validation_problems
from qa_assistant.ingest.clean import BoilerplateRules, clean_text, load_rules
from qa_assistant.ingest.docx import read_docx
from qa_assistant.ingest.pdf import read_pdf, remap_pages
from qa_assistant.ingest.sides import SideConfig
from qa_assistant.models import Document
from qa_assistant.text.dates import mentioned_dates, parse_date
from qa_assistant.version import __version__

log = logging.getLogger(__name__)

METADATA_FILE = "metadata.csv"
SIDES_FILE = "sides.json"
BOILERPLATE_FILE = "boilerplate.json"
METADATA_FIELDS = ("file", "title", "publisher", "side", "date", "url", "speaker")
TEXT_EXTENSIONS = {".txt", ".md", ".markdown"}
HTML_EXTENSIONS = {".html", ".htm"}
JSONL_EXTENSIONS = {".jsonl"}
PDF_EXTENSIONS = {".pdf"}
WORD_EXTENSIONS = {".docx"}
DOCUMENT_EXTENSIONS = TEXT_EXTENSIONS | HTML_EXTENSIONS | JSONL_EXTENSIONS | PDF_EXTENSIONS | WORD_EXTENSIONS
CONFIG_FILES = {METADATA_FILE, SIDES_FILE, BOILERPLATE_FILE}


class DocumentMetadata(BaseModel):
    """One row of `metadata.csv`; empty cells mean unknown."""

    file: str
    title: str | None = None
    publisher: str | None = None
    side: str | None = None
    date: dt.date | None = None
    url: str | None = None
    speaker: str | None = None  # who speaks in the document when its text names nobody


class SkippedFile(BaseModel):
    path: str
    reason: str


class LoadedCorpus(BaseModel):
    documents: list[Document]
    skipped: list[SkippedFile]
    sides: SideConfig
    fingerprint: str
    file_hashes: dict[str, str] = {}  # relative path -> SHA-256 of every file of the corpus folder
    # relative path of each document file -> a hash of everything its documents are made from (`source_key`)
    source_keys: dict[str, str] = {}


# The documents of one corpus file, taken from an earlier build: called with the file's relative path and its
# source key; returns its documents when that build made them from the same source key, else None.
ReuseDocuments = Callable[[str, str], list[Document] | None]


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every non-hidden file below `corpus_dir`, sorted by relative path."""
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def corpus_file_hashes(corpus_dir: Path) -> dict[str, str]:
    """Every file's relative path and the SHA-256 of its bytes, in path order."""
    return {
        path.relative_to(corpus_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in corpus_files(corpus_dir)
    }


def corpus_fingerprint(corpus_dir: Path, hashes: dict[str, str] | None = None) -> str:
    """A hash of every file's relative path and bytes: changes when any document or sidecar changes."""
    digest = hashlib.sha256()
    for relative, sha in (corpus_file_hashes(corpus_dir) if hashes is None else hashes).items():
        digest.update(relative.encode())
        digest.update(b"\0")
        digest.update(bytes.fromhex(sha))
    return digest.hexdigest()


def load_metadata(corpus_dir: Path) -> dict[str, DocumentMetadata]:
    path = corpus_dir / METADATA_FILE
    if not path.exists():
        return {}
    rows: dict[str, DocumentMetadata] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "file" not in reader.fieldnames:
            raise QAError(f"{path}: the header must include a 'file' column (columns: {', '.join(METADATA_FIELDS)})")
        unknown = set(reader.fieldnames) - set(METADATA_FIELDS)
        if unknown:
            log.warning("%s: ignoring unknown columns %s", path, ", ".join(sorted(unknown)))
        for line_no, row in enumerate(reader, start=2):
            values = {k: (v.strip() or None) for k, v in row.items() if k in METADATA_FIELDS and v is not None}
            try:
                meta = DocumentMetadata(**values)
            except ValidationError as exc:
                problems = "; ".join(validation_problems(exc))
                raise QAError(
                    f"{path}, line {line_no}: {problems} (dates are YYYY-MM-DD; leave a cell empty if unknown)"
                ) from None
            rows[meta.file] = meta
    return rows


def load_sides(corpus_dir: Path) -> SideConfig:
    path = corpus_dir / SIDES_FILE
    if not path.exists():
        return SideConfig()
    try:
        return SideConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise QAError(f"{path}: not a valid side configuration ({exc}); see README 'Corpus layout'") from None


def read_text_file(path: Path) -> str:
    """Decode a text file exactly (no newline translation), refusing binary content."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start}); convert it to UTF-8") from None


def extract_html_text(html: str) -> str:
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)
    return text or ""


def first_line_title(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:300]
    return None


def _dateline_among(lines: list[str], rules: BoilerplateRules) -> str | None:
    """The first of `lines` (e.g. a PDF's running header) that a dateline rule matches."""
    patterns = [rule.regex() for rule in rules.rules if rule.action == "dateline"]
    return next((line.strip() for line in lines for p in patterns if p.match(line)), None)


def make_document(
    doc_id: str,
    source: str,
    meta: DocumentMetadata,
    sides: SideConfig,
    rules: BoilerplateRules,
    verbatim: bool = True,
    date_source: str = "sidecar",
    *,
    file_title: str | None = None,
    page_map: list[tuple[int, int, int, int]] | None = None,
    pages: int | None = None,
    header_lines: list[str] | None = None,
) -> Document:
    """Clean `source`, then fill each field from the metadata, else from the text, else leave it unknown.

    From a PDF or Word file: `file_title` is its own Title property (used when the metadata has no title),
    `page_map` the pages' runs in `source` (see `Document.page_map`), `header_lines` its running headers and
    footers, where a dateline may stand when the text has none."""
    cleaned = clean_text(source, rules)
    if not cleaned.text.strip():
        raise ValueError("no text in the file after removing boilerplate")
    dateline = cleaned.dateline or (_dateline_among(header_lines, rules) if header_lines else None)
    date, how = meta.date, date_source if meta.date else None
    if date is None and dateline:
        date, how = parse_date(dateline), "dateline"
        how = how if date else None
    side = meta.side or sides.side_of_publisher(meta.publisher, meta.url)
    return Document(
        id=doc_id,
        path=doc_id.split("#")[0],
        title=meta.title or file_title or first_line_title(cleaned.text),
        publisher=meta.publisher,
        side=side,
        date=date,
        date_source=how,
        url=meta.url,
        speaker=meta.speaker,
        text=cleaned.text,
        mentioned_dates=mentioned_dates(cleaned.text),
        source_map=cleaned.source_map if verbatim else None,
        page_map=remap_pages(page_map, cleaned.source_map) if page_map is not None else None,
        pages=pages,
    )


def load_document(
    path: Path, corpus_dir: Path, meta: DocumentMetadata | None, sides: SideConfig, rules: BoilerplateRules
) -> Document:
    """The document of a text, Markdown, HTML, PDF or Word file; ValueError with the reason when it has no text."""
    rel = path.relative_to(corpus_dir).as_posix()
    meta = meta or DocumentMetadata(file=rel)
    suffix = path.suffix.lower()
    if suffix in PDF_EXTENSIONS:
        pdf = read_pdf(path)
        return make_document(
            rel,
            pdf.text,
            meta,
            sides,
            rules,
            verbatim=False,
            file_title=pdf.title,
            page_map=pdf.page_map,
            pages=len(pdf.pages),
            header_lines=pdf.pages[0].furniture,
        )
    if suffix in WORD_EXTENSIONS:
        word = read_docx(path)
        return make_document(rel, word.text, meta, sides, rules, verbatim=False, file_title=word.title)
    raw = read_text_file(path)
    is_html = suffix in HTML_EXTENSIONS
    text = extract_html_text(raw) if is_html else raw
    if not text.strip():
        raise ValueError("no text in the file")
    return make_document(rel, text, meta, sides, rules, verbatim=not is_html)


def read_documents(
    path: Path, corpus_dir: Path, meta: DocumentMetadata | None, sides: SideConfig, rules: BoilerplateRules
) -> tuple[list[Document], list[SkippedFile]]:
    """The documents of one corpus file of any supported kind, and what of it was skipped with the reason (the
    whole file: unsupported, unreadable, no text; or bad lines of a .jsonl file). Never raises for a bad file."""
    rel = path.relative_to(corpus_dir).as_posix()
    suffix = path.suffix.lower()
    if suffix not in DOCUMENT_EXTENSIONS:
        supported = ", ".join(sorted(DOCUMENT_EXTENSIONS))
        return [], [SkippedFile(path=rel, reason=f"unsupported extension '{path.suffix}' (supported: {supported})")]
    try:
        if suffix in JSONL_EXTENSIONS:
            return load_jsonl(path, corpus_dir, sides, rules)
        return [load_document(path, corpus_dir, meta, sides, rules)], []
    except (OSError, ValueError) as exc:
        return [], [SkippedFile(path=rel, reason=str(exc))]


class JsonlDocument(BaseModel):
    """One line of a .jsonl corpus file."""

    id: str | None = None
    text: str
    title: str | None = None
    publisher: str | None = None
    side: str | None = None
    date: dt.date | None = None
    url: str | None = None
    speaker: str | None = None


def load_jsonl(
    path: Path, corpus_dir: Path, sides: SideConfig, rules: BoilerplateRules
) -> tuple[list[Document], list[SkippedFile]]:
    """One document per line; a bad line is skipped and reported with its line number."""
    rel = path.relative_to(corpus_dir).as_posix()
    documents, skipped = [], []
    for line_no, line in enumerate(read_text_file(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = JsonlDocument.model_validate_json(line)
            meta = DocumentMetadata(file=rel, **row.model_dump(exclude={"id", "text"}))
            doc_id = f"{rel}#{row.id or line_no}"
            documents.append(make_document(doc_id, row.text, meta, sides, rules, verbatim=False, date_source="jsonl"))
        except ValidationError as exc:
            skipped.append(SkippedFile(path=f"{rel}, line {line_no}", reason="; ".join(validation_problems(exc))))
        except ValueError as exc:
            skipped.append(SkippedFile(path=f"{rel}, line {line_no}", reason=str(exc)))
    return documents, skipped


def source_key(file_sha: str, meta: DocumentMetadata | None, config_key: str) -> str:
    """A hash of everything a file's documents are made from: its bytes, its metadata row, the corpus's side and
    boilerplate files, and the version of the code that reads them. Equal keys give equal documents."""
    row = meta.model_dump_json() if meta is not None else ""
    return hashlib.sha256(f"{file_sha}\0{row}\0{config_key}".encode()).hexdigest()


def _config_key(hashes: dict[str, str]) -> str:
    parts = [__version__] + [hashes.get(name, "") for name in (SIDES_FILE, BOILERPLATE_FILE)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def document_source_keys(hashes: dict[str, str], metadata: dict[str, DocumentMetadata]) -> dict[str, str]:
    """The source key of every document file among `hashes` (what `load_corpus` records), without reading any."""
    config_key = _config_key(hashes)
    return {
        rel: source_key(sha, metadata.get(rel), config_key)
        for rel, sha in hashes.items()
        if rel not in CONFIG_FILES and Path(rel).suffix.lower() in DOCUMENT_EXTENSIONS
    }


def require_corpus_dir(corpus_dir: str | Path) -> Path:
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise QAError(
            f"corpus folder not found: {corpus_dir} (give a folder of .txt/.md/.html/.jsonl/.pdf/.docx files)"
        )
    return corpus_dir


def load_corpus(
    corpus_dir: str | Path,
    reuse: ReuseDocuments | None = None,
    hashes: dict[str, str] | None = None,
    allow_empty: bool = False,
) -> LoadedCorpus:
    """Read every document of `corpus_dir`; unreadable files are reported in `skipped`, never fatal.
    With `reuse`, a file whose source key an earlier build had is not read again: its documents come from there.
    `hashes`: the files' SHA-256 as `corpus_file_hashes` gave them a moment ago (default: computed here).
    `allow_empty`: return a corpus without documents instead of raising (to learn why each file was skipped)."""
    corpus_dir = require_corpus_dir(corpus_dir)
    hashes = corpus_file_hashes(corpus_dir) if hashes is None else hashes
    config_key = _config_key(hashes)
    metadata = load_metadata(corpus_dir)
    sides = load_sides(corpus_dir)
    rules_path = corpus_dir / BOILERPLATE_FILE
    try:
        rules = load_rules(rules_path)
    except (json.JSONDecodeError, ValidationError) as exc:
        raise QAError(f"{rules_path}: not a valid rule file ({exc})") from None
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    keys: dict[str, str] = {}
    for rel in hashes:
        path = corpus_dir / rel
        if rel in CONFIG_FILES:
            continue
        if path.suffix.lower() not in DOCUMENT_EXTENSIONS:
            skipped.extend(read_documents(path, corpus_dir, None, sides, rules)[1])
            continue
        keys[rel] = source_key(hashes[rel], metadata.get(rel), config_key)
        earlier = reuse(rel, keys[rel]) if reuse is not None else None
        if earlier:
            documents.extend(earlier)
            continue
        docs, bad = read_documents(path, corpus_dir, metadata.get(rel), sides, rules)
        documents.extend(docs)
        skipped.extend(bad)
    for item in skipped:
        log.warning("skipped %s: %s", item.path, item.reason)
    missing = set(metadata) - {d.id for d in documents} - {s.path for s in skipped}
    for name in sorted(missing):
        log.warning("%s: row for '%s' but no such document", corpus_dir / METADATA_FILE, name)
    if not documents and not allow_empty:
        raise QAError(f"no readable documents in {corpus_dir} (supported: {', '.join(sorted(DOCUMENT_EXTENSIONS))})")
    sides = sides.with_sides(d.side for d in documents if d.side)
    return LoadedCorpus(
        documents=documents,
        skipped=skipped,
        sides=sides,
        fingerprint=corpus_fingerprint(corpus_dir, hashes),
        file_hashes=hashes,
        source_keys=keys,
    )
