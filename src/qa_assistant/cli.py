"""Command line: `qa-assistant index`, `qa-assistant ask`, `qa-assistant eval`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import textwrap
from collections.abc import Callable
from typing import Any, Literal, cast, get_args, get_origin

from pydantic import ValidationError

from qa_assistant.errors import QAError, validation_problems
from qa_assistant.limits import MAX_UPLOAD_FILE_BYTES, MAX_UPLOAD_FILES
from qa_assistant.models import (
    DEFAULT_ALPHAS,
    DEFAULT_CONTEXTS,
    DEFAULT_RRF_KS,
    Answer,
    Quote,
    SearchSettings,
    Timeline,
    speaker_via_publisher,
)

DEFAULT_INDEX = "index"


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date: use YYYY-MM-DD") from None


def attribution(quote: Quote) -> str:
    """'— publisher, date (title)', from the quote's data only; unknown fields say so."""
    who = speaker_via_publisher(quote.speaker, quote.publisher) or "unknown publisher"
    date = quote.date.isoformat() if quote.date else "date unknown"
    title = f" ({quote.title})" if quote.title else ""
    page = f", {quote.pages_label}" if quote.pages_label else ""
    return f"— {who}, {date}{title}{page}"


def format_answer(answer: Answer) -> str:
    lines: list[str] = []
    if answer.understood is not None and answer.understood.labels():
        lines.append("Understood: " + "; ".join(answer.understood.labels()) + " (--no-infer to ignore)")
    lines.extend(f"Note: {note}" for note in answer.notes)
    if answer.abstained:
        lines.append(f"No answer: {answer.abstain_reason}")
        return "\n".join(lines)

    def add(quote: Quote, number: int) -> None:
        body = textwrap.fill(
            f"“{quote.display_text}”", width=100, initial_indent=f"{number:>2}. ", subsequent_indent="    "
        )
        lines.append(body)
        lines.append(f"    {attribution(quote)}")
        if quote.speaks_of_period:
            lines.append("    (published outside the period; speaks of it)")
        lines.append(f"    {quote.link}")
        for other in quote.also_in:
            date = other.date.isoformat() if other.date else "date unknown"
            lines.append(
                f"    also in: {other.publisher or 'unknown publisher'}, {date} ({other.title or other.doc_id})"
            )

    if answer.grouped_by_side and answer.topic:
        lines.append(f"Statements about “{answer.topic}”, by side:")
    for group, quotes in answer.numbered_groups():
        if group is not None:
            lines.append(f"\n== {group.side} ==")
            if group.note:
                lines.append(f"    {group.note}")
        for number, quote in quotes:
            add(quote, number)
    return "\n".join(lines).lstrip("\n")


def format_timeline(timeline: Timeline) -> str:
    """The timeline as a table: one line per row (side, or speaker), its statements and the periods they fall in."""
    by = "side" if timeline.rows_by == "side" else "speaker"
    lines = [f"Over time, by {timeline.granularity}: relevant statements per {by} (near-duplicates counted once)"]
    if not timeline.rows:
        lines.append("    no relevant statement within the filters")
    width = max([len(by), *(len(row.side) for row in timeline.rows)])
    undated = {cell.side: cell.count for cell in timeline.undated.rows}
    lines.append(f"{by:<{width}}  {'total':>5}  {'undated':>7}  periods (statements)")
    for row in timeline.rows:
        periods = ", ".join(f"{cell.period} ({cell.count})" for cell in row.cells) or "none"
        head = f"{row.side:<{width}}  {row.count:>5}  {undated.get(row.side, 0):>7}  "
        lines.extend(
            textwrap.wrap(
                periods, width=max(40, 110 - len(head)), initial_indent=head, subsequent_indent=" " * len(head)
            )
        )
    lines.extend(f"Note: {note}" for note in timeline.notes)
    return "\n".join(lines)


def cmd_index(args: argparse.Namespace) -> int:
    from qa_assistant.index.build import build_and_save
    from qa_assistant.index.lock import IndexLock

    say = lambda msg: print(f"… {msg}", file=sys.stderr, flush=True)  # noqa: E731
    backend = backend_from_args(args)
    if args.ray is not None:
        return _index_on_ray(args, backend, say)
    with IndexLock(args.index, wait=args.wait, on_wait=say):  # one writer per index folder, for the whole build
        index = build_and_save(
            args.corpus,
            args.index,
            model=args.model,
            faiss_kind=args.faiss,
            progress=not args.quiet,
            on_stage=None if args.quiet else say,
            encoder=args.encoder,
            vector_storage=args.vectors,
            force=args.force,
            backend=backend,
        )
    print(index_report(index, args.index))
    return 0


