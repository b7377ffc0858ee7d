"""Resource bounds, measured: a 20 MB file with no sentence break, a 100 KB question, 10,000 tiny files.

    .venv/bin/python eval/bench_bounds.py                    # all three cases
    .venv/bin/python eval/bench_bounds.py --cases long --build   # also index the 20 MB file (encodes ~10k pieces)

Each case runs in a fresh process (so its peak memory is its own) and prints wall time and peak resident memory
(ru_maxrss). Files go to a temporary folder that is removed afterwards.
- long:     one 20 MB line of words without sentence punctuation -> load + clean + segment (+ full index: --build)
- question: a 100 KB question asked of an index of the bundled corpus (built first, not timed)
- tiny:     10,000 files of one short sentence each (8 random words of the bundled corpus; --same: all nearly the
            same sentence) -> full index build, then one question
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = "corridor blockade ceasefire Lachin civilians statement ministry border convoy checkpoint "


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case_long(tmp: Path, build: bool, megabytes: int) -> dict:
    from qa_assistant.index.reuse import segment_reusing
    from qa_assistant.ingest.corpus import load_corpus
    from qa_assistant.text.segment import MAX_SENTENCE_CHARS

    corpus = tmp / "corpus"
    corpus.mkdir()
    size = megabytes * 1_000_000
    (corpus / "long.txt").write_text((WORDS * (size // len(WORDS) + 1))[:size], encoding="utf-8")
    t0 = time.perf_counter()
    loaded = load_corpus(corpus)
    t1 = time.perf_counter()
    table, _ = segment_reusing(loaded.documents, None)
    t2 = time.perf_counter()
    longest = int((table.end - table.start).max())
    result = {
        "file_mb": megabytes,
        "load_clean_s": round(t1 - t0, 2),
        "segment_s": round(t2 - t1, 2),
        "sentences": len(table),
        "longest_sentence": longest,
        "cap": MAX_SENTENCE_CHARS,
    }
    if build:
        from qa_assistant import Assistant

        t3 = time.perf_counter()
        assistant = Assistant.build(corpus, tmp / "index")
        result["index_build_s"] = round(time.perf_counter() - t3, 1)
        t4 = time.perf_counter()
        answer = assistant.ask("convoy at the checkpoint")
        result["ask_ms"] = round((time.perf_counter() - t4) * 1000)
        result["quotes"] = len(answer.quotes)
    return result


def case_question(tmp: Path) -> dict:
    from qa_assistant import Assistant

    assistant = Assistant.build(ROOT / "corpus", tmp / "index")
    question = ("What did each side say about the Lachin corridor? " * 2100)[:102_400]
    assistant.ask("warm-up")
    t0 = time.perf_counter()
    answer = assistant.ask(question)
    elapsed = time.perf_counter() - t0
    return {
        "question_chars": len(question),
        "searched_chars": len(answer.question),
        "ask_ms": round(elapsed * 1000),
        "quotes": len(answer.quotes),
        "note": answer.notes[0] if answer.notes else None,
    }


def case_tiny(tmp: Path, count: int, same: bool = False) -> dict:
    import random
    import re

    from qa_assistant import Assistant

    corpus = tmp / "corpus"
    corpus.mkdir()
    rng = random.Random(0)
    text = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "corpus").glob("*.txt"))
    vocabulary = sorted(set(re.findall(r"[A-Za-z]{3,}", text)))
    for n in range(count):  # distinct words: files that are not near-duplicates of each other (see --same)
        words = " ".join(rng.choice(vocabulary) for _ in range(8))
        line = f"Statement {n} about the ceasefire on the border." if same else f"{words.capitalize()}."
        (corpus / f"note{n:05d}.txt").write_text(line + "\n", encoding="utf-8")
    t0 = time.perf_counter()
    assistant = Assistant.build(corpus, tmp / "index")
    built = time.perf_counter() - t0
    t1 = time.perf_counter()
    answer = assistant.ask("ceasefire on the border")
    return {
        "files": count,
        "documents": assistant.manifest.documents,
        "sentences": assistant.manifest.sentences,
        "index_build_s": round(built, 1),
        "ask_ms": round((time.perf_counter() - t1) * 1000),
        "quotes": len(answer.quotes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="long,question,tiny")
    parser.add_argument("--build", action="store_true", help="long: also build the full index")
    parser.add_argument("--megabytes", type=int, default=20)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument(
        "--same", action="store_true", help="tiny: all files say nearly the same sentence (near-duplicate worst case)"
    )
    parser.add_argument("--run", default=None, help=argparse.SUPPRESS)  # one case, in this process
    args = parser.parse_args()
    if args.run:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            if args.run == "long":
                result = case_long(Path(tmp), args.build, args.megabytes)
            elif args.run == "question":
                result = case_question(Path(tmp))
            else:
                result = case_tiny(Path(tmp), args.files, args.same)
            result["total_s"] = round(time.perf_counter() - t0, 1)
            result["peak_rss_mib"] = round(peak_mib())
        print(json.dumps(result))
        return
    for case in args.cases.split(","):
        command = [
            sys.executable,
            __file__,
            "--run",
            case,
            "--megabytes",
            str(args.megabytes),
            "--files",
            str(args.files),
        ]
        command += ["--build"] if args.build else []
        command += ["--same"] if args.same else []
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            print(f"{case}: failed\n{done.stderr}")
            continue
        print(f"{case}: {done.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
