"""How whole the sentences of a corpus are: counts of sentences, sentences under 4 words, and sentences that do not
end in sentence punctuation (cut at a line end), for the current segmenter and, optionally, another one.

    .venv/bin/python eval/datasets/ungdc.py --split dev --out /tmp/ungdc-dev
    git show d63e795:src/qa_assistant/segment.py > /tmp/segment_before.py     # the segmenter before issue 9
    .venv/bin/python eval/fragment_stats.py /tmp/ungdc-dev --compare /tmp/segment_before.py

Files are read as plain text (the UN speeches have no boilerplate to remove).
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from pathlib import Path

from qa_assistant.text.segment import is_quotable, split_sentences

_ENDS = ".!?\"'”»)…:;"

Segmenter = Callable[[str], list[tuple[int, int]]]


def stats(texts: list[str], segment: Segmenter) -> dict[str, int]:
    counts = {"sentences": 0, "under_4_words": 0, "cut_at_line_end": 0}
    for text in texts:
        for start, end in segment(text):
            sentence = text[start:end]
            counts["sentences"] += 1
            counts["under_4_words"] += not is_quotable(sentence)  # fewer than segment.MIN_WORDS words
            counts["cut_at_line_end"] += sentence.rstrip()[-1:] not in _ENDS
    return counts


def load_segmenter(path: Path) -> Segmenter:
    spec = importlib.util.spec_from_file_location("other_segment", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.split_sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="folder of .txt files")
    parser.add_argument("--compare", type=Path, help="another text/segment.py to compare with (its split_sentences)")
    args = parser.parse_args()
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(args.corpus.glob("*.txt"))]
    rows = [("current", split_sentences)]
    if args.compare:
        rows.insert(0, (str(args.compare), load_segmenter(args.compare)))
    print(f"{len(texts)} files")
    for name, segment in rows:
        c = stats(texts, segment)
        n = max(c["sentences"], 1)
        print(
            f"{name}: {c['sentences']} sentences; under 4 words {c['under_4_words']} ({100 * c['under_4_words'] / n:.2f} %); "
            f"not ending in sentence punctuation {c['cut_at_line_end']} ({100 * c['cut_at_line_end'] / n:.2f} %)"
        )


if __name__ == "__main__":
    main()
