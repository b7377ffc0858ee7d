"""Latency benchmark: build an index over N synthetic sentences, then time queries per retrieval mode.

    .venv/bin/python eval/bench_latency.py --sentences 100000 --queries 200

Sentences are drawn word by word from the bundled corpus's vocabulary (so BM25 and the encoder see
realistic tokens), 12-35 words each, 20 per document, with random sides, publishers and dates. Prints
index build throughput (sentences/s per stage) and query latency p50/p95 for bm25, dense and hybrid
search, plus full `ask()` (grouping, abstention, quotes). Run by hand; figures depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from sample_questions import QUESTIONS  # eval/sample_questions.py, beside this script

from qa_assistant import Assistant
from qa_assistant.index.build import build_index
from qa_assistant.index.store import load_index, save_index
from qa_assistant.ingest.corpus import LoadedCorpus, load_corpus
from qa_assistant.models import Document

ROOT = Path(__file__).resolve().parents[1]


def synthetic_corpus(n_sentences: int, seed: int = 7) -> LoadedCorpus:
    rng = random.Random(seed)
    seed_corpus = load_corpus(ROOT / "corpus")
    words = re.findall(r"[A-Za-z][A-Za-z'-]+", " ".join(d.text for d in seed_corpus.documents))
    sides = ["Armenia", "Azerbaijan", "neutral"]
    documents = []
    per_doc = 20
    for d in range((n_sentences + per_doc - 1) // per_doc):
        count = min(per_doc, n_sentences - d * per_doc)
        sentences = []
        for _ in range(count):
            sentence = " ".join(rng.choice(words) for _ in range(rng.randint(12, 35)))
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
        side = rng.choice(sides)
        documents.append(
            Document(
                id=f"synthetic/{d:06d}.txt",
                path=f"synthetic/{d:06d}.txt",
                title=f"Synthetic document {d}",
                publisher=f"Publisher {d % 17}",
                side=side,
                date=dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 1400)),
                text=" ".join(sentences),
            )
        )
    return LoadedCorpus(
        documents=documents, skipped=[], sides=seed_corpus.sides, fingerprint=f"synthetic-{n_sentences}-{seed}"
    )


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="timed queries per mode")
    parser.add_argument("--faiss", default="flat", choices=["flat", "hnsw"])
    parser.add_argument(
        "--keep", type=Path, default=None, help="save the index here, and reuse it when it exists (skips the build)"
    )
    parser.add_argument(
        "--compare-fusion",
        default=None,
        help="time `search` and `ask` with these fusion methods in turn on the same questions instead (e.g. "
        "weighted,adaptive): each question asked once per method, in alternating order, with no cached question "
        "vector or word statistics, so both pay the same encoding",
    )
    parser.add_argument(
        "--questions", type=Path, default=None, help="with --compare-fusion: an eval set (JSONL) whose questions to ask"
    )
    args = parser.parse_args()

    if args.keep and (args.keep / "manifest.json").exists():
        index = load_index(args.keep, check=False)
        print(f"reusing the index at {args.keep} ({len(index.sentences)} sentences, {index.manifest.faiss_kind})")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            index = build_and_report(args, args.keep or Path(tmp) / "index")
    if args.compare_fusion:
        compare_fusion(Assistant(index), args)
    else:
        time_queries(Assistant(index), args)


def build_and_report(args, target: Path):
    corpus = synthetic_corpus(args.sentences)
    stages: dict[str, float] = {}
    last = [time.perf_counter(), None]

    def on_stage(message: str) -> None:
        now = time.perf_counter()
        if last[1] is not None:
            stages[last[1]] = now - last[0]
        last[:] = [now, message.split(" ")[0]]
        print(f"… {message}", flush=True)

    started = time.perf_counter()
    index = build_index(corpus, ROOT / "corpus", faiss_kind=args.faiss, progress=True, on_stage=on_stage)
    stages[last[1]] = time.perf_counter() - last[0]
    t0 = time.perf_counter()
    save_index(index, target)
    stages["saving"] = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    total = time.perf_counter() - started
    n = len(index.sentences)
    print(
        f"\nindex build: {n} sentences in {total:.1f} s = {n / total:.0f} sentences/s (index on disk {size / 2**20:.0f} MiB)"
    )
    for stage, seconds in stages.items():
        print(f"  {stage:<12} {seconds:8.1f} s  ({n / max(seconds, 1e-9):.0f} sentences/s)")
    return index


def time_queries(assistant: Assistant, args) -> None:
    n = len(assistant.index.sentences)
    kind = assistant.manifest.faiss_kind
    rng = random.Random(11)
    queries = [
        rng.choice(QUESTIONS) + ("" if i < len(QUESTIONS) else f" {rng.choice(['today', 'report', 'border', 'army'])}")
        for i in range(args.queries)
    ]
    for q in QUESTIONS:  # warm-up: model, caches
        assistant.search(q, k=10)
    print(f"\nquery latency over {args.queries} queries, k=10, {n} sentences ({kind} FAISS index):")
    for mode in ("bm25", "dense", "hybrid"):
        samples = []
        for q in queries:
            t0 = time.perf_counter()
            assistant.search(q, k=10, mode=mode)
            samples.append((time.perf_counter() - t0) * 1000)
        print(f"  search {mode:<7} {percentiles(samples)}")
    samples = []
    for q in queries:
        t0 = time.perf_counter()
        assistant.search(q, k=10, mode="hybrid", sides=["Armenia"], since="2021-01-01")
        samples.append((time.perf_counter() - t0) * 1000)
    print(f"  search hybrid + side/date filter {percentiles(samples)}")
    samples = []
    for q in queries:
        t0 = time.perf_counter()
        assistant.ask(q, k=6)
        samples.append((time.perf_counter() - t0) * 1000)
    print(f"  ask()  hybrid  {percentiles(samples)}   (grouping, abstention, quotes)")
    encode = []
    for q in queries[:50]:
        t0 = time.perf_counter()
        assistant.retriever.encode_query(q)
        encode.append((time.perf_counter() - t0) * 1000)
    print(f"  (query encoding alone: {percentiles(encode)})")


def fresh(assistant: Assistant) -> None:
    """Forget the question vectors, word statistics and fusion weights a retriever remembers (each timed call pays
    them)."""
    retriever = assistant.retriever
    retriever._query_cache.clear()
    getattr(retriever, "_name_tokens", {}).clear()
    getattr(retriever, "_weights", {}).clear()


def compare_fusion(assistant: Assistant, args) -> None:
    methods = [m.strip() for m in args.compare_fusion.split(",") if m.strip()]
    if args.questions:
        import json

        lines = args.questions.read_text(encoding="utf-8").splitlines()
        base = [json.loads(line)["question"] for line in lines if line.strip()]
    else:
        base = list(QUESTIONS)
    questions = [base[i % len(base)] for i in range(args.queries)]
    n = len(assistant.index.sentences)
    for q in base[:8]:  # warm-up: model, caches of the index files
        for method in methods:
            assistant.ask(q, k=10, fusion=method)
    print(f"\n{len(questions)} questions x {len(methods)} fusion methods, k=10, {n} sentences, alternating order:")
    times: dict[tuple[str, str], list[float]] = {(call, m): [] for call in ("search", "ask") for m in methods}
    for i, q in enumerate(questions):
        # which method goes first alternates for each question from one round to the next (and between neighbours),
        # so each question is asked first, colder, by each method as often
        order = methods if (i + i // len(base)) % 2 == 0 else methods[::-1]
        for call in ("search", "ask"):
            for method in order:
                fresh(assistant)
                t0 = time.perf_counter()
                if call == "search":
                    assistant.search(q, k=10, fusion=method)
                else:
                    assistant.ask(q, k=10, fusion=method)
                times[(call, method)].append((time.perf_counter() - t0) * 1000)
    for call in ("search", "ask"):
        first = statistics.median(times[(call, methods[0])])
        for method in methods:
            samples = times[(call, method)]
            ratio = statistics.median(samples) / first
            mean_ratio = statistics.mean(samples) / statistics.mean(times[(call, methods[0])])
            # the same question asked both ways, side by side: the median of its time ratios
            paired = statistics.median(t / f for t, f in zip(samples, times[(call, methods[0])], strict=True))
            print(
                f"  {call:<6} {method:<9} {percentiles(samples)}   median x{ratio:.3f}, mean x{mean_ratio:.3f}, "
                f"per question x{paired:.3f} vs {methods[0]}"
            )
    weights = assistant.retriever
    samples = []
    for q in questions:
        fresh(assistant)
        t0 = time.perf_counter()
        weights.fusion_weights(q)
        samples.append((time.perf_counter() - t0) * 1000)
    print(f"  (adaptive weights alone, no remembered word statistics: {percentiles(samples)})")


if __name__ == "__main__":
    main()
