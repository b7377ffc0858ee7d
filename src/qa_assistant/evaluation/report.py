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

import csv
import json
import math
from pathlib import Path

import numpy as np

from .metrics import CURVE_KS, quiet_ranx
from .pipeline import (
    ABSTENTION,
    ABSTENTION_BALANCED,
    ANSWER_RECALL,
    ANSWER_SIDE_COVERAGE,
    ANSWER_SIDE_PRECISION,
    DATES_KEPT,
    PRIMARY_METRIC,
    SHORT_QUOTES,
    SIDE_COVERAGE,
    VERBATIM,
    EvalResult,
    ModeResult,
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
    ANSWER_SIDE_PRECISION: "Ans side prec",
    ANSWER_SIDE_COVERAGE: "Ans side cov",
    DATES_KEPT: "Dates kept",
    SHORT_QUOTES: "Short quotes",
}


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.3f}"


def _threshold(value: float) -> str:
    """0.43, or 0.4345 when the exact value matters."""
    text = f"{value:.4f}".rstrip("0")
    return text + "0" * max(0, 4 - len(text))


def _marks(result: EvalResult, name: str) -> str:
    marks = ""
    if name == result.default_mode:
        marks += "*"
    if name == result.best_mode:
        marks += "+"
    return marks


def table_rows(result: EvalResult) -> tuple[list[str], list[list[str]]]:
    header = ["mode", *(HEADERS.get(c, c) for c in result.columns)]
    rows = []
    for name, mode in result.modes.items():
        rows.append([f"{name}{_marks(result, name)}", *(_fmt(mode.metrics.get(c)) for c in result.columns)])
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
                    f"calibrated abstention threshold for {name}: {_threshold(point.threshold)} (accuracy {point.accuracy:.3f}, "
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


# ---------------------------------------------------------------- which modes to show in plots and drill-downs


def key_modes(result: EvalResult, limit: int = 9) -> list[str]:
    """All modes when few; otherwise bm25, dense, the default, the best RRF and weighted, per granularity."""
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
    add(best(lambda m: m.granularity == "sentence" and m.aggregation not in (None, "max")))
    add(best(lambda m: m.granularity == "window"))
    return chosen[: limit + 2]


# ---------------------------------------------------------------- plots


def _family_color(mode: ModeResult) -> str:
    if mode.config.mode == "bm25":
        return "#4C72B0"
    if mode.config.mode == "dense":
        return "#DD8452"
    return "#55A868" if mode.config.fusion == "rrf" else "#C44E52"


