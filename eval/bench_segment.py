"""Sentence splitting speed: one process against every core, on the same documents, with the same result.

    .venv/bin/python eval/bench_segment.py --corpus /tmp/ungdc-dev            # a prepared corpus folder (*.txt)
    .venv/bin/python eval/bench_segment.py --corpus /tmp/ungdc --limit 2000   # the first 2,000 files of one

Prints sentences/s of each and their ratio, the load average before and after (the machine may be shared), and
checks both give the same offsets.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from qa_assistant.segment_parallel import split_many, worker_count  # noqa: E402


def timed(texts: list[str], workers: int) -> tuple[list[list[tuple[int, int]]], float]:
    started = time.perf_counter()
    spans = split_many(texts, workers=workers)
    return spans, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="a corpus folder of .txt files")
    parser.add_argument("--limit", type=int, default=None, help="at most this many files (sorted by name)")
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.txt"))[: args.limit]
    texts = [f.read_text(encoding="utf-8") for f in files]
    chars = sum(len(t) for t in texts)
    print(f"{len(texts)} documents, {chars / 1e6:.1f} M characters; load average {os.getloadavg()[0]:.1f}")
    workers = worker_count()
    serial, serial_s = timed(texts, 1)
    parallel, parallel_s = timed(texts, workers)
    sentences = sum(len(s) for s in serial)
    print(f"one process:  {sentences} sentences in {serial_s:.1f} s, {sentences / serial_s:.0f} sentences/s")
    print(f"{workers} processes: {sentences} sentences in {parallel_s:.1f} s, {sentences / parallel_s:.0f} sentences/s")
    print(f"speed-up {serial_s / parallel_s:.2f}x; same offsets: {serial == parallel}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
