"""The per-query drill-down of an `EvalResult`.

per_query.md     which questions each mode misses, the rank of the first relevant item per mode
per_query.csv    one row per (query, mode): first relevant rank, nDCG@10, recalls, similarity
"""

from __future__ import annotations

import csv
from pathlib import Path

from qa_assistant.evaluation.results import AbstentionResult, EvalResult, key_modes, threshold_text

# ---------------------------------------------------------------- drill-down


def _rank_text(rank: int | None, depth: int) -> str:
    return str(rank) if rank is not None else f">{depth}"


def _misses_section(result: EvalResult, modes: list[str], depth: int, max_rows: int | None) -> list[str]:
    """Per mode, the questions with no relevant item in the top 10."""
    lines = ["## Questions each mode misses (no relevant item in the top 10)", ""]
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
    return lines


def _first_rank_section(result: EvalResult, modes: list[str], depth: int, max_rows: int | None) -> list[str]:
    """The rank of the first relevant item per question and mode (with max_rows: only where modes disagree)."""
    lines = ["## First relevant rank per question", ""]
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
    return lines


def _abstention_section(result: EvalResult, a: AbstentionResult) -> list[str]:
    """Per question, the best quote similarity of the best mode and whether it abstains at each threshold."""
    name = result.best_mode
    t_cal = a.calibrated[name].threshold
    lines = [f"## Abstention per question (`{name}`)", ""]
    lines.append(
        f"Best quote similarity of `ask` (k={result.info.get('ask_k')}); abstains when below the threshold. "
        f"Threshold in use {threshold_text(a.threshold_in_use)}, calibrated {threshold_text(t_cal)}."
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
    return lines


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
    lines += _misses_section(result, modes, depth, max_rows)
    lines += _first_rank_section(result, modes, depth, max_rows)
    a = result.abstention
    if a is not None and result.kind == "evalset":
        lines += _abstention_section(result, a)
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


def _abstention_cell(abstains: bool, answerable: bool) -> str:
    """The cell "abstains" or "answers", marked ✗ when that is wrong for the question."""
    return ("abstains" if abstains else "answers") + (" ✗" if abstains == answerable else "")
