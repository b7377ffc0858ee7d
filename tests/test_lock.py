"""One writer per index folder: a second writer waits or fails clearly; a killed writer's lock is taken over;
readers never see a half-written index while it is replaced."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa_assistant import IndexLockedError
from qa_assistant.cli import main
from qa_assistant.index.lock import IndexLock, lock_path
from qa_assistant.index.store import load_index, save_index

HOLD = """
import sys, time
from qa_assistant.index.lock import IndexLock
lock = IndexLock(sys.argv[1], wait=0).acquire()
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_lock(index_dir: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the writer lock of `index_dir` for `seconds`."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(index_dir), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "locked"
    return process


def test_second_writer_fails_at_once_naming_the_holder(tmp_path):
    index = tmp_path / "index"
    holder = hold_lock(index, 30)
    try:
        record = json.loads(lock_path(index).read_text())
        assert record["pid"] == holder.pid and record["host"] and record["since"]
        with pytest.raises(IndexLockedError, match=rf"being written by another qa-assistant \(pid {holder.pid} on"):
            IndexLock(index, wait=0).acquire()
    finally:
        holder.kill()
        holder.wait()


def test_second_writer_waits_for_the_first(tmp_path):
    index = tmp_path / "index"
    holder = hold_lock(index, 1.5)
    messages = []
    started = time.monotonic()
    with IndexLock(index, wait=30, on_wait=messages.append):
        waited = time.monotonic() - started
        assert json.loads(lock_path(index).read_text())["pid"] == os.getpid()
    holder.wait()
    assert 0.5 < waited < 25
    assert len(messages) == 1 and f"pid {holder.pid}" in messages[0]
    assert not lock_path(index).exists()  # removed on release


def test_lock_of_a_killed_writer_is_taken_over(tmp_path, caplog):
    index = tmp_path / "index"
    holder = hold_lock(index, 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert json.loads(lock_path(index).read_text())["pid"] == holder.pid  # left behind
    leftover = tmp_path / ".index.tmp-abc123"  # a half-written folder of the killed writer
    (leftover / "bm25").mkdir(parents=True)
    with caplog.at_level("WARNING"), IndexLock(index, wait=0) as lock:
        assert lock.took_over["pid"] == holder.pid
    assert f"took over a stale lock on {index}" in caplog.text and "no longer running" in caplog.text
    assert not leftover.exists()


def test_lock_is_reentrant_within_a_process(tmp_path):
    index = tmp_path / "index"
    with IndexLock(index, wait=0), IndexLock(index, wait=0):
        assert lock_path(index).exists()
    assert not lock_path(index).exists()


def test_cli_index_while_another_writes_is_one_error(tmp_path, seed_corpus, capsys):
    index = tmp_path / "index"
    holder = hold_lock(index, 30)
    try:
        code = main(["index", str(seed_corpus), "--index", str(index), "--wait", "0", "-q"])
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {index} is being written by another qa-assistant (pid {holder.pid}")
    assert "--wait SECONDS" in err and not index.exists()


def test_readers_never_see_a_half_written_index(tmp_path, seed_index):
    """A writer replaces the index over and over with two different builds; every load is one whole build."""
    small = tmp_path / "small-corpus"
    small.mkdir()
    (small / "a.txt").write_text("The ceasefire held for a day.\nBoth sides reported shelling.\n", encoding="utf-8")
    from qa_assistant import Assistant

    builds = [load_index(seed_index, check=False), Assistant.build(small, tmp_path / "small-index").index]
    sizes = {len(b.sentences) for b in builds}
    target = tmp_path / "live"
    save_index(builds[0], target)
    stop = threading.Event()
    writes = [0]

    def writer():
        while not stop.is_set():
            save_index(builds[writes[0] % 2], target)
            writes[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    loads = 0
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and (loads < 20 or writes[0] < 20):
            index = load_index(target, check=False)
            assert len(index.sentences) == index.manifest.sentences == index.dense.size in sizes
            assert len(index.documents) == index.manifest.documents
            loads += 1
    finally:
        stop.set()
        thread.join()
    print(f"{loads} loads during {writes[0]} replacements")
    assert loads >= 5 and writes[0] >= 5
    hidden = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert hidden == [".small-index.vectors"]  # no temp folders or lock left; the vector cache of a build stays
