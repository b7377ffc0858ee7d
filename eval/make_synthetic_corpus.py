"""Write the synthetic corpus of `bench_latency.py` as a corpus folder, for load tests at scale.

    .venv/bin/python eval/make_synthetic_corpus.py /tmp/synthetic-100k --sentences 100000
    .venv/bin/qa-assistant index /tmp/synthetic-100k --index /tmp/synthetic-100k-index

One .txt file per document (20 sentences of words drawn from the bundled corpus, one sentence per line, so the
index has exactly `--sentences` sentences), a metadata.csv with title, publisher, side and date, and the
bundled sides.json.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_latency import ROOT, synthetic_corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", type=Path)
    parser.add_argument("--sentences", type=int, default=100_000)
    args = parser.parse_args()
    corpus = synthetic_corpus(args.sentences)
    args.target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "corpus" / "sides.json", args.target / "sides.json")
    with (args.target / "metadata.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "title", "publisher", "side", "date", "url"])
        for doc in corpus.documents:
            name = Path(doc.id).name
            sentences = doc.text.split(". ")
            text = ".\n".join(sentences)
            (args.target / name).write_text(text + "\n", encoding="utf-8")
            writer.writerow([name, doc.title, doc.publisher, doc.side, doc.date.isoformat(), ""])
    print(f"wrote {len(corpus.documents)} documents to {args.target}")


if __name__ == "__main__":
    main()
