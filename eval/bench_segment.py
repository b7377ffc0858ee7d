"""Sentence splitting speed: one process against every core, and pysbd's own English rules against ours (a
faster abbreviation search, `text/abbreviations.py`), on the same documents, with the same result.

    .venv/bin/python eval/bench_segment.py --corpus /tmp/ungdc-dev            # a prepared corpus folder (*.txt)
    .venv/bin/python eval/bench_segment.py --corpus /tmp/ungdc --limit 2000   # the first 2,000 files of one
    .venv/bin/python eval/bench_segment.py --corpus /tmp/ungdc --sample 250 --rules --rounds 2   # rules only

Prints sentences/s of each and their ratio, the load average before and after (the machine may be shared), and
checks both give the same offsets.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pysbd.lang.english import English as PysbdEnglish  # noqa: E402

from qa_assistant.text import segment  # noqa: E402
from qa_assistant.text.abbreviations import English  # noqa: E402
from qa_assistant.text.segment_parallel import split_many, worker_count  # noqa: E402


def timed(texts: list[str], workers: int) -> tuple[list[list[tuple[int, int]]], float]:
    started = time.perf_counter()
    spans = split_many(texts, workers=workers)
    return spans, time.perf_counter() - started


def compare_rules(texts: list[str], rounds: int) -> None:
    """pysbd's own English rules and ours, alternately, in this process."""
    splitter = segment._segmenter()
    results = {}
    for round_number in range(1, rounds + 1):
        for name, rules in (("pysbd's own rules", PysbdEnglish), ("faster abbreviation search", English)):
            splitter.language_module = rules
            started = time.perf_counter()
            results[name] = [segment.split_sentences(text) for text in texts]
            seconds = time.perf_counter() - started
            sentences = sum(len(s) for s in results[name])
            print(
                f"round {round_number}, {name}: {sentences} sentences in {seconds:.1f} s, {sentences / seconds:.0f}/s"
            )
    splitter.language_module = English
    same = results["pysbd's own rules"] == results["faster abbreviation search"]
    print(f"same offsets: {same}; load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="a corpus folder of .txt files")
    parser.add_argument("--limit", type=int, default=None, help="at most this many files (sorted by name)")
    parser.add_argument("--sample", type=int, default=None, help="this many files drawn at random (seed 11)")
    parser.add_argument("--rules", action="store_true", help="compare the English rules only (one process)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of the rules comparison")
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.txt"))[: args.limit]
    if args.sample is not None:
        files = random.Random(11).sample(files, min(args.sample, len(files)))
    texts = [f.read_text(encoding="utf-8") for f in files]
    chars = sum(len(t) for t in texts)
    print(f"{len(texts)} documents, {chars / 1e6:.1f} M characters; load average {os.getloadavg()[0]:.1f}")
    if args.rules:
        compare_rules(texts, args.rounds)
        return
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
