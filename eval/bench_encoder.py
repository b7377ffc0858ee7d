"""Encoder throughput on real UN General Debate sentences: torch fp32 vs ONNX fp32 vs ONNX int8.

    python eval/datasets/ungdc.py --out /tmp/ungdc-7374 --sessions 73,74
    .venv/bin/python eval/bench_encoder.py --corpus /tmp/ungdc-7374 --sentences 2000

Prints the CPU's vector flags, then per encoder: sentences/s (after a warm-up batch; batch size 64, all
cores), and the mean and minimum cosine of its vectors to the torch fp32 vectors of the same sentences.
Run it on an otherwise idle machine; other load lowers every figure.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

from qa_assistant.index.embedder import ENCODERS, Embedder, cpu_flags, quantization_variant
from qa_assistant.ingest.corpus import load_corpus
from qa_assistant.text.segment import split_sentences

ROOT = Path(__file__).resolve().parents[1]


def sample_sentences(corpus_dir: Path, count: int, seed: int = 0) -> list[str]:
    corpus = load_corpus(corpus_dir)
    sentences = [doc.text[s:e] for doc in corpus.documents for s, e in split_sentences(doc.text)]
    random.Random(seed).shuffle(sentences)
    return sentences[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(ROOT / "tests" / "data" / "ungdc-sample"), help="corpus folder")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    args = parser.parse_args(argv)
    texts = sample_sentences(Path(args.corpus), args.sentences)
    words = np.mean([len(t.split()) for t in texts])
    flags = sorted(f for f in cpu_flags() if f.startswith(("avx", "amx", "sse4", "fma")))
    print(f"CPU flags: {' '.join(flags) or 'unknown'}; int8 variant: {quantization_variant()}")
    print(f"{len(texts)} sentences from {args.corpus}, {words:.1f} words on average, batch size {args.batch_size}")
    reference = None
    print(f"{'encoder':<10} {'load s':>7} {'sent/s':>8} {'cos mean':>9} {'cos min':>8}")
    for name in [e.strip() for e in args.encoders.split(",") if e.strip()]:
        t0 = time.perf_counter()
        embedder = Embedder(encoder=name)
        embedder.encode(texts[: args.batch_size], batch_size=args.batch_size)  # warm-up
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        vectors = embedder.encode(texts, batch_size=args.batch_size)
        rate = len(texts) / (time.perf_counter() - t0)
        if reference is None and name == "torch":
            reference = vectors
        cosine = (vectors * reference).sum(1) if reference is not None else np.array([np.nan])
        print(f"{name:<10} {loaded:>7.1f} {rate:>8.0f} {cosine.mean():>9.4f} {cosine.min():>8.4f}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
