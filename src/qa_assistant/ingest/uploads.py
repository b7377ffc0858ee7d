"""Files added to, and removed from, a corpus folder while the tool runs.

- `safe_file_name`: the name an uploaded file is stored under — its last path component only, characters other
  than letters, digits, space and `._-()[]+,` replaced by `_`, no leading dot, at most MAX_NAME_CHARS characters,
  of a type the corpus reads (so never a sidecar's name: metadata.csv, sides.json). A name can therefore never point outside the corpus folder (checked again on the
  resolved path).
- `stage_files`: uploads are first copied (in chunks, refused once over the size limit) into a hidden staging
  folder inside the corpus (`.uploads/<id>/`, ignored by the corpus reader), where they are read as a corpus of
  their own: a file the reader cannot use is reported and never stored. (A staging folder a day old, left by a
  process killed meanwhile, is removed by the next upload.)
- `CorpusEdit`: moves staged files into the corpus folder and writes their `metadata.csv` rows, or moves a
  removed document's file to `.removed/` (kept, hidden from the reader) and drops its row; `rollback` undoes it.
  `metadata.csv` is rewritten whole (other rows and columns kept as they are) under a temporary name and renamed.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re
import secrets
import shutil
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from qa_assistant.errors import QAError
from qa_assistant.ingest.corpus import (
    BOILERPLATE_FILE,
    DOCUMENT_EXTENSIONS,
    METADATA_FIELDS,
    METADATA_FILE,
    SIDES_FILE,
    load_corpus,
)
from qa_assistant.limits import UploadLimits
from qa_assistant.models import SkippedUpload, UploadMetadata

# What can be uploaded: every type the corpus reader takes, and PDF and Word files.
UPLOAD_EXTENSIONS = frozenset(DOCUMENT_EXTENSIONS | {".pdf", ".docx"})
STAGING_DIR = ".uploads"
REMOVED_DIR = ".removed"
MAX_NAME_CHARS = 150
CHUNK_BYTES = 1 << 20
_UNSAFE = re.compile(r"[^\w .()\[\]+,-]", re.UNICODE)

# A file to add: its name as the client gave it, and its bytes (bytes, a path, or an open binary file).
Incoming = tuple[str, "bytes | Path | BinaryIO"]


def readable_types() -> frozenset[str]:
    """The types the corpus reader reads now (an uploaded file of another allowed type is reported, not stored)."""
    return frozenset(DOCUMENT_EXTENSIONS)


def allowed_types() -> str:
    return ", ".join(sorted(UPLOAD_EXTENSIONS))


def safe_file_name(name: str) -> str:
    """The file name `name` is stored under in the corpus folder (see the module docstring); QAError when none is
    left or its type is not one the corpus can read."""
    original = name
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base)
    base = re.sub(r"\s+", " ", base).strip().lstrip(".").strip()
    stem, suffix = os.path.splitext(base)
    if len(base) > MAX_NAME_CHARS:
        base = stem[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
    if not stem.strip(" ._-") or not suffix:
        raise QAError(f"'{original}': not a usable file name (give the file a name with its type, e.g. report.pdf)")
    if suffix.lower() not in UPLOAD_EXTENSIONS:
        raise QAError(f"'{original}': files of type '{suffix}' cannot be added (supported: {allowed_types()})")
    return base


def inside(corpus_dir: Path, name: str) -> Path:
    """corpus_dir / name, refusing anything that would resolve outside the corpus folder."""
    root = corpus_dir.resolve()
    target = (root / name).resolve()
    if target.parent != root and root not in target.parents:
        raise QAError(f"'{name}' is outside the corpus folder {corpus_dir}")
    return target


@dataclass
class StagedFile:
    name: str  # the name it will have in the corpus folder (= its document id)
    path: Path  # where it waits in the staging folder
    size: int


@dataclass
class Staging:
    """Uploaded files waiting in `.uploads/<id>/` of the corpus folder, with the metadata they were given."""

    folder: Path
    files: list[StagedFile]
    metadata: UploadMetadata

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.folder.parent.rmdir()  # only when empty


def _copy_limited(source: bytes | Path | BinaryIO, target: Path, limit: int, name: str) -> int:
    def too_big() -> QAError:
        return QAError(f"'{name}' is larger than the limit of {limit / 1048576:g} MiB per file; not added")

    if isinstance(source, bytes):
        if len(source) > limit:
            raise too_big()
        target.write_bytes(source)
        return len(source)
    if isinstance(source, Path):
        if source.stat().st_size > limit:
            raise too_big()
        shutil.copyfile(source, target)
        return source.stat().st_size
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise too_big()
            out.write(chunk)
    return size


STALE_STAGING_SECONDS = 24 * 3600


def _remove_stale_staging(staging_root: Path) -> None:
    """Staging folders a day old: left by a process killed between an upload and its update."""
    if not staging_root.is_dir():
        return
    now = time.time()
    for folder in staging_root.iterdir():
        with contextlib.suppress(OSError):
            if now - folder.stat().st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)


def stage_files(
    corpus_dir: Path,
    files: Iterable[Incoming],
    metadata: UploadMetadata | None = None,
    limits: UploadLimits | None = None,
) -> Staging:
    """Check the names, types, number and sizes of `files` and copy them into a staging folder of `corpus_dir`.
    Raises QAError (nothing kept) on the first file refused, naming it and the rule."""
    limits = limits or UploadLimits()
    metadata = metadata or UploadMetadata()
    incoming = list(files)
    if not incoming:
        raise QAError("no files given: choose one or more files to add")
    if len(incoming) > limits.max_files:
        raise QAError(f"{len(incoming)} files given: at most {limits.max_files} can be added at once")
    if metadata.title and len(incoming) > 1:
        raise QAError("a title names one document: add the files one by one to give each its title")
    names = [safe_file_name(name) for name, _ in incoming]
    seen: set[str] = set()
    for (original, _), name in zip(incoming, names, strict=True):
        if name.lower() in seen:
            raise QAError(f"'{original}': two files of this upload would both be stored as '{name}'")
        seen.add(name.lower())
        if os.path.lexists(inside(corpus_dir, name)):
            raise QAError(f"'{name}' is already in the corpus: remove that document first, or rename the file")
    _remove_stale_staging(corpus_dir / STAGING_DIR)
    folder = corpus_dir / STAGING_DIR / secrets.token_hex(8)
    folder.mkdir(parents=True)
    staging = Staging(folder, [], metadata)
    try:
        for (original, source), name in zip(incoming, names, strict=True):
            path = folder / name
            size = _copy_limited(source, path, limits.max_file_bytes, original)
            if size == 0:
                raise QAError(f"'{original}' is empty; not added")
            staging.files.append(StagedFile(name, path, size))
    except BaseException:
        staging.discard()
        raise
    return staging


def unreadable(staging: Staging, corpus_dir: Path) -> list[SkippedUpload]:
    """The staged files the corpus reader cannot use, with its reason: the staging folder is read as a corpus
    (with the corpus's side and boilerplate files, so it is cleaned as it will be)."""
    for config in (SIDES_FILE, BOILERPLATE_FILE):
        if (corpus_dir / config).is_file():
            shutil.copyfile(corpus_dir / config, staging.folder / config)
    corpus = load_corpus(staging.folder, allow_empty=True)
    read = {doc.path for doc in corpus.documents}
    reasons: dict[str, str] = {}
    for item in corpus.skipped:  # (a .jsonl file's bad lines are named "file, line N")
        reasons.setdefault(item.path.split(", line ")[0], item.reason)
    for config in (SIDES_FILE, BOILERPLATE_FILE):
        (staging.folder / config).unlink(missing_ok=True)
    return [
        SkippedUpload(file=staged.name, reason=reasons.get(staged.name, "no text could be read from it"))
        for staged in staging.files
        if staged.name not in read
    ]


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], str, bool]:
    """Header, rows, line ending and whether it starts with a byte-order mark, of a metadata.csv."""
    if not path.exists():
        return list(METADATA_FIELDS), [], "\n", False
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return list(METADATA_FIELDS), [], newline, bom
    header, body = rows[0], rows[1:]
    if "file" not in header:
        raise QAError(f"{path}: the header must include a 'file' column; fix it before adding documents")
    return header, body, newline, bom


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def rewrite_metadata(corpus_dir: Path, drop: set[str], add: dict[str, UploadMetadata]) -> None:
    """Remove the rows of the files in `drop` and of those in `add`, then append a row for each file of `add`
    that has a value to record; every other row, column and cell is written back as it was read."""
    path = corpus_dir / METADATA_FILE
    header, rows, newline, bom = _read_rows(path)
    if not path.exists() and not any(meta.model_dump(exclude_none=True) for meta in add.values()):
        return  # no sidecar and nothing to record: none is created
    values = {
        name: {key: str(value) for key, value in meta.model_dump().items() if value is not None}
        for name, meta in add.items()
    }
    for cells in values.values():
        for key in cells:
            if key not in header:
                header.append(key)
    width = len(header)
    file_col = header.index("file")
    gone = drop | set(add)
    kept = [row for row in rows if not (len(row) > file_col and row[file_col].strip() in gone)]
    for name, cells in values.items():
        if cells:
            named = {"file": name, **cells}
            kept.append([named.get(column, "") for column in header])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    for cells_of_row in kept:
        writer.writerow(cells_of_row + [""] * (width - len(cells_of_row)))
    _write_atomically(path, (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))


