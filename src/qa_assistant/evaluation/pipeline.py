"""An evaluation from end to end: an eval set over an index, or a BEIR dataset, to an `EvalResult`."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder
from ..errors import QAError
from ..retriever import Retriever
from . import metrics as M
from .beir import DEFAULT_CACHE, BeirDataset, beir_index, load_beir
from .evalset import ResolvedQuestion, load_evalset, resolve_evalset
from .runner import (
    AGGREGATIONS,
    DEFAULT_MAXSUM_WEIGHT,
    TOP2_WEIGHT,
    RetrievalConfig,
    abstentions,
    aggregate_documents,
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
    per_query = M.ranking_metrics(judged, mode.run, M.PER_QUERY_METRICS, per_query=True)
    for q in judged:
        row = {"first_rank": M.first_relevant_rank(judged[q], rankings.get(q, []))}
        row.update({m: per_query[m].get(q) for m in M.PER_QUERY_METRICS})
        mode.per_query[q] = row


# ---------------------------------------------------------------- eval sets


def remember_query_vectors(assistant) -> None:
    """Encode each question once per evaluation: every mode and threshold asks the same questions."""
    encode = assistant.retriever.encode_query
    vectors: dict[str, object] = {}

    def encode_once(question: str):
        if question not in vectors:
            vectors[question] = encode(question)
        return vectors[question]

    assistant.retriever.encode_query = encode_once


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
    """Run every configuration over the questions of an eval set; build the index from `corpus_dir` if missing
    (with `encoder`; an existing index must have been built with it)."""
    from ..answer import DEFAULT_MIN_SIMILARITY
    from ..assistant import Assistant
    from ..store import MANIFEST

    say = say or (lambda _m: None)
    started = time.perf_counter()
    evalset = load_evalset(set_path)
    index_dir = Path(index_dir)
    corpus = Path(corpus_dir) if corpus_dir else None
    if (index_dir / MANIFEST).exists():
        assistant = Assistant.load(index_dir, corpus_dir=corpus, encoder=encoder)
    elif corpus is not None and corpus.is_dir():
        say(f"no index at {index_dir}: indexing {corpus} into it")
        assistant = Assistant.build(
            corpus, index_dir, progress=progress, on_stage=lambda m: say(m), encoder=encoder or DEFAULT_ENCODER
        )
    else:
        raise QAError(
            f"no index at {index_dir}; build one with: qa-assistant index CORPUS --index {index_dir} (or pass --corpus)"
        )
    remember_query_vectors(assistant)
    index = assistant.index
    corpus = corpus or Path(index.manifest.corpus_dir)
    known_sides = sorted({*index.sides.sides, *(d.side for d in index.documents if d.side)})
    questions = resolve_evalset(evalset, index.documents, known_sides)
    configs = configs or config_grid()
    default = product_default()
    threshold = DEFAULT_MIN_SIMILARITY if min_similarity is None else min_similarity
    answerable = [q for q in questions if q.answerable]
    by_id: dict[str, ResolvedQuestion] = {q.id: q for q in questions}
    qrels = {q.id: {p.id: p.grade for p in q.passages} for q in questions}
    say(f"{len(questions)} questions ({len(answerable)} answerable) x {len(configs)} configurations")
    depth = min(depth, len(index.sentences))
    # What `ask` searches: the question, or the topic of a question about what the sides said.
    queries = {q.id: assistant.answers.reading(q.question)[1] or q.question for q in answerable}
    runs = search_runs(assistant.retriever, queries, configs, depth, candidates, progress, "retrieval")
    modes: dict[str, ModeResult] = {}
    best_similarity: dict[str, dict[str, float]] = {}
    mismatches = 0
    for config in configs:
        mode = ModeResult(config.name, config)
        mapped = {qid: passage_ranking(r, by_id[qid], index) for qid, r in runs[config.name].items()}
        _mode_metrics(mode, qrels, {qid: pr.items for qid, pr in mapped.items()})
        coverage = {
            qid: M.side_coverage(by_id[qid].sides, pr.sides, 10) for qid, pr in mapped.items() if by_id[qid].sides
        }
        for qid, value in coverage.items():
            mode.per_query[qid]["side_coverage@10"] = value
        mode.metrics[SIDE_COVERAGE] = M.mean(coverage.values())
        outcomes = ask_outcomes(
            assistant,
            questions,
            config,
            k=ask_k,
            candidates=candidates,
            corpus_dir=corpus if corpus.is_dir() else None,
            thresholds=[threshold],
        )
        best_similarity[config.name] = {qid: o.best_similarity for qid, o in outcomes.items()}
        decisions = {qid: o.abstained_at[threshold] for qid, o in outcomes.items()}
        mismatches += sum(decisions[qid] != (o.best_similarity < threshold) for qid, o in outcomes.items())
        point = M.abstention_point(decisions, {q.id: q.answerable for q in questions}, threshold)
        mode.metrics[ABSTENTION] = point.accuracy
        mode.metrics[ABSTENTION_BALANCED] = point.balanced_accuracy
        mode.metrics[VERBATIM] = M.verbatim_rate(
            sum(o.verbatim for o in outcomes.values()), sum(o.quotes for o in outcomes.values())
        )
        for qid, o in outcomes.items():
            row = mode.per_query.setdefault(qid, {})
            row["best_similarity"] = o.best_similarity
            row["abstains"] = decisions[qid]
        modes[config.name] = mode
        say(f"{config.name}: ndcg@10 {mode.metrics['ndcg@10']:.3f}")
    labels = {q.id: q.kind or "" for q in questions}
    truth = {q.id: q.answerable for q in questions}
    calibrated = {}
    for config in configs:  # calibrate on the sweep, then score the real answers at the chosen threshold
        t = M.calibrate_threshold(best_similarity[config.name], truth).threshold
        decisions = abstentions(assistant, questions, config, t, ask_k, candidates)
        mismatches += sum(decisions[q] != (best_similarity[config.name][q] < t) for q in decisions)
        calibrated[config.name] = M.abstention_point(decisions, truth, t)
    abstention = AbstentionResult(
        threshold_in_use=threshold,
        answerable=truth,
        best_similarity=best_similarity,
        calibrated=calibrated,
        sweeps={m: M.sweep(b, truth, SWEEP) for m, b in best_similarity.items()},
    )
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
        default_mode=default.name,
        queries={q.id: q.question for q in questions},
        qrels={q: r for q, r in qrels.items() if r},
        columns=[*M.RANKING_METRICS, SIDE_COVERAGE, ABSTENTION, ABSTENTION_BALANCED, VERBATIM],
        info=info,
        abstention=abstention,
        labels=labels,
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
    `ask_modes`, for the verbatim rate and the share of these answerable queries answered per threshold."""
    say = say or (lambda _m: None)
    started = time.perf_counter()
    for agg in aggregations:
        if agg not in AGGREGATIONS:
            raise QAError(f"unknown aggregation '{agg}' (choose from {', '.join(AGGREGATIONS)})")
    dataset = load_beir(root, split)
    total_queries = len(dataset.queries)
    sample_queries(dataset, sample)
    configs = configs or config_grid()
    default = product_default()
    modes: dict[str, ModeResult] = {}
    info: dict = {
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
    best_similarity: dict[str, dict[str, float]] = {}
    for granularity in granularities:
        index = beir_index(dataset, granularity, model, cache_dir, progress=progress, on_stage=say, encoder=encoder)
        info["units"][granularity] = len(index.sentences)
        retriever = Retriever(index, Embedder(model, encoder))
        t0 = time.perf_counter()
        runs = search_runs(
            retriever,
            dataset.queries,
            configs,
            min(depth, len(index.sentences)),
            candidates,
            progress,
            f"{granularity}-level retrieval",
        )
        info[f"{granularity}_search_seconds"] = round(time.perf_counter() - t0, 1)
        for config in configs:
            for agg in aggregations if granularity != "document" else ("max",):
                mode = ModeResult(mode_name(config, granularity, agg), config, granularity, agg)
                ranked = {
                    qid: [d for d, _s in aggregate_documents(r, index, agg, maxsum_weight, top)]
                    for qid, r in runs[config.name].items()
                }
                _mode_metrics(mode, dataset.qrels, ranked)
                modes[mode.name] = mode
                say(f"{mode.name}: ndcg@10 {mode.metrics['ndcg@10']:.3f}")
        if granularity == "sentence" and ask_check:
            from ..assistant import Assistant

            assistant = Assistant(index)
            remember_query_vectors(assistant)
            questions = [ResolvedQuestion(q, 0, t, True, [], None, []) for q, t in dataset.queries.items()]
            checked = {default.name: default} if default.name in modes else {}
            best_name = max((m for m in modes.values() if m.product_mode), key=lambda m: m.metrics["ndcg@10"]).name
            checked.setdefault(best_name, modes[best_name].config)
            for name in ask_modes or []:
                if name not in modes or not modes[name].product_mode:
                    raise QAError(f"--ask-modes: '{name}' is not a sentence-level mode of this run")
                checked.setdefault(name, modes[name].config)
            for name, config in checked.items():
                say(f"asking the {len(questions)} queries with {name} (abstention check)")
                outcomes = ask_outcomes(assistant, questions, config)
                best_similarity[name] = {q: o.best_similarity for q, o in outcomes.items()}
                for q, o in outcomes.items():
                    modes[name].per_query.setdefault(q, {})["best_similarity"] = o.best_similarity
                modes[name].metrics[VERBATIM] = M.verbatim_rate(
                    sum(o.verbatim for o in outcomes.values()), sum(o.quotes for o in outcomes.values())
                )
    abstention = None
    if best_similarity:
        from ..answer import DEFAULT_MIN_SIMILARITY

        truth = {q: True for q in dataset.queries}
        abstention = AbstentionResult(
            threshold_in_use=DEFAULT_MIN_SIMILARITY,
            answerable=truth,
            best_similarity=best_similarity,
            calibrated={},
            sweeps={m: M.sweep(b, truth, SWEEP) for m, b in best_similarity.items()},
        )
    info["seconds"] = round(time.perf_counter() - started, 1)
    return EvalResult(
        dataset=dataset.name,
        kind="beir",
        modes=modes,
        default_mode=default.name,
        queries=dict(dataset.queries),
        qrels=dataset.qrels,
        columns=[*M.RANKING_METRICS, VERBATIM],
        info=info,
        abstention=abstention,
    )
