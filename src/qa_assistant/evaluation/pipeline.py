"""An evaluation from end to end: an eval set over an index, or a BEIR dataset, to an `EvalResult`."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..answer import DEFAULT_MIN_SIMILARITY
from ..assistant import Assistant
from ..embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder
from ..errors import QAError
from ..retriever import Retriever
from ..store import SentenceIndex
from . import metrics as M
from .beir import DEFAULT_CACHE, BeirDataset, beir_index, load_beir
from .evalset import ResolvedQuestion, load_evalset, resolve_evalset
from .runner import (
    AGGREGATIONS,
    DEFAULT_MAXSUM_WEIGHT,
    TOP2_WEIGHT,
    AnswerQuality,
    AskOutcome,
    Ranking,
    RetrievalConfig,
    abstentions,
    aggregate_documents,
    answer_quality,
    ask_outcomes,
    config_grid,
    passage_ranking,
    product_default,
    ranx_dict,
    search_runs,
)

PRIMARY_METRIC = "ndcg@10"
SIDE_COVERAGE = "side_coverage@10"
ABSTENTION = "abstention_accuracy"
ABSTENTION_BALANCED = "abstention_balanced"
VERBATIM = "verbatim_rate"
ANSWER_RECALL = "answer_recall"
ANSWER_SIDE_PRECISION = "answer_side_precision"
ANSWER_SIDE_COVERAGE = "answer_side_coverage"
DATES_KEPT = "dates_kept"
SHORT_QUOTES = "short_quotes"
ANSWER_METRICS = [ANSWER_RECALL, ANSWER_SIDE_PRECISION, ANSWER_SIDE_COVERAGE, DATES_KEPT, SHORT_QUOTES]
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


def _mode_metrics(
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


def _answer_metrics(mode: ModeResult, outcomes: dict[str, AskOutcome]) -> dict[str, float]:
    """The verbatim rate of the quotes of `outcomes` into `mode`; returns each question's best similarity."""
    mode.metrics[VERBATIM] = M.verbatim_rate(
        sum(o.verbatim for o in outcomes.values()), sum(o.quotes for o in outcomes.values())
    )
    return {qid: o.best_similarity for qid, o in outcomes.items()}