def plot_ndcg(result: EvalResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    modes = sorted(result.modes.values(), key=lambda m: m.metrics.get(PRIMARY_METRIC, 0))
    height = max(3.0, 0.26 * len(modes) + 1.4)
    fig, ax = plt.subplots(figsize=(10, height))
    values = [m.metrics.get(PRIMARY_METRIC, 0) for m in modes]
    bars = ax.barh(range(len(modes)), values, color=[_family_color(m) for m in modes])
    for bar, mode in zip(bars, modes):
        if mode.granularity == "document":
            bar.set_hatch("///")
            bar.set_alpha(0.6)
        elif mode.granularity == "window":
            bar.set_hatch("xx")
            bar.set_alpha(0.8)
        elif mode.aggregation not in (None, "max"):
            bar.set_hatch("..")
    ax.set_yticks(range(len(modes)))
    ax.set_yticklabels([f"{m.name}{_marks(result, m.name)}" for m in modes], fontsize=9)
    low = max(0.0, math.floor((min(values + [1.0]) - 0.05) * 20) / 20)  # axis from a round value below the worst
    high = min(1.0, max(values + [0.1]) + (max(values + [0.1]) - low) * 0.12)
    ax.set_xlim(low, high)
    for i, v in enumerate(values):
        ax.text(v + (high - low) * 0.006, i, f"{v:.3f}", va="center", fontsize=8)
    ax.set_ylim(-0.6, len(modes) - 0.4)
    ax.set_xlabel("nDCG@10" + (f" (axis starts at {low:.2f})" if low > 0 else ""))
    ax.set_title(f"{result.dataset}: nDCG@10 per mode (* current default, + best)", fontsize=11)
    handles = [
        Patch(color="#4C72B0", label="BM25"),
        Patch(color="#DD8452", label="dense"),
        Patch(color="#55A868", label="hybrid RRF"),
        Patch(color="#C44E52", label="hybrid weighted"),
    ]
    if any(m.granularity == "document" for m in modes):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label="whole-document index"))
    if any(m.granularity == "window" for m in modes):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="xx", label="3-sentence windows"))
    if any(m.aggregation not in (None, "max") for m in modes):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="..", label="other aggregation"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_recall(result: EvalResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 5.2))
    tab10 = plt.get_cmap("tab10")
    colors = [tab10(i) for i in range(tab10.N)] + ["black", "gold", "navy"]
    lowest = 1.0
    for i, name in enumerate(key_modes(result)):
        mode = result.modes[name]
        ks = sorted(mode.curve)
        style = {"document": "--", "window": "-."}.get(
            mode.granularity, ":" if mode.aggregation not in (None, "max") else "-"
        )
        width = 2.4 if name in (result.default_mode, result.best_mode) else 1.4
        lowest = min([lowest, *(mode.curve[k] for k in ks)])
        ax.plot(
            ks,
            [mode.curve[k] for k in ks],
            style,
            marker="o",
            markersize=3,
            linewidth=width,
            label=f"{name}{_marks(result, name)}",
            color=colors[i % len(colors)],
        )
    ax.set_xscale("log")
    ax.set_xticks(list(CURVE_KS))
    ax.set_xticklabels([str(k) for k in CURVE_KS])
    ax.set_xlabel("k (documents)" if result.kind == "beir" else "k (sentences)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(max(0.0, math.floor(lowest * 10) / 10 - 0.05), 1.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"{result.dataset}: recall at k", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_abstention(result: EvalResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = result.abstention
    assert a is not None
    shown = [m for m in (result.default_mode, result.best_mode) if m in a.best_similarity]
    shown = list(dict.fromkeys(shown)) or list(a.best_similarity)[:1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    thresholds = [i / 100 for i in range(0, 81)]
    from .metrics import abstention_at

    for name in shown:
        points = [abstention_at(a.best_similarity[name], a.answerable, t) for t in thresholds]
        if result.kind == "evalset":
            left.plot(thresholds, [p.accuracy for p in points], label=f"{name}: accuracy")
            left.plot(thresholds, [p.balanced_accuracy for p in points], "--", label=f"{name}: balanced accuracy")
        else:
            left.plot(thresholds, [p.answered for p in points], label=f"{name}: share answered")
    left.axvline(a.threshold_in_use, color="grey", linestyle=":", label=f"in use {a.threshold_in_use:.2f}")
    for name in shown:
        if name in a.calibrated:
            left.axvline(
                a.calibrated[name].threshold,
                color="black",
                linestyle="-.",
                label=f"calibrated ({name}) {_threshold(a.calibrated[name].threshold)}",
            )
            break
    left.set_xlabel("abstention threshold (cosine similarity)")
    left.set_ylim(0, 1.02)
    left.grid(alpha=0.3)
    left.legend(fontsize=7, loc="lower left")
    left.set_title(
        "abstention accuracy vs threshold" if result.kind == "evalset" else "answerable queries answered vs threshold",
        fontsize=10,
    )
    name = shown[0]
    values = a.best_similarity[name]
    if result.kind == "evalset":
        groups = [
            ("answerable", [v for q, v in values.items() if a.answerable[q]]),
            ("unanswerable", [v for q, v in values.items() if not a.answerable[q]]),
        ]
        for i, (label, vals) in enumerate(groups):
            jitter = [i + 0.08 * ((j * 7919) % 11 - 5) / 5 for j in range(len(vals))]
            right.scatter(vals, jitter, s=18, alpha=0.7, label=f"{label} ({len(vals)})")
        right.set_yticks([0, 1])
        right.set_yticklabels(["answerable", "unanswerable"])
        right.set_ylim(-0.6, 1.6)
    else:
        right.hist([v for v in values.values() if math.isfinite(v)], bins=40, color="#4C72B0")
        right.set_ylabel("queries")
    right.axvline(a.threshold_in_use, color="grey", linestyle=":")
    if name in a.calibrated:
        right.axvline(a.calibrated[name].threshold, color="black", linestyle="-.")
    right.set_xlabel(f"best quote similarity ({name})")
    right.grid(alpha=0.3)
    right.set_title("best quote similarity per question", fontsize=10)
    fig.suptitle(f"{result.dataset}: abstention", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- drill-down


def _rank_text(rank: int | None, depth: int) -> str:
    return str(rank) if rank is not None else f">{depth}"


def per_query_markdown(result: EvalResult, max_rows: int | None = None) -> str:
    modes = key_modes(result)
    depth = result.info.get("documents_per_query") or result.info.get("depth", 100)
    unit = "document" if result.kind == "beir" else "passage"
    lines = [f"# {result.dataset}: per-query drill-down", ""]
    lines.append(
        f"Rank of the first relevant {unit} per mode (`>{depth}`: not retrieved within {depth}). "
        f"Modes shown: {', '.join(f'`{m}`' for m in modes)}. All modes are in `per_query.csv`."
    )
    lines.append("")
    lines.append("## Questions each mode misses (no relevant item in the top 10)")
    lines.append("")
    limit = max_rows or 10**9
    for name in modes:
        mode = result.modes[name]
        missed = [
            (q, row)
            for q, row in mode.per_query.items()
            if q in result.qrels and (row.get("first_rank") is None or row["first_rank"] > 10)
        ]
        lines.append(f"### `{name}` misses {len(missed)} of {len(result.qrels)}")
        lines.append("")
        for q, row in missed[:limit]:
            lines.append(f"- `{q}` (first relevant at {_rank_text(row.get('first_rank'), depth)}): {result.queries[q]}")
        if len(missed) > limit:
            lines.append(f"- … {len(missed) - limit} more in per_query.csv")
        lines.append("")
    lines.append("## First relevant rank per question")
    lines.append("")
    judged = list(result.qrels)
    if max_rows and len(judged) > max_rows:

        def spread(q: str) -> int:
            hits = [(result.modes[m].per_query.get(q, {}).get("first_rank") or 10**6) <= 10 for m in modes]
            return sum(hits)

        disagreeing = [q for q in judged if 0 < spread(q) < len(modes)]
        lines.append(
            f"Only the {min(max_rows, len(disagreeing))} first of the {len(disagreeing)} queries that some of these modes answer in the top 10 and others miss."
        )
        lines.append("")
        judged = disagreeing[:max_rows]
    lines.append("| id | question | " + " | ".join(f"`{m}`" for m in modes) + " |")
    lines.append("|---|---|" + "---:|" * len(modes))
    for q in judged:
        cells = [_rank_text(result.modes[m].per_query.get(q, {}).get("first_rank"), depth) for m in modes]
        text = result.queries[q].replace("|", "\\|")
        if len(text) > 90:
            text = text[:87] + "…"
        kind = f" ({result.labels[q]})" if result.labels.get(q) else ""
        lines.append(f"| `{q}`{kind} | {text} | " + " | ".join(cells) + " |")
    lines.append("")
    a = result.abstention
    if a is not None and result.kind == "evalset":
        name = result.best_mode
        t_cal = a.calibrated[name].threshold
        lines.append(f"## Abstention per question (`{name}`)")
        lines.append("")
        lines.append(
            f"Best quote similarity of `ask` (k={result.info.get('ask_k')}); abstains when below the threshold. "
            f"Threshold in use {_threshold(a.threshold_in_use)}, calibrated {_threshold(t_cal)}."
        )
        lines.append("")
        lines.append("| id | answerable | best similarity | abstains at in-use | abstains at calibrated | question |")
        lines.append("|---|---|---:|---|---|---|")
        for q, best in sorted(a.best_similarity[name].items(), key=lambda item: item[1]):
            in_use = _abstention_cell(best < a.threshold_in_use, a.answerable[q])
            calibrated = _abstention_cell(best < t_cal, a.answerable[q])
            answerable = "yes" if a.answerable[q] else "no"
            lines.append(f"| `{q}` | {answerable} | {best:.3f} | {in_use} | {calibrated} | {result.queries[q]} |")
        lines.append("")
        lines.append("✗ marks a wrong outcome.")
    return "\n".join(lines) + "\n"


def write_per_query_csv(result: EvalResult, path: Path) -> None:
    columns = [
        "query_id",
        "mode",
        "first_rank",
        "ndcg@10",
        "recall@10",
        "recall@100",
        "side_coverage@10",
        "best_similarity",
        "abstains",
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for name, mode in result.modes.items():
            for q, row in mode.per_query.items():
                values = [q, name] + [row.get(c) for c in columns[2:]]
                writer.writerow(["" if v is None else (f"{v:.4f}" if isinstance(v, float) else v) for v in values])


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


def report_markdown(result: EvalResult) -> str:
    info = result.info
    lines = [f"# Retrieval evaluation: {result.dataset}", ""]
    if result.kind == "evalset":
        lines.append(
            f"{info['questions']} questions ({info['answerable']} answerable with {info['relevant_passages']} relevant passages, "
            f"{info['unanswerable']} unanswerable, {info['with_expected_sides']} with expected sides) over "
            f"{info['documents']} documents / {info['sentences']} sentences; model `{info['model']}`"
            f"{_encoder_note(info)}."
        )
        lines.append("")
        lines.append(
            f"Relevance: {info['relevance_rule']}. Ranking metrics by ranx over the answerable questions; "
            f"runs cut at {info['depth']} sentences, {info['candidates']} candidates per retriever. "
            f"Side coverage@10: share of a question's expected sides among the sides of its top 10 sentences. "
            f"Abstention and verbatim rate: `Assistant.ask` with k={info['ask_k']}."
        )
    else:
        sampled = (
            f" (a random sample of {info['queries']} of {info['queries_in_split']}, seed 0)"
            if info.get("sampled")
            else ""
        )
        lines.append(
            f"{info['queries']} queries{sampled} of split `{info['split']}`, {info['judgments']} judgments, "
            f"{info['documents']} documents; units indexed: "
            + ", ".join(f"{n} at {g} level" for g, n in info["units"].items())
            + f"; model `{info['model']}`{_encoder_note(info)}."
        )
        lines.append("")
        lines.append(
            f"Title: {info['title']}. Each query retrieves {info['depth']} units ({info['candidates']} candidates per retriever) "
            f"through the product's `Retriever`; documents are ranked by aggregation of their sentences' scores, "
            f"top {info['documents_per_query']} kept. Aggregations: "
            + "; ".join(f"`{k}`: {v}" for k, v in info["aggregation"].items())
            + "."
        )
    lines += [
        "",
        "## Comparison",
        "",
        markdown_table(result),
        "",
        legend(result).replace("\n", "  \n"),
        f"  \nΔ and p: mean per-query difference of {HEADERS[PRIMARY_METRIC]} from the current default, two-sided paired t-test.",
        "",
    ]
    lines += ["![nDCG@10 per mode](ndcg_at_10.png)", "", "![recall at k](recall_at_k.png)", ""]
    a = result.abstention
    if a is not None:
        lines += ["## Abstention", ""]
        if result.kind == "evalset":
            lines.append(
                "An answer abstains when no retrieved quote has cosine similarity ≥ threshold with the question. "
                "Calibrated threshold per mode: best accuracy (share of questions handled right), then best balanced "
                "accuracy (mean of the answer rate on answerable and the abstention rate on unanswerable questions), "
                "then the middle of the widest gap; scored with real `ask` calls at that threshold."
            )
            lines += [
                "",
                "| mode | calibrated threshold | accuracy | balanced accuracy | answerable answered | unanswerable abstained |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for name, p in a.calibrated.items():
                lines.append(
                    f"| `{name}{_marks(result, name)}` | {_threshold(p.threshold)} | {_fmt(p.accuracy)} | {_fmt(p.balanced_accuracy)} | {_fmt(p.answered)} | {_fmt(p.abstained)} |"
                )
            lines.append("")
        if result.kind == "evalset":
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
        else:
            names = list(a.sweeps)
            lines.append(
                "Every query here is answerable: the share that `Assistant.ask` (k = 6) answers at each threshold."
            )
            lines += [
                "",
                "| threshold | " + " | ".join(f"`{n}{_marks(result, n)}`" for n in names) + " |",
                "|---:|" + "---:|" * len(names),
            ]
            for i, p in enumerate(a.sweeps[names[0]]):
                lines.append(
                    f"| {p.threshold:.2f} | " + " | ".join(_fmt(a.sweeps[n][i].answered) for n in names) + " |"
                )
            lines.append("")
        lines += ["![abstention](abstention.png)", ""]
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


def _abstention_cell(abstains: bool, answerable: bool) -> str:
    """The cell "abstains" or "answers", marked ✗ when that is wrong for the question."""
    return ("abstains" if abstains else "answers") + (" ✗" if abstains == answerable else "")
