"""An answering node on the local index against a node answering from Milvus alone: resident memory, start-up time,
`ask` latency, and the answers compared.

    .venv/bin/python eval/bench_scale_out.py --local /tmp/ungdc-dev-index --milvus BUILT_INDEX \\
        --evalset eval/ungdc.jsonl [--baseline-src /path/to/other/src]

BUILT_INDEX is a Milvus-backed index folder (`qa-assistant index CORPUS --index BUILT_INDEX --backend milvus`); the
node gets a copy of its manifest and serving tables only (`index.serving.SERVING_FILES`: no vectors, no BM25
files, no documents, no attributions). Each node is a fresh process that loads its index as `qa-assistant serve`
and the app do (`Assistant.load(warm=True)`: a local index's mapped vectors and BM25 arrays are read in at load, so
no question reads them from disk; start-up = import + load + the first answer), then asks every question of the
eval set once (default settings). Memory is
the process's VmRSS after start-up and VmHWM (peak) at the end; for Milvus Lite, the `milvus` server process it
starts is measured apart (it stands for the Milvus cluster, not the node). Answers: per question the overlap of
the two nodes' first 10 quotes (document, start, end), and whether both abstain or both answer.

`--shared-server` (Milvus Lite only): the Milvus Lite server is started once by the benchmark, as a running Milvus
stands for, and timed apart (until its collection answers a count); then `--nodes N` nodes (default 1) start at the
same time and reach it over its unix socket (their manifests point there), so a node's start-up is its own: import,
tables, model, first answer. Without it, each node opens the Lite file itself and its start-up includes the load.

`--questions N`: only the first N questions (Milvus Lite searches a million sentences exactly, on one core: seconds
per search). `--baseline-src`: also ask every question on the local index with the package at that path (e.g. the main
branch's src) and compare the full answers (`model_dump`, timings left out): the local default must not change.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proc_table import processes

QUOTES = 10


def _status(pid: int | str, field: str) -> int:
    """A memory figure of /proc/PID/status in MB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _milvus_servers() -> list[int]:
    """Milvus Lite server processes started by this process (its children running the milvus binary)."""
    return [pid for pid, fields, cmdline in processes() if int(fields[1]) == os.getpid() and "milvus" in cmdline]


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "timings"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def child(index: str, evalset: str, full: bool, limit: int | None = None) -> None:
    """Run in a fresh process: load, answer, measure; prints one JSON object."""
    started = time.perf_counter()
    from qa_assistant import Assistant

    questions = [json.loads(line)["question"] for line in Path(evalset).read_text("utf-8").splitlines() if line.strip()]
    questions = questions[:limit]
    assistant = Assistant.load(index, check=False, warm=True)  # (as `serve` and the app load)
    loaded = time.perf_counter() - started
    assistant.ask(questions[0])
    startup = time.perf_counter() - started
    rss_start = _status("self", "VmRSS")
    times, answers = [], []
    for question in questions:
        t = time.perf_counter()
        answer = assistant.ask(question)
        times.append(time.perf_counter() - t)
        record = {
            "quotes": [[q.doc_id, q.start, q.end] for q in answer.quotes[:QUOTES]],
            "abstained": answer.abstained,
        }
        if full:
            record["answer"] = _strip(answer.model_dump(mode="json"))
        answers.append(record)
    servers = _milvus_servers()
    print(
        json.dumps(
            {
                "load_s": round(loaded, 2),
                "startup_s": round(startup, 2),
                "rss_mb": rss_start,
                "peak_mb": _status("self", "VmHWM"),
                "milvus_rss_mb": sum(_status(p, "VmRSS") for p in servers),
                "ask_ms": [round(t * 1000, 1) for t in times],
                "answers": answers,
            }
        )
    )


