"""The build on Ray (`index --backend milvus --ray`) against the single-machine build and plain encoding.

    .venv/bin/python eval/datasets/ungdc.py --split dev --out /tmp/ungdc-dev
    .venv/bin/python eval/bench_ray_build.py --corpus /tmp/ungdc-dev --files 60 --work /tmp/bench-ray \\
        --report eval/results/ray-build.md

On the same files (`--files N`: the first N document files, with their metadata rows and side files), into Milvus
Lite collections of their own, it times:
- plain sentence-transformers encoding of the same sentence texts (the same model, batch 64, all cores): the rate a
  build cannot beat on this machine;
- the single-machine Milvus build (`Assistant.build(..., backend=MilvusConfig)`, no vector cache to help);
- the Ray build with 1 and 2 workers (`--workers`), each of `--cpus` CPUs, on a local Ray started for it;
and prints sentences/s of each, the ratios (2 workers / 1, Ray build / plain encoding), where a Ray build's time
goes (Ray start-up, the streaming stages, the final stage, rows written again), and checks that each build wrote the
same rows (count, and the row ids, versions and clusters compared whole; a sample of ids printed). Also the CPU
(model name, whether it has AVX512-VNNI) and the load before and after.

Where the CPU goes: during plain encoding and each build, every process's CPU time is sampled from /proc (4 times a
second) and summed per kind of process — this process (the driver: reading, the single-machine build's own stages,
the final stage), Ray's encoding workers, Ray's other tasks (reading, splitting, attributing, writing rows), Ray's
own services (raylet, GCS, dashboard), the Milvus Lite server, and anything else on the machine — as CPU
milliseconds per sentence, with how busy the cores were. On a machine whose cores are all busy, a build that spends
B CPU-ms per sentence in all cannot pass cores / B sentences per second, whatever overlaps what; plain encoding
spends E per sentence, so a build's rate over plain encoding's is bounded by E / B (when plain encoding keeps every
core busy itself): the bound printed beside each ratio.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from proc_table import processes

from qa_assistant import Assistant
from qa_assistant.backends.milvus import sync as milvus_sync
from qa_assistant.backends.milvus.client import client_for
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.index.distributed.driver import build_on_ray
from qa_assistant.index.embedder import cpu_flags, load_encoder
from qa_assistant.ingest.corpus import BOILERPLATE_FILE, METADATA_FILE, SIDES_FILE, corpus_files, load_corpus
from qa_assistant.models import join_soft_hyphens
from qa_assistant.text.segment import split_sentences


def subset(corpus: Path, files: int | None, target: Path) -> Path:
    """The first `files` document files of `corpus` (by name) with their metadata rows and the side files."""
    if files is None:
        return corpus
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    config = {METADATA_FILE, SIDES_FILE, BOILERPLATE_FILE}
    chosen = [p for p in corpus_files(corpus) if p.name not in config][:files]
    for path in chosen:
        shutil.copy2(path, target / path.name)
    for name in (SIDES_FILE, BOILERPLATE_FILE):
        if (corpus / name).exists():
            shutil.copy2(corpus / name, target / name)
    if (corpus / METADATA_FILE).exists():
        names = {p.name for p in chosen}
        with (corpus / METADATA_FILE).open(encoding="utf-8-sig", newline="") as src:
            reader = csv.DictReader(src)
            rows = [row for row in reader if row["file"] in names]
            fields = reader.fieldnames or ["file"]
        with (target / METADATA_FILE).open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return target


def cpu() -> str:
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines()
        model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name")), "unknown")
    except (OSError, subprocess.CalledProcessError):
        model = "unknown"
    vnni = "avx512_vnni" in cpu_flags()
    return f"{model}; {os.cpu_count()} logical CPUs; avx512_vnni: {'yes' if vnni else 'no'}"


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KINDS = ["driver", "encoding workers", "other Ray tasks", "Ray services", "Milvus Lite server", "other processes"]


def kind_of(pid: int, cmdline: str) -> str:
    """Which kind of process (KINDS) a process is, by its pid and command line."""
    if pid == os.getpid():
        return "driver"
    if cmdline.startswith("ray::"):
        return "encoding workers" if "EncodeWorker" in cmdline else "other Ray tasks"
    if "milvus_lite/lib/milvus" in cmdline:  # (its binary; the .db path may hold any word)
        return "Milvus Lite server"
    if "/ray/" in cmdline or "raylet" in cmdline or "gcs_server" in cmdline or "ray._private" in cmdline:
        return "Ray services"
    return "other processes"


def process_times() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) so far of every process, with its kind."""
    return {
        pid: (kind_of(pid, cmdline), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
        for pid, fields, cmdline in processes()
    }


def busy_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the machine so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuAccount:
    """CPU seconds spent by each kind of process (KINDS) while it is open: processes sampled every 0.25 s, each
    counted from its first sample (or from 0 when it started meanwhile) to its last (a process that ends loses at
    most its last 0.25 s)."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.stop = threading.Event()

    def sample(self, starting: bool = False) -> None:
        for pid, (kind, seconds) in process_times().items():
            if pid not in self.first:
                self.first[pid] = seconds if starting else 0.0
            self.last[pid] = (kind, seconds)

    def __enter__(self) -> CpuAccount:
        self.sample(starting=True)
        self.ticks = busy_ticks()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(0.25):
            self.sample()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.sample()
        busy, total = busy_ticks()
        self.busy_share = (busy - self.ticks[0]) / max(1, total - self.ticks[1])
        self.seconds = dict.fromkeys(KINDS, 0.0)
        for pid, (kind, seconds) in self.last.items():
            self.seconds[kind] += seconds - self.first[pid]

    def line(self, sentences: int) -> str:
        """CPU ms per sentence of each kind that spent any, the sum, and how busy the cores were."""
        parts = [f"{kind} {1000 * s / sentences:.2f}" for kind, s in self.seconds.items() if s >= 0.05]
        return (
            f"CPU ms per sentence: {', '.join(parts)}; all {self.per_sentence(sentences):.2f}; cores busy "
            f"{self.busy_share:.0%}"
        )

    def per_sentence(self, sentences: int, kinds: list[str] | None = None) -> float:
        """CPU ms per sentence of `kinds` (all but other processes when None)."""
        chosen = kinds or [kind for kind in KINDS if kind != "other processes"]
        return 1000 * sum(self.seconds[kind] for kind in chosen) / sentences


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def rows(config: MilvusConfig) -> dict[int, tuple[str, int]]:
    """pk -> (doc_key, cluster) of every sentence row."""
    client = client_for(config)
    found: dict[int, tuple[str, int]] = {}
    iterator = client.query_iterator(
        config.collection, batch_size=4096, filter="pk >= 0", output_fields=["doc_key", "cluster"]
    )
    while batch := iterator.next():
        found.update({int(r["pk"]): (r["doc_key"], int(r["cluster"])) for r in batch})
    iterator.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="corpus folder (e.g. the UN dev split)")
    parser.add_argument("--files", type=int, default=None, help="only the first N document files")
    parser.add_argument("--work", default="/tmp/bench-ray-build", help="scratch folder (emptied)")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to time")
    parser.add_argument("--cpus", type=float, default=1.0, help="CPUs per Ray worker")
    parser.add_argument("--report", default=None, help="also write the figures as Markdown here")
    args = parser.parse_args(argv)
    work = Path(args.work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    corpus = subset(Path(args.corpus), args.files, work / "corpus")
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    say("# The build on Ray: figures")
    say()
    say("```")
    say(f"$ .venv/bin/python eval/bench_ray_build.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    say(f"CPU: {cpu()}")
    say(f"load before: {load()}")
    loaded = load_corpus(corpus)
    texts = [join_soft_hyphens(d.text[s:e]) for d in loaded.documents for s, e in split_sentences(d.text)]
    n = len(texts)
    say(f"corpus: {corpus} ({len(loaded.documents)} documents, {n} sentences)")

    model = load_encoder()
    model.encode(texts[:64], batch_size=64)  # warm-up
    t0 = time.perf_counter()
    with CpuAccount() as plain_cpu:
        model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    plain = n / (time.perf_counter() - t0)
    say(f"plain sentence-transformers encoding: {plain:.0f} sentences/s")
    say(f"  {plain_cpu.line(n)}")
    encoding_ms = plain_cpu.per_sentence(n)

    lite = str(work / "milvus.db")
    configs = {"single": MilvusConfig(uri=lite, collection=f"bench_single_{uuid.uuid4().hex[:8]}")}
    t0 = time.perf_counter()
    with CpuAccount() as single_cpu:
        Assistant.build(corpus, work / "single", backend=configs["single"])
    single_s = time.perf_counter() - t0
    say(f"single-machine Milvus build: {single_s:.1f} s, {n / single_s:.0f} sentences/s")
    say(f"  {single_cpu.line(n)}")
    bounds = {"single": encoding_ms / single_cpu.per_sentence(n)}

    rates: dict[int, float] = {}
    for count in [int(w) for w in args.workers.split(",")]:
        name = f"ray{count}"
        configs[name] = MilvusConfig(uri=lite, collection=f"bench_{name}_{uuid.uuid4().hex[:8]}")
        t0 = time.perf_counter()
        with CpuAccount() as ray_cpu:
            index = build_on_ray(corpus, work / name, configs[name], workers=count, cpus_per_worker=args.cpus)
        seconds = time.perf_counter() - t0
        bounds[name] = encoding_ms / ray_cpu.per_sentence(n)
        rates[count] = n / seconds
        marks = index.build_report.milvus if index.build_report is not None else {}
        streaming = marks.get("stages_ms", 0) / 1000
        say(
            f"Ray build, {count} worker(s) of {args.cpus:g} CPU: {seconds:.1f} s, {rates[count]:.0f} sentences/s "
            f"(streaming stages alone: {n / streaming if streaming else 0:.0f} sentences/s)"
        )
        say(
            "  where the time goes (s): "
            + ", ".join(f"{k[:-3]} {v / 1000:.1f}" for k, v in marks.items() if k.endswith("_ms"))
            + f"; documents written again for their clusters: {marks.get('rewritten', 0)} "
            f"({marks.get('rewritten_sentences', 0)} sentences)"
        )
        say(f"  {ray_cpu.line(n)}")
    counts = sorted(rates)
    if len(counts) >= 2:
        say(f"ratio {counts[-1]} workers / {counts[0]}: {rates[counts[-1]] / rates[counts[0]]:.2f}")
    for count in counts:
        say(
            f"Ray build ({count} worker(s)) / plain encoding: {rates[count] / plain:.2f} (bound by its CPU per "
            f"sentence: {bounds[f'ray{count}']:.2f})"
        )
    say(f"single-machine build / plain encoding: {n / single_s / plain:.2f} (bound: {bounds['single']:.2f})")

    reference = rows(configs["single"])
    sample = sorted(reference)[:: max(1, len(reference) // 5)][:5]
    for name, config in configs.items():
        found = rows(config)
        same = found == reference
        say(f"rows in '{name}': {len(found)}; equal to the single-machine build's (ids, versions, clusters): {same}")
        say(f"  sample ids: {', '.join(f'{pk}:{found[pk][1] == reference[pk][1]}' for pk in sample if pk in found)}")
    say(f"load after: {load()}")
    say("```")
    for config in configs.values():
        milvus_sync.drop(config)
    if args.report:
        Path(args.report).write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
