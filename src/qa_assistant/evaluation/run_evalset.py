"""An eval set over an index, from end to end: load -> run -> score -> `EvalResult`."""

from __future__ import annotations

import time
from pathlib import Path

from qa_assistant.answer.builder import DEFAULT_MIN_SIMILARITY
from qa_assistant.assistant import Assistant
from qa_assistant.errors import QAError, rebuild_command
from qa_assistant.evaluation import metrics as M
from qa_assistant.evaluation.answers import AnswerQuality, abstentions, answer_quality, ask_outcomes
from qa_assistant.evaluation.evalset import ResolvedQuestion, load_evalset, resolve_evalset
from qa_assistant.evaluation.results import (
    ABSTENTION,
    ABSTENTION_BALANCED,
    ANSWER_METRICS,
    ANSWER_RECALL,
    ANSWER_RECALL_DUPLICATES,
    ANSWER_SIDE_COVERAGE,
    ANSWER_SIDE_PRECISION,
    DATES_KEPT,
    SHORT_QUOTES,
    SIDE_COVERAGE,
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
    Ranking,
    RetrievalConfig,
    config_grid,
    passage_ranking,
    product_default,
    search_runs,
)
from qa_assistant.index.catalog import SentenceIndex
from qa_assistant.index.embedder import DEFAULT_ENCODER


def open_evalset_index(
    index_dir: Path, corpus: Path | None, progress: bool, say: Say, encoder: str | None = None
) -> Assistant:
    """Load step: the assistant over `index_dir`, indexing `corpus` into it (with `encoder`) when there is no index
    yet; an existing index must have been built with `encoder`, when one is given."""
    from qa_assistant.index.integrity import MANIFEST

    if (index_dir / MANIFEST).exists():
        return Assistant.load(index_dir, corpus_dir=corpus, encoder=encoder)
    if corpus is not None and corpus.is_dir():
        say(f"no index at {index_dir}: indexing {corpus} into it")
        return Assistant.build(
            corpus, index_dir, progress=progress, on_stage=lambda m: say(m), encoder=encoder or DEFAULT_ENCODER
        )
    raise QAError(f"no index at {index_dir}; build one with: {rebuild_command(index_dir)} (or pass --corpus)")


def score_passages(
    mode: ModeResult,
    rankings: dict[str, Ranking],
    by_id: dict[str, ResolvedQuestion],
    qrels: dict[str, dict[str, int]],
    index: SentenceIndex,
) -> None:
    """Score step (retrieval): ranking metrics over passages, and side coverage of the questions with expected sides."""
    mapped = {qid: passage_ranking(r, by_id[qid], index) for qid, r in rankings.items()}
    fill_ranking_metrics(mode, qrels, {qid: pr.items for qid, pr in mapped.items()})
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
    """Score step (answers): every question asked with `mode`'s configuration; abstention at `threshold`, the
    verbatim rate and what a reader sees. Returns each question's best similarity and how many real asks the sweep
    mispredicts."""
    outcomes = ask_outcomes(
        assistant,
        questions,
        mode.config,
        k=ask_k,
        candidates=candidates,
        corpus_dir=corpus if corpus.is_dir() else None,
    )
    quality = answer_quality(assistant, questions, mode.config, threshold, ask_k, candidates)  # the real asks
    best = {qid: o.answers_up_to for qid, o in outcomes.items()}
    decisions = {qid: q.abstained for qid, q in quality.items()}
    mismatches = sum(decisions[qid] != (o.answers_up_to < threshold) for qid, o in outcomes.items())
    point = M.abstention_point(decisions, {q.id: q.answerable for q in questions}, threshold)
    mode.metrics[ABSTENTION] = point.accuracy
    mode.metrics[ABSTENTION_BALANCED] = point.balanced_accuracy
    fill_verbatim_rate(mode, outcomes)
    for qid, o in outcomes.items():
        row = mode.per_query.setdefault(qid, {})
        row["best_similarity"] = o.best_similarity
        row["abstains"] = decisions[qid]
    score_answer_quality(mode, quality)
    return best, mismatches


def score_answer_quality(mode: ModeResult, quality: dict[str, AnswerQuality]) -> None:
    """Score step (what a reader sees): recall of the relevant passages in the quotes, quotes from the named
    sides, named sides covered, quotes inside the question's period, share of quotes too short to say anything."""
    values = quality.values()
    mode.metrics[ANSWER_RECALL] = M.mean(q.recall for q in values if q.recall is not None)
    mode.metrics[ANSWER_RECALL_DUPLICATES] = M.mean(
        q.recall_with_duplicates for q in values if q.recall_with_duplicates is not None
    )
    mode.metrics[ANSWER_SIDE_PRECISION] = M.mean(q.side_precision for q in values if q.side_precision is not None)
    mode.metrics[ANSWER_SIDE_COVERAGE] = M.mean(q.side_coverage for q in values if q.side_coverage is not None)
    dated = sum(q.dated_quotes for q in values)
    mode.metrics[DATES_KEPT] = sum(q.dates_kept for q in values) / dated if dated else float("nan")
    quotes = sum(q.quotes for q in values)
    mode.metrics[SHORT_QUOTES] = sum(q.short_quotes for q in values) / quotes if quotes else float("nan")
    for qid, q in quality.items():
        row = mode.per_query.setdefault(qid, {})
        row.update(
            answer_recall=q.recall,
            answer_recall_with_duplicates=q.recall_with_duplicates,
            answer_side_precision=q.side_precision,
            quotes=q.quotes,
        )


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