def _abstention_result(
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


def _said(mode: ModeResult, say: Say) -> None:
    say(f"{mode.name}: ndcg@10 {mode.metrics['ndcg@10']:.3f}")


# ---------------------------------------------------------------- eval sets


def open_evalset_index(
    index_dir: Path, corpus: Path | None, progress: bool, say: Say, encoder: str | None = None
) -> Assistant:
    """Load step: the assistant over `index_dir`, indexing `corpus` into it (with `encoder`) when there is no index
    yet; an existing index must have been built with `encoder`, when one is given."""
    from ..store import MANIFEST

    if (index_dir / MANIFEST).exists():
        return Assistant.load(index_dir, corpus_dir=corpus, encoder=encoder)
    if corpus is not None and corpus.is_dir():
        say(f"no index at {index_dir}: indexing {corpus} into it")
        return Assistant.build(
            corpus, index_dir, progress=progress, on_stage=lambda m: say(m), encoder=encoder or DEFAULT_ENCODER
        )
    raise QAError(
        f"no index at {index_dir}; build one with: qa-assistant index CORPUS --index {index_dir} (or pass --corpus)"
    )


def score_passages(
    mode: ModeResult,
    rankings: dict[str, Ranking],
    by_id: dict[str, ResolvedQuestion],
    qrels: dict[str, dict[str, int]],
    index: SentenceIndex,
) -> None:
    """Score step (retrieval): ranking metrics over passages, and side coverage of the questions with expected sides."""
    mapped = {qid: passage_ranking(r, by_id[qid], index) for qid, r in rankings.items()}
    _mode_metrics(mode, qrels, {qid: pr.items for qid, pr in mapped.items()})
    coverage = {qid: M.side_coverage(by_id[qid].sides, pr.sides, 10) for qid, pr in mapped.items() if by_id[qid].sides}
    for qid, value in coverage.items():
        mode.per_query[qid]["side_coverage@10"] = value
    mode.metrics[SIDE_COVERAGE] = M.mean(coverage.values())


def score_answers(
    mode: ModeResult,
    assistant: Assistant,
    questions: list[ResolvedQuestion],
    ask_k: int,
    candidates: int,
    corpus: Path,
    threshold: float,
) -> tuple[dict[str, float], int]:
    """Score step (answers): every question asked with `mode`'s configuration; abstention at `threshold` and the
    verbatim rate. Returns each question's best similarity and how many real asks the sweep mispredicts."""
    outcomes = ask_outcomes(
        assistant,
        questions,
        mode.config,
        k=ask_k,
        candidates=candidates,
        corpus_dir=corpus if corpus.is_dir() else None,
        thresholds=[threshold],
    )
    best = {qid: o.best_similarity for qid, o in outcomes.items()}
    decisions = {qid: o.abstained_at[threshold] for qid, o in outcomes.items()}
    mismatches = sum(decisions[qid] != (o.best_similarity < threshold) for qid, o in outcomes.items())
    point = M.abstention_point(decisions, {q.id: q.answerable for q in questions}, threshold)
    mode.metrics[ABSTENTION] = point.accuracy
    mode.metrics[ABSTENTION_BALANCED] = point.balanced_accuracy
    _answer_metrics(mode, outcomes)
    for qid, o in outcomes.items():
        row = mode.per_query.setdefault(qid, {})
        row["best_similarity"] = o.best_similarity
        row["abstains"] = decisions[qid]
    score_answer_quality(mode, answer_quality(assistant, questions, mode.config, threshold, ask_k, candidates))
    return best, mismatches


def score_answer_quality(mode: ModeResult, quality: dict[str, AnswerQuality]) -> None:
    """Score step (what a reader sees): recall of the relevant passages in the quotes, quotes from the named
    sides, named sides covered, quotes inside the question's period, share of quotes too short to say anything."""
    values = quality.values()
    mode.metrics[ANSWER_RECALL] = M.mean(q.recall for q in values if q.recall is not None)
    mode.metrics[ANSWER_SIDE_PRECISION] = M.mean(q.side_precision for q in values if q.side_precision is not None)
    mode.metrics[ANSWER_SIDE_COVERAGE] = M.mean(q.side_coverage for q in values if q.side_coverage is not None)
    dated = sum(q.dated_quotes for q in values)
    mode.metrics[DATES_KEPT] = sum(q.dates_kept for q in values) / dated if dated else float("nan")
    quotes = sum(q.quotes for q in values)
    mode.metrics[SHORT_QUOTES] = sum(q.short_quotes for q in values) / quotes if quotes else float("nan")
    for qid, q in quality.items():
        row = mode.per_query.setdefault(qid, {})
        row.update(answer_recall=q.recall, answer_side_precision=q.side_precision, quotes=q.quotes)


def calibrate_abstention(
    assistant: Assistant,
    questions: list[ResolvedQuestion],
    configs: list[RetrievalConfig],
    best_similarity: dict[str, dict[str, float]],
    ask_k: int,
    candidates: int,
) -> tuple[dict[str, M.AbstentionPoint], int]:
    """Score step (calibration): per configuration, the threshold chosen on the sweep, then the real answers scored
    at it. Returns the points and how many real asks the sweep mispredicts."""
    truth = {q.id: q.answerable for q in questions}
    calibrated = {}
    mismatches = 0
    for config in configs:
        t = M.calibrate_threshold(best_similarity[config.name], truth).threshold
        decisions = abstentions(assistant, questions, config, t, ask_k, candidates)
        mismatches += sum(decisions[q] != (best_similarity[config.name][q] < t) for q in decisions)
        calibrated[config.name] = M.abstention_point(decisions, truth, t)
    return calibrated, mismatches


def evaluate_evalset(
    set_path: str | Path,
    index_dir: str | Path,
    corpus_dir: str | Path | None = None,
    configs: list[RetrievalConfig] | None = None,
    depth: int = 100,
    candidates: int = 100,
    ask_k: int = 6,
    min_similarity: float | None = None,
    progress: bool = False,
    say: Say | None = None,
    encoder: str | None = None,
) -> EvalResult:
    """Run every configuration over the questions of an eval set; build the index from `corpus_dir` if missing.

    Steps: load (eval set, index) -> run (retrieval of every configuration) -> score (passages and sides, answers,
    abstention calibration) -> report (`EvalResult`)."""
    say = say or (lambda _m: None)
    started = time.perf_counter()
    # load
    evalset = load_evalset(set_path)
    index_dir = Path(index_dir)
    assistant = open_evalset_index(index_dir, Path(corpus_dir) if corpus_dir else None, progress, say, encoder)
    index = assistant.index
    corpus = Path(corpus_dir) if corpus_dir else Path(index.manifest.corpus_dir)
    known_sides = sorted({*index.sides.sides, *(d.side for d in index.documents if d.side)})
    questions = resolve_evalset(evalset, index.documents, known_sides)
    configs = configs or config_grid()
    threshold = DEFAULT_MIN_SIMILARITY if min_similarity is None else min_similarity
    answerable = [q for q in questions if q.answerable]
    by_id: dict[str, ResolvedQuestion] = {q.id: q for q in questions}
    qrels = {q.id: {p.id: p.grade for p in q.passages} for q in questions}
    say(f"{len(questions)} questions ({len(answerable)} answerable) x {len(configs)} configurations")
    # run: what `ask` searches is the question, or the topic of a question about what the sides said
    depth = min(depth, len(index.sentences))
    queries = {q.id: assistant.answers.questions.sides_and_topic(q.question)[1] or q.question for q in answerable}
    filters = {q.id: q.filters for q in questions if q.filters}
    runs = search_runs(assistant.retriever, queries, configs, depth, candidates, progress, "retrieval", filters)
    # score
    modes: dict[str, ModeResult] = {}
    best_similarity: dict[str, dict[str, float]] = {}
    mismatches = 0
    for config in configs:
        mode = ModeResult(config.name, config)
        score_passages(mode, runs[config.name], by_id, qrels, index)
        best_similarity[config.name], missed = score_answers(
            mode, assistant, questions, ask_k, candidates, corpus, threshold
        )
        mismatches += missed
        modes[config.name] = mode
        _said(mode, say)
    calibrated, missed = calibrate_abstention(assistant, questions, configs, best_similarity, ask_k, candidates)
    mismatches += missed
    truth = {q.id: q.answerable for q in questions}
    # report
    info = {
        "eval_set": str(set_path),
        "index": str(index_dir),
        "model": index.manifest.model,
        "encoder": index.manifest.encoder,
        "documents": len(index.documents),
        "sentences": len(index.sentences),
        "questions": len(questions),
        "answerable": len(answerable),
        "unanswerable": len(questions) - len(answerable),
        "with_expected_sides": sum(1 for q in questions if q.sides),
        "relevant_passages": sum(len(q.passages) for q in questions),
        "depth": depth,
        "candidates": candidates,
        "ask_k": ask_k,
        "abstention_sweep_mismatches": mismatches,
        "relevance_rule": "a sentence is relevant when its span overlaps a relevant passage of the same document; each passage counts once",
        "seconds": round(time.perf_counter() - started, 1),
    }
    return EvalResult(
        dataset=evalset.name,
        kind="evalset",
        modes=modes,
        default_mode=product_default().name,
        queries={q.id: q.question for q in questions},
        qrels={q: r for q, r in qrels.items() if r},
        columns=[*M.RANKING_METRICS, SIDE_COVERAGE, ABSTENTION, ABSTENTION_BALANCED, VERBATIM, *ANSWER_METRICS],
        info=info,
        abstention=_abstention_result(threshold, truth, best_similarity, calibrated),
        labels={q.id: q.kind or "" for q in questions},
    )


# ---------------------------------------------------------------- BEIR


def sample_queries(dataset: BeirDataset, sample: int | None, seed: int = 0) -> None:
    """Keep a reproducible random sample of `sample` queries (in file order)."""
    if not sample or sample >= len(dataset.queries):
        return
    keep = set(random.Random(seed).sample(sorted(dataset.queries), sample))
    dataset.queries = {q: t for q, t in dataset.queries.items() if q in keep}
    dataset.qrels = {q: r for q, r in dataset.qrels.items() if q in keep}


GRANULARITY_PREFIX = {"sentence": "", "window": "win:", "document": "doc:"}


def mode_name(config: RetrievalConfig, granularity: str, aggregation: str) -> str:
    name = GRANULARITY_PREFIX[granularity] + config.name
    return name if aggregation == "max" or granularity == "document" else f"{name}+{aggregation}"


def load_beir_sample(
    root: str | Path, split: str, aggregations: tuple[str, ...], sample: int | None
) -> tuple[BeirDataset, int]:
    """Load step: the dataset with its sample of queries, and the number of queries in the split; refuses an
    unknown aggregation before any work."""
    for agg in aggregations:
        if agg not in AGGREGATIONS:
            raise QAError(f"unknown aggregation '{agg}' (choose from {', '.join(AGGREGATIONS)})")
    dataset = load_beir(root, split)
    total_queries = len(dataset.queries)
    sample_queries(dataset, sample)
    return dataset, total_queries


def beir_info(
    dataset: BeirDataset,
    root: str | Path,
    split: str,
    model: str,
    total_queries: int,
    sample: int | None,
    depth: int,
    candidates: int,
    top: int,
    aggregations: tuple[str, ...],
    maxsum_weight: float,
    encoder: str = DEFAULT_ENCODER,
) -> dict:
    """Report step: what was evaluated and how (filled in with units and timings as the run goes)."""
    return {
        "beir_dir": str(root),
        "split": split,
        "model": model,
        "encoder": encoder,
        "documents": len(dataset.documents),
        "queries": len(dataset.queries),
        "queries_in_split": total_queries,
        "sampled": bool(sample and sample < total_queries),
        "judgments": sum(len(r) for r in dataset.qrels.values()),
        "depth": depth,
        "candidates": candidates,
        "documents_per_query": top,
        "title": "prepended to the text as its own paragraph (a sentence of its own at sentence level)",
        "aggregation": {
            k: v
            for k, v in {
                "max": "document score = its best sentence's score",
                "top2": f"document score = best + {TOP2_WEIGHT:g} x second-best sentence's score",
                "maxsum": f"document score = best + {maxsum_weight:g} x sum of its other retrieved sentences' scores",
                "sum": "document score = sum of its retrieved sentences' scores",
            }.items()
            if k in aggregations
        },
        "units": {},
    }


def score_documents(
    config: RetrievalConfig,
    rankings: dict[str, Ranking],
    index: SentenceIndex,
    qrels: dict[str, dict[str, int]],
    granularity: str,
    aggregations: tuple[str, ...],
    maxsum_weight: float,
    top: int,
) -> list[ModeResult]:
    """Score step (retrieval): documents ranked by each aggregation of their units' scores (a document-level
    index has one unit per document: max only)."""
    modes = []
    for agg in aggregations if granularity != "document" else ("max",):
        mode = ModeResult(mode_name(config, granularity, agg), config, granularity, agg)
        ranked = {
            qid: [d for d, _s in aggregate_documents(r, index, agg, maxsum_weight, top)] for qid, r in rankings.items()
        }
        _mode_metrics(mode, qrels, ranked)
        modes.append(mode)
    return modes


def check_answers(
    index: SentenceIndex, dataset: BeirDataset, modes: dict[str, ModeResult], ask_modes: list[str] | None, say: Say
) -> dict[str, dict[str, float]]:
    """Score step (answers): every query asked with the current default, the best sentence-level mode and
    `ask_modes`; their verbatim rate, and each query's best similarity (mode -> query id -> similarity)."""
    assistant = Assistant(index)
    questions = [ResolvedQuestion(q, 0, t, True, [], None, []) for q, t in dataset.queries.items()]
    default = product_default()
    checked = {default.name: default} if default.name in modes else {}
    best_name = max((m for m in modes.values() if m.product_mode), key=lambda m: m.metrics["ndcg@10"]).name
    checked.setdefault(best_name, modes[best_name].config)
    for name in ask_modes or []:
        if name not in modes or not modes[name].product_mode:
            raise QAError(f"--ask-modes: '{name}' is not a sentence-level mode of this run")
        checked.setdefault(name, modes[name].config)
    best_similarity: dict[str, dict[str, float]] = {}
    for name, config in checked.items():
        say(f"asking the {len(questions)} queries with {name} (abstention check)")
        outcomes = ask_outcomes(assistant, questions, config)
        best_similarity[name] = _answer_metrics(modes[name], outcomes)
        for q, o in outcomes.items():
            modes[name].per_query.setdefault(q, {})["best_similarity"] = o.best_similarity
    return best_similarity


def evaluate_beir(
    root: str | Path,
    split: str = "test",
    configs: list[RetrievalConfig] | None = None,
    granularities: tuple[str, ...] = ("sentence", "document"),
    aggregations: tuple[str, ...] = ("max", "top2"),
    maxsum_weight: float = DEFAULT_MAXSUM_WEIGHT,
    depth: int = 1000,
    candidates: int = 1000,
    top: int = 100,
    cache_dir: str | Path = DEFAULT_CACHE,
    model: str = DEFAULT_MODEL,
    sample: int | None = None,
    ask_check: bool = True,
    ask_modes: list[str] | None = None,
    progress: bool = False,
    say: Say | None = None,
    encoder: str = DEFAULT_ENCODER,
) -> EvalResult:
    """Run every configuration over a BEIR dataset at each granularity; documents score by aggregation.

    With `ask_check`, every query is also asked (`Assistant.ask`) with the current default, the best mode and
    `ask_modes`, for the verbatim rate and the share of these answerable queries answered per threshold.

    Steps: load (dataset, sample) -> per granularity: index (cached) -> run (retrieval of every configuration) ->
    score (documents per aggregation; answers at sentence level) -> report (`EvalResult`)."""
    say = say or (lambda _m: None)
    started = time.perf_counter()
    # load
    dataset, total_queries = load_beir_sample(root, split, aggregations, sample)
    configs = configs or config_grid()
    info = beir_info(
        dataset, root, split, model, total_queries, sample, depth, candidates, top, aggregations, maxsum_weight, encoder
    )
    modes: dict[str, ModeResult] = {}
    best_similarity: dict[str, dict[str, float]] = {}
    for granularity in granularities:
        # index
        index = beir_index(dataset, granularity, model, cache_dir, progress=progress, on_stage=say, encoder=encoder)
        info["units"][granularity] = len(index.sentences)
        # run
        t0 = time.perf_counter()
        runs = search_runs(
            Retriever(index, Embedder(model, encoder)),
            dataset.queries,
            configs,
            min(depth, len(index.sentences)),
            candidates,
            progress,
            f"{granularity}-level retrieval",
        )
        info[f"{granularity}_search_seconds"] = round(time.perf_counter() - t0, 1)
        # score
        for config in configs:
            for mode in score_documents(
                config, runs[config.name], index, dataset.qrels, granularity, aggregations, maxsum_weight, top
            ):
                modes[mode.name] = mode
                _said(mode, say)
        if granularity == "sentence" and ask_check:
            best_similarity.update(check_answers(index, dataset, modes, ask_modes, say))
    # report
    truth = {q: True for q in dataset.queries}
    info["seconds"] = round(time.perf_counter() - started, 1)
    return EvalResult(
        dataset=dataset.name,
        kind="beir",
        modes=modes,
        default_mode=product_default().name,
        queries=dict(dataset.queries),
        qrels=dataset.qrels,
        columns=[*M.RANKING_METRICS, VERBATIM],
        info=info,
        abstention=_abstention_result(DEFAULT_MIN_SIMILARITY, truth, best_similarity, {}) if best_similarity else None,
    )
