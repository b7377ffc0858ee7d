"""Index a synthetic corpus folder for load tests without encoding it: sentence vectors are random unit vectors.

    .venv/bin/python eval/make_synthetic_corpus.py /tmp/synthetic-100k --sentences 100000
    .venv/bin/python eval/build_synthetic_index.py /tmp/synthetic-100k --index /tmp/synthetic-100k-index

Encoding 100k sentences takes tens of minutes on a busy 2-core machine, and near-duplicate clustering of random
word salad finds nothing; neither changes what a load test measures (BM25 over every sentence, FAISS search over
every vector, encoding the question, building the answer). So the build replaces the document encoder by random
normalized vectors (seed 0) and the clustering by one cluster per sentence; everything else is the real build,
and the index is a normal one (questions are encoded by the real model). Relevance of its answers means nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from qa_assistant.index import build as indexing
from qa_assistant.index.embedder import Embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--index", type=Path, required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    def random_vectors(self: Embedder, texts: list[str], **_: object) -> np.ndarray:
        vectors = rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    Embedder.encode = random_vectors  # type: ignore[method-assign]
    indexing.cluster_sentences = lambda texts, doc_index, vectors, *index: np.arange(len(texts))  # type: ignore[assignment]
    started = time.perf_counter()
    index = indexing.build_and_save(args.corpus, args.index, on_stage=lambda m: print(f"… {m}", flush=True))
    print(f"indexed {len(index.sentences)} sentences into {args.index} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
