"""Answer time of questions to every side of a collection ("What did each side say about climate change?") next to
ordinary questions, on one index: prints per question the median and p95 of `Assistant.ask` over N rounds, the
number of quotes and side groups, and the other sides listed.

    python eval/bench_many_sides.py --index ungdc-dev-index --rounds 5

Run it once per code version to compare (e.g. PYTHONPATH=<other checkout>/src): the figures are wall-clock times on
a shared machine, so compare runs made back to back and name what else was running.
"""

from __future__ import annotations

import argparse
import statistics
import time

from qa_assistant import Assistant

QUESTIONS = [
    "What did each side say about climate change?",
    "What did each side say about nuclear disarmament?",
    "What did Tuvalu say about sea-level rise in 2019?",
    "What did India and Pakistan say about Afghanistan?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--k", type=int, default=6)
    args = parser.parse_args()
    assistant = Assistant.load(args.index, check=False)
    assistant.ask("warm up the model", k=args.k)
    for question in QUESTIONS:
        assistant.ask(question, k=args.k)  # first call: masks and caches of this question
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            answer = assistant.ask(question, k=args.k)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        others = len(getattr(answer, "other_sides", []))
        print(
            f"{question!r}: median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms over {args.rounds}; "
            f"{len(answer.quotes)} quotes in {len(answer.groups)} groups, {others} other sides listed, "
            f"abstained={answer.abstained}"
        )


if __name__ == "__main__":
    main()
