"""`qa-assistant eval`: parse the options, run the evaluation, print the table or JSON, write the report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from qa_assistant.errors import QAError
from qa_assistant.evaluation.runner import RetrievalConfig, config_grid
from qa_assistant.models import DEFAULT_ALPHAS, DEFAULT_CONTEXTS, DEFAULT_RRF_KS

if TYPE_CHECKING:
    from qa_assistant.evaluation.results import EvalResult, Say

DEFAULT_CORPUS = "corpus"
RESULTS_DIR = Path("eval/results")


def _numbers(text: str, kind: type, option: str) -> list:
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise QAError(f"{option} takes comma-separated numbers, e.g. {option} 10,60 (got '{text}')") from None


def configs_from_args(args: argparse.Namespace) -> list[RetrievalConfig]:
    if args.modes:
        try:
            configs = [RetrievalConfig.parse(name) for name in args.modes.split(",") if name.strip()]
        except ValueError as exc:
            raise QAError(str(exc)) from None
        return list(dict.fromkeys(configs))
    rrf_ks = _numbers(args.rrf_k, int, "--rrf-k") if args.rrf_k else list(DEFAULT_RRF_KS)
    alphas = _numbers(args.alpha, float, "--alpha") if args.alpha else list(DEFAULT_ALPHAS)
    contexts = _numbers(args.context, float, "--context") if args.context is not None else list(DEFAULT_CONTEXTS)
    if any(k < 1 for k in rrf_ks) or any(not 0 <= a <= 1 for a in alphas) or any(c < 0 for c in contexts):
        raise QAError("--rrf-k values must be >= 1, --alpha values between 0 and 1, --context values >= 0")
    return config_grid(rrf_ks, alphas, contexts)


def _choices(text: str, allowed: tuple[str, ...], option: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise QAError(f"{option}: choose from {', '.join(allowed)} (got '{text}')")
    return values


def _evaluate_set(args: argparse.Namespace, configs: list[RetrievalConfig], progress: bool, say: Say) -> EvalResult:
    """Evaluate an eval set against the index (built from the corpus when there is none yet)."""
    from qa_assistant.evaluation.run_evalset import evaluate_evalset

    corpus = args.corpus
    if corpus is None and not (Path(args.index) / "manifest.json").exists() and Path(DEFAULT_CORPUS).is_dir():
        corpus = DEFAULT_CORPUS
    return evaluate_evalset(
        args.set,
        args.index,
        corpus_dir=corpus,
        configs=configs,
        depth=args.depth or 100,
        candidates=args.candidates or 100,
        min_similarity=args.min_similarity,
        ask_k=args.ask_k,
        progress=progress,
        say=say,
        encoder=args.encoder,
    )


def _evaluate_beir_folder(
    args: argparse.Namespace, configs: list[RetrievalConfig], progress: bool, say: Say
) -> EvalResult:
    """Evaluate a BEIR dataset folder at the chosen granularities and aggregations."""
    from qa_assistant.evaluation.beir import GRANULARITIES
    from qa_assistant.evaluation.run_beir import evaluate_beir
    from qa_assistant.evaluation.runner import AGGREGATIONS

    return evaluate_beir(
        args.beir,
        split=args.split,
        configs=configs,
        granularities=_choices(args.granularity, GRANULARITIES, "--granularity"),
        aggregations=_choices(args.aggregation, AGGREGATIONS, "--aggregation"),
        maxsum_weight=args.maxsum_weight,
        depth=args.depth or 1000,
        candidates=args.candidates or 1000,
        cache_dir=args.cache,
        model=args.model,
        encoder=args.encoder or "torch",
        sample=args.sample,
        progress=progress,
        say=say,
        ask_modes=[m.strip() for m in args.ask_modes.split(",") if m.strip()] if args.ask_modes else None,
    )


def _write_and_print(args: argparse.Namespace, result: EvalResult) -> None:
    """Write the report folder (unless --no-report), then print the JSON or the table."""
    from qa_assistant.evaluation.report import format_table, write_report

    report_dir = None
    if not args.no_report:
        report_dir = write_report(
            result, Path(args.report) if args.report else RESULTS_DIR / result.dataset, runs=args.runs
        )
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(format_table(result))
        if report_dir is not None:
            print(
                f"\nreport: {report_dir / 'report.md'} (per-query drill-down, plots{', TREC runs' if args.runs else ''})"
            )


def run_eval(args: argparse.Namespace) -> int:
    if bool(args.set) == bool(args.beir):
        raise QAError(
            "give an eval set (qa-assistant eval eval/seed.jsonl) or a BEIR folder (qa-assistant eval --beir DIR), not both"
        )
    progress = not args.quiet
    say = (lambda _m: None) if args.quiet else (lambda msg: print(f"… {msg}", file=sys.stderr))
    configs = configs_from_args(args)
    if args.depth is not None and args.depth < 1 or args.candidates is not None and args.candidates < 1:
        raise QAError("--depth and --candidates must be at least 1")
    if args.set:
        result = _evaluate_set(args, configs, progress, say)
    else:
        result = _evaluate_beir_folder(args, configs, progress, say)
    _write_and_print(args, result)
    return 0