def _index_on_ray(args: argparse.Namespace, backend, say) -> int:
    """`index --ray [ADDRESS]`: the build on Ray (`index/distributed`), into a Milvus collection."""
    from qa_assistant.index.lock import IndexLock

    if backend.kind != "milvus" or backend.milvus is None:
        raise QAError(
            "--ray builds into a Milvus collection: add --backend milvus --milvus-uri URI (a server, "
            "http://host:19530, or on one machine a Milvus Lite file such as milvus.db)"
        )
    if args.faiss != "flat" or args.vectors != "float32":
        raise QAError("--faiss and --vectors do not apply with --ray: its index folder holds no vectors (Milvus does)")
    from qa_assistant.index.distributed.driver import build_on_ray

    with IndexLock(args.index, wait=args.wait, on_wait=say):  # one writer per index folder, for the whole build
        index = build_on_ray(
            args.corpus,
            args.index,
            backend.milvus,
            address=args.ray or None,
            workers=args.ray_workers,
            cpus_per_worker=args.ray_cpus,
            gpus_per_worker=args.ray_gpus,
            model=args.model,
            encoder=args.encoder,
            force=args.force,
            on_stage=None if args.quiet else say,
            progress=not args.quiet,
        )
    print(index_report(index, args.index))
    return 0


def backend_from_args(args: argparse.Namespace):
    """The `BackendInfo` of `index`'s --backend, --milvus-uri, --collection, --milvus-db and --milvus-index."""
    from qa_assistant.backends.base import BackendInfo
    from qa_assistant.backends.milvus.config import MilvusConfig, default_collection

    if args.backend == "local":
        if args.milvus_uri or args.collection:
            raise QAError("--milvus-uri and --collection need --backend milvus")
        return BackendInfo()
    if not args.milvus_uri:
        raise QAError(
            "--backend milvus needs --milvus-uri: a server (http://localhost:19530) or a Milvus Lite file (milvus.db)"
        )
    try:
        config = MilvusConfig(
            uri=args.milvus_uri,
            collection=args.collection or default_collection(args.index),
            db_name=args.milvus_db,
            index_type=args.milvus_index,
        )
    except ValidationError as exc:
        raise QAError(f"bad Milvus setting ({'; '.join(validation_problems(exc))})") from None
    return BackendInfo(kind="milvus", milvus=config)


def index_report(index, index_dir) -> str:
    """What was indexed, what metadata is missing, and what was skipped and why."""
    import numpy as np

    from qa_assistant.ingest.attribution import DOCUMENT_VOICE

    docs = index.documents
    lines = [f"indexed {len(docs)} documents, {index.manifest.sentences} sentences into {index_dir}"]
    for field in ("date", "side", "publisher"):
        missing = [d.id for d in docs if getattr(d, field) is None]
        if missing:
            lines.append(
                f"documents missing {field}: {len(missing)} ({', '.join(missing[:5])}{', …' if len(missing) > 5 else ''})"
            )
    extracted = [d.id for d in docs if d.date_source == "dateline"]
    if extracted:
        lines.append(f"dates read from the dateline: {len(extracted)}")
    labels = index.labels
    voices = [i for i, name in enumerate(labels.source_names) if name in DOCUMENT_VOICE]
    speakers = int((~np.isin(labels.source, voices)).sum())
    clusters = index.sentences.cluster
    duplicates = 0 if clusters is None else int((clusters != range(len(clusters))).sum())
    lines.append(f"sentences with an in-text speaker: {speakers}; near-duplicate sentences: {duplicates}")
    for item in index.skipped:
        lines.append(f"skipped {item.path}: {item.reason}")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa_assistant.assistant import Assistant

    if not args.question.strip():
        raise QAError(
            'the question is empty: pass a question, e.g. qa-assistant ask "What did each side say about Lachin?"'
        )
    assistant = Assistant.load(args.index, corpus_dir=args.corpus, encoder=args.encoder)
    answer = assistant.ask(
        args.question,
        k=args.k,
        settings=settings_from_args(args),
        min_similarity=args.min_similarity,
        sides=args.side,
        publishers=args.publisher,
        doc_ids=args.doc,
        speakers=args.speaker,
        since=args.since,
        until=args.until,
        infer=not args.no_infer,
        answer_unknown_names=args.answer_unknown_names,
    )
    if args.json:
        print(answer.model_dump_json(indent=2))
        return 0
    print(format_answer(answer))
    if args.timeline and answer.timeline is not None:
        print("\n" + format_timeline(answer.timeline))
    return 0


