"""Damage copies of an index in each of the ways below and show what `qa-assistant ask` and `check` print.

    .venv/bin/python eval/corrupt_index.py index            # an index built with: qa-assistant index corpus --index index

Each case works on a fresh copy in a temporary folder; the given index is never touched. Prints, per case,
the exit code and the stderr of `ask` (with sizes only checked, the default) and the output of `check`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

CLI = [sys.executable, "-m", "qa_assistant.cli"]


def truncate(name: str, keep: float = 0.5) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        path = index / name
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])

    return damage


def flip(name: str, where: float = 0.5, count: int = 8) -> Callable[[Path], None]:
    """Invert `count` bytes in the middle of the file (same size: only a checksum or a parser can tell)."""

    def damage(index: Path) -> None:
        path = index / name
        data = bytearray(path.read_bytes())
        at = int(len(data) * where)
        for i in range(at, min(at + count, len(data))):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))

    return damage


def delete(name: str) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        path = index / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    return damage


def replace_line(name: str, line_no: int, text: str) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        path = index / name
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        lines[line_no] = text + "\n"
        path.write_text("".join(lines), encoding="utf-8")

    return damage


def write(name: str, text: str) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        (index / name).write_text(text, encoding="utf-8")

    return damage


def same_size_bad_json(name: str) -> Callable[[Path], None]:
    """Break the JSON of the second line without changing the file's size: only a parser can tell."""

    def damage(index: Path) -> None:
        path = index / name
        lines = path.read_bytes().split(b"\n")
        lines[1] = b"#" + lines[1][1:]
        path.write_bytes(b"\n".join(lines))

    return damage


def old_schema(index: Path) -> None:
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["schema_version"] = 3
    del manifest["files"]
    (index / "manifest.json").write_text(json.dumps(manifest))


def drop_file_table(index: Path) -> None:
    manifest = json.loads((index / "manifest.json").read_text())
    del manifest["files"]
    (index / "manifest.json").write_text(json.dumps(manifest))


CASES: dict[str, Callable[[Path], None]] = {
    "truncate dense.faiss to half": truncate("dense.faiss"),
    "flip 8 bytes in dense.faiss (same size)": flip("dense.faiss", 0.7),
    "delete sentences.npz": delete("sentences.npz"),
    "flip 8 bytes in sentences.npz (same size)": flip("sentences.npz"),
    "truncate documents.jsonl to half": truncate("documents.jsonl"),
    "bad JSON line in attributions.jsonl": replace_line("attributions.jsonl", 3, "{not json"),
    "same-size bad JSON line in documents.jsonl": same_size_bad_json("documents.jsonl"),
    "delete bm25/ folder": delete("bm25"),
    "truncate bm25_context/vocab.index.json": truncate("bm25_context/vocab.index.json", 0.3),
    "malformed manifest.json": truncate("manifest.json", 0.5),
    "manifest.json is a JSON list": write("manifest.json", "[]"),
    "manifest without the file table": drop_file_table,
    "index of schema 3 (before the file table)": old_schema,
}


def run(args: list[str]) -> tuple[int, str]:
    done = subprocess.run(CLI + args, capture_output=True, text=True)
    return done.returncode, (done.stdout + done.stderr).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path)
    parser.add_argument("--question", default="What did each side say about Lachin?")
    args = parser.parse_args()
    for case, damage in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            index = Path(tmp) / "index"
            shutil.copytree(args.index, index)
            damage(index)
            ask_rc, ask_out = run(["ask", args.question, "--index", str(index), "--k", "2"])
            check_rc, check_out = run(["check", str(index)])
            print(f"## {case}\nask   (exit {ask_rc}): {ask_out.replace(tmp, '$TMP')}")
            print(f"check (exit {check_rc}):\n    " + check_out.replace(tmp, "$TMP").replace("\n", "\n    ") + "\n")


if __name__ == "__main__":
    main()
