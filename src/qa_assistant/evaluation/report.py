"""Reporting an `EvalResult`: terminal table, JSON, Markdown report, per-query drill-down, PNG plots, TREC files.

A report folder holds:
    report.md        the comparison table, the setup, abstention calibration (eval sets), links to the rest
    per_query.md     which questions each mode misses, the rank of the first relevant item per mode
    per_query.csv    one row per (query, mode): first relevant rank, nDCG@10, recalls, similarity
    results.json     what `--json` prints
    ndcg_at_10.png   nDCG@10 per mode
    recall_at_k.png  recall@k curves of the main modes
    abstention.png   abstention accuracy against the threshold, and the similarities it is chosen from
    runs/            with --runs: one TREC run file per mode and the qrels in TREC format
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from qa_assistant.evaluation.metrics import quiet_ranx
from qa_assistant.evaluation.per_query import per_query_markdown, write_per_query_csv
from qa_assistant.evaluation.plots import plot_abstention, plot_ndcg, plot_recall
from qa_assistant.evaluation.results import (
    ABSTENTION,
    ABSTENTION_BALANCED,
    ANSWER_RECALL,
    ANSWER_RECALL_DUPLICATES,
    ANSWER_SIDE_COVERAGE,
    ANSWER_SIDE_PRECISION,
    DATES_KEPT,
    PRIMARY_METRIC,
    SHORT_QUOTES,
    SIDE_COVERAGE,
    VERBATIM,
    AbstentionResult,
    EvalResult,
    mode_marks,
    threshold_text,
)

HEADERS = {
    "ndcg@10": "nDCG@10",
    "recall@10": "R@10",
    "recall@100": "R@100",
    "mrr@10": "MRR@10",
    "precision@1": "P@1",
    "precision@10": "P@10",
    SIDE_COVERAGE: "SideCov@10",
    ABSTENTION: "Abstain acc",
    ABSTENTION_BALANCED: "Abstain bal",
    VERBATIM: "Verbatim",
    ANSWER_RECALL: "Ans R",
    ANSWER_RECALL_DUPLICATES: "Ans R+dup",
    ANSWER_SIDE_PRECISION: "Ans side prec",
    ANSWER_SIDE_COVERAGE: "Ans side cov",
    DATES_KEPT: "Dates kept",
    SHORT_QUOTES: "Short quotes",
}


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.3f}"


def table_rows(result: EvalResult) -> tuple[list[str], list[list[str]]]:
    header = ["mode", *(HEADERS.get(c, c) for c in result.columns)]
    rows = []
    for name, mode in result.modes.items():
        rows.append([f"{name}{mode_marks(result, name)}", *(_fmt(mode.metrics.get(c)) for c in result.columns)])
    return header, rows


def legend(result: EvalResult) -> str:
    text = f"* current default ({result.default_mode})   + best product mode by {PRIMARY_METRIC} ({result.best_mode})"
    if result.kind == "beir":
        parts = ["sentence-level modes score a document by its best sentence"]
        aggregations = {m.aggregation for m in result.modes.values()} - {None, "max"}
        if "top2" in aggregations:
            parts.append("'+top2' adds half its second-best sentence's score")
        if "maxsum" in aggregations:
            parts.append("'+maxsum' adds a share of its other sentences' scores")
        if "sum" in aggregations:
            parts.append("'+sum' sums its sentences' scores")
        if any(m.granularity == "window" for m in result.modes.values()):
            parts.append("'win:' indexes windows of 3 sentences")
        if any(m.granularity == "document" for m in result.modes.values()):
            parts.append("'doc:' indexes whole documents")
        text += "\n" + "; ".join(parts)
    if result.abstention is not None and result.kind == "evalset":
        text += f"\nabstention at the threshold in use, {result.abstention.threshold_in_use:.2f}"
    return text


def format_table(result: EvalResult) -> str:
    """The comparison as fixed-width text for the terminal."""
    header, rows = table_rows(result)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    n_queries = len(result.qrels)
    title = f"{result.dataset}: {n_queries} judged queries"
    if result.kind == "evalset":
        title += f" ({result.info.get('unanswerable', 0)} unanswerable in addition)"
    out = [title, line(header), line(["-" * w for w in widths]), *(line(r) for r in rows), "", legend(result)]
    if result.abstention is not None and result.abstention.calibrated:
        for name in dict.fromkeys((result.default_mode, result.best_mode)):
            point = result.abstention.calibrated.get(name)
            if point is not None:
                out.append(
                    f"calibrated abstention threshold for {name}: {threshold_text(point.threshold)} (accuracy {point.accuracy:.3f}, "
                    f"balanced {point.balanced_accuracy:.3f}; answerable answered {point.answered:.3f}, unanswerable abstained {point.abstained:.3f})"
                )
    return "\n".join(out)


def paired_test(result: EvalResult, name: str, metric: str = PRIMARY_METRIC) -> tuple[float, float] | None:
    """Mean per-query difference of `metric` between mode `name` and the default mode, and the two-sided p-value
    of a paired t-test over the judged queries (None for the default itself or when it cannot be computed)."""
    base = result.modes.get(result.default_mode)
    mode = result.modes.get(name)
    if base is None or mode is None or name == result.default_mode:
        return None
    queries = [
        q
        for q in result.qrels
        if mode.per_query.get(q, {}).get(metric) is not None and base.per_query.get(q, {}).get(metric) is not None
    ]
    if len(queries) < 3:
        return None
    diffs = [mode.per_query[q][metric] - base.per_query[q][metric] for q in queries]
    mean_diff = sum(diffs) / len(diffs)
    if all(abs(d - diffs[0]) < 1e-12 for d in diffs):
        return mean_diff, 1.0 if abs(mean_diff) < 1e-12 else 0.0
    with quiet_ranx():
        from ranx.statistical_tests import paired_student_t_test

        control = np.array([base.per_query[q][metric] for q in queries], dtype=float)
        treatment = np.array([mode.per_query[q][metric] for q in queries], dtype=float)
        p_value, _significant = paired_student_t_test(control, treatment)
    return mean_diff, float(p_value)


def markdown_table(result: EvalResult) -> str:
    header, rows = table_rows(result)
    header = [*header, f"Δ{HEADERS[PRIMARY_METRIC]} vs default", "p"]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, r in zip(result.modes, rows):
        test = paired_test(result, name)
        extra = [f"{test[0]:+.3f}", "<0.001" if test[1] < 0.001 else f"{test[1]:.3f}"] if test else ["", ""]
        out.append("| " + " | ".join([f"`{r[0]}`", *r[1:], *extra]) + " |")
    return "\n".join(out)


# ---------------------------------------------------------------- TREC files


def write_trec(result: EvalResult, directory: Path) -> None:
    """One TREC run file per mode (`qid Q0 docid rank score tag`) and the qrels (`qid 0 docid rel`)."""
    directory.mkdir(parents=True, exist_ok=True)
    with quiet_ranx():
        from ranx import Qrels, Run

        Qrels({q: rels for q, rels in result.qrels.items() if rels}).save(str(directory / "qrels.trec"), kind="trec")
        for name, mode in result.modes.items():
            tag = name.replace(":", "_").replace("+", "_")
            run = {q: items for q, items in mode.run.items() if items}
            if run:
                Run(run, name=tag).save(str(directory / f"{tag}.trec"), kind="trec")


# ---------------------------------------------------------------- the report folder


def _encoder_note(info: dict) -> str:
    """' (encoder `onnx-int8`)' for an index not encoded with torch; nothing otherwise (older reports too)."""
    encoder = info.get("encoder")
    return f" (encoder `{encoder}`)" if encoder and encoder != "torch" else ""


def _evalset_intro(info: dict[str, Any]) -> list[str]:
    """The opening paragraphs of an eval-set report: what was asked over what, and how it was scored."""
    return [
        f"{info['questions']} questions ({info['answerable']} answerable with {info['relevant_passages']} relevant passages, "
        f"{info['unanswerable']} unanswerable, {info['with_expected_sides']} with expected sides) over "
        f"{info['documents']} documents / {info['sentences']} sentences; model `{info['model']}`"
        f"{_encoder_note(info)}.",
        "",
        f"Relevance: {info['relevance_rule']}. Ranking metrics by ranx over the answerable questions; "
        f"runs cut at {info['depth']} sentences, {info['candidates']} candidates per retriever. "
        f"Side coverage@10: share of a question's expected sides among the sides of its top 10 sentences. "
        f"Abstention and verbatim rate: `Assistant.ask` with k={info['ask_k']}.",
    ]


def _beir_intro(info: dict[str, Any]) -> list[str]:
    """The opening paragraphs of a BEIR report: the queries, the units indexed and the document ranking."""
    sampled = (
        f" (a random sample of {info['queries']} of {info['queries_in_split']}, seed 0)" if info.get("sampled") else ""
    )
    return [
        f"{info['queries']} queries{sampled} of split `{info['split']}`, {info['judgments']} judgments, "
        f"{info['documents']} documents; units indexed: "
        + ", ".join(f"{n} at {g} level" for g, n in info["units"].items())
        + f"; model `{info['model']}`{_encoder_note(info)}.",
        "",
        f"Title: {info['title']}. Each query retrieves {info['depth']} units ({info['candidates']} candidates per retriever) "
        f"through the product's `Retriever`; documents are ranked by aggregation of their sentences' scores, "
        f"top {info['documents_per_query']} kept. Aggregations: "
        + "; ".join(f"`{k}`: {v}" for k, v in info["aggregation"].items())
        + ".",
    ]


def _comparison_section(result: EvalResult) -> list[str]:
    """The comparison table of all modes, its legend and the two ranking plots."""
    return [
        "",
        "## Comparison",
        "",
        markdown_table(result),
        "",
        legend(result).replace("\n", "  \n"),
        f"  \nΔ and p: mean per-query difference of {HEADERS[PRIMARY_METRIC]} from the current default, two-sided paired t-test.",
        "",
        "![nDCG@10 per mode](ndcg_at_10.png)",
        "",
        "![recall at k](recall_at_k.png)",
        "",
    ]


def _calibrated_thresholds_table(result: EvalResult, a: AbstentionResult) -> list[str]:
    """How the threshold is calibrated, and per mode the calibrated threshold with its scores."""
    lines = [
        "An answer abstains when no retrieved quote has cosine similarity ≥ threshold with the question. "
        "Calibrated threshold per mode: best accuracy (share of questions handled right), then best balanced "
        "accuracy (mean of the answer rate on answerable and the abstention rate on unanswerable questions), "
        "then the middle of the widest gap; scored with real `ask` calls at that threshold."
    ]
    lines += [
        "",
        "| mode | calibrated threshold | accuracy | balanced accuracy | answerable answered | unanswerable abstained |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, p in a.calibrated.items():
        lines.append(
            f"| `{name}{mode_marks(result, name)}` | {threshold_text(p.threshold)} | {_fmt(p.accuracy)} | {_fmt(p.balanced_accuracy)} | {_fmt(p.answered)} | {_fmt(p.abstained)} |"
        )
    lines.append("")
    return lines


def _evalset_threshold_sweeps(result: EvalResult, a: AbstentionResult) -> list[str]:
    """Per threshold, the abstention scores of the default and the best mode."""
    lines: list[str] = []
    shown = list(dict.fromkeys(m for m in (result.default_mode, result.best_mode) if m in a.sweeps))
    for name in shown:
        lines += [f"Per threshold, `{name}`:", ""]
        lines += [
            "| threshold | accuracy | balanced | answerable answered | unanswerable abstained |",
            "|---:|---:|---:|---:|---:|",
        ]
        for p in a.sweeps[name]:
            lines.append(
                f"| {p.threshold:.2f} | {_fmt(p.accuracy)} | {_fmt(p.balanced_accuracy)} | {_fmt(p.answered)} | {_fmt(p.abstained)} |"
            )
        lines.append("")
    return lines


def _beir_answered_sweep(result: EvalResult, a: AbstentionResult) -> list[str]:
    """Per threshold, the share of (all answerable) queries each mode answers."""
    names = list(a.sweeps)
    lines = ["Every query here is answerable: the share that `Assistant.ask` (k = 6) answers at each threshold."]
    lines += [
        "",
        "| threshold | " + " | ".join(f"`{n}{mode_marks(result, n)}`" for n in names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    for i, p in enumerate(a.sweeps[names[0]]):
        lines.append(f"| {p.threshold:.2f} | " + " | ".join(_fmt(a.sweeps[n][i].answered) for n in names) + " |")
    lines.append("")
    return lines


def _abstention_section(result: EvalResult, a: AbstentionResult) -> list[str]:
    """The abstention section: calibration and threshold sweeps, then the abstention plot."""
    lines = ["## Abstention", ""]
    if result.kind == "evalset":
        lines += _calibrated_thresholds_table(result, a)
        lines += _evalset_threshold_sweeps(result, a)
    else:
        lines += _beir_answered_sweep(result, a)
    lines += ["![abstention](abstention.png)", ""]
    return lines


def report_markdown(result: EvalResult) -> str:
    info = result.info
    lines = [f"# Retrieval evaluation: {result.dataset}", ""]
    lines += _evalset_intro(info) if result.kind == "evalset" else _beir_intro(info)
    lines += _comparison_section(result)
    if result.abstention is not None:
        lines += _abstention_section(result, result.abstention)
    lines += [
        "Per-query drill-down: [per_query.md](per_query.md) (all modes: `per_query.csv`); machine-readable: `results.json`.",
        "",
    ]
    lines.append(f"Run time {info.get('seconds')} s.")
    return "\n".join(lines) + "\n"


def write_report(result: EvalResult, directory: str | Path, runs: bool = False) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.md").write_text(report_markdown(result), encoding="utf-8")
    max_rows = 40 if len(result.qrels) > 100 else None
    (directory / "per_query.md").write_text(per_query_markdown(result, max_rows), encoding="utf-8")
    write_per_query_csv(result, directory / "per_query.csv")
    (directory / "results.json").write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    plot_ndcg(result, directory / "ndcg_at_10.png")
    plot_recall(result, directory / "recall_at_k.png")
    if result.abstention is not None:
        plot_abstention(result, directory / "abstention.png")
    if runs:
        write_trec(result, directory / "runs")
    return directory
