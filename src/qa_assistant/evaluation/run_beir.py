"""A BEIR dataset, from end to end: load -> per granularity: index -> run -> score -> `EvalResult`."""

from __future__ import annotations

import random
import time
from pathlib import Path

from qa_assistant.answer.builder import DEFAULT_MIN_SIMILARITY
from qa_assistant.answer.retriever import Retriever
from qa_assistant.assistant import Assistant
from qa_assistant.errors import QAError
from qa_assistant.evaluation import metrics as M
from qa_assistant.evaluation.answers import ask_outcomes
from qa_assistant.evaluation.beir import DEFAULT_CACHE, BeirDataset, beir_index, load_beir
from qa_assistant.evaluation.evalset import ResolvedQuestion
from qa_assistant.evaluation.results import (
    VERBATIM,
    EvalResult,
    ModeResult,
    Say,
    abstention_result,
    fill_ranking_metrics,
    fill_verbatim_rate,
    say_ndcg,
)
from qa_assistant.evaluation.runner import (
    AGGREGATIONS,
    DEFAULT_MAXSUM_WEIGHT,
    TOP2_WEIGHT,
    Ranking,
    RetrievalConfig,
    aggregate_documents,
    config_grid,
    product_default,
    search_runs,
)
from qa_assistant.index.catalog import SentenceIndex
from qa_assistant.index.embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder


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
        fill_ranking_metrics(mode, qrels, ranked)
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
        best_similarity[name] = fill_verbatim_rate(modes[name], outcomes)
        for q, o in outcomes.items():
            modes[name].per_query.setdefault(q, {})["best_similarity"] = o.best_similarity
    return best_similarity


def score_configurations(
    configs: list[RetrievalConfig],
    runs: dict[str, dict[str, Ranking]],
    index: SentenceIndex,
    qrels: dict[str, dict[str, int]],
    granularity: str,
    aggregations: tuple[str, ...],
    maxsum_weight: float,
    top: int,
    say: Say,
) -> dict[str, ModeResult]:
    """Score step: the modes of every configuration's run (`score_documents`: one per aggregation of units)."""
    modes: dict[str, ModeResult] = {}
    for config in configs:
        found = runs[config.name]
        for mode in score_documents(config, found, index, qrels, granularity, aggregations, maxsum_weight, top):
            modes[mode.name] = mode
            say_ndcg(mode, say)
    return modes


def index_and_run(
    dataset: BeirDataset,
    granularity: str,
    configs: list[RetrievalConfig],
    info: dict,
    model: str,
    encoder: str,
    cache_dir: str | Path,
    depth: int,
    candidates: int,
    progress: bool,
    say: Say,
) -> tuple[SentenceIndex, dict[str, dict[str, Ranking]]]:
    """Index the dataset at one granularity (cached) and retrieve every configuration's run for every query;
    records the units indexed and the search time in `info`."""
    index = beir_index(dataset, granularity, model, cache_dir, progress=progress, on_stage=say, encoder=encoder)
    info["units"][granularity] = len(index.sentences)
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
    return index, runs


def beir_result(
    dataset: BeirDataset, info: dict, modes: dict[str, ModeResult], best_similarity: dict[str, dict[str, float]]
) -> EvalResult:
    """The `EvalResult` of a BEIR run; every query is answerable."""
    truth = {q: True for q in dataset.queries}
    return EvalResult(
        dataset=dataset.name,
        kind="beir",
        modes=modes,
        default_mode=product_default().name,
        queries=dict(dataset.queries),
        qrels=dataset.qrels,
        columns=[*M.RANKING_METRICS, VERBATIM],
        info=info,
        abstention=abstention_result(DEFAULT_MIN_SIMILARITY, truth, best_similarity, {}) if best_similarity else None,
    )


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
        # index, run
        index, runs = index_and_run(
            dataset, granularity, configs, info, model, encoder, cache_dir, depth, candidates, progress, say
        )
        # score
        modes.update(
            score_configurations(
                configs, runs, index, dataset.qrels, granularity, aggregations, maxsum_weight, top, say
            )
        )
        if granularity == "sentence" and ask_check:
            best_similarity.update(check_answers(index, dataset, modes, ask_modes, say))
    # report
    info["seconds"] = round(time.perf_counter() - started, 1)
    return beir_result(dataset, info, modes, best_similarity)