def _follow(assistant, job, quiet: bool) -> int:
    """Wait for `job`, printing its messages; its result as JSON on stdout; 0 when done, 1 when it failed."""
    seen = ""
    while not job.finished:
        if not quiet and job.message != seen:
            print(f"… {job.message}", file=sys.stderr, flush=True)
            seen = job.message
        job = assistant.wait(job.id, timeout=0.5)
    print(job.model_dump_json(indent=2))
    if job.state == "failed":
        print(f"error: {job.error}", file=sys.stderr)
        return 1
    if not quiet:
        print(f"… {job.message}", file=sys.stderr)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from pathlib import Path

    from qa_assistant.assistant import Assistant
    from qa_assistant.limits import UploadLimits
    from qa_assistant.models import UploadMetadata

    try:
        metadata = UploadMetadata(
            title=args.title, publisher=args.publisher, side=args.side, date=args.date, speaker=args.speaker
        )
    except ValidationError as exc:
        raise QAError(f"bad metadata ({'; '.join(validation_problems(exc))})") from None
    paths = [Path(name) for name in args.files]
    for path in paths:
        if not path.is_file():
            raise QAError(f"{path}: no such file")
    limits = UploadLimits(max_files=max(len(paths), 1), max_file_bytes=int(args.max_file_mb * 1048576))
    assistant = Assistant.load(args.index, corpus_dir=args.corpus)
    job = assistant.add_documents([(path.name, path) for path in paths], metadata, limits)
    return _follow(assistant, job, args.quiet)


def cmd_remove(args: argparse.Namespace) -> int:
    from qa_assistant.assistant import Assistant

    assistant = Assistant.load(args.index, corpus_dir=args.corpus)
    return _follow(assistant, assistant.remove_document(args.doc_id), args.quiet)


def cmd_documents(args: argparse.Namespace) -> int:
    from qa_assistant.assistant import Assistant

    documents = Assistant.load(args.index, corpus_dir=args.corpus).list_documents()
    if args.json:
        print(json.dumps([info.model_dump(mode="json") for info in documents], indent=2, ensure_ascii=False))
        return 0
    for info in documents:
        meta = ", ".join(str(v) for v in (info.side, info.publisher, info.date) if v)
        print(f"{info.id}\t{info.sentences} sentences\t{info.title or ''}" + (f"\t({meta})" if meta else ""))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from qa_assistant.index.check import check_index

    return check_index(args.index_dir, corpus_dir=args.corpus)


def cmd_serve(args: argparse.Namespace) -> int:
    from qa_assistant.extras import require

    require("serve")
    from qa_assistant.server import run

    return run(args)


def cmd_eval(args: argparse.Namespace) -> int:
    from qa_assistant.extras import require

    require("eval")
    from qa_assistant.evaluation.command import run_eval

    return run_eval(args)


def _listed(values) -> str:
    return ",".join(f"{v:g}" for v in values)


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """One option per field of `SearchSettings` (--mode, --fusion, --rrf-k, --alpha, --bm25-context, --candidates),
    with its default and description: a new setting is an option without a change here."""
    for name, info in SearchSettings.model_fields.items():
        choices = get_args(info.annotation) if get_origin(info.annotation) is Literal else None
        convert = cast(Callable[[str], Any], str if choices else info.annotation)  # int or float otherwise
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=convert,
            choices=choices,
            default=info.default,
            help=f"{info.description or name} (default {info.default})",
        )


def settings_from_args(args: argparse.Namespace) -> SearchSettings:
    """The `SearchSettings` of the options added by `add_settings_options`."""
    try:
        return SearchSettings(**{name: getattr(args, name) for name in SearchSettings.model_fields})
    except ValidationError as exc:
        raise QAError(f"bad search setting ({'; '.join(validation_problems(exc))})") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa-assistant", description="Quoted, attributed answers from a document collection."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    commands = parser.add_subparsers(dest="command", required=True)
    for add_command in (
        add_index_command,
        add_check_command,
        add_serve_command,
        add_add_command,
        add_remove_command,
        add_documents_command,
        add_ask_command,
        add_eval_command,
    ):
        add_command(commands)
    return parser


