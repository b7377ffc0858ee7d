"""Which fusion weight a collection itself asks for, from pseudo-questions made of its own sentences (no judgments).

    PYTHONPATH=src .venv/bin/python eval/pseudo_questions.py /tmp/ungdc-dev-index --questions 200 --keep 3,5,0 \
        --out eval/results/fusion-collection/ungdc.json

For `--questions` sentences taken at even steps through the index (each of at least 8 content words, in a
document of at least 5 sentences), a pseudo-question is made from the sentence itself: its `keep` rarest content
words (highest IDF in this index, in sentence order; 0: all its content words). Its answer is the document it
came from. The source sentence and its two neighbours are left out of the ranking (BM25 context and the sentence
itself would find them trivially), so a mode must find the document through its other sentences. Every fusion
mode ranks the same two candidate lists (100 per retriever, BM25 context 0.5 as in the product); the score is
MRR@10 over documents (the best sentence of a document stands for it). The mode with the best score (ties: the
one nearest α = 0.5) is what the collection would choose. Deterministic: the same index gives the same choice.

This is the experiment behind eval/results/fusion-collection/README.md: the choice it makes does not follow the
eval sets' best modes, so it is not a product setting.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa_assistant.answer import fusion
from qa_assistant.answer.retriever import Retriever
from qa_assistant.index.embedder import Embedder
from qa_assistant.index.store import SentenceIndex, load_index
from qa_assistant.text.tokens import word_tokens

MIN_WORDS = 8  # content words a source sentence needs
MIN_SENTENCES = 5  # sentences its document needs (some must be left once the source window is out)
ADAPTIVE_PAIRS = [(p, n) for p in (0.4, 0.5, 0.55, 0.6) for n in (0.0, 0.1, 0.2, 0.3)]

Fuse = Callable[[fusion.Ranking, fusion.Ranking, str], dict[int, float]]


def pseudo_question(index: SentenceIndex, sentence_id: int, keep: int) -> tuple[str, int]:
    """The `keep` rarest content words of a sentence in its order (all when keep is 0), and how many it has."""
    words = [(word, tokens) for word, tokens in word_tokens(index.sentence_text(sentence_id)) if tokens]
    units = index.bm25.units
    idf = [
        max(fusion.inverse_frequency(units, max(index.bm25.unit_frequency(t), 1)) for t in tokens)
        for _, tokens in words
    ]
    chosen = range(len(words)) if keep == 0 else sorted(sorted(range(len(words)), key=lambda i: (-idf[i], i))[:keep])
    return " ".join(words[i][0] for i in chosen), len(words)


def sources(index: SentenceIndex, count: int, keep: int) -> list[tuple[int, str]]:
    """At most `count` (sentence id, pseudo-question) pairs at even steps through the index, each sentence once."""
    doc = np.asarray(index.sentences.doc_index)
    sizes = np.bincount(doc)
    total = len(doc)
    found = []
    for sentence_id in np.unique(np.linspace(0, total - 1, 4 * count).astype(int)).tolist():
        question, words = pseudo_question(index, sentence_id, keep)
        if words >= MIN_WORDS and sizes[doc[sentence_id]] >= MIN_SENTENCES:
            found.append((sentence_id, question))
    return found[:: max(1, len(found) // count)][:count]


def reciprocal_rank(fused: dict[int, float], doc: np.ndarray, source: int) -> float:
    """1 / rank of the source's document among the first 10 documents (0 if not there), its window left out."""
    seen: list[int] = []
    for sentence_id, _score in fusion.ordered(fused):
        if abs(sentence_id - source) <= 1 and doc[sentence_id] == doc[source]:
            continue
        d = int(doc[sentence_id])
        if d in seen:
            continue
        seen.append(d)
        if d == doc[source]:
            return 1.0 / len(seen)
        if len(seen) >= 10:
            return 0.0
    return 0.0


def modes(retriever: Retriever) -> dict[str, Fuse]:
    """Weighted α 0..1 and adaptive fusion at each (no-name, all-names) pair."""
    found: dict[str, Fuse] = {}
    for tenth in range(11):
        found[f"weighted-a{tenth / 10:g}"] = lambda sp, de, q, a=tenth / 10: fusion.weighted(sp, de, a)
    units = retriever.index.bm25.units
    for plain, names in ADAPTIVE_PAIRS:
        found[f"adaptive-{plain:g}-{names:g}"] = lambda sp, de, q, p=plain, n=names: fusion.adaptive(
            sp, de, fusion.adaptive_weights(retriever.query_terms(q), units, plain_alpha=p, names_alpha=n)
        )
    return found


def score_modes(retriever: Retriever, pairs: list[tuple[int, str]]) -> dict[str, list[float]]:
    doc = np.asarray(retriever.index.sentences.doc_index)
    fuse = modes(retriever)
    scores: dict[str, list[float]] = {name: [] for name in fuse}
    vectors = retriever.embedder.encode([q for _, q in pairs])
    for (source, question), vector in zip(pairs, vectors):
        sparse = retriever.backend.bm25(question, 100, None, 0.5)
        dense = retriever.backend.dense(vector, 100, None)
        for name, f in fuse.items():
            scores[name].append(reciprocal_rank(f(sparse, dense, question), doc, source))
    return scores


def chosen(means: dict[str, float], prefix: str) -> str:
    """The best mode of a family; ties go to the one nearest α = 0.5 (weighted) or listed first (adaptive)."""
    family = [m for m in means if m.startswith(prefix)]
    return max(family, key=lambda m: (round(means[m], 6), -abs(float(m.split("-a")[1]) - 0.5) if "-a" in m else 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--keep", default="3,5,0", help="rarest words kept per pseudo-question (0: all)")
    parser.add_argument("--out", type=Path, help="write the scores (json) here")
    args = parser.parse_args()
    index = load_index(args.index, check=False)
    retriever = Retriever(index, Embedder(index.manifest.model))
    result = {"index": str(args.index), "sentences": index.bm25.units, "runs": {}}
    for keep in [int(k) for k in args.keep.split(",")]:
        started = time.perf_counter()
        pairs = sources(index, args.questions, keep)
        scores = score_modes(retriever, pairs)
        means = {name: float(np.mean(v)) for name, v in scores.items()}
        picks = {"weighted": chosen(means, "weighted"), "adaptive": chosen(means, "adaptive")}
        result["runs"][str(keep)] = {"questions": len(pairs), "mrr@10": means, "chosen": picks, "per_question": scores}
        print(f"keep {keep}: {len(pairs)} pseudo-questions, {time.perf_counter() - started:.0f} s; chosen {picks}")
        print("  " + " ".join(f"{name} {value:.3f}" for name, value in means.items()))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
