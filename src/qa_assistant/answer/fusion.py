"""Fusing ranked lists: reciprocal rank fusion, weighted min-max normalized scores, and adaptive fusion (weights
from the question's words and what the index knows about them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa_assistant.models import FusionWeights

Ranking = tuple[np.ndarray, np.ndarray]  # (ids, scores), best first


def rrf(rankings: list[Ranking], k: int = 60) -> dict[int, float]:
    """fused(id) = sum over rankings of 1 / (k + rank), rank starting at 1."""
    fused: dict[int, float] = {}
    for ids, _scores in rankings:
        for rank, doc in enumerate(ids.tolist(), start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def min_max(scores: np.ndarray) -> np.ndarray:
    if len(scores) == 0:
        return scores.astype(np.float64)
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.ones(len(scores))
    return (scores.astype(np.float64) - low) / (high - low)


def weighted(sparse: Ranking, dense: Ranking, alpha: float = 0.5) -> dict[int, float]:
    """fused(id) = alpha * minmax(dense) + (1 - alpha) * minmax(bm25); absent from a list counts 0."""
    fused: dict[int, float] = {}
    for (ids, scores), weight in ((sparse, 1.0 - alpha), (dense, alpha)):
        for doc, value in zip(ids.tolist(), min_max(scores).tolist()):
            fused[doc] = fused.get(doc, 0.0) + weight * value
    return fused


def ordered(fused: dict[int, float]) -> list[tuple[int, float]]:
    """Best first; ties broken by id so results are deterministic."""
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


# ---------------------------------------------------------------- adaptive fusion: weights from the question's words

# The dense weight of a question without names or numbers, and of one made only of them; in between it falls with the
# share of the question's term weight (IDF) carried by names and numbers. Chosen on the seed set, SciFact train and
# the UN dev split (eval/results/README.md).
ADAPTIVE_PLAIN_ALPHA = 0.55
ADAPTIVE_NAMES_ALPHA = 0.2
# A topic named by a question about sides ("What did each side say about the peace process?") is not a paraphrase:
# it is the subject in the user's words, which the statements on it hold, so without a name its words count as much as
# its meaning; names move it toward ADAPTIVE_NAMES_ALPHA alike.
ADAPTIVE_TOPIC_ALPHA = 0.5


@dataclass(frozen=True)
class QueryTerm:
    """One BM25 term of a question, with what the index knows about it."""

    word: str  # as written in the question
    token: str  # the BM25 token (stemmed, lower case)
    sentences: int  # how many indexed units hold it (0: none)
    name: bool  # written as a name or a number: a capital letter (not only the first word's first), or a digit


def is_name(word: str, first: bool) -> bool:
    """A name, acronym or number as written: a digit, or a capital letter, except a first word's first letter (a
    sentence starts with one: 'Aspirin lowers…' is no name, 'UN', 'BRCA1' and 'mRNA' are)."""
    if any(ch.isdigit() for ch in word):
        return True
    return any(ch.isupper() for ch in (word[1:] if first else word))


def writes_names_in_capitals(words: list[str]) -> bool:
    """Whether a question capitalizes its names, judged by `words` (its words but a sentence-initial one): one begins
    with a capital and goes on in lower case ('Baku', 'Kyiv'). Such a question tells its names itself, and a word it
    writes in lower case is not one, whatever the index's headings capitalize ('powers' in a question, 'Hydro Power
    Plants' in a text). An acronym ('UN') does not tell: 'what did the UN say about lachin' still asks the index
    about 'lachin'."""
    return any(word[:1].isupper() and any(ch.islower() for ch in word[1:]) for word in words)


def inverse_frequency(units: int, sentences: int) -> float:
    """BM25's IDF (the Lucene variant bm25s uses): ln(1 + (N - df + 0.5) / (df + 0.5))."""
    return math.log1p((units - sentences + 0.5) / (sentences + 0.5))


def adaptive_weights(
    terms: list[QueryTerm],
    units: int,
    topic: bool = False,
    plain_alpha: float | None = None,
    names_alpha: float = ADAPTIVE_NAMES_ALPHA,
) -> FusionWeights:
    """The weights of BM25 and dense scores for one question (or, `topic`, the topic of a question about sides) over
    an index of `units` sentences.

    The keyword share is the part of the question's BM25 term weight (the IDF of each term the index holds) carried
    by names and numbers. A question of names ('Lachin', 'Tovuz', 'resolution 242') is answered by the sentences
    that hold those words, which BM25 finds and a sentence embedding blurs; a paraphrase has no such anchor. The
    dense weight goes from `plain_alpha` (share 0; default ADAPTIVE_PLAIN_ALPHA, ADAPTIVE_TOPIC_ALPHA for a topic) to
    `names_alpha` (share 1) in proportion. Deterministic: the same question on the same index always gets the same
    weights."""
    if plain_alpha is None:
        plain_alpha = ADAPTIVE_TOPIC_ALPHA if topic else ADAPTIVE_PLAIN_ALPHA
    asked = "topic" if topic else "question"
    held = [t for t in terms if t.sentences > 0]
    weights = [inverse_frequency(units, t.sentences) for t in held]
    total = sum(weights)
    share = sum(w for w, t in zip(weights, held) if t.name) / total if total > 0 else 0.0
    alpha = plain_alpha + (names_alpha - plain_alpha) * share
    names = list(dict.fromkeys(t.word for t in held if t.name))
    missing = list(dict.fromkeys(t.word for t in terms if t.sentences == 0))
    if not held:
        reason = f"no word of the {asked} is in the index: BM25 has nothing to match, the meaning decides"
        alpha = plain_alpha
    elif names:
        shown = ", ".join(
            f"{t.word} (in {t.sentences:,} of {units:,} sentences)"
            for t in {t.word: t for t in held if t.name}.values()
        )
        reason = f"names or numbers carry {share:.0%} of the {asked}'s term weight: {shown}"
    elif topic:
        reason = "no name or number in the topic: its words count as much as its meaning"
    else:
        reason = "no name or number in the question: its meaning counts more than its words"
    if missing:
        reason += "; not in the index: " + ", ".join(missing)
    return FusionWeights(
        bm25=round(1.0 - alpha, 4), dense=round(alpha, 4), keyword_share=round(share, 4), names=names, reason=reason
    )


def adaptive(sparse: Ranking, dense: Ranking, weights: FusionWeights) -> dict[int, float]:
    """Weighted fusion (min-max normalized scores) with the question's own weights."""
    return weighted(sparse, dense, weights.dense)