@dataclass
class CorpusEdit:
    """Changes made to a corpus folder, and how to undo them (`rollback`) if the index cannot be updated."""

    corpus_dir: Path
    moved: list[tuple[Path, Path]] = field(default_factory=list)  # (from, to) of every file moved
    metadata_before: bytes | None = None
    metadata_existed: bool = False

    def _remember_metadata(self) -> None:
        if not self.moved and self.metadata_before is None:
            path = self.corpus_dir / METADATA_FILE
            self.metadata_existed = path.exists()
            self.metadata_before = path.read_bytes() if self.metadata_existed else b""

    def add(self, staging: Staging, skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """Move the staged files (but those in `skip`) into the corpus folder, with their metadata rows."""
        self._remember_metadata()
        names = []
        for staged in staging.files:
            if staged.name in skip:
                continue
            target = inside(self.corpus_dir, staged.name)
            if os.path.lexists(target):
                raise QAError(f"'{staged.name}' is already in the corpus: remove that document first, or rename it")
            os.replace(staged.path, target)
            self.moved.append((staged.path, target))
            names.append(staged.name)
        rewrite_metadata(self.corpus_dir, set(), {name: staging.metadata for name in names})
        return names

    def remove(self, file: str) -> None:
        """Move corpus file `file` to `.removed/` (dated, so nothing is overwritten) and drop its metadata row."""
        self._remember_metadata()
        source = inside(self.corpus_dir, file)
        if not source.is_file():
            raise QAError(f"'{file}' is not in the corpus folder {self.corpus_dir} any more")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        target = self.corpus_dir / REMOVED_DIR / f"{stamp}-{secrets.token_hex(3)}" / file
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        self.moved.append((source, target))
        rewrite_metadata(self.corpus_dir, {file}, {})

    def rollback(self) -> None:
        for source, target in reversed(self.moved):
            if target.exists() and not os.path.lexists(source):
                source.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, source)
        self.moved.clear()
        if self.metadata_before is not None:
            path = self.corpus_dir / METADATA_FILE
            if self.metadata_existed:
                _write_atomically(path, self.metadata_before)
            else:
                path.unlink(missing_ok=True)
