"""`qa-assistant check INDEX`: verify every file of an index against its manifest, then read it all back."""

from __future__ import annotations

import sys
from pathlib import Path

from qa_assistant.errors import IndexCorruptError, StaleIndexError, rebuild_command
from qa_assistant.index.integrity import file_problems, index_files


def check_index(index_dir: str | Path, corpus_dir: str | Path | None = None) -> int:
    """Print one line per damaged file and raise IndexCorruptError when any is; print 'ok' and return 0 otherwise."""
    from qa_assistant.index.manifest import check_fresh, read_manifest
    from qa_assistant.index.store import load_index

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)  # missing, malformed or other schema: one error
    source = corpus_dir or manifest.corpus_dir
    rebuild = rebuild_command(index_dir, source)
    if manifest.files is None:
        raise IndexCorruptError(f"index at {index_dir} has no file table in its manifest; rebuild with: {rebuild}")
    problems = file_problems(index_dir, manifest.files, checksums=True)
    for name, problem in problems.items():
        print(f"bad: {index_dir / name}: {problem}")
    extra = sorted({p.relative_to(index_dir).as_posix() for p in index_files(index_dir)} - set(manifest.files))
    for name in extra:
        print(f"note: {index_dir / name} is not listed in the manifest (ignored)")
    if problems:
        raise IndexCorruptError(
            f"index at {index_dir}: {len(problems)} of {len(manifest.files)} files damaged; rebuild with: {rebuild}"
        )
    # contents parse and agree (the serving tables alone for a folder that has nothing else: a build on Ray's)
    serving = manifest.backend.kind == "milvus" and "documents.jsonl" not in manifest.files
    index = load_index(index_dir, corpus_dir, check=False, verify=False, serving=serving)
    try:
        check_fresh(manifest, index_dir, Path(corpus_dir) if corpus_dir else None)
    except StaleIndexError as exc:
        print(f"warning: {exc}", file=sys.stderr)
    milvus = manifest.backend.milvus
    if milvus is not None:  # the collection that answers its searches exists and holds every sentence
        from qa_assistant.backends.factory import open_backend

        open_backend(index)
    print(
        f"ok: {index_dir}: {len(manifest.files)} files match their sizes and SHA-256 checksums; "
        f"{len(index.documents)} documents and {len(index.sentences)} sentences read back"
        + (f"; Milvus collection '{milvus.collection}' at {milvus.uri} holds them all" if milvus is not None else "")
    )
    return 0
