"""Near-duplicate clustering at scale: the bounded k-NN algorithm (index/dedupe.py) vs the exact all-pairs one.

    .venv/bin/python eval/bench_dedupe.py --n 100000 --old     # both; the old one only where it finishes
    .venv/bin/python eval/bench_dedupe.py --n 1000000

Synthetic sentences: random word sequences over a 5,000-word vocabulary in documents of 100 sentences, with 5 %
re-quoted in another document with a small edit (one word changed, vector moved slightly) and 2 % repeated
verbatim (formulas such as "I thank you, Mr. President."); vectors as in bench_vectors.py. Prints seconds,
clusters found, the planted pairs recovered, and (with --old) whether both algorithms give the same clusters.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vectors import synthetic  # noqa: E402

from qa_assistant.index.dedupe import cluster_sentences  # noqa: E402


def corpus(n: int, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"word{i}" for i in range(5000)])
    lengths = rng.integers(8, 30, size=n)
    texts = [" ".join(vocabulary[rng.integers(5000, size=length)]) for length in lengths]
    vectors = synthetic(n, spread=1.0, seed=seed)
    doc_index = np.arange(n) // 100
    copies = rng.choice(n, size=n // 20, replace=False)
    sources = rng.integers(n, size=len(copies))
    for target, source in zip(copies.tolist(), sources.tolist()):
        words = texts[source].split()
        words[int(rng.integers(len(words)))] = str(vocabulary[rng.integers(5000)])
        texts[target] = " ".join(words)
        moved = vectors[source] + rng.normal(scale=0.15 / np.sqrt(vectors.shape[1]), size=vectors.shape[1])
        vectors[target] = moved / np.linalg.norm(moved)
    formulas = rng.choice(n, size=n // 50, replace=False)
    for target in formulas.tolist():
        texts[target] = "I thank you, Mr. President."
        vectors[target] = vectors[formulas[0]]
    return texts, doc_index, vectors, np.stack([copies, sources], axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--old", action="store_true", help="also run the exact all-pairs algorithm")
    args = parser.parse_args(argv)
    texts, doc_index, vectors, planted = corpus(args.n)
    t0 = time.perf_counter()
    clusters = cluster_sentences(texts, doc_index, vectors)
    new_seconds = time.perf_counter() - t0
    recovered = np.mean(
        [clusters[a] == clusters[b] for a, b in planted.tolist() if doc_index[a] != doc_index[b] and a != b]
    )
    duplicates = int((clusters != np.arange(len(clusters))).sum())
    print(
        f"{args.n} sentences: new {new_seconds:.1f} s, {duplicates} sentences in a cluster, planted pairs {recovered:.3f}"
    )
    if args.old:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from test_dedupe import exact_clusters

        t0 = time.perf_counter()
        expected = exact_clusters(texts, doc_index, vectors)
        print(
            f"old (exact all-pairs) {time.perf_counter() - t0:.1f} s; same clusters: {np.array_equal(clusters, expected)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
