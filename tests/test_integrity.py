"""Damaged index files: one IndexCorruptError naming the file and the rebuild command, never a traceback."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa_assistant import Assistant, IndexCorruptError
from qa_assistant.cli import main
from qa_assistant.index.store import load_index

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def index_copy(tmp_path, seed_index) -> Path:
    target = tmp_path / "index"
    shutil.copytree(seed_index, target)
    return target


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def flip(path: Path, where: float = 0.5, count: int = 8) -> None:
    data = bytearray(path.read_bytes())
    at = int(len(data) * where)
    for i in range(at, at + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def same_size_bad_json(path: Path) -> None:
    """Break the JSON of one line without changing the file's size: only a parser can tell."""
    lines = path.read_bytes().split(b"\n")
    lines[1] = b"#" + lines[1][1:]
    path.write_bytes(b"\n".join(lines))


DAMAGES = {
    "truncated dense.faiss": ("dense.faiss", lambda i: truncate(i / "dense.faiss")),
    "deleted sentences.npz": ("sentences.npz", lambda i: (i / "sentences.npz").unlink()),
    "flipped bytes in sentences.npz": ("sentences.npz", lambda i: flip(i / "sentences.npz")),
    "truncated documents.jsonl": ("documents.jsonl", lambda i: truncate(i / "documents.jsonl")),
    "bad JSON line in documents.jsonl": ("documents.jsonl", lambda i: same_size_bad_json(i / "documents.jsonl")),
    "bad JSON line in attributions.jsonl": (
        "attributions.jsonl",
        lambda i: same_size_bad_json(i / "attributions.jsonl"),
    ),
    "deleted bm25 folder": ("bm25", lambda i: shutil.rmtree(i / "bm25")),
    "truncated bm25_context vocabulary": (
        "bm25_context/vocab.index.json",
        lambda i: truncate(i / "bm25_context" / "vocab.index.json"),
    ),
    "malformed manifest": ("manifest.json", lambda i: truncate(i / "manifest.json")),
    "manifest not an object": ("manifest.json", lambda i: (i / "manifest.json").write_text("[1, 2]")),
}


def test_manifest_lists_every_file_with_its_size_and_checksum(seed_index):
    files = json.loads((seed_index / "manifest.json").read_text())["files"]
    on_disk = {p.relative_to(seed_index).as_posix(): p for p in seed_index.rglob("*") if p.is_file()}
    assert set(files) == set(on_disk) - {"manifest.json"}
    assert {"dense.faiss", "sentences.npz", "documents.jsonl", "bm25/vocab.index.json"} <= set(files)
    for name, entry in files.items():
        data = on_disk[name].read_bytes()
        assert entry == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize("case", list(DAMAGES))
def test_damaged_file_is_one_error_naming_it_and_the_rebuild(case, index_copy, capsys):
    name, damage = DAMAGES[case]
    damage(index_copy)
    with pytest.raises(IndexCorruptError) as caught:
        Assistant.load(index_copy)
    message = str(caught.value)
    assert name in message and "rebuild with: qa-assistant index" in message and f"--index {index_copy}" in message
    assert main(["ask", "Lachin corridor", "--index", str(index_copy)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("error: ") and name in err


def test_same_size_change_is_caught_by_checksum_when_asked(index_copy, capsys):
    flip(index_copy / "dense.faiss", where=0.7)  # inside the vectors: FAISS reads it without complaint
    Assistant.load(index_copy)  # sizes only: still loads
    with pytest.raises(IndexCorruptError, match=r"dense\.faiss.*SHA-256.*rebuild with"):
        Assistant.load(index_copy, verify=True)
    assert main(["check", str(index_copy)]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"bad: {index_copy / 'dense.faiss'}: its SHA-256 checksum differs from the manifest's: its bytes were altered"
    ]
    assert err.startswith("error: ") and "1 of 21 files damaged" in err and "rebuild with" in err


def test_check_reports_each_bad_file_and_passes_a_good_index(index_copy, capsys):
    assert main(["check", str(index_copy)]) == 0
    assert capsys.readouterr().out.startswith(f"ok: {index_copy}: 21 files match")
    truncate(index_copy / "dense.faiss")
    (index_copy / "sentences.npz").unlink()
    assert main(["check", str(index_copy)]) == 2
    out, err = capsys.readouterr()
    assert sorted(line.split(":")[0] + ":" + Path(line.split(": ")[1]).name for line in out.splitlines()) == [
        "bad:dense.faiss",
        "bad:sentences.npz",
    ]
    assert "2 of 21 files damaged" in err


def test_manifest_without_file_table_is_refused_with_the_rebuild(index_copy):
    manifest = json.loads((index_copy / "manifest.json").read_text())
    del manifest["files"]
    (index_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="no file table.*rebuild with: qa-assistant index"):
        load_index(index_copy)


def test_inconsistent_files_are_refused(index_copy):
    """Files that each parse but disagree (a sentences.npz from another build): never a half-matching index."""
    import numpy as np

    from qa_assistant.index.integrity import file_table

    with np.load(index_copy / "sentences.npz") as arrays:
        data = {k: arrays[k] for k in arrays.files}
    data["end"] = data["end"] + 10**6  # beyond the documents' text
    np.savez(index_copy / "sentences.npz", **data)
    manifest = json.loads((index_copy / "manifest.json").read_text())
    manifest["files"] = {k: v.model_dump() for k, v in file_table(index_copy).items()}
    (index_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="sentences.npz.*ends beyond"):
        load_index(index_copy)


def test_app_rebuilds_a_damaged_index_and_refuses_it_without_corpus(tmp_path, seed_corpus, index_copy, capsys):
    sys.path.insert(0, str(ROOT))
    try:
        import app
    finally:
        sys.path.remove(str(ROOT))
    flip(index_copy / "dense.faiss", where=0.7)
    with pytest.raises(IndexCorruptError, match="dense.faiss"):
        app.open_assistant(index_copy, tmp_path / "no-corpus")
    assistant = app.open_assistant(index_copy, seed_corpus)
    assert "dense.faiss is damaged" in capsys.readouterr().err
    assert assistant.ask("Lachin corridor").quotes
    Assistant.load(index_copy, verify=True)  # the rebuilt index is whole


def test_cli_check_in_a_fresh_process_prints_no_traceback(index_copy):
    truncate(index_copy / "dense.faiss")
    done = subprocess.run(
        [sys.executable, "-m", "qa_assistant.cli", "ask", "Lachin", "--index", str(index_copy)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "dense.faiss is damaged" in done.stderr