Commands = Any  # what `ArgumentParser.add_subparsers` returns


def add_index_command(commands: Commands) -> None:
    index = commands.add_parser("index", help="build the index of a corpus folder")
    index.add_argument("corpus", help="folder of .txt/.md/.html documents (with optional metadata.csv and sides.json)")
    index.add_argument("--index", default=DEFAULT_INDEX, help="index folder to write (default: index)")
    index.add_argument("--model", default="all-MiniLM-L6-v2", help="sentence-transformers model name or path")
    index.add_argument(
        "--faiss",
        default="flat",
        choices=["flat", "hnsw", "ivf"],
        help="exact (flat) or approximate (hnsw, ivf) vector search",
    )
    index.add_argument(
        "--vectors",
        default="float32",
        choices=["float32", "float16", "int8"],
        help="how vectors are stored (default float32; float16 halves, int8 quarters the size)",
    )
    index.add_argument(
        "--encoder",
        default="torch",
        choices=["torch", "onnx", "onnx-int8"],
        help="how sentences are encoded: PyTorch, ONNX Runtime, or ONNX Runtime with int8 weights (default torch)",
    )
    index.add_argument(
        "--force",
        action="store_true",
        help="build from scratch: neither skip an up-to-date index nor reuse its documents (vectors still cached)",
    )
    index.add_argument(
        "--backend",
        default="local",
        choices=["local", "milvus"],
        help="where searches go: this folder's files (local, default) or a Milvus collection (see README: Milvus)",
    )
    index.add_argument(
        "--milvus-uri", default=None, help="--backend milvus: http://host:19530 or a Milvus Lite .db file"
    )
    index.add_argument(
        "--collection", default=None, help="--backend milvus: collection name (default: qa_<index folder>_<hash>)"
    )
    index.add_argument("--milvus-db", default="", help="--backend milvus: database on the server (default: default)")
    index.add_argument(
        "--milvus-index",
        default=None,
        choices=["HNSW", "IVF_FLAT", "FLAT", "AUTOINDEX"],
        help="--backend milvus: dense index on a server (default HNSW; Milvus Lite always uses FLAT)",
    )
    add_ray_options(index)
    index.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    index.add_argument(
        "--wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="when another run is writing the same index, wait this long for it (default 60; 0: fail at once)",
    )
    index.set_defaults(run=cmd_index)


def add_ray_options(index: argparse.ArgumentParser) -> None:
    """`index --ray [ADDRESS]` and the sizes of its workers."""
    index.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="--backend milvus: build on Ray (the cluster at ADDRESS, host:port or auto; none: a local Ray); the "
        "folder gets the serving tables only (needs the ray extra)",
    )
    index.add_argument(
        "--ray-workers", type=int, default=None, metavar="N", help="--ray: encoding workers (default: as CPUs allow)"
    )
    index.add_argument("--ray-cpus", type=float, default=1.0, metavar="C", help="--ray: CPUs per worker (default 1)")
    index.add_argument("--ray-gpus", type=float, default=0.0, metavar="G", help="--ray: GPUs per worker (default 0)")


def add_check_command(commands: Commands) -> None:
    check = commands.add_parser("check", help="verify every file of an index (sizes, checksums, contents)")
    check.add_argument("index_dir", nargs="?", default=DEFAULT_INDEX, help="index folder (default: index)")
    check.add_argument("--corpus", default=None, help="corpus folder to name in the rebuild command")
    check.set_defaults(run=cmd_check)


def add_serve_command(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="HTTP JSON API: POST /ask, GET /health (see README)")
    serve.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default: index)")
    serve.add_argument(
        "--corpus",
        default=None,
        help="corpus folder of the index: checked against it, and where added documents are written (default: the "
        "one it was built from)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--workers", type=int, default=4, help="questions answered at the same time (threads; default 4)"
    )
    serve.add_argument(
        "--token",
        default=None,
        help="token that POST/DELETE /documents need (Authorization: Bearer TOKEN; default: $QA_ASSISTANT_TOKEN; "
        "without one, adding and removing documents is refused)",
    )
    serve.add_argument(
        "--max-files", type=int, default=MAX_UPLOAD_FILES, help=f"files per upload (default {MAX_UPLOAD_FILES})"
    )
    serve.add_argument(
        "--max-file-mb",
        type=float,
        default=MAX_UPLOAD_FILE_BYTES / 1048576,
        help=f"size of one uploaded file, MiB (default {MAX_UPLOAD_FILE_BYTES // 1048576})",
    )
    serve.set_defaults(run=cmd_serve)


