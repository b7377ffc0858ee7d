"""PNG plots of an `EvalResult`, and which of its modes to show in plots and drill-downs.

ndcg_at_10.png   nDCG@10 per mode
recall_at_k.png  recall@k curves of the main modes
abstention.png   abstention accuracy against the threshold, and the similarities it is chosen from
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from qa_assistant.evaluation.metrics import CURVE_KS
from qa_assistant.evaluation.results import (
    PRIMARY_METRIC,
    AbstentionResult,
    EvalResult,
    ModeResult,
    key_modes,
    mode_marks,
    threshold_text,
)

# ---------------------------------------------------------------- plots


def _family_color(mode: ModeResult) -> str:
    if mode.config.mode == "bm25":
        return "#4C72B0"
    if mode.config.mode == "dense":
        return "#DD8452"
    return {"rrf": "#55A868", "adaptive": "#8172B3"}.get(mode.config.fusion, "#C44E52")


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
    ax.set_yticklabels([f"{m.name}{mode_marks(result, m.name)}" for m in modes], fontsize=9)
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
            label=f"{name}{mode_marks(result, name)}",
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


def _plot_accuracy_by_threshold(left: Any, result: EvalResult, a: AbstentionResult, shown: list[str]) -> None:
    """Left panel: accuracy (eval sets) or share answered (BEIR) against the threshold, with the thresholds marked."""
    thresholds = [i / 100 for i in range(0, 81)]
    from qa_assistant.evaluation.metrics import abstention_at

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
                label=f"calibrated ({name}) {threshold_text(a.calibrated[name].threshold)}",
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


def _plot_best_similarities(right: Any, result: EvalResult, a: AbstentionResult, name: str) -> None:
    """Right panel: the best quote similarity per question of one mode, with the thresholds marked."""
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


def plot_abstention(result: EvalResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = result.abstention
    assert a is not None
    shown = [m for m in (result.default_mode, result.best_mode) if m in a.best_similarity]
    shown = list(dict.fromkeys(shown)) or list(a.best_similarity)[:1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    _plot_accuracy_by_threshold(left, result, a, shown)
    _plot_best_similarities(right, result, a, shown[0])
    fig.suptitle(f"{result.dataset}: abstention", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
