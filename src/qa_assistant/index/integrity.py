"""Integrity of an index folder: the manifest's file table (size and SHA-256 of every file) and its checks.

The table is computed over the temporary folder of a build, after every other file is written, and stored
in `manifest.json`, which is written last. `load_index` compares sizes always (cheap: one `stat` per file)
and checksums when asked; `qa-assistant check INDEX` does both and reads every file. Any failure to read
an index file is turned into one `IndexCorruptError` that names the file and the command that rebuilds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ValidationError

from qa_assistant.errors import IndexCorruptError, QAError, rebuild_command

MANIFEST = "manifest.json"
CHUNK = 1 << 20


class FileEntry(BaseModel):
    size: int
    sha256: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def index_files(folder: Path) -> list[Path]:
    """Every file of an index folder except the manifest, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST)


def file_table(folder: Path) -> dict[str, FileEntry]:
    """Size and SHA-256 of every file of `folder` (the manifest excepted), by POSIX relative path."""
    return {
        p.relative_to(folder).as_posix(): FileEntry(size=p.stat().st_size, sha256=sha256_of(p))
        for p in index_files(folder)
    }


def corrupt(index_dir: Path | str, name: str, problem: str, corpus_dir: Path | str | None = None) -> IndexCorruptError:
    return IndexCorruptError(
        f"index file {Path(index_dir) / name} is damaged ({problem}); rebuild with: "
        f"{rebuild_command(index_dir, corpus_dir)}"
    )


def file_problems(
    index_dir: Path, table: dict[str, FileEntry], checksums: bool = False, root: Path | None = None
) -> dict[str, str]:
    """What is wrong with each file listed in `table` (missing, other size, other checksum), by name.
    Files are read through `root` (a pinned handle on `index_dir`) when given."""
    problems: dict[str, str] = {}
    for name, entry in table.items():
        path = (root or index_dir) / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            problems[name] = "missing"
            continue
        except OSError as exc:
            problems[name] = f"cannot be read: {exc.strerror or exc}"
            continue
        if size != entry.size:
            problems[name] = f"{size} bytes, the manifest says {entry.size}"
        elif checksums:
            try:
                if sha256_of(path) != entry.sha256:
                    problems[name] = "its SHA-256 checksum differs from the manifest's: its bytes were altered"
            except OSError as exc:
                problems[name] = f"cannot be read: {exc.strerror or exc}"
    return problems


def verify_files(
    index_dir: Path,
    table: dict[str, FileEntry] | None,
    corpus_dir: Path | str | None = None,
    checksums: bool = False,
    root: Path | None = None,
) -> None:
    """Raise IndexCorruptError for the first file whose size (and checksum, when asked) is not the manifest's."""
    if table is None:
        raise IndexCorruptError(
            f"index at {index_dir} has no file table in its manifest, so its files cannot be verified; rebuild with: "
            f"{rebuild_command(index_dir, corpus_dir)}"
        )
    problems = file_problems(index_dir, table, checksums, root)
    if problems:
        name, problem = next(iter(problems.items()))
        more = f"; {len(problems) - 1} other file(s) damaged too" if len(problems) > 1 else ""
        raise corrupt(index_dir, name, problem + more, corpus_dir)


@contextmanager
def reading(index_dir: Path, name: str, corpus_dir: Path | str | None = None) -> Iterator[None]:
    """Turn any failure to read index file `name` into IndexCorruptError naming it (user errors pass through)."""
    try:
        yield
    except QAError:
        raise
    except FileNotFoundError:
        raise corrupt(index_dir, name, "missing", corpus_dir) from None
    except MemoryError:
        raise corrupt(
            index_dir, name, "unreadable: a length field asks for more memory than there is", corpus_dir
        ) from None
    except ValidationError as exc:  # a line of JSON that is not what it should be: say what, not the content
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        detail = f"{where}: {first['msg']}" if where else first["msg"]
        raise corrupt(index_dir, name, f"unreadable: {detail[:200]}", corpus_dir) from None
    except Exception as exc:  # any parser's error: json, numpy, zipfile, faiss, bm25s
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise corrupt(index_dir, name, f"unreadable: {type(exc).__name__}: {detail}", corpus_dir) from None