def add_add_command(commands: Commands) -> None:
    add = commands.add_parser(
        "add", help="add files to the corpus folder of an index and update it (as the app and POST /documents do)"
    )
    add.add_argument("files", nargs="+", help="documents (.txt .md .html .jsonl .pdf .docx)")
    add.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default: index)")
    add.add_argument("--corpus", default=None, help="corpus folder (default: the one the index was built from)")
    for name, text in (
        ("--title", "title (one file only)"),
        ("--publisher", "publisher"),
        ("--side", "the side the documents speak for"),
        ("--date", "publication date, YYYY-MM-DD"),
        ("--speaker", "who speaks where the text names nobody"),
    ):
        add.add_argument(name, default=None, help=f"metadata.csv cell: {text}")
    add.add_argument(
        "--max-file-mb", type=float, default=MAX_UPLOAD_FILE_BYTES / 1048576, help="size limit of one file, MiB"
    )
    add.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add.set_defaults(run=cmd_add)


def add_remove_command(commands: Commands) -> None:
    remove = commands.add_parser("remove", help="remove a document (its file moves to the corpus's .removed/)")
    remove.add_argument("doc_id", help="the document id quotes carry (a .jsonl file's name: all its records)")
    remove.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default: index)")
    remove.add_argument("--corpus", default=None, help="corpus folder (default: the one the index was built from)")
    remove.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    remove.set_defaults(run=cmd_remove)


def add_documents_command(commands: Commands) -> None:
    documents = commands.add_parser("documents", help="list the documents of an index")
    documents.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default: index)")
    documents.add_argument("--corpus", default=None, help="corpus folder to check the index against")
    documents.add_argument("--json", action="store_true", help="DocumentInfo objects as JSON")
    documents.set_defaults(run=cmd_documents)


def add_ask_command(commands: Commands) -> None:
    ask = commands.add_parser("ask", help="answer a question with quotes")
    ask.add_argument("question")
    ask.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default: index)")
    ask.add_argument(
        "--corpus",
        default=None,
        help="corpus folder of the index: checked against it, and where added documents are written (default: the "
        "one it was built from)",
    )
    ask.add_argument("--k", type=int, default=6, help="number of quotes (default 6)")
    add_settings_options(ask)
    ask.add_argument(
        "--min-similarity", type=float, default=None, help="abstention threshold (cosine); default: the calibrated one"
    )
    ask.add_argument("--side", action="append", help="only this side (repeatable)")
    ask.add_argument("--publisher", action="append", help="only this publisher (repeatable)")
    ask.add_argument("--doc", action="append", help="only this document id, e.g. a file name (repeatable)")
    ask.add_argument("--since", type=_date, help="published on or after YYYY-MM-DD")
    ask.add_argument("--until", type=_date, help="published on or before YYYY-MM-DD")
    ask.add_argument("--speaker", action="append", help="only this speaker, as the index names it (repeatable)")
    ask.add_argument(
        "--no-infer",
        action="store_true",
        help="do not read a period, side or speaker from the question itself (explicit filters always win)",
    )
    ask.add_argument(
        "--answer-unknown-names",
        action="store_true",
        help="quote what matches the rest of a question that names something no document mentions",
    )
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON (with its timeline)")
    ask.add_argument(
        "--timeline",
        action="store_true",
        help="also print how the relevant statements spread over time: per side (or speaker) per period",
    )
    ask.add_argument(
        "--encoder",
        default=None,
        choices=["torch", "onnx", "onnx-int8"],
        help="refuse the index unless it was built with this encoder (questions always use the index's)",
    )
    ask.set_defaults(run=cmd_ask)


