"""What an evaluation produces (`EvalResult`, one `ModeResult` per configuration, `AbstentionResult`), the names
of its task metrics, and the scoring steps shared by eval sets (`run_evalset`) and BEIR datasets (`run_beir`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from qa_assistant.evaluation import metrics as M
from qa_assistant.evaluation.answers import AskOutcome
from qa_assistant.evaluation.runner import RetrievalConfig, ranx_dict

PRIMARY_METRIC = "ndcg@10"
SIDE_COVERAGE = "side_coverage@10"
ABSTENTION = "abstention_accuracy"
ABSTENTION_BALANCED = "abstention_balanced"
VERBATIM = "verbatim_rate"
ANSWER_RECALL = "answer_recall"
ANSWER_RECALL_DUPLICATES = "answer_recall_with_duplicates"
ANSWER_SIDE_PRECISION = "answer_side_precision"
ANSWER_SIDE_COVERAGE = "answer_side_coverage"
DATES_KEPT = "dates_kept"
SHORT_QUOTES = "short_quotes"
ANSWER_METRICS = [
    ANSWER_RECALL,
    ANSWER_RECALL_DUPLICATES,
    ANSWER_SIDE_PRECISION,
    ANSWER_SIDE_COVERAGE,
    DATES_KEPT,
    SHORT_QUOTES,
]
SWEEP = [round(0.05 * i, 2) for i in range(0, 17)]  # 0.00 .. 0.80


@dataclass
class ModeResult:
    name: str
    config: RetrievalConfig
    granularity: str = "sentence"
    aggregation: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    curve: dict[int, float] = field(default_factory=dict)  # recall@k
    per_query: dict[str, dict] = field(default_factory=dict)  # query id -> first_rank, ndcg@10, recall@10, ...
    run: dict[str, dict[str, float]] = field(default_factory=dict)  # ranx run (rank-based scores)

    @property
    def product_mode(self) -> bool:
        """A configuration the product can run as is (sentence index; aggregation only affects BEIR scoring)."""
        return self.granularity == "sentence" and self.aggregation in (None, "max")


@dataclass
class AbstentionResult:
    threshold_in_use: float
    answerable: dict[str, bool]
    best_similarity: dict[str, dict[str, float]]  # mode -> query id -> best quote similarity
    calibrated: dict[str, M.AbstentionPoint]  # mode -> best threshold for it
    sweeps: dict[str, list[M.AbstentionPoint]]  # mode -> accuracy per threshold of SWEEP


@dataclass
class EvalResult:
    dataset: str
    kind: str  # "evalset" or "beir"
    modes: dict[str, ModeResult]
    default_mode: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    columns: list[str]
    info: dict = field(default_factory=dict)
    abstention: AbstentionResult | None = None
    labels: dict[str, str] = field(default_factory=dict)  # query id -> kind label (eval sets)

    @property
    def best_mode(self) -> str:
        """The product configuration with the best primary metric (ties: the earlier one)."""
        candidates = [m for m in self.modes.values() if m.product_mode] or list(self.modes.values())
        return max(
            candidates, key=lambda m: (m.metrics.get(PRIMARY_METRIC, float("-inf")), -list(self.modes).index(m.name))
        ).name

    def to_json(self) -> dict:
        data = {
            "dataset": self.dataset,
            "default_mode": self.default_mode,
            "best_mode": self.best_mode,
            "primary_metric": PRIMARY_METRIC,
            "modes": {name: {k: _num(v) for k, v in mode.metrics.items()} for name, mode in self.modes.items()},
            "info": self.info,
        }
        if self.abstention is not None:
            a = self.abstention
            data["abstention"] = {
                "threshold_in_use": a.threshold_in_use,
                "calibrated": {
                    m: {
                        "threshold": p.threshold,
                        "accuracy": _num(p.accuracy),
                        "balanced_accuracy": _num(p.balanced_accuracy),
                    }
                    for m, p in a.calibrated.items()
                },
            }
        return data


def _num(value: float) -> float | None:
    return None if value != value else round(float(value), 4)  # NaN -> null


Say = Callable[[str], None]


def fill_ranking_metrics(
    mode: ModeResult,
    qrels: dict[str, dict[str, int]],
    rankings: dict[str, list[str]],
    curve_ks: tuple[int, ...] = M.CURVE_KS,
) -> None:
    """Fill `mode` with ranx metrics, the recall curve and the per-query drill-down."""
    mode.run = {q: ranx_dict(items) for q, items in rankings.items()}
    judged = {q: r for q, r in qrels.items() if r}
    mode.metrics.update(M.ranking_metrics(judged, mode.run))
    curve = M.ranking_metrics(judged, mode.run, [f"recall@{k}" for k in curve_ks])
    mode.curve = {k: curve[f"recall@{k}"] for k in curve_ks}
    per_query = M.per_query_metrics(judged, mode.run, M.PER_QUERY_METRICS)
    for q in judged:
        row: dict[str, float | int | None] = {"first_rank": M.first_relevant_rank(judged[q], rankings.get(q, []))}
        row.update({m: per_query[m].get(q) for m in M.PER_QUERY_METRICS})
        mode.per_query[q] = row


# ---------------------------------------------------------------- steps shared by eval sets and BEIR


def fill_verbatim_rate(mode: ModeResult, outcomes: dict[str, AskOutcome]) -> dict[str, float]:
    """The verbatim rate of the quotes of `outcomes` into `mode`; returns the threshold up to which each question
    is answered (`AskOutcome.answers_up_to`)."""
    mode.metrics[VERBATIM] = M.verbatim_rate(
        sum(o.verbatim for o in outcomes.values()), sum(o.quotes for o in outcomes.values())
    )
    return {qid: o.answers_up_to for qid, o in outcomes.items()}


def abstention_result(
    threshold: float,
    truth: dict[str, bool],
    best_similarity: dict[str, dict[str, float]],
    calibrated: dict[str, M.AbstentionPoint],
) -> AbstentionResult:
    return AbstentionResult(
        threshold_in_use=threshold,
        answerable=truth,
        best_similarity=best_similarity,
        calibrated=calibrated,
        sweeps={m: M.sweep(b, truth, SWEEP) for m, b in best_similarity.items()},
    )


def say_ndcg(mode: ModeResult, say: Say) -> None:
    say(f"{mode.name}: ndcg@10 {mode.metrics['ndcg@10']:.3f}")


# ---------------------------------------------------------------- shared by the report and its plots


def threshold_text(value: float) -> str:
    """0.43, or 0.4345 when the exact value matters."""
    text = f"{value:.4f}".rstrip("0")
    return text + "0" * max(0, 4 - len(text))


def mode_marks(result: EvalResult, name: str) -> str:
    marks = ""
    if name == result.default_mode:
        marks += "*"
    if name == result.best_mode:
        marks += "+"
    return marks


# ---------------------------------------------------------------- which modes to show in plots and drill-downs


def key_modes(result: EvalResult, limit: int = 9) -> list[str]:
    """All modes when few; otherwise bm25, dense, the default, the best RRF and weighted, per granularity, and
    adaptive fusion."""
    names = list(result.modes)
    if len(names) <= limit:
        return names
    chosen: list[str] = []

    def add(name: str | None) -> None:
        if name and name in result.modes and name not in chosen:
            chosen.append(name)

    def best(predicate) -> str | None:
        pool = [m for m in result.modes.values() if predicate(m)]
        return max(pool, key=lambda m: m.metrics.get(PRIMARY_METRIC, -1)).name if pool else None

    for prefix in ("", "doc:"):
        add(f"{prefix}bm25")
        add(f"{prefix}dense")
        if not prefix:
            add(result.default_mode)
        gran = "document" if prefix else "sentence"
        add(
            best(
                lambda m, g=gran: (
                    m.granularity == g
                    and m.aggregation in (None, "max")
                    and m.config.fusion == "rrf"
                    and m.config.mode == "hybrid"
                )
            )
        )
        add(
            best(
                lambda m, g=gran: (
                    m.granularity == g
                    and m.aggregation in (None, "max")
                    and m.config.fusion == "weighted"
                    and m.config.mode == "hybrid"
                )
            )
        )
    add(
        best(lambda m: m.granularity == "sentence" and m.aggregation in (None, "max") and m.config.fusion == "adaptive")
    )
    add(best(lambda m: m.granularity == "sentence" and m.aggregation not in (None, "max")))
    add(best(lambda m: m.granularity == "window"))
    return chosen[: limit + 2]
