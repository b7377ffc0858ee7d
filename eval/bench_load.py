"""Load test: N concurrent clients asking questions for T seconds against the HTTP API or the Gradio app.

    .venv/bin/qa-assistant serve --index index --port 8000 &            # the HTTP API
    .venv/bin/python eval/bench_load.py api http://127.0.0.1:8000 --clients 20 --seconds 60

    .venv/bin/python app.py --port 7860 &                                # the Gradio app
    .venv/bin/python eval/bench_load.py app http://127.0.0.1:7860 --clients 20 --seconds 60

Each client is a thread with its own connection (for the app: its own session, speaking Gradio's queue protocol
as the browser page does: join the queue, read the session's event stream; so each keeps a conversation) that asks the next question of a fixed list as soon as the previous answer
arrives (closed loop). Loopback addresses only; at most 200 clients for at most 600 s; stops by itself.
Prints requests, errors, throughput and latency percentiles (p50/p95/p99/max, ms). An answer counts as an
error unless it is a 200 with quotes or an explicit abstention (API), or an update of the transcript (app).
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import socket
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from urllib.parse import urlparse

from sample_questions import QUESTIONS  # eval/sample_questions.py, beside this script
from scale_questions import scale_questions  # eval/scale_questions.py: the UN collection's

MAX_CLIENTS = 200
MAX_SECONDS = 600


def loopback_only(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    if parsed.scheme != "http" or not parsed.hostname:
        raise SystemExit(f"error: {url} is not an http:// URL")
    for info in socket.getaddrinfo(parsed.hostname, parsed.port or 80):
        if not ipaddress.ip_address(info[4][0]).is_loopback:
            raise SystemExit(f"error: {url} is not a loopback address: this script only loads this machine")
    return parsed.hostname, parsed.port or 80


def api_client(url: str, timeout: float):
    host, port = loopback_only(url)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def ask(question: str) -> str | None:
        """None when the answer is good, else the kind of error."""
        nonlocal connection
        try:
            body = json.dumps({"question": question, "k": 6})
            connection.request("POST", "/ask", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
            return type(exc).__name__
        if response.status != 200:
            return f"HTTP {response.status}"
        answer = json.loads(data)
        return None if answer.get("quotes") or answer.get("abstained") else "empty answer"

    return ask


def app_fn_index(host: str, port: int, api_name: str = "ask_1") -> tuple[int, int]:
    """The event number and trigger id of the app's question-box submit, from its /config."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", "/config")
    config = json.loads(connection.getresponse().read())
    for number, dependency in enumerate(config["dependencies"]):
        if dependency.get("api_name") == api_name:
            return dependency.get("id", number), dependency["targets"][0][0]
    raise SystemExit(f"error: no '{api_name}' event in the app's /config: is this the qa-assistant app?")


def app_client(url: str, timeout: float):
    """What a browser does: join the queue with the session's id, then read the session's event stream."""
    host, port = loopback_only(url)
    fn_index, trigger = app_fn_index(host, port)
    session = uuid.uuid4().hex[:12]  # one session per client: its conversation grows as a user's would
    join = http.client.HTTPConnection(host, port, timeout=timeout)

    def ask(question: str) -> str | None:
        nonlocal join
        body = {
            # question, conversation, sides, publishers, from, to, mode, quotes, "read the question" box
            "data": [question, None, [], [], "", "", "hybrid", 6, True],
            "event_data": None,
            "fn_index": fn_index,
            "trigger_id": trigger,
            "session_hash": session,
        }
        stream = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            join.request("POST", "/gradio_api/queue/join", json.dumps(body), {"Content-Type": "application/json"})
            response = join.getresponse()
            joined = json.loads(response.read())
            if response.status != 200:
                return f"HTTP {response.status}"
            stream.request("GET", f"/gradio_api/queue/data?session_hash={session}")
            events = stream.getresponse()
            while line := events.fp.readline():
                if not line.startswith(b"data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed" and message.get("event_id") == joined["event_id"]:
                    output = message.get("output") or {}
                    transcript = (output.get("data") or [None])[0]
                    if not message.get("success"):
                        return "app error"
                    return None if isinstance(transcript, str) and "qa-" in transcript else "unexpected result"
            return "stream ended"
        except (OSError, http.client.HTTPException, ValueError) as exc:
            join.close()
            join = http.client.HTTPConnection(host, port, timeout=timeout)
            return type(exc).__name__
        finally:
            stream.close()

    return ask


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("face", choices=["api", "app"], help="api: qa-assistant serve; app: the Gradio app")
    parser.add_argument("url", help="base URL on this machine, e.g. http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=30.0, help="per request (s)")
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="make every question unique (adds ' (N)'), so no answer is helped by the query-vector cache",
    )
    parser.add_argument(
        "--questions",
        choices=["sample", "scale"],
        default="sample",
        help="sample: of the bundled corpus (default); scale: the 125 of eval/scale_questions.py (UN collection)",
    )
    args = parser.parse_args()
    asked = QUESTIONS if args.questions == "sample" else [question for _, question in scale_questions()]
    if not 1 <= args.clients <= MAX_CLIENTS or not 0 < args.seconds <= MAX_SECONDS:
        raise SystemExit(f"error: 1..{MAX_CLIENTS} clients for at most {MAX_SECONDS} s")

    make = api_client if args.face == "api" else app_client
    clients = [make(args.url, args.timeout) for _ in range(args.clients)]
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    guard = threading.Lock()
    start = threading.Barrier(args.clients + 1)
    stop_at = [0.0]

    def run(number: int, ask) -> None:
        start.wait()
        i = number
        while time.monotonic() < stop_at[0]:
            question = asked[i % len(asked)]
            if args.distinct:
                question = f"{question} ({number}-{i})"
            i += 1
            t0 = time.perf_counter()
            error = ask(question)
            elapsed = (time.perf_counter() - t0) * 1000
            with guard:
                if error is None:
                    latencies.append(elapsed)
                else:
                    errors[error] += 1

    threads = [threading.Thread(target=run, args=(n, c), daemon=True) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    cpu0 = os.times()
    stop_at[0] = time.monotonic() + args.seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join(timeout=args.seconds + args.timeout + 5)
    wall = time.monotonic() - began
    cpu1 = os.times()
    done = len(latencies)
    failed = sum(errors.values())
    kind = "distinct questions" if args.distinct else f"{len(asked)} questions in turn"
    print(f"{args.face} {args.url}: {args.clients} clients for {args.seconds:g} s, {kind} (wall {wall:.1f} s)")
    print(f"answers {done}, errors {failed}{' ' + dict(errors).__repr__() if errors else ''}")
    print(f"throughput {done / wall:.1f} answers/s")
    if latencies:
        ordered = sorted(latencies)
        print(
            f"latency ms: p50 {statistics.median(ordered):.0f}  p95 {percentile(ordered, 0.95):.0f}  "
            f"p99 {percentile(ordered, 0.99):.0f}  max {ordered[-1]:.0f}  mean {statistics.fmean(ordered):.0f}"
        )
    load = os.getloadavg()
    print(
        f"load generator CPU {cpu1.user + cpu1.system - cpu0.user - cpu0.system:.1f} s; "
        f"machine load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
