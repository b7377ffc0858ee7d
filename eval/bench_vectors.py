"""Vector index options at scale: recall@10 against exact search, build time, query latency, size on disk.

    .venv/bin/python eval/bench_vectors.py --n 100000                       # synthetic vectors
    .venv/bin/python eval/bench_vectors.py --vectors vectors.npy --n 1000000 # your own (normalized) vectors

For every `--faiss` kind × `--vectors` storage of `qa-assistant index`, builds the index the product builds
(`dense_index.build_faiss`), saves it, reads it back as the product does (memory-mapped where FAISS can), and
measures over `--queries` queries: recall@10 (share of the exact float32 top 10 found), p50/p95 of a one-query
search on one thread, build seconds, bytes on disk, and the resident memory the loaded index adds once the
queries ran (for a memory-mapped index: the pages the queries touched, which the OS can drop again).

Synthetic vectors imitate sentence embeddings: normalized, drawn around many topic centres (so that near
neighbours exist), 384 dimensions; queries are other draws from the same centres.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from qa_assistant.backends.local.dense import FAISS_KINDS, VECTOR_STORAGES, DenseIndex, build_faiss


def synthetic(n: int, dimension: int = 384, topics: int = 2000, spread: float = 0.6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dimension)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dimension), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        noise = rng.normal(scale=spread / np.sqrt(dimension), size=(hi - lo, dimension)).astype(np.float32)
        out[lo:hi] = centres[rng.integers(topics, size=hi - lo)] + noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="vectors in the index")
    parser.add_argument("--vectors", default=None, help=".npy file of normalized vectors (default: synthetic)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", default=",".join(FAISS_KINDS))
    parser.add_argument("--storages", default=",".join(VECTOR_STORAGES))
    args = parser.parse_args(argv)
    if args.vectors:
        data = np.load(args.vectors, mmap_mode="r")
        base = np.ascontiguousarray(data[: args.n], dtype=np.float32)
        queries = np.ascontiguousarray(data[args.n : args.n + args.queries], dtype=np.float32)
    else:
        everything = synthetic(args.n + args.queries)
        base, queries = everything[: args.n], everything[args.n :]
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    _, truth = exact.search(queries, 10)
    del exact
    print(f"{len(base)} vectors of {base.shape[1]} dimensions, {len(queries)} queries; FAISS {faiss.__version__}")
    print(f"{'index':<16} {'recall@10':>9} {'build s':>8} {'p50 ms':>7} {'p95 ms':>7} {'MB disk':>8} {'MB RSS':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
            for storage in [s.strip() for s in args.storages.split(",") if s.strip()]:
                t0 = time.perf_counter()
                index = build_faiss(base, kind, storage)[0]
                build = time.perf_counter() - t0
                path = Path(tmp) / f"{kind}-{storage}.faiss"
                faiss.write_index(index, str(path))
                del index
                before = rss_mb()
                dense = DenseIndex.load(path)
                latencies, found = [], 0
                for i, query in enumerate(queries):
                    t0 = time.perf_counter()
                    ids, _scores = dense.search(query, 10)
                    latencies.append((time.perf_counter() - t0) * 1000)
                    found += len(set(ids.tolist()) & set(truth[i].tolist()))
                resident = rss_mb() - before
                p50, p95 = np.percentile(latencies, [50, 95])
                size = path.stat().st_size / 2**20
                print(
                    f"{kind + '/' + storage:<16} {found / (10 * len(queries)):>9.3f} {build:>8.1f} {p50:>7.2f} "
                    f"{p95:>7.2f} {size:>8.1f} {resident:>7.0f}"
                )
                sys.stdout.flush()
                del dense
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
