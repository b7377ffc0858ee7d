"""The timeline on the UN General Debate: are the right sessions counted, and what does it cost?

    # the speeches of ten states, 1992-2019 (279 speeches), indexed with the real model
    .venv/bin/python eval/datasets/ungdc.py --out /tmp/ungdc-pairs --years 1992-2019 \\
        --countries ARM,AZE,IND,PAK,MAR,DZA,GEO,RUS,GRC,TUR
    qa-assistant index /tmp/ungdc-pairs --index /tmp/pairs-index
    .venv/bin/python eval/timeline_eval.py judge --corpus /tmp/ungdc-pairs        # (re)write the judged sessions
    .venv/bin/python eval/timeline_eval.py sessions --index /tmp/pairs-index       # counted vs judged sessions
    .venv/bin/python eval/timeline_eval.py cost --index /tmp/pairs-index --rounds 5   # time with and without
    .venv/bin/python eval/timeline_eval.py cost --index /tmp/scale-real/index --scale   # the whole collection
    .venv/bin/python eval/timeline_eval.py cost --index /tmp/pairs-index --replicate 1138753 --faiss ivf \
        --vectors float16                                     # the same at the size of the whole collection

Judgments (eval/timeline_questions.jsonl): for each question, two sides and the words that name its topic
(chosen by hand: "Karabakh", "Karabagh", "Artsakh" for Nagorno-Karabakh); a side's speech of a session mentions
the topic when one of those words is in it (whole word, any case). `judge` writes, per side, the sessions (years)
whose speech mentions the topic, and the sessions in which the side spoke at all.
`sessions` asks each question with its timeline and compares, per side, the years the timeline counts with the
judged ones: precision, recall and agreement over the years the side spoke (a year counted and judged, or
neither). A year counted but not judged is a speech with a statement the answer may quote (similar enough to the
topic, or holding its words) that names it by none of the words; a year judged but not counted, a mention that
the relevance rule does not let the answer quote.
`--replicate N` (cost) makes, in memory, an index of N sentences out of the given one: its documents, sentences,
speakers, BM25 weights and real vectors repeated (each copy's vectors moved by a little noise, renormalized, so
that copies are not identical points), with a vector index of the kind and storage given (the whole collection's
in eval/results/scale.md: IVF, float16). Encoding the 1.14 M sentences of the whole collection takes hours on two
cores, and its build with stand-in vectors (eval/bench_scale.py) has random vectors: no sentence is similar to a
question, so the timeline would find almost nothing to count. A replicated index has real similarities; every
relevant statement appears N / n times, so it counts many more statements per question than the real collection
would for these questions (its other 180 states rarely speak of Kashmir): an upper bound of the cost.
`cost` asks the same questions (and those of eval/ungdc.jsonl) alternately with and without the timeline, each
question encoded before (the encoding is cached, so both variants pay the same; the range searches an ask keeps
are dropped before the next, so neither variant reads its searches from the other's), and prints the timeline's
time and its share of the answer's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "timeline_questions.jsonl"
# asked beside QUESTIONS by `cost` and `dump`: the UN set, and questions of other kinds (one side, topics alone, a
# period, every side) for the whole collection
MORE_QUESTIONS = [HERE / "ungdc.jsonl", HERE / "timeline_cost_questions.jsonl"]


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def judge(corpus: Path, path: Path = QUESTIONS) -> None:
    """Write each question's judged sessions per side from the speeches of `corpus`."""
    with (corpus / "metadata.csv").open(encoding="utf-8-sig", newline="") as handle:
        speeches = [(row["side"], row["date"][:4], corpus / row["file"]) for row in csv.DictReader(handle)]
    questions = load_questions(path)
    for question in questions:
        words = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in question["terms"]) + r")\b", re.IGNORECASE)
        question["spoke"], question["judged"] = {}, {}
        for side in question["sides"]:
            years = sorted(year for s, year, _ in speeches if s == side)
            mentioned = sorted(
                year for s, year, file in speeches if s == side and words.search(file.read_text(encoding="utf-8"))
            )
            question["spoke"][side], question["judged"][side] = years, mentioned
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions), encoding="utf-8")
    for question in questions:
        print(question["id"], {side: len(years) for side, years in question["judged"].items()})


