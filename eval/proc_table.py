"""The machine's processes as /proc lists them, for the benchmarks that measure other processes than their own
(`bench_ray_build.py`: CPU per kind of process; `bench_scale_out.py`: the Milvus Lite server it started)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def processes() -> Iterator[tuple[int, list[str], str]]:
    """(pid, the fields of /proc/PID/stat after the command name — state, parent pid, … —, command line) of every
    process still there when read."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
        except OSError:
            continue
        yield int(entry.name), stat[stat.rindex(")") + 2 :].split(), cmdline  # (the name may hold spaces)