def _start(src: str, index: str, evalset: str, full: bool = False, limit: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": src}
    command = [sys.executable, __file__, "--child", index, "--evalset", evalset] + (["--full"] if full else [])
    command += ["--questions", str(limit)] if limit else []
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _collect(process: subprocess.Popen, index: str) -> dict:
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"the node on {index} failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _run(src: str, index: str, evalset: str, full: bool = False, limit: int | None = None) -> dict:
    return _collect(_start(src, index, evalset, full, limit), index)


def serving_copy(built: Path, folder: Path, server_uri: str | None = None) -> Path:
    """The built index's manifest and serving tables in `folder`; with `server_uri`, the manifest sends the node to
    that server (the collection's Milvus Lite file served over a socket: its index is FLAT, as Lite's always is)."""
    from qa_assistant.index.integrity import MANIFEST
    from qa_assistant.index.serving import SERVING_FILES

    folder.mkdir(parents=True, exist_ok=True)
    for name in (MANIFEST, *SERVING_FILES):
        shutil.copy2(built / name, folder / name)
    if server_uri:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
        manifest["backend"]["milvus"].update(uri=server_uri, index_type="FLAT")
        (folder / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    return folder


def start_shared_server(built: Path) -> tuple[str, list[int]]:
    """Milvus Lite's server for the built index's file, started by this process and kept running (a Milvus that is
    up before any node starts), timed until its collection answers a count: its socket URI and process ids."""
    from milvus_lite.server_manager import server_manager_instance
    from pymilvus import MilvusClient

    milvus = json.loads((built / "manifest.json").read_text("utf-8"))["backend"]["milvus"]
    started = time.perf_counter()
    uri = server_manager_instance.start_and_get_uri(milvus["uri"])
    if not uri:
        raise SystemExit(f"cannot start the Milvus Lite server of {milvus['uri']} (is another process holding it?)")
    client = None
    while True:
        try:
            client = client or MilvusClient(uri=uri, timeout=30)
            rows = client.query(milvus["collection"], filter="", output_fields=["count(*)"])[0]["count(*)"]
            break
        except Exception as exc:  # (the socket is not there yet, or the collection is still loading)
            if time.perf_counter() - started > 3600:
                raise SystemExit(
                    f"the Milvus Lite server of {milvus['uri']} did not answer within an hour: {exc}"
                ) from None
            time.sleep(1)
    ready = time.perf_counter() - started
    print(f"Milvus Lite server: up with {rows:,} rows after {ready:.1f} s ({uri})")
    return uri, _milvus_servers()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _report(name: str, run: dict) -> None:
    times = run["ask_ms"]
    print(
        f"{name:>6}: load {run['load_s']:.2f} s, start-up (load + first answer) {run['startup_s']:.2f} s, "
        f"RSS {run['rss_mb']} MB after start-up, peak {run['peak_mb']} MB"
        + (f"; Milvus Lite server process {run['milvus_rss_mb']} MB" if run["milvus_rss_mb"] else "")
        + f"; ask p50 {statistics.median(times):.0f} ms, p95 {_percentile(times, 0.95):.0f} ms ({len(times)} questions)"
    )


def compare(local: dict, node: dict) -> None:
    overlaps, same_abstention = [], 0
    for a, b in zip(local["answers"], node["answers"], strict=True):
        left, right = {tuple(q) for q in a["quotes"]}, {tuple(q) for q in b["quotes"]}
        overlaps.append(len(left & right) / len(left) if left else float(not right))
        same_abstention += a["abstained"] == b["abstained"]
    n = len(overlaps)
    print(
        f"answers: top-{QUOTES} quote overlap mean {statistics.mean(overlaps):.3f}, min {min(overlaps):.3f}, "
        f"{sum(o == 1.0 for o in overlaps)}/{n} identical; same abstention {same_abstention}/{n}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--local", help="a local index folder")
    parser.add_argument("--milvus", help="a Milvus-backed index folder (the build's)")
    parser.add_argument("--evalset", required=True)
    parser.add_argument("--baseline-src", help="another package source to compare the local answers with")
    parser.add_argument("--questions", type=int, help="only the first N questions of the eval set")
    parser.add_argument(
        "--shared-server", action="store_true", help="start Milvus Lite's server once, before the nodes"
    )
    parser.add_argument("--nodes", type=int, default=1, help="nodes started at once (with --shared-server)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.evalset, args.full, args.questions)
        return
    src = str(Path(__file__).resolve().parents[1] / "src")
    local = _run(src, args.local, args.evalset, full=bool(args.baseline_src), limit=args.questions)
    _report("local", local)
    server_uri: str | None = None
    servers: list[int] = []
    if args.shared_server:
        server_uri, servers = start_shared_server(Path(args.milvus))
    with tempfile.TemporaryDirectory(prefix="node-") as tmp:
        node_dirs = [
            serving_copy(Path(args.milvus), Path(tmp) / f"index-{n}", server_uri)
            for n in range(args.nodes if args.shared_server else 1)
        ]
        size = sum(p.stat().st_size for p in node_dirs[0].rglob("*") if p.is_file())
        print(
            f"node folder: {len(list(node_dirs[0].iterdir()))} files, {size / 1e6:.1f} MB ({Path(args.milvus)} copied)"
        )
        processes = [_start(src, str(d), args.evalset, limit=args.questions) for d in node_dirs]
        nodes = [_collect(p, str(d)) for p, d in zip(processes, node_dirs, strict=True)]
    for number, node in enumerate(nodes):
        _report("node" if len(nodes) == 1 else f"node {number + 1}", node)
    if servers:
        print(f"Milvus Lite server process: {sum(_status(p, 'VmRSS') for p in servers)} MB")
    node = nodes[0]
    print(
        f"RSS node/local: {node['rss_mb'] / local['rss_mb']:.2f} after start-up, {node['peak_mb'] / local['peak_mb']:.2f} peak"
    )
    compare(local, node)
    for number, other in enumerate(nodes[1:], start=2):
        same = sum(a == b for a, b in zip(node["answers"], other["answers"], strict=True))
        print(
            f"node {number} against node 1: {same}/{len(node['answers'])} answers identical (top {QUOTES}, abstention)"
        )
    if args.baseline_src:
        base = _run(args.baseline_src, args.local, args.evalset, full=True, limit=args.questions)
        same = sum(a["answer"] == b["answer"] for a, b in zip(local["answers"], base["answers"], strict=True))
        print(
            f"local answers with {args.baseline_src}: {same}/{len(base['answers'])} identical (model_dump, no timings)"
        )


if __name__ == "__main__":
    main()
