"""Run the chat UI on a document collection: `python app.py` (see README, "The app").

Opens the index (building it first, with progress, when it is missing or older than the corpus),
then serves the app on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Chat UI: quoted, attributed answers from a document collection.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=None, help="port (default: 7860 or the next free one)")
    parser.add_argument("--share", action="store_true", help="also open a public share link (off by default)")
    parser.add_argument("--index", type=Path, default=HERE / "index", help="index folder (default: ./index)")
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus", help="corpus folder (default: ./corpus)")
    parser.add_argument(
        "--token",
        default=None,
        help="token the 'Add documents' panel asks for when the app is not bound to 127.0.0.1 "
        "(default: $QA_ASSISTANT_TOKEN; without one, documents can only be added from this machine)",
    )
    return parser.parse_args(argv)


def open_assistant(index: Path, corpus: Path):
    """Load the index; build it from `corpus` when it is missing or stale."""
    from qa_assistant import Assistant, IndexCorruptError, StaleIndexError
    from qa_assistant.index.integrity import MANIFEST

    have_corpus = corpus.is_dir()
    if (index / MANIFEST).exists():
        try:  # sizes and checksums of every file verified: a damaged index is rebuilt, never served
            return Assistant.load(index, corpus_dir=corpus if have_corpus else None, verify=True, warm=True)
        except (StaleIndexError, IndexCorruptError) as exc:
            if not have_corpus:
                raise
            print(f"{exc}\nrebuilding the index …", file=sys.stderr)
    elif not have_corpus:
        raise SystemExit(
            f"error: no index at {index} and no corpus folder at {corpus}.\n"
            "Put .txt/.md/.html documents in a folder and run: python app.py --corpus FOLDER --index INDEX"
        )
    else:
        print(f"no index at {index}: building it from {corpus} …", file=sys.stderr)
    return Assistant.build(
        corpus, index, progress=True, on_stage=lambda msg: print(f"… {msg}", file=sys.stderr, flush=True)
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from qa_assistant import QAError
    from qa_assistant.extras import require

    try:
        require("ui")
        assistant = open_assistant(args.index, args.corpus)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from qa_assistant.server import token_from
    from qa_assistant.ui.app import serve

    serve(assistant, host=args.host, port=args.port, share=args.share, token=token_from(args.token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
