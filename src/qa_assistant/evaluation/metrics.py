"""Metrics: ranking metrics computed by ranx, and the task metrics of this product.

Ranking (ranx names): ndcg@10, recall@10, recall@100, mrr@10, precision@1, precision@10, and recall@k for
the recall curve. Queries without any relevant item (unanswerable questions) are left out of them.

Task metrics:
    side coverage@k     for questions with expected sides: the share of those sides among the sides of the
                        top-k retrieved sentences, averaged over those questions
    abstention accuracy share of questions handled right at threshold t: answerable ones answered (best
                        quote similarity >= t), unanswerable ones abstained (< t); balanced accuracy is the
                        mean of the two per-class rates
    verbatim rate       quotes whose text equals the source text at their offsets, over all quotes (must be 1)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

RANKING_METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "precision@1", "precision@10")
CURVE_KS = (1, 2, 3, 5, 10, 20, 50, 100)
PER_QUERY_METRICS = ("ndcg@10", "recall@10", "recall@100")


@contextmanager
def quiet_ranx() -> Iterator[None]:
    """ranx (numba) warns about its own casts on import and first use; silence them here only, not process-wide."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"ranx(\.|$)")
        warnings.filterwarnings("ignore", message=r".*unsafe cast.*")
        yield


def _ranx():
    with quiet_ranx():
        from ranx import Qrels, Run, evaluate

    return Qrels, Run, evaluate


def to_ranx(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]):
    """ranx Qrels and Run, with the run restricted to judged queries and given every judged query."""
    Qrels, Run, _ = _ranx()
    judged = {q: dict(rels) for q, rels in qrels.items() if rels}
    with quiet_ranx():
        return Qrels(judged), Run({q: dict(run.get(q, {})) for q in judged})


def _evaluate(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], metrics: list[str], mean: bool):
    """ranx's scores of `metrics` (means, or per query in the order of the judged queries), and those query ids."""
    _Qrels, _Run, evaluate = _ranx()
    ranx_qrels, ranx_run = to_ranx(qrels, run)
    query_ids = list(ranx_qrels.keys())
    if not query_ids:
        return None, query_ids
    asked = metrics if len(metrics) > 1 else [*metrics, "ndcg@10" if metrics[0] != "ndcg@10" else "recall@10"]
    with warnings.catch_warnings():  # (ranx mislabels a single metric's per-query scores: always ask for two)
        warnings.simplefilter("ignore")
        scores = evaluate(
            ranx_qrels, ranx_run, asked, return_mean=mean, save_results_in_run=False, make_comparable=True
        )
    return {m: scores[m] for m in metrics}, query_ids


def ranking_metrics(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], metrics: Iterable[str] = RANKING_METRICS
) -> dict[str, float]:
    """Mean of each metric over the judged queries (NaN when no query is judged)."""
    metrics = list(metrics)
    scores, _ = _evaluate(qrels, run, metrics, mean=True)
    if scores is None:
        return {m: float("nan") for m in metrics}
    return {m: float(v) for m, v in scores.items()}


def per_query_metrics(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], metrics: Iterable[str]
) -> dict[str, dict[str, float]]:
    """Metric -> judged query id -> value."""
    metrics = list(metrics)
    scores, query_ids = _evaluate(qrels, run, metrics, mean=False)
    if scores is None:
        return {m: {} for m in metrics}
    return {m: dict(zip(query_ids, np.asarray(v, dtype=float).tolist())) for m, v in scores.items()}


def first_relevant_rank(relevant: dict[str, int], ranked: list[str]) -> int | None:
    """1-based rank of the first relevant item, None when none was retrieved."""
    for rank, item in enumerate(ranked, start=1):
        if relevant.get(item, 0) > 0:
            return rank
    return None


def side_coverage(expected: Iterable[str], retrieved_sides: Iterable[str | None], k: int = 10) -> float:
    """Share of the `expected` sides present among the first `k` retrieved sides (case-insensitive)."""
    wanted = {s.lower() for s in expected}
    if not wanted:
        return float("nan")
    seen = {s.lower() for s in list(retrieved_sides)[:k] if s}
    return len(wanted & seen) / len(wanted)


def mean(values: Iterable[float]) -> float:
    values = [v for v in values if not (isinstance(v, float) and math.isnan(v))]
    return sum(values) / len(values) if values else float("nan")


@dataclass
class AbstentionPoint:
    threshold: float
    accuracy: float  # share of all questions handled right
    balanced_accuracy: float  # mean of answer rate (answerable) and abstention rate (unanswerable)
    answered: float  # share of answerable questions answered
    abstained: float  # share of unanswerable questions abstained on


def abstention_point(abstained: dict[str, bool], answerable: dict[str, bool], threshold: float) -> AbstentionPoint:
    """Abstention quality of the decisions `abstained` (question id -> abstained?) made at `threshold`."""
    pos = [q for q, a in answerable.items() if a]
    neg = [q for q, a in answerable.items() if not a]
    answered = sum(not abstained[q] for q in pos)
    abstained_right = sum(abstained[q] for q in neg)
    total = len(pos) + len(neg)
    rate_pos = answered / len(pos) if pos else float("nan")
    rate_neg = abstained_right / len(neg) if neg else float("nan")
    return AbstentionPoint(
        threshold=threshold,
        accuracy=(answered + abstained_right) / total if total else float("nan"),
        balanced_accuracy=mean([rate_pos, rate_neg]),
        answered=rate_pos,
        abstained=rate_neg,
    )


def abstention_at(best: dict[str, float], answerable: dict[str, bool], threshold: float) -> AbstentionPoint:
    """Abstention quality at `threshold`: a question abstains when its best similarity is below it."""
    return abstention_point({q: best[q] < threshold for q in answerable}, answerable, threshold)


def sweep(best: dict[str, float], answerable: dict[str, bool], thresholds: Iterable[float]) -> list[AbstentionPoint]:
    return [abstention_at(best, answerable, round(t, 4)) for t in thresholds]


def calibrate_threshold(best: dict[str, float], answerable: dict[str, bool]) -> AbstentionPoint:
    """The threshold with the best accuracy (share of questions handled right), then the best balanced
    accuracy; among equally good thresholds, the middle of the widest gap between observed similarities.
    Rounded to 0.01 when that changes no decision.

    Only thresholds between consecutive observed best-similarities change the outcome, so those midpoints
    (plus one below and one above all values) are the candidates.
    """
    values = sorted({v for v in best.values() if math.isfinite(v)})
    if not values:
        return abstention_at(best, answerable, 0.0)
    cuts = [values[0] - 0.01] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 0.01]
    gaps = [0.02] + [b - a for a, b in zip(values, values[1:])] + [0.02]
    scored = []
    for cut, gap in zip(cuts, gaps):
        point = abstention_at(best, answerable, cut)
        scored.append(((point.accuracy, point.balanced_accuracy, gap), cut))
    key, cut = max(scored, key=lambda item: item[0])
    exact = round(cut, 4)
    rounded = round(cut, 2)
    same = all((v < rounded) == (v < exact) for v in best.values())
    return abstention_at(best, answerable, rounded if same else exact)


def verbatim_rate(verbatim: int, quotes: int) -> float:
    return verbatim / quotes if quotes else float("nan")