def _add_eval_input_options(ev: argparse.ArgumentParser) -> None:
    """What to evaluate: an eval set on an index, or a BEIR dataset folder and its indexes."""
    ev.add_argument("set", nargs="?", help="eval set (JSONL; see eval/README.md)")
    ev.add_argument(
        "--index",
        default=DEFAULT_INDEX,
        help="index to evaluate the eval set on (default: index; built from --corpus if missing)",
    )
    ev.add_argument(
        "--corpus",
        default=None,
        help="corpus folder of the index (default: the one it was built from; 'corpus' when there is no index yet)",
    )
    ev.add_argument(
        "--beir",
        default=None,
        metavar="DIR",
        help="evaluate a BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv) instead",
    )
    ev.add_argument("--split", default="test", help="BEIR qrels split (default: test)")
    ev.add_argument(
        "--cache", default="eval/cache", help="where BEIR indexes are cached by fingerprint (default: eval/cache)"
    )
    ev.add_argument("--model", default="all-MiniLM-L6-v2", help="embedding model for BEIR indexes")
    ev.add_argument(
        "--encoder",
        default=None,
        choices=["torch", "onnx", "onnx-int8"],
        help="BEIR: encoder of the indexes (default torch); eval set: the encoder of the index built when none exists (an existing index must match)",
    )


def _add_eval_mode_options(ev: argparse.ArgumentParser) -> None:
    """Which retrieval modes to compare: named modes, or the grid of fusion constants and context weights."""
    ev.add_argument(
        "--modes",
        default=None,
        help="comma-separated modes, e.g. bm25,dense,rrf-k60,weighted-a0.5,bm25-c0 (default: the grid below)",
    )
    ev.add_argument("--rrf-k", default=None, help=f"RRF constants of the grid (default: {_listed(DEFAULT_RRF_KS)})")
    ev.add_argument(
        "--alpha", default=None, help=f"weighted-fusion alphas of the grid (default: {_listed(DEFAULT_ALPHAS)})"
    )
    ev.add_argument(
        "--context",
        default=None,
        help=f"BM25 context weights to compare with the default, for bm25 and the default mode (default: {_listed(DEFAULT_CONTEXTS)}; '' for none)",
    )


def _add_eval_retrieval_options(ev: argparse.ArgumentParser) -> None:
    """How deep each query retrieves, and how BEIR documents are scored from their units."""
    ev.add_argument(
        "--granularity",
        default="sentence,document",
        help="BEIR: sentence, window (3 sentences) and/or document level (default: sentence,document)",
    )
    ev.add_argument(
        "--aggregation",
        default="max,top2",
        help="BEIR: document score from its sentences: max, top2, maxsum, sum (default: max,top2)",
    )
    ev.add_argument(
        "--maxsum-weight", type=float, default=0.1, help="BEIR: weight of the other sentences in maxsum (default 0.1)"
    )
    ev.add_argument(
        "--depth", type=int, default=None, help="units retrieved per query (default: 100 for eval sets, 1000 for BEIR)"
    )
    ev.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="candidates per retriever before fusion (default: 100 for eval sets, 1000 for BEIR)",
    )
    ev.add_argument(
        "--sample", type=int, default=None, help="BEIR: evaluate a random sample of this many queries (seed 0)"
    )


def _add_eval_answer_options(ev: argparse.ArgumentParser) -> None:
    """How the answers are asked and scored for abstention."""
    ev.add_argument(
        "--ask-modes",
        default=None,
        help="BEIR: also ask every query with these modes (abstention check; default: the current default and the best mode)",
    )
    ev.add_argument(
        "--min-similarity", type=float, default=None, help="abstention threshold to score (default: the one in use)"
    )
    ev.add_argument("--ask-k", type=int, default=10, help="quotes per answer when scoring the answers (default 10)")


def _add_eval_output_options(ev: argparse.ArgumentParser) -> None:
    """Where the report goes and what is printed."""
    ev.add_argument("--report", default=None, help="report folder (default: eval/results/DATASET)")
    ev.add_argument("--no-report", action="store_true", help="do not write a report folder")
    ev.add_argument("--runs", action="store_true", help="also write TREC run files and qrels into the report's runs/")
    ev.add_argument("--json", action="store_true", help="print the results as one JSON object")
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def add_eval_command(commands: Commands) -> None:
    ev = commands.add_parser("eval", help="evaluate retrieval modes on an eval set or a BEIR dataset")
    _add_eval_input_options(ev)
    _add_eval_mode_options(ev)
    _add_eval_retrieval_options(ev)
    _add_eval_answer_options(ev)
    _add_eval_output_options(ev)
    ev.set_defaults(run=cmd_eval)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return args.run(args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `qa-assistant ask … | head`: the reader has gone; end quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would fail on the closed pipe again
        return 141  # 128 + SIGPIPE, the status a shell shows for a tool ended by a closed pipe


if __name__ == "__main__":
    sys.exit(main())
