"""One writer at a time per index folder, and the atomic swap that readers rely on.

`IndexLock(index_dir)` holds `.<name>.lock` in the index folder's parent: an advisory `flock` on the file
(released by the kernel when the holder exits, even on kill -9) plus the holder's pid, host and start time
written in it, so a waiting writer can say who holds the lock. A lock file whose recorded process is gone is
stale: the next writer takes it over and says so. The lock is re-entrant within one process (a build holds it
around both computing and saving the index), and the file is removed on release.

`swap_in(new, index_dir)` puts a finished folder in place with one `renameat2(RENAME_EXCHANGE)` where the
system has it, so the index path never stops existing; elsewhere it falls back to two renames.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from qa_assistant.errors import IndexLockedError

log = logging.getLogger(__name__)

DEFAULT_WAIT = 60.0  # seconds a writer waits for another one before giving up
POLL = 0.1

_held: dict[str, tuple[int, int]] = {}  # lock path -> (fd, depth) held by this process
_held_guard = threading.Lock()


def lock_path(index_dir: Path | str) -> Path:
    index_dir = Path(index_dir).absolute()
    return index_dir.parent / f".{index_dir.name}.lock"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def read_holder(path: Path) -> dict:
    """The pid/host/since recorded in a lock file ({} when unreadable or empty)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe(holder: dict) -> str:
    if not holder:
        return "another process"
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, since {holder.get('since', '?')}"


class IndexLock:
    """Exclusive writer lock for `index_dir`; waits up to `wait` seconds (0: fail at once) for another writer."""

    def __init__(self, index_dir: Path | str, wait: float = DEFAULT_WAIT, on_wait=None):
        self.index_dir = Path(index_dir)
        self.path = lock_path(index_dir)
        self.wait = wait
        self.on_wait = on_wait  # called once with a message when the lock is busy and we start waiting
        self.took_over: dict | None = None  # the holder of a stale lock file that was taken over

    def acquire(self) -> IndexLock:
        key = str(self.path)
        with _held_guard:
            if key in _held:
                fd, depth = _held[key]
                _held[key] = (fd, depth + 1)
                return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + max(self.wait, 0.0)
        announced = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = read_holder(self.path)
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"{self.index_dir} is being written by another qa-assistant ({describe(holder)}; lock file "
                        f"{self.path}); wait for it to finish, or pass a longer --wait SECONDS"
                    ) from None
                if not announced and self.on_wait is not None:
                    self.on_wait(f"waiting for the writer of {self.index_dir} ({describe(holder)}) to finish …")
                    announced = True
                time.sleep(POLL)
                continue
            # We hold a lock on the file we opened; make sure it is still the file at `path` (a releasing holder
            # unlinks it, and a third process may have created a new one since).
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            break
        previous = read_holder(self.path)
        if previous and previous.get("pid") != os.getpid():
            # A file we could lock means its writer is gone (killed before it could remove it): stale.
            alive = previous.get("host") == socket.gethostname() and pid_alive(int(previous.get("pid") or 0))
            self.took_over = previous
            log.warning(
                "took over a stale lock on %s left by %s (%s)",
                self.index_dir,
                describe(previous),
                "process still running but not holding it" if alive else "process no longer running",
            )
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        with _held_guard:
            _held[key] = (fd, 1)
        self._remove_leftovers()
        return self

    def _remove_leftovers(self) -> None:
        """Temporary folders of a writer killed mid-save (`.NAME.tmp-*`, `.NAME.old-*`): as the only writer now,
        we know no one is using them."""
        for pattern in (f".{self.index_dir.name}.tmp-*", f".{self.index_dir.name}.old-*"):
            for leftover in self.path.parent.glob(pattern):
                log.warning("removing %s, left by an interrupted build", leftover)
                shutil.rmtree(leftover, ignore_errors=True)

    def release(self) -> None:
        key = str(self.path)
        with _held_guard:
            fd, depth = _held[key]
            if depth > 1:
                _held[key] = (fd, depth - 1)
                return
            del _held[key]
        self.path.unlink(missing_ok=True)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> IndexLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _renameat2():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths; False when the system or file system cannot."""
    if _RENAMEAT2 is None:
        return False
    result = _RENAMEAT2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    return result == 0


def swap_in(new: Path, index_dir: Path) -> None:
    """Replace `index_dir` by the finished folder `new` (same parent); the old folder is deleted."""
    if not index_dir.exists():
        new.rename(index_dir)
        return
    if exchange(new, index_dir):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old index
        return
    old = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.old-", dir=index_dir.parent))
    old.rmdir()
    index_dir.rename(old)
    new.rename(index_dir)
    shutil.rmtree(old, ignore_errors=True)


class PinnedFolder:
    """An open handle on a folder: files read through `root` come from this folder even if it is swapped out
    meanwhile (Linux: /proc/self/fd/N), and `replaced()` tells whether the path now names another folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.fd: int | None = None
        self.root = folder
        try:
            self.fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return  # missing or unreadable: reading through `folder` reports it
        proc = Path(f"/proc/self/fd/{self.fd}")
        if proc.is_dir():
            self.root = proc

    def replaced(self) -> bool:
        if self.fd is None:
            return False
        try:
            now = os.stat(self.folder)
        except OSError:
            return True
        held = os.fstat(self.fd)  # the inode stays allocated while we hold it: no reuse, no false "same"
        return (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> PinnedFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
