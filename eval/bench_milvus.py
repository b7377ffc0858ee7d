"""The Milvus backend against the local one: the same retrieval figures, and what a search costs.

    .venv/bin/python eval/bench_milvus.py parity --seed
    .venv/bin/python eval/bench_milvus.py parity --beir ../shared/beir/scifact-train --split train
    .venv/bin/python eval/bench_milvus.py latency --n 100000

`parity` indexes the eval set's corpus (seed: corpus/ with eval/seed.jsonl) or a BEIR dataset at sentence level
(cached in eval/cache as `qa-assistant eval --beir` does), copies the index into a Milvus collection (a Milvus Lite
file in a temporary folder, or --milvus-uri), and runs each mode through the product's `Retriever` over both
backends: nDCG@10 scored as `qa-assistant eval` scores it (seed: passages; BEIR: documents by their best sentence),
and per query the overlap of the two top-10 sentence lists. Hybrid modes are also run fused by Milvus's own
rankers (RRFRanker, WeightedRanker) in one hybrid search.

`latency` builds an index of N synthetic sentences (eval/bench_latency.py's corpus; random unit vectors stand in
for encoding, as eval/build_synthetic_index.py) or loads one (--index), times the insert into the collection (sentences/s), then times
`Assistant.ask` over the same questions with each backend (p50/p95).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from qa_assistant import Assistant
from qa_assistant.answer.retriever import Retriever
from qa_assistant.backends.local.backend import LocalBackend
from qa_assistant.backends.milvus import backend as mb
from qa_assistant.backends.milvus import sync as milvus_sync
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.index.embedder import DEFAULT_MODEL, Embedder
from qa_assistant.index.store import load_index

ROOT = Path(__file__).resolve().parents[1]
MODES = ("bm25", "dense", "weighted-a0.5", "rrf-k60")


def milvus_config(uri: str | None, tmp: Path, name: str) -> MilvusConfig:
    return MilvusConfig(uri=uri or str(tmp / "milvus.db"), collection=f"bench_{name}_{int(time.time())}")


def copy_into_milvus(index, config: MilvusConfig) -> float:
    """Insert the index into a fresh collection; returns the seconds it took."""
    milvus_sync.drop(config)
    started = time.perf_counter()
    counts = milvus_sync.sync(index, config, say=lambda m: print(f"… {m}", flush=True))
    seconds = time.perf_counter() - started
    print(
        f"… inserted {counts['sentences']} sentences in {seconds:.1f} s (making rows {counts['rows_ms'] / 1000:.1f} s, "
        f"Milvus insert {counts['insert_ms'] / 1000:.1f} s)",
        flush=True,
    )
    return seconds


def retrievers(index, config: MilvusConfig) -> dict[str, Retriever]:
    embedder = Embedder(index.manifest.model, index.manifest.encoder)
    milvus = mb.MilvusBackend.open(config, index)
    native = mb.MilvusBackend(config.model_copy(update={"fusion": "milvus"}), milvus.client, index)
    return {
        "local": Retriever(index, embedder, LocalBackend(index)),
        "milvus": Retriever(index, embedder, milvus),
        "milvus-ranker": Retriever(index, embedder, native),
    }


def overlap(a, b, k: int = 10) -> float:
    top_a, top_b = set(a.ids[:k].tolist()), set(b.ids[:k].tolist())
    return len(top_a & top_b) / max(1, len(top_a)) if top_a or top_b else 1.0


def parity_table(runs: dict, score) -> list[str]:
    """Markdown rows: per mode nDCG@10 local / Milvus / Milvus ranker, and top-10 overlap."""
    lines = [
        "| mode | nDCG@10 local | nDCG@10 Milvus | Δ | mean top-10 overlap | queries ≥ 80 % overlap | nDCG@10 Milvus ranker |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in MODES:
        local, milvus = runs["local"][name], runs["milvus"][name]
        a, b = score(name, local), score(name, milvus)
        shares = [overlap(local[q], milvus[q]) for q in local]
        ranker = f"{score(name, runs['milvus-ranker'][name]):.4f}" if name in runs["milvus-ranker"] else "–"
        lines.append(
            f"| {name} | {a:.4f} | {b:.4f} | {b - a:+.4f} | {100 * statistics.mean(shares):.1f} % | "
            f"{100 * np.mean([s >= 0.8 for s in shares]):.1f} % | {ranker} |"
        )
    return lines


def run_all(backends: dict[str, Retriever], queries, depth: int, candidates: int, filters=None) -> dict:
    from qa_assistant.evaluation.runner import RetrievalConfig, search_runs

    configs = [RetrievalConfig.parse(m) for m in MODES]
    runs = {}
    for name, retriever in backends.items():
        chosen = [c for c in configs if c.mode == "hybrid"] if name == "milvus-ranker" else configs
        started = time.perf_counter()
        runs[name] = search_runs(retriever, queries, chosen, depth, candidates, filters=filters)
        print(f"… {name}: {len(queries)} queries x {len(chosen)} modes in {time.perf_counter() - started:.0f} s")
    return runs


def parity_seed(args, tmp: Path) -> None:
    from qa_assistant.evaluation.evalset import load_evalset, resolve_evalset
    from qa_assistant.evaluation.results import ModeResult
    from qa_assistant.evaluation.run_evalset import score_passages
    from qa_assistant.evaluation.runner import RetrievalConfig

    assistant = Assistant.build(ROOT / "corpus", tmp / "index")
    index = assistant.index
    config = milvus_config(args.milvus_uri, tmp, "seed")
    copy_into_milvus(index, config)
    known = sorted({*index.sides.sides, *(d.side for d in index.documents if d.side)})
    questions = resolve_evalset(load_evalset(ROOT / "eval" / "seed.jsonl"), index.documents, known)
    answerable = [q for q in questions if q.answerable]
    by_id = {q.id: q for q in questions}
    qrels = {q.id: {p.id: p.grade for p in q.passages} for q in questions}
    queries = {q.id: assistant.answers.questions.sides_and_topic(q.question)[1] or q.question for q in answerable}
    filters = {q.id: q.filters for q in questions if q.filters}
    runs = run_all(retrievers(index, config), queries, 100, 100, filters)

    def score(name: str, rankings) -> float:
        mode = ModeResult(name, RetrievalConfig.parse(name))
        score_passages(mode, rankings, by_id, qrels, index)
        return float(mode.metrics["ndcg@10"])

    print(f"\nseed ({len(queries)} answerable questions, {len(index.sentences)} sentences, depth 100, candidates 100)")
    print("\n".join(parity_table(runs, score)))
    milvus_sync.drop(config)


def parity_beir(args, tmp: Path) -> None:
    from qa_assistant.evaluation.beir import beir_index, load_beir
    from qa_assistant.evaluation.run_beir import score_documents
    from qa_assistant.evaluation.runner import RetrievalConfig

    dataset = load_beir(args.beir, args.split)
    index = beir_index(dataset, "sentence", DEFAULT_MODEL, args.cache, on_stage=lambda m: print(f"… {m}", flush=True))
    config = milvus_config(args.milvus_uri, tmp, "beir")
    copy_into_milvus(index, config)
    runs = run_all(retrievers(index, config), dataset.queries, args.depth, args.depth)

    def score(name: str, rankings) -> float:
        [mode] = score_documents(
            RetrievalConfig.parse(name), rankings, index, dataset.qrels, "sentence", ("max",), 0.1, 100
        )
        return float(mode.metrics["ndcg@10"])

    print(
        f"\n{dataset.name} {args.split} ({len(dataset.queries)} queries, {len(index.sentences)} sentences, "
        f"depth and candidates {args.depth}; documents by their best sentence)"
    )
    print("\n".join(parity_table(runs, score)))
    milvus_sync.drop(config)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms"


def latency(args, tmp: Path) -> None:
    import random
    import sys

    sys.path.insert(0, str(ROOT / "eval"))
    from bench_latency import synthetic_corpus
    from sample_questions import QUESTIONS

    from qa_assistant.index import build as indexing

    rng = np.random.default_rng(0)

    def random_vectors(self: Embedder, texts: list[str], **_: object) -> np.ndarray:
        vectors = rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    if args.index is not None:  # e.g. made by eval/build_synthetic_index.py
        index = load_index(args.index, check=False)
        print(f"… loaded the local index of {len(index.sentences)} sentences from {args.index}")
    else:
        encode = Embedder.encode
        Embedder.encode = random_vectors  # type: ignore[method-assign]
        cluster = indexing.cluster_sentences
        indexing.cluster_sentences = lambda texts, doc_index, vectors, *index: np.arange(len(texts))  # type: ignore[assignment]
        started = time.perf_counter()
        index = indexing.build_index(synthetic_corpus(args.n), ROOT / "corpus")
        print(f"… built the local index of {len(index.sentences)} sentences in {time.perf_counter() - started:.0f} s")
        Embedder.encode = encode  # type: ignore[method-assign]
        indexing.cluster_sentences = cluster
    config = milvus_config(args.milvus_uri, tmp, "latency")
    seconds = copy_into_milvus(index, config)
    n = len(index.sentences)
    print(f"insert: {n} sentences in {seconds:.1f} s = {n / seconds:.0f} sentences/s ({config.dense_index} vectors)")
    assistant = Assistant(index)
    local_backend = assistant.retriever.backend
    milvus = mb.MilvusBackend.open(config, index)
    pick = random.Random(11)
    questions = [
        pick.choice(QUESTIONS) + ("" if i < len(QUESTIONS) else f" {pick.choice(['today', 'report', 'border'])}")
        for i in range(args.queries)
    ]
    for question in QUESTIONS:  # warm-up: model, caches
        assistant.ask(question)
    print(f"\nask() over {args.queries} questions, k=6, default settings (hybrid, weighted), {n} sentences:")
    for name, backend in (("local", local_backend), ("milvus", milvus), ("local again", local_backend)):
        assistant.retriever.backend = backend
        samples = {"ask": [], "bm25": [], "dense": []}
        for question in questions:
            t0 = time.perf_counter()
            assistant.ask(question)
            samples["ask"].append((time.perf_counter() - t0) * 1000)
            for mode in ("bm25", "dense"):
                t0 = time.perf_counter()
                assistant.search(question, k=10, mode=mode)
                samples[mode].append((time.perf_counter() - t0) * 1000)
        for what, values in samples.items():
            print(f"  {name:<12} {what:<6} {percentiles(values)}")
    milvus_sync.drop(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    parity = commands.add_parser("parity", help="nDCG@10 and top-10 overlap, local vs Milvus, per mode")
    which = parity.add_mutually_exclusive_group(required=True)
    which.add_argument("--seed", action="store_true", help="the bundled corpus and eval/seed.jsonl")
    which.add_argument("--beir", type=Path, help="a BEIR dataset folder")
    parity.add_argument("--split", default="test")
    parity.add_argument("--depth", type=int, default=1000, help="BEIR: units and candidates per query (default 1000)")
    parity.add_argument("--cache", default=str(ROOT / "eval" / "cache"), help="BEIR index cache")
    lat = commands.add_parser("latency", help="insert throughput and ask() p50/p95 at N synthetic sentences")
    lat.add_argument("--n", type=int, default=100_000)
    lat.add_argument("--queries", type=int, default=100)
    lat.add_argument(
        "--index", type=Path, default=None, help="time this saved index instead of building one of --n sentences"
    )
    for sub in (parity, lat):
        sub.add_argument("--milvus-uri", default=None, help="a Milvus server (default: a Milvus Lite file in /tmp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.command == "latency":
            latency(args, Path(tmp))
        elif args.seed:
            parity_seed(args, Path(tmp))
        else:
            parity_beir(args, Path(tmp))


if __name__ == "__main__":
    main()