def sessions(index: Path, report: Path | None, thresholds: list[float | None]) -> None:
    from qa_assistant import Assistant

    assistant = Assistant.load(index)
    text = "\n\n".join(session_table(assistant, threshold) for threshold in thresholds)
    print(text)
    if report:
        report.write_text(text + "\n", encoding="utf-8")


def session_table(assistant, threshold: float | None) -> str:
    """The table of counted vs judged sessions with `min_similarity` = `threshold` (None: the default)."""
    used = threshold if threshold is not None else assistant.min_similarity
    lines = [
        f"min_similarity {used:.2f} (quotes and timeline down to {used - 0.08:.2f})",
        "",
        "| question | side | judged sessions | counted | both | precision | recall | agreement | counted, not judged | judged, not counted |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    totals = {"judged": 0, "counted": 0, "both": 0, "agree": 0, "years": 0}
    for question in load_questions():
        answer = assistant.ask(question["question"], sides=question["sides"], min_similarity=threshold)
        timeline = answer.timeline
        assert timeline is not None and timeline.granularity == "year", question["id"]
        by_side = {row.side: {cell.period for cell in row.cells} for row in timeline.rows}
        for side in question["sides"]:
            spoke = set(question["spoke"][side])
            judged, counted = set(question["judged"][side]), by_side.get(side, set()) & spoke
            both = judged & counted
            agree = sum((year in judged) == (year in counted) for year in spoke)
            precision = len(both) / len(counted) if counted else float("nan")
            recall = len(both) / len(judged) if judged else float("nan")
            totals["judged"] += len(judged)
            totals["counted"] += len(counted)
            totals["both"] += len(both)
            totals["agree"] += agree
            totals["years"] += len(spoke)
            lines.append(
                f"| {question['id']} | {side} | {len(judged)} | {len(counted)} | {len(both)} | {precision:.2f} | "
                f"{recall:.2f} | {agree}/{len(spoke)} | {', '.join(sorted(counted - judged)) or '–'} | "
                f"{', '.join(sorted(judged - counted)) or '–'} |"
            )
    lines.append(
        f"| **all** | | {totals['judged']} | {totals['counted']} | {totals['both']} | "
        f"{totals['both'] / max(1, totals['counted']):.2f} | {totals['both'] / max(1, totals['judged']):.2f} | "
        f"{totals['agree']}/{totals['years']} | | |"
    )
    return "\n".join(lines)


def asked_questions(extra: Sequence[Path] = ()) -> list[tuple[str, str, dict]]:
    """(id, question, keywords of `ask`) of the timeline questions (their two sides) and of each of `extra`
    (eval/ungdc.jsonl-style files: each question with its own filters, as the evaluation asks it — its "sides" are
    judgments, not filters —, its kind under "kind")."""
    asked = [(q["id"], q["question"], {"sides": q["sides"], "kind": "timeline-two-sides"}) for q in load_questions()]
    for path in extra:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                options = {key: record[key] for key in ("filters", "kind") if record.get(key)}
                asked.append((record["id"], record["question"], options))
    return asked


def options_of(options: dict) -> dict:
    """The keywords of `ask` for an entry of `asked_questions` (its filters as a `Filters`)."""
    from qa_assistant.models import Filters

    options = {key: value for key, value in options.items() if key != "kind"}
    return {**options, "filters": Filters(**options["filters"])} if "filters" in options else options


def with_scale_questions(questions: list[tuple[str, str, dict]], scale: bool) -> list[tuple[str, str, dict]]:
    """`questions`, and with `scale` the scale benchmark's questions of the whole collection after them
    (eval/scale_questions.py, beside this)."""
    if not scale:
        return questions
    from scale_questions import scale_questions

    return questions + [(f"scale-{n}", q, {"kind": f"scale: {k}"}) for n, (k, q) in enumerate(scale_questions())]


def dump(index: Path, extra: Sequence[Path], out: Path, against: Path | None, scale: bool = False) -> int:
    """Write each question's timeline (its JSON), the answer's notes (which name what the timeline counts) and its
    quotes to `out`, one line per question (with `scale`, the scale questions too); with `against`, compare with an
    earlier dump: 1 when any line differs."""
    from qa_assistant import Assistant

    assistant = Assistant.load(index)
    lines = []
    for question_id, question, options in with_scale_questions(asked_questions(extra), scale):
        answer = assistant.ask(question, **options_of(options))
        timeline = answer.timeline.model_dump(mode="json") if answer.timeline is not None else None
        quotes = [
            [q.doc_id, q.start, q.end, round(q.score, 6), q.dense_score and round(q.dense_score, 6)]
            for q in answer.quotes
        ]
        record = {"id": question_id, "timeline": timeline, "notes": answer.notes, "quotes": quotes}
        lines.append(json.dumps(record, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counted = sum(1 for line in lines if json.loads(line)["timeline"] is not None)
    print(f"{len(lines)} questions, {counted} with a timeline -> {out}")
    if against is None:
        return 0
    before = against.read_text(encoding="utf-8").splitlines()
    differ = [json.loads(line)["id"] for line, old in zip(lines, before) if line != old]
    if len(before) != len(lines):
        differ.append(f"({len(before)} questions before, {len(lines)} now)")
    print(f"against {against}: " + ("identical" if not differ else f"{len(differ)} differ: {', '.join(differ)}"))
    return 1 if differ else 0


def replicated(index_dir: Path, target: int, kind: str, storage: str):
    """An in-memory `Assistant` over `target` sentences made of copies of the index at `index_dir`."""
    import numpy as np
    import scipy.sparse as sp

    from qa_assistant import Assistant
    from qa_assistant.backends.local.bm25 import BM25Index
    from qa_assistant.backends.local.dense import DenseIndex
    from qa_assistant.index.labels import SentenceLabels
    from qa_assistant.index.store import SentenceIndex, SentenceTable, load_index

    base = load_index(index_dir)
    n, docs = len(base.sentences), len(base.documents)
    copies = -(-target // n)
    started = time.perf_counter()

    class Tiled(Sequence):  # the base's attributions, sentence i of copy c is base sentence i
        def __len__(self) -> int:
            return n * copies

        def __getitem__(self, i):  # type: ignore[override]
            return base.attributions[i % n]

    def tiled_bm25(part: BM25Index) -> BM25Index:
        scores = part.model.scores
        matrix = sp.csc_matrix(
            (scores["data"], scores["indices"], scores["indptr"]), shape=(n, len(scores["indptr"]) - 1)
        )
        matrix = sp.csc_matrix(sp.vstack([matrix] * copies, format="csr"))
        matrix.sort_indices()
        model = part.model
        model.scores = {
            "data": matrix.data.astype(np.float32),
            "indices": matrix.indices.astype(np.int32),
            "indptr": matrix.indptr.astype(np.int64),
            "num_docs": n * copies,
        }
        return part

    documents = [
        doc if c == 0 else doc.model_copy(update={"id": f"copy{c}/{doc.id}"})
        for c in range(copies)
        for doc in base.documents
    ]
    table = base.sentences
    cluster = table.cluster if table.cluster is not None else np.arange(n)
    span = int(cluster.max()) + 1
    sentences = SentenceTable(
        np.concatenate([table.doc_index + c * docs for c in range(copies)]),
        np.tile(table.start, copies),
        np.tile(table.end, copies),
        np.concatenate([cluster + c * span for c in range(copies)]),
    )
    labels = base.labels
    labels = SentenceLabels(
        np.tile(labels.side, copies),
        labels.side_names,
        np.tile(labels.speaker, copies),
        labels.speaker_names,
        np.tile(labels.source, copies),
        labels.source_names,
    )
    vectors = base.dense.index.reconstruct_n(0, n)
    rng = np.random.default_rng(0)
    parts = [vectors]
    for _ in range(1, copies):
        moved = vectors + rng.normal(0.0, 0.01, vectors.shape).astype(np.float32)
        parts.append(moved / np.linalg.norm(moved, axis=1, keepdims=True))
    all_vectors = np.concatenate(parts)
    del parts
    print(
        f"replicating {n:,} sentences x {copies} = {n * copies:,}: tables {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    dense = DenseIndex.build(all_vectors, kind, storage)
    del all_vectors
    print(f"  + vector index ({kind}, {storage}) {time.perf_counter() - started:.0f} s", flush=True)
    manifest = base.manifest.model_copy(
        update={"sentences": n * copies, "documents": docs * copies, "faiss_kind": kind, "vectors": storage}
    )
    index = SentenceIndex(
        manifest,
        documents,
        sentences,
        base.sides,
        base.skipped,
        tiled_bm25(base.bm25),
        dense,
        Tiled(),
        tiled_bm25(base.bm25_context) if base.bm25_context is not None else None,
        precomputed_labels=labels,
    )
    return Assistant(index)


def machine() -> str:
    """The CPU (`lscpu` model name, and whether it has AVX2 / AVX-512) and the load average, for the report."""
    flags = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", flags)
    simd = [name for name in ("avx2", "avx512f", "avx512_vnni") if re.search(rf"\b{name}\b", flags)]
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"CPU {model.group(1) if model else '?'} x {os.cpu_count()} ({', '.join(simd)}); load average {load}"


def cost(
    index: Path,
    rounds: int,
    extra: Sequence[Path],
    replicate: int = 0,
    kind: str = "ivf",
    storage: str = "float16",
    scale: bool = False,
) -> None:
    from qa_assistant import Assistant

    print(machine(), flush=True)
    started = time.perf_counter()
    assistant = replicated(index, replicate, kind, storage) if replicate else Assistant.load(index, warm=True)
    manifest = assistant.manifest
    print(
        f"loaded {manifest.sentences:,} sentences ({manifest.faiss_kind}, {manifest.vectors}, {manifest.encoder}) "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    questions = with_scale_questions(asked_questions(extra), scale)
    answered = []
    for question_id, question, options in questions:  # encoded once: both variants then find it in the query cache
        if assistant.ask(question, **options_of(options)).timeline is not None:
            answered.append((question_id, question, options))
    print(
        f"{len(answered)} of {len(questions)} questions searched (the others abstain before searching: a name no "
        "document of this index mentions) — timed"
    )
    timed = time_alternately(assistant, answered, rounds)
    report_cost(timed, rounds)
    print(machine())


def forget_ranges(assistant) -> None:
    """Each ask as if the question were asked once: the range searches an earlier ask of it kept are dropped (the
    ask without the timeline right after the one with it would read its vector searches from that one's range)."""
    dense = getattr(assistant.index, "dense", None)
    if dense is not None:
        dense.forget_ranges()


def time_alternately(assistant, questions: list[tuple[str, str, dict]], rounds: int) -> list[dict]:
    """Each question asked with and without the timeline, in turn (which first alternates by round and question):
    per ask its kind, the answer's time with and without, the timeline's time and the statements it counted."""
    timed = []
    for round_ in range(rounds):
        for number, (_, question, options) in enumerate(questions):
            record = {"kind": options.get("kind", "?")}
            variants = (True, False) if (round_ + number) % 2 == 0 else (False, True)
            for timeline in variants:
                forget_ranges(assistant)
                answer = assistant.ask(question, timeline=timeline, **options_of(options))
                if timeline:
                    record["with"] = answer.timings.total_ms
                    record["timeline"] = answer.timings.timeline_ms
                    tl = answer.timeline  # None when the answer abstained before searching (a name no document has)
                    record["counted"] = sum(row.count for row in tl.rows) + tl.undated.count if tl is not None else 0
                else:
                    record["without"] = answer.timings.total_ms
            timed.append(record)
    return timed


def quantile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100)[int(share * 100) - 1] if len(values) > 1 else values[0]


def report_cost(timed: list[dict], rounds: int) -> None:
    """Print the times of `time_alternately`: p50 / p95 with and without, the ratio, per kind of question too."""
    questions = len(timed) // max(1, rounds)
    print(f"{questions} questions x {rounds} rounds, each asked with and without the timeline alternately")
    counted = [r["counted"] for r in timed]
    print(f"statements counted per answer: median {statistics.median(counted):.0f}, max {max(counted)}")
    for name, key in (("answer with timeline", "with"), ("answer without", "without"), ("timeline", "timeline")):
        values = [r[key] for r in timed]
        print(
            f"{name:>22}: p50 {quantile(values, 0.5):7.1f} ms   p95 {quantile(values, 0.95):7.1f} ms   "
            f"mean {statistics.mean(values):7.1f} ms"
        )
    with_ms, without_ms = [r["with"] for r in timed], [r["without"] for r in timed]
    shares = [r["timeline"] / (r["with"] - r["timeline"]) for r in timed if r["with"] > r["timeline"]]
    print(
        f"timeline / rest of the answer (same ask): median {statistics.median(shares):.1%}, "
        f"p95 {quantile(shares, 0.95):.1%}; p50 with / p50 without: "
        f"{quantile(with_ms, 0.5) / quantile(without_ms, 0.5):.3f}; p95 with / p95 without: "
        f"{quantile(with_ms, 0.95) / quantile(without_ms, 0.95):.3f}"
    )
    added = [(r["with"] - r["without"]) / r["without"] for r in timed if r["without"] > 0]
    print(
        f"time added (with - without) / without, per ask: median {statistics.median(added):.1%}, "
        f"p95 {quantile(added, 0.95):.1%}; (p50 with - p50 without) / p50 without: "
        f"{quantile(with_ms, 0.5) / quantile(without_ms, 0.5) - 1:.1%}"
    )
    print("per kind: asks, p50 with / without (ms), ratio, median statements counted")
    for kind in sorted({r["kind"] for r in timed}):
        mine = [r for r in timed if r["kind"] == kind]
        w, wo = statistics.median(r["with"] for r in mine), statistics.median(r["without"] for r in mine)
        print(
            f"  {kind:>20}: {len(mine):4d}  {w:7.1f} / {wo:7.1f}  {w / wo:5.2f}  "
            f"{statistics.median(r['counted'] for r in mine):.0f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    judged = sub.add_parser("judge", help="write the judged sessions of each question from the corpus")
    judged.add_argument("--corpus", type=Path, required=True)
    counted = sub.add_parser("sessions", help="counted sessions against the judged ones")
    counted.add_argument("--index", type=Path, required=True)
    counted.add_argument("--report", type=Path, help="also write the table (markdown) here")
    counted.add_argument(
        "--min-similarity", default="", help="comma-separated thresholds to compare (default: the assistant's)"
    )
    dumped = sub.add_parser("dump", help="write every question's timeline; compare with an earlier dump")
    dumped.add_argument("--index", type=Path, required=True)
    dumped.add_argument("--questions", type=Path, nargs="*", default=MORE_QUESTIONS, help="more questions (JSONL)")
    dumped.add_argument("--out", type=Path, required=True)
    dumped.add_argument("--against", type=Path, help="an earlier dump: exit 1 when a timeline differs")
    dumped.add_argument("--scale", action="store_true", help="also the 125 questions of eval/scale_questions.py")
    timed = sub.add_parser("cost", help="time of ask with and without the timeline")
    timed.add_argument("--index", type=Path, required=True)
    timed.add_argument("--rounds", type=int, default=3)
    timed.add_argument("--questions", type=Path, nargs="*", default=MORE_QUESTIONS, help="more questions (JSONL)")
    timed.add_argument("--replicate", type=int, default=0, help="copy the index up to this many sentences (above)")
    timed.add_argument("--faiss", default="ivf", choices=["flat", "hnsw", "ivf"], help="with --replicate")
    timed.add_argument("--vectors", default="float16", choices=["float32", "float16", "int8"], help="with --replicate")
    timed.add_argument("--scale", action="store_true", help="also the 125 questions of eval/scale_questions.py")
    args = parser.parse_args()
    if args.command == "judge":
        judge(args.corpus)
    elif args.command == "sessions":
        thresholds = [float(v) for v in args.min_similarity.split(",") if v.strip()] or [None]
        sessions(args.index, args.report, thresholds)
    elif args.command == "dump":
        return dump(args.index, args.questions, args.out, args.against, args.scale)
    else:
        cost(args.index, args.rounds, args.questions, args.replicate, args.faiss, args.vectors, args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
