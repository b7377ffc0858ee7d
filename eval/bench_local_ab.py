"""Local-backend latency of whichever qa_assistant is first on the path, over one saved index: search per mode and
`ask()`, p50 / p95 ms. Run it alternately with two versions to compare them, e.g. main against this checkout:

    git archive main src | tar -x -C /tmp/mainsrc
    PYTHONPATH=/tmp/mainsrc/src nice .venv/bin/python eval/bench_local_ab.py /tmp/syn100k-index 100
    nice .venv/bin/python eval/bench_local_ab.py /tmp/syn100k-index 100
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample_questions import QUESTIONS  # noqa: E402  (eval/sample_questions.py, beside this script)

import qa_assistant  # noqa: E402
from qa_assistant import Assistant  # noqa: E402


def main() -> None:
    index_dir, rounds = Path(sys.argv[1]), int(sys.argv[2])
    assistant = Assistant.load(index_dir, check=False)
    pick = random.Random(11)
    questions = [
        pick.choice(QUESTIONS) + ("" if i < len(QUESTIONS) else f" {pick.choice(['today', 'report', 'border'])}")
        for i in range(rounds)
    ]
    for question in QUESTIONS:  # warm-up: model, caches
        assistant.ask(question)
    figures = []
    for what in ("bm25", "dense", "hybrid", "ask"):
        samples = []
        for question in questions:
            started = time.perf_counter()
            if what == "ask":
                assistant.ask(question)
            else:
                assistant.search(question, k=10, mode=what)
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        p95 = samples[int(round(0.95 * (len(samples) - 1)))]
        figures.append(f"{what} p50 {statistics.median(samples):.1f} p95 {p95:.1f}")
    print(qa_assistant.__file__.split("/src/")[0], " ".join(figures), flush=True)


if __name__ == "__main__":
    main()
