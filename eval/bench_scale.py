"""Scale benchmark on the UN General Debate collection: build, update and query an index of up to a million sentences.

    .venv/bin/python eval/datasets/ungdc.py --out /tmp/ungdc                  # the whole collection (9,988 speeches)
    .venv/bin/python eval/bench_scale.py --corpus /tmp/ungdc --work /tmp/scale --report eval/results/scale.md
    .venv/bin/python eval/bench_scale.py --sessions 73,74 --work /tmp/scale-7374  # a quick run on two sessions

Steps, each printed as it ends (and the whole as markdown to --report):
1. build: 10 speeches are held out of a copy of the corpus, then `qa-assistant index` runs on the rest in a child
   process, from scratch (empty vector cache). Each progress line is timed: seconds and sentences/s per stage
   (reading, segmenting, attribution, BM25, encoding, vector index, clustering, writing), the child's peak RSS,
   the index size on disk (and the vector cache's beside it).
2. add 10: the held-out speeches (and their metadata rows) are put back and `qa-assistant index` updates the index;
   then they are removed again, and added again (each an update). (After --skip-build on an index of an earlier
   version, the first update also brings the index to this version's files.)
3. unchanged: `qa-assistant index` again on the same corpus (nothing to do): time and peak RSS.
4. cold start: a new process imports qa_assistant, loads the index (`Assistant.load`) and answers one question.
5. queries: `search` in bm25, dense and hybrid mode and `ask` (hybrid), each with no filter and with a side + date
   filter, over the questions of eval/ungdc.jsonl and eval/sample_questions.py; each question is encoded anew
   (the query cache is emptied), p50/p95 in ms, one query at a time.
6. encoders: sentences/s of torch and of the chosen encoder on the same 2,000 sentences, in this run, so a build
   with another encoder can be projected.
7. clients: `qa-assistant serve` on the index (it reads the index in at load, as the app does) and
   eval/bench_load.py's 20 clients asking the questions of eval/scale_questions.py for 60 s: p50/p95.
`--skip-build` reuses the index of an earlier run in --work (steps 2–7 only when it is there).
`--vector-cache DIR` builds with real vectors without paying the encoding again: the chunks of an earlier run's
vector cache (DIR, e.g. /tmp/scale-real/.index.vectors) are linked into this run's before the build, so the build
looks its sentences' vectors up instead of encoding them (its "encoding" stage is then a lookup; the encoder's own
memory and rate are those of the run that filled the cache). Questions (steps 4, 5, 7) load the index as `serve`
and the app do (`Assistant.load(warm=True)`: the mapped vectors and BM25 arrays read in at load).
`--stand-in-vectors` measures every stage but encoding at full size when encoding the whole collection would take
hours (2 cores): the from-scratch build gives each sentence a stand-in unit vector made from a hash of its text
(equal texts, equal vectors), written to the vector cache like real ones; the encoding time is then projected
from step 6's measured rates and reported as such. Updates (step 2) and questions encode for real, with the real
model; only the answers' contents are meaningless, not their cost.
The machine is shared: the load average is printed with every step.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from sample_questions import QUESTIONS  # eval/sample_questions.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT = 10
RSS_SAMPLE_S = 0.5  # how often the index run's memory is sampled
STAGES = [  # (start of a progress line, stage name)
    ("reading the index in", "reading the earlier index"),
    ("the index in", "checking it is up to date"),
    ("reading the corpus", "reading the corpus"),
    ("since the last build", "reading the corpus"),
    ("segmenting", "segmenting"),
    ("attributing", "attribution"),
    ("finding the dates", "dates spoken of"),
    ("BM25", "BM25"),
    ("encoding", "encoding"),
    ("looking up", "encoding"),
    ("building the", "vector index"),
    ("updating the", "vector index"),
    ("clustering", "clustering"),
    ("writing", "writing"),
]
FILTER_SIDES = ["France", "India", "Brazil", "Nigeria", "Japan", "Mexico", "Egypt", "Canada"]
FILTER_SINCE, FILTER_UNTIL = dt.date(1990, 1, 1), dt.date(2009, 12, 31)


def load_average() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def stage_of(line: str) -> str | None:
    text = line.removeprefix("… ").strip()
    for prefix, name in STAGES:
        if text.startswith(prefix):
            return name
    return None


def stand_in_encode(self, texts: list[str], **_options) -> np.ndarray:
    """Unit vectors from a hash of each text (equal texts, equal vectors): the cost of encoding without encoding."""
    out = np.empty((len(texts), self.dimension), dtype=np.float32)
    for i, text in enumerate(texts):
        seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        out[i] = np.random.default_rng(seed).standard_normal(self.dimension, dtype=np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def index_with_stand_in_vectors(argv: list[str]) -> int:
    from qa_assistant.cli import main as cli_main
    from qa_assistant.index.embedder import Embedder

    Embedder.encode = stand_in_encode  # type: ignore[method-assign]
    return cli_main(argv)


def run_index(corpus: Path, index: Path, encoder: str, extra: list[str], stand_in: bool = False) -> dict:
    """`qa-assistant index` in a child process: wall time, time per stage (from its progress lines), peak RSS."""
    if stand_in:
        command = [sys.executable, str(Path(__file__).resolve()), "_index_stand_in", "index"]
    else:
        command = [sys.executable, "-m", "qa_assistant.cli", "index"]
    command += [str(corpus), "--index", str(index), "--encoder", encoder, *extra]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    stages: dict[str, float] = {}
    current, since = "starting", started
    stage_rss: dict[str, float] = {}  # the largest RSS sampled during each stage, GB
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(RSS_SAMPLE_S):
            gb = rss_gb(child.pid)
            if gb is not None:
                stage_rss[current] = max(stage_rss.get(current, 0.0), gb)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = []
    assert child.stdout is not None
    for line in child.stdout:
        now = time.perf_counter()
        lines.append(line.rstrip())
        name = stage_of(line)
        if name is not None:
            stages[current] = stages.get(current, 0.0) + now - since
            current, since = name, now
        if line.startswith("… "):
            print(f"  [{now - started:7.1f} s] {line.rstrip()}", flush=True)
    sampling.set()
    _, status, usage = os.wait4(child.pid, 0)
    ended = time.perf_counter()
    sampler.join()
    stages[current] = stages.get(current, 0.0) + ended - since
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("error: the index run failed:\n" + "\n".join(lines[-20:]))
    return {
        "seconds": ended - started,
        "stages": stages,
        "stage_rss_gb": stage_rss,
        "peak_rss_gb": usage.ru_maxrss / 1024**2,
        "output": lines,
    }


def rss_gb(pid: int) -> float | None:
    """The memory of process `pid` and its worker processes, GB: the sum of their proportional set sizes (a page
    shared by n of them counts 1/n in each), so forked workers are not counted twice; None once it has ended."""
    total = 0
    for process in [pid, *children_of(pid)]:
        try:
            with open(f"/proc/{process}/smaps_rollup") as rollup:
                total += next((int(x.split()[1]) for x in rollup if x.startswith("Pss:")), 0)
        except OSError:
            continue
    return total / 1024**2 if total else None


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listed:
            return [int(x) for x in listed.read().split()]
    except OSError:
        return []


def link_vector_cache(source: Path, target: Path) -> None:
    """Hard-link (else copy) the chunk files of vector cache `source` into `target`, folder by folder."""
    for chunk in source.rglob("chunk-*.npz"):
        placed = target / chunk.relative_to(source)
        placed.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(chunk, placed)
        except OSError:
            shutil.copy2(chunk, placed)
    print(f"vector cache: {len(list(target.rglob('chunk-*.npz')))} chunks of real vectors from {source}", flush=True)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def hold_out(corpus: Path, holdout: Path, count: int) -> list[str]:
    """Move `count` speeches (spread over the collection) and their metadata rows out of `corpus`."""
    files = sorted(p.name for p in corpus.glob("*.txt"))
    return move_out(corpus, holdout, random.Random(0).sample(files, min(count, len(files))))


def move_out(corpus: Path, holdout: Path, chosen: list[str]) -> list[str]:
    """Move the speeches `chosen` and their metadata rows from `corpus` to `holdout`."""
    holdout.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        shutil.move(str(corpus / name), holdout / name)
    with (corpus / "metadata.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0].keys())
    keep = [r for r in rows if r["file"] not in chosen]
    held = [r for r in rows if r["file"] in chosen]
    for target, part in ((corpus / "metadata.csv", keep), (holdout / "metadata.csv", held)):
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(part)
    return chosen


def put_back(corpus: Path, holdout: Path) -> None:
    with (holdout / "metadata.csv").open(encoding="utf-8", newline="") as handle:
        held = list(csv.DictReader(handle))
    with (corpus / "metadata.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0].keys())
    rows = sorted(rows + held, key=lambda r: r["file"])
    with (corpus / "metadata.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    for path in holdout.glob("*.txt"):
        shutil.move(str(path), corpus / path.name)


COLD_START = """
import json, sys, time
t0 = time.perf_counter()
from qa_assistant import Assistant
t1 = time.perf_counter()
assistant = Assistant.load(sys.argv[1], check=False, warm=True)
t2 = time.perf_counter()
answer = assistant.ask(sys.argv[2])
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_answer_s": t3 - t2, "quotes": len(answer.quotes)}))
"""


def cold_start(index: Path, question: str) -> dict:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", COLD_START, str(index), question], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["total_s"] = time.perf_counter() - started
    return result


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def ask_by_kind(assistant, rounds: int) -> list[dict]:
    """`ask` as users ask it (dates, sides and speakers read from the question, no explicit filter) over the
    125 distinct questions of eval/scale_questions.py: p50/p95 per kind and over all."""
    from scale_questions import scale_questions

    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for kind, question in scale_questions():
            assistant.retriever._query_cache.clear()  # every question encoded anew
            started = time.perf_counter()
            assistant.ask(question, k=6)
            times.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    times["all kinds"] = [t for kind_times in list(times.values()) for t in kind_times]
    rows = []
    for kind, measured in times.items():
        p50, p95 = percentiles(measured)
        rows.append({"what": "ask, as asked", "filter": kind, "n": len(measured), "p50_ms": p50, "p95_ms": p95})
        print(f"  ask ({kind:14}) n={len(measured)} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  max {max(measured):6.0f} ms")
    return rows


def clients_on_api(index: Path, clients: int, seconds: float) -> dict:
    """`qa-assistant serve` on `index` and bench_load.py's closed-loop clients against it: its printed figures."""
    port = 8700 + os.getpid() % 200
    server = subprocess.Popen(
        [sys.executable, "-m", "qa_assistant.cli", "serve", "--index", str(index), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:  # it prints this line once the index is loaded, then starts listening
            if "POST /ask" in line:
                break
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        out = subprocess.run(
            [
                sys.executable,
                str(ROOT / "eval/bench_load.py"),
                "api",
                f"http://127.0.0.1:{port}",
                "--clients",
                str(clients),
                "--seconds",
                str(seconds),
                "--questions",
                "scale",
                "--distinct",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("  " + out.replace("\n", "\n  "), flush=True)
    return {"clients": clients, "seconds": seconds, "output": out.strip()}


def questions() -> list[str]:
    found = []
    with (ROOT / "eval" / "ungdc.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                found.append(json.loads(line)["question"])
    return found + list(QUESTIONS)


def query_latency(index: Path, rounds: int) -> list[dict]:
    from qa_assistant import Assistant
    from qa_assistant.models import Filters, SearchSettings

    assistant = Assistant.load(index, check=False, warm=True)
    asked = questions()
    assistant.ask(asked[0])  # warm-up: the first encoding sets the tokenizer up
    rows = []
    for what in ("bm25", "dense", "hybrid", "ask"):
        for filtered in (False, True):
            times = []
            for r in range(rounds):
                for i, question in enumerate(asked):
                    filters = None
                    if filtered:
                        side = FILTER_SIDES[(i + r) % len(FILTER_SIDES)]
                        filters = Filters(sides=[side], since=FILTER_SINCE, until=FILTER_UNTIL)
                    assistant.retriever._query_cache.clear()  # every question encoded anew
                    started = time.perf_counter()
                    if what == "ask":
                        assistant.ask(question, k=6, filters=filters)
                    else:
                        settings = SearchSettings(mode=what)
                        assistant.retriever.search(question, k=10, settings=settings, filters=filters)
                    times.append((time.perf_counter() - started) * 1000)
            p50, p95 = percentiles(times)
            rows.append(
                {
                    "what": what,
                    "filter": "side + date" if filtered else "none",
                    "n": len(times),
                    "p50_ms": p50,
                    "p95_ms": p95,
                }
            )
            print(
                f"  {what:6} filter={rows[-1]['filter']:11} n={len(times)} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms",
                flush=True,
            )
    return rows + ask_by_kind(assistant, rounds)


def encoder_rates(corpus: Path, encoders: list[str], count: int = 2000) -> dict[str, float]:
    from qa_assistant.index.embedder import Embedder
    from qa_assistant.ingest.corpus import load_corpus
    from qa_assistant.text.segment import split_sentences

    loaded = load_corpus(corpus)
    rng = random.Random(1)
    docs = rng.sample(loaded.documents, min(60, len(loaded.documents)))
    sentences = [d.text[s:e] for d in docs for s, e in split_sentences(d.text)]
    sentences = rng.sample(sentences, min(count, len(sentences)))
    rates = {}
    for encoder in encoders:
        embedder = Embedder("all-MiniLM-L6-v2", encoder)
        embedder.encode(sentences[:64])
        started = time.perf_counter()
        embedder.encode(sentences)
        rates[encoder] = len(sentences) / (time.perf_counter() - started)
        print(f"  {encoder}: {rates[encoder]:.0f} sentences/s ({load_average()})", flush=True)
    return rates


def report(results: dict) -> str:
    lines = [f"# Scale benchmark — {results['corpus_name']}", ""]
    lines.append(
        f"Run {results['started']} on {os.cpu_count()} cores; encoder `{results['encoder']}`, "
        f"index kind `{results['faiss']}`/`{results['vectors']}`."
    )
    lines.append(f"Command: `{results['command']}`")
    lines.append("")
    build = results.get("build")
    if build:
        n = build["sentences"]
        lines += [f"## Build from scratch: {build['documents']:,} speeches, {n:,} sentences", ""]
        lines.append(
            f"**{build['seconds'] / 60:.1f} min** end to end ({n / build['seconds']:.0f} sentences/s), "
            f"peak RSS **{build['peak_rss_gb']:.2f} GB**, index **{build['index_mb'] / 1024:.2f} GB** on disk "
            f"(+ vector cache {build['cache_mb'] / 1024:.2f} GB beside it); {build['load']}."
        )
        rates = results.get("encoders") or {}
        if build.get("stand_in") and rates:
            encoding = build["stages"].get("encoding", 0.0)
            rest = build["seconds"] - encoding
            projected = ", ".join(
                f"{name} {n / rate / 60:.0f} min → {(rest + n / rate) / 60:.0f} min in all"
                for name, rate in rates.items()
            )
            lines.append("")
            lines.append(
                f"Built with stand-in vectors (`--stand-in-vectors`): {rest / 60:.1f} min without encoding. Encoding "
                f"{n:,} sentences at the rates measured in this run (step 6) would take: {projected}."
            )
        lines += [
            "",
            "| stage | seconds | share | sentences/s | largest memory sampled (GB) |",
            "|---|---:|---:|---:|---:|",
        ]
        for stage, seconds in build["stages"].items():
            rate = f"{n / seconds:,.0f}" if seconds > 0 else "–"
            rss = build.get("stage_rss_gb", {}).get(stage)
            memory = f"{rss:.2f}" if rss is not None else "–"
            lines.append(f"| {stage} | {seconds:,.1f} | {seconds / build['seconds']:.0%} | {rate} | {memory} |")
        lines.append("")
        lines.append(
            f"Memory sampled every {RSS_SAMPLE_S} s: the proportional set size of the index process and its "
            "segmenting workers (a page they share counted once); the peak RSS above is the kernel's."
        )
        lines.append("")
    steps = (
        ("unchanged", "Index again, corpus unchanged"),
        ("add", f"Add {HELD_OUT} speeches"),
        ("remove", f"Remove the {HELD_OUT} speeches"),
        ("add_again", f"Add the {HELD_OUT} speeches again"),
    )
    for key, title in steps:
        step = results.get(key)
        if step:
            lines += [f"## {title}", ""]
            lines.append(f"**{step['seconds']:.1f} s**, peak RSS {step['peak_rss_gb']:.2f} GB; {step['load']}.")
            rss = step.get("stage_rss_gb", {})
            stages = ", ".join(
                f"{k} {v:.1f} s" + (f" ({rss[k]:.1f} GB)" if k in rss else "") for k, v in step["stages"].items()
            )
            lines += ["", f"Stages: {stages}.", ""]
    cold = results.get("cold")
    if cold:
        lines += ["## Cold start (new process: import, load, first answer)", ""]
        lines.append(
            f"**{cold['total_s']:.1f} s** in all: import {cold['import_s']:.1f} s, load {cold['load_s']:.1f} s, "
            f"first answer {cold['first_answer_s']:.2f} s ({cold['quotes']} quotes); {cold['load']}."
        )
        lines.append("")
    queries = results.get("queries")
    if queries:
        lines += ["## Queries (one at a time, every question encoded anew)", ""]
        lines += [
            f"{results['queries_load']}.",
            "",
            "| what | filter | queries | p50 ms | p95 ms |",
            "|---|---|---:|---:|---:|",
        ]
        for row in queries:
            lines.append(
                f"| {row['what']} | {row['filter']} | {row['n']} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} |"
            )
        lines.append("")
    clients = results.get("clients")
    if clients:
        lines += [f"## {clients['clients']} clients on the API for {clients['seconds']:.0f} s", "", "```"]
        lines += [clients["output"], "```", f"{clients['load']}.", ""]
    rates = results.get("encoders")
    if rates:
        lines += ["## Encoders, same sentences, same run", "", "| encoder | sentences/s |", "|---|---:|"]
        lines += [f"| {name} | {rate:.0f} |" for name, rate in rates.items()]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="a corpus prepared by eval/datasets/ungdc.py (copied, not changed)")
    parser.add_argument("--sessions", help="instead of --corpus: prepare these sessions, e.g. 73,74 or 70-74")
    parser.add_argument("--work", type=Path, required=True, help="folder for the corpus copy, index and results")
    parser.add_argument("--encoder", default="torch", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--faiss", default="flat", choices=["flat", "hnsw", "ivf"])
    parser.add_argument("--vectors", default="float32", choices=["float32", "float16", "int8"])
    parser.add_argument("--rounds", type=int, default=2, help="times each question is asked per row (default 2)")
    parser.add_argument("--skip-build", action="store_true", help="keep the index of an earlier run in --work")
    parser.add_argument(
        "--stand-in-vectors", action="store_true", help="build with hash vectors; project the encoding time (see above)"
    )
    parser.add_argument("--report", type=Path, help="write the results as markdown here")
    parser.add_argument("--vector-cache", type=Path, help="an earlier run's vector cache to build from (see above)")
    parser.add_argument("--clients", type=int, default=20, help="step 7: clients of the API (0: skip the step)")
    args = parser.parse_args()
    if not args.corpus and not args.sessions:
        parser.error("give --corpus or --sessions")
    work = args.work
    corpus, holdout, index = work / "corpus", work / "held-out", work / "index"
    results: dict = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "encoder": args.encoder,
        "faiss": args.faiss,
        "vectors": args.vectors,
        "command": "python eval/bench_scale.py " + " ".join(sys.argv[1:]),
    }
    extra = ["--faiss", args.faiss, "--vectors", args.vectors]
    if not args.skip_build:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        if args.sessions:
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "eval/datasets/ungdc.py"),
                    "--out",
                    str(corpus),
                    "--sessions",
                    args.sessions,
                ],
                check=True,
            )
        else:
            shutil.copytree(args.corpus, corpus)
        held = hold_out(corpus, holdout, HELD_OUT)
        print(f"held out {len(held)} speeches: {', '.join(held)}", flush=True)
        if args.vector_cache:
            link_vector_cache(args.vector_cache, index.parent / f".{index.name}.vectors")
        print(f"1. build from scratch ({load_average()})", flush=True)
        build = run_index(corpus, index, args.encoder, extra, stand_in=args.stand_in_vectors)
        manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
        build.update(
            documents=manifest["documents"],
            sentences=manifest["sentences"],
            index_mb=folder_size(index) / 1024**2,
            cache_mb=folder_size(index.parent / f".{index.name}.vectors") / 1024**2,
            load=load_average(),
        )
        del build["output"]
        build["stand_in"] = args.stand_in_vectors
        results["build"] = build
        print(
            f"   {build['seconds']:.1f} s, peak RSS {build['peak_rss_gb']:.2f} GB, index {build['index_mb']:.0f} MB",
            flush=True,
        )
    results["corpus_name"] = f"{len(list(corpus.glob('*.txt'))) + len(list(holdout.glob('*.txt'))):,} speeches"
    held = sorted(p.name for p in holdout.glob("*.txt"))
    if held:
        for key, what in (("add", "add"), ("remove", "remove"), ("add_again", "add again")):
            print(f"2. {what} {len(held)} speeches ({load_average()})", flush=True)
            if key == "remove":
                move_out(corpus, holdout, held)
            else:
                put_back(corpus, holdout)
            step = run_index(corpus, index, args.encoder, extra)
            step["load"] = load_average()
            del step["output"]
            results[key] = step
            print(f"   {step['seconds']:.1f} s", flush=True)
    print(f"3. index again, nothing changed ({load_average()})", flush=True)
    unchanged = run_index(corpus, index, args.encoder, extra)
    unchanged["load"] = load_average()
    del unchanged["output"]
    results["unchanged"] = unchanged
    print(f"   {unchanged['seconds']:.1f} s", flush=True)
    print(f"4. cold start ({load_average()})", flush=True)
    cold = cold_start(index, "What did India say about Kashmir?")
    cold["load"] = load_average()
    results["cold"] = cold
    print(f"   {cold}", flush=True)
    print(f"5. queries ({load_average()})", flush=True)
    results["queries_load"] = load_average()
    results["queries"] = query_latency(index, args.rounds)
    print(f"6. encoders ({load_average()})", flush=True)
    encoders = ["torch"] if args.encoder == "torch" else ["torch", args.encoder]
    results["encoders"] = encoder_rates(corpus, encoders)
    if args.clients:
        print(f"7. {args.clients} clients on the API ({load_average()})", flush=True)
        results["clients"] = clients_on_api(index, args.clients, 60.0)
        results["clients"]["load"] = load_average()
    (work / "results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    text = report(results)
    print(text)
    if args.report:
        args.report.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_index_stand_in"]:
        sys.exit(index_with_stand_in_vectors(sys.argv[2:]))
    sys.exit(main())