def score_configurations(
    assistant: Assistant,
    questions: list[ResolvedQuestion],
    configs: list[RetrievalConfig],
    runs: dict[str, dict[str, Ranking]],
    qrels: dict[str, dict[str, int]],
    ask_k: int,
    candidates: int,
    corpus: Path,
    threshold: float,
    say: Say,
) -> tuple[dict[str, ModeResult], dict[str, dict[str, float]], int]:
    """Score step of each configuration: its passages and sides, its answers. Returns the modes, each question's
    best similarity per mode, and the abstention sweep's mismatches."""
    by_id: dict[str, ResolvedQuestion] = {q.id: q for q in questions}
    modes: dict[str, ModeResult] = {}
    best_similarity: dict[str, dict[str, float]] = {}
    mismatches = 0
    for config in configs:
        mode = ModeResult(config.name, config)
        score_passages(mode, runs[config.name], by_id, qrels, assistant.index)
        best_similarity[config.name], missed = score_answers(
            mode, assistant, questions, ask_k, candidates, corpus, threshold
        )
        mismatches += missed
        modes[config.name] = mode
        say_ndcg(mode, say)
    return modes, best_similarity, mismatches


def evalset_info(
    set_path: str | Path,
    index_dir: Path,
    index: SentenceIndex,
    questions: list[ResolvedQuestion],
    depth: int,
    candidates: int,
    ask_k: int,
    mismatches: int,
    started: float,
) -> dict:
    """What the report says about the run: the eval set, the index, the counts and the settings."""
    answerable = [q for q in questions if q.answerable]
    return {
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


def search_questions(
    assistant: Assistant,
    questions: list[ResolvedQuestion],
    configs: list[RetrievalConfig],
    depth: int,
    candidates: int,
    progress: bool,
) -> dict[str, dict[str, Ranking]]:
    """Run step: each answerable question searched under each configuration as `ask` searches it — the question, or
    the topic of a question about what the sides said (searched as a topic) — within its own filters."""
    answerable = [q for q in questions if q.answerable]
    topics = {q.id: assistant.answers.questions.sides_and_topic(q.question)[1] for q in answerable}
    queries = {q.id: topics[q.id] or q.question for q in answerable}
    filters = {q.id: q.filters for q in questions if q.filters}
    searched_topics = {qid for qid, topic in topics.items() if topic}
    return search_runs(
        assistant.retriever, queries, configs, depth, candidates, progress, "retrieval", filters, searched_topics
    )


def evaluate_evalset(
    set_path: str | Path,
    index_dir: str | Path,
    corpus_dir: str | Path | None = None,
    configs: list[RetrievalConfig] | None = None,
    depth: int = 100,
    candidates: int = 100,
    ask_k: int = 10,
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
    qrels = {q.id: {p.id: p.grade for p in q.passages} for q in questions}
    say(f"{len(questions)} questions ({len(answerable)} answerable) x {len(configs)} configurations")
    # run
    depth = min(depth, len(index.sentences))
    runs = search_questions(assistant, questions, configs, depth, candidates, progress)
    # score
    modes, best_similarity, mismatches = score_configurations(
        assistant, questions, configs, runs, qrels, ask_k, candidates, corpus, threshold, say
    )
    calibrated, missed = calibrate_abstention(assistant, questions, configs, best_similarity, ask_k, candidates)
    mismatches += missed
    truth = {q.id: q.answerable for q in questions}
    # report
    info = evalset_info(set_path, index_dir, index, questions, depth, candidates, ask_k, mismatches, started)
    return EvalResult(
        dataset=evalset.name,
        kind="evalset",
        modes=modes,
        default_mode=product_default().name,
        queries={q.id: q.question for q in questions},
        qrels={q: r for q, r in qrels.items() if r},
        columns=[*M.RANKING_METRICS, SIDE_COVERAGE, ABSTENTION, ABSTENTION_BALANCED, VERBATIM, *ANSWER_METRICS],
        info=info,
        abstention=abstention_result(threshold, truth, best_similarity, calibrated),
        labels={q.id: q.kind or "" for q in questions},
    )
