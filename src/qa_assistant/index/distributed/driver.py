"""The driver of a Ray build: Ray Data stages over the corpus files, then the final stage over the whole collection.

    files ─▶ prepare_files (tasks) ─▶ EncodeWorker (actor pool) ─▶ write_documents (tasks) ─▶ driver
             read, clean, segment,     one model per worker,          delete a document's old rows,
             attribute, version key    a batch of documents a call    insert its sentences, then its parts

The stages stream: files are read while earlier batches are encoded and written. A killed worker's batch is run
again (`retries`: task retries, actor restarts); a write is idempotent (a document's rows are deleted before they
are written, and its parts, written last, say it is whole). When the retries run out the build stops: the index
folder is not written (no manifest claims anything of this run), and the same command finishes it, skipping the
documents the collection holds whole (`stages.prepare_files`).

Final stage, on the driver, because it needs the whole collection:
- BM25: Milvus computes the sparse BM25 vectors of `text`, `context` and `tokens` itself (the collection's BM25
  functions) and keeps the collection's statistics (document count, average length, document frequencies) on the
  server, so no BM25 file is made; `token_counts.json` (adaptive fusion's weights) is the sum of the documents'
  token counts the workers return.
- Near-duplicate clusters need every vector: they are read back from Milvus by row id (the rows hold them, whichever
  run wrote them), clustered with `index/dedupe.py` exactly as the single-machine build does, and the documents
  whose rows then change (a sentence joining a cluster changes its `cluster` and its document's version) are
  written again by the same write stage.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import socket
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qa_assistant.backends.base import BackendInfo
from qa_assistant.backends.milvus.client import client_for, milvus_errors
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.backends.milvus.rows import row_id
from qa_assistant.backends.milvus.sync import IndexRows, delete_documents, prepared_collection
from qa_assistant.errors import QAError
from qa_assistant.extras import missing_extra
from qa_assistant.index.catalog import SentenceIndex, SentenceTable
from qa_assistant.index.date_mentions import DateMentions
from qa_assistant.index.dedupe import cluster_sentences
from qa_assistant.index.distributed.stages import (
    KEEP,
    WRITE,
    EncodeWorker,
    Fault,
    StageSettings,
    int64s,
    prepare_files,
    write_documents,
)
from qa_assistant.index.embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder, check_encoder
from qa_assistant.index.labels import SentenceLabels
from qa_assistant.index.manifest import SCHEMA_VERSION, Manifest
from qa_assistant.index.report import BuildReport
from qa_assistant.index.serving import TermCounts
from qa_assistant.index.store import save_serving_index
from qa_assistant.ingest.attribution import Attribution, attribute_document
from qa_assistant.ingest.clean import load_rules
from qa_assistant.ingest.corpus import (
    BOILERPLATE_FILE,
    CONFIG_FILES,
    JSONL_EXTENSIONS,
    DocumentMetadata,
    JsonlDocument,
    SkippedFile,
    corpus_file_hashes,
    corpus_fingerprint,
    document_source_keys,
    load_metadata,
    load_sides,
    read_text_file,
    require_corpus_dir,
)
from qa_assistant.ingest.sides import SideConfig
from qa_assistant.models import Document, join_soft_hyphens
from qa_assistant.text.quotable import quotable_flags
from qa_assistant.version import __version__

LIGHT_CPUS = 0.25  # what a reading or writing task asks of Ray: they wait on files and Milvus more than they compute
FILES_PER_TASK = 4
DOCUMENTS_PER_BATCH = 8  # documents encoded in one call of a worker (UN speeches: about 700 sentences)
READ_BATCH = 4096  # rows read back from Milvus per round trip


class RayBuildStopped(QAError):
    """A Ray build stopped before its end (retries used up, the cluster lost): what it wrote is kept."""


def ray_module() -> Any:
    """The ray module with Ray Data, or a QAError saying how to install them."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise missing_extra("ray", ["ray[data]"]) from None
    return ray


def build_on_ray(
    corpus_dir: str | Path,
    index_dir: str | Path,
    config: MilvusConfig,
    *,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: float = 1,
    gpus_per_worker: float = 0,
    model: str = DEFAULT_MODEL,
    encoder: str = DEFAULT_ENCODER,
    force: bool = False,
    retries: int = 3,
    documents_per_batch: int = DOCUMENTS_PER_BATCH,
    on_stage: Callable[[str], None] | None = None,
    progress: bool = False,
    fault: Fault | None = None,
) -> SentenceIndex:
    """Index `corpus_dir` into the collection `config` on Ray (`address`: a cluster, "auto", or None: a local Ray;
    one already started in this process is used as it is) with `workers` encoding workers of `cpus_per_worker`
    CPUs and `gpus_per_worker` GPUs (default: as many as the CPUs allow); write the serving tables of the index to
    `index_dir` (`index/serving.py`; no vectors, no BM25 files). `force` writes every document again. Raises
    `RayBuildStopped` when the build stops midway (run it again to finish)."""
    say = on_stage or (lambda _msg: None)
    _check_options(encoder, workers, cpus_per_worker, gpus_per_worker)
    ray = ray_module()
    _check_reachable(address)  # (before the corpus is hashed and the model loaded)
    clock = _Clock()
    plan = _CorpusPlan(require_corpus_dir(corpus_dir))
    say(f"{len(plan.files)} corpus files to read on Ray")
    dimension = Embedder(model, encoder).dimension
    stored = prepared_collection(client_for(config), config, dimension, say)
    settings = _settings(plan, config, model, encoder, {} if force else stored, fault)
    clock.mark("preparing_ms")  # the corpus's hashes and metadata, the model's dimension, the collection
    with _ray_session(ray, address, workers, cpus_per_worker, say) as cluster_cpus:
        clock.mark("ray_start_ms")
        _check_lite_on_one_node(ray, config)
        count = workers or _default_workers(cluster_cpus, cpus_per_worker)
        say(f"encoding on {count} Ray worker(s) of {cpus_per_worker:g} CPU(s), {gpus_per_worker:g} GPU(s) each")
        stages = _Stages(
            ray, settings, count, (cpus_per_worker, gpus_per_worker), retries, progress, documents_per_batch
        )
        collected = _Collected(stages.run(plan.items()), plan)
        clock.mark("stages_ms")  # read, segment, attribute, encode, write: the streaming stages
        say(
            f"{collected.count(WRITE)} documents written to Milvus, {collected.count(KEEP)} kept as the collection held them"
        )
        index, rewrite = _final_stage(
            collected, plan, config, stored, _manifest(plan, model, encoder, dimension, config), say
        )
        clock.mark("final_ms")  # vectors read back, clusters, versions
        if rewrite:
            say(f"writing again the rows of {len(rewrite)} documents whose near-duplicate clusters changed")
            stages.write_again(rewrite)
        clock.mark("rewrite_ms")
    say(f"writing the serving tables to {index_dir}")
    save_serving_index(index, Path(index_dir))
    clock.mark("save_ms")
    index.build_report = _report(collected, rewrite, len(index.sentences), count, clock)
    return index


def _report(
    collected: _Collected, rewrite: list[dict[str, Any]], sentences: int, workers: int, clock: _Clock
) -> BuildReport:
    """What the build did: documents written, kept, written again, and the milliseconds of each step."""
    report = BuildReport(documents_segmented=len(collected.rows))
    report.milvus = {
        "inserted": collected.count(WRITE),
        "kept": collected.count(KEEP),
        "rewritten": len(rewrite),
        "rewritten_sentences": sum(len(int64s(r["starts"])) for r in rewrite),
        "sentences": sentences,
        "workers": workers,
        **clock.marks,
    }
    return report


def _check_lite_on_one_node(ray: Any, config: MilvusConfig) -> None:
    if config.is_lite and sum(1 for node in ray.nodes() if node.get("Alive")) > 1:
        raise QAError(
            f"the Milvus Lite file {config.uri} is served to the workers over a unix socket on this machine: on a "
            "Ray cluster of several machines give a Milvus server (--milvus-uri http://host:19530)"
        )


def _check_options(encoder: str, workers: int | None, cpus_per_worker: float, gpus_per_worker: float) -> None:
    check_encoder(encoder)
    if workers is not None and workers < 1:
        raise QAError(f"--ray-workers must be at least 1 (got {workers})")
    if cpus_per_worker <= 0 or gpus_per_worker < 0:
        raise QAError("--ray-cpus must be above 0 and --ray-gpus at least 0")


def _settings(
    plan: _CorpusPlan, config: MilvusConfig, model: str, encoder: str, stored: dict[str, str], fault: Fault | None
) -> StageSettings:
    return StageSettings(
        corpus_dir=str(plan.corpus_dir.resolve()),
        milvus=_worker_config(config).model_dump(),
        model=model,
        encoder=encoder,
        sides=plan.sides.model_dump_json(),
        file_sides=plan.file_sides.model_dump_json(),
        rules=plan.rules_json,
        stored=stored,
        fault=fault,
    )


def _manifest(plan: _CorpusPlan, model: str, encoder: str, dimension: int, config: MilvusConfig) -> Manifest:
    """The manifest of the build (its counts are set by the final stage, its file table when it is saved)."""
    return Manifest(
        schema_version=SCHEMA_VERSION,
        package_version=__version__,
        model=model,
        dimension=dimension,
        faiss_kind="flat",
        encoder=encoder,
        vectors="float32",
        corpus_dir=str(plan.corpus_dir.resolve()),
        corpus_fingerprint=corpus_fingerprint(plan.corpus_dir, plan.hashes),
        documents=0,
        sentences=0,
        skipped=0,
        created_at=dt.datetime.now(dt.UTC),
        corpus_files=plan.hashes,
        source_keys=plan.source_keys,
        backend=BackendInfo(kind="milvus", milvus=config),
    )


class _Clock:
    """Milliseconds spent in each step of a build, one after the other."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.marks: dict[str, int] = {}

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.marks[name] = round((now - self.last) * 1000)
        self.last = now


class _CorpusPlan:
    """What the driver knows of the corpus before any document is read: its files with their hashes, metadata rows
    and source keys, the side files, and the side configuration the attributions are made with."""

    def __init__(self, corpus_dir: Path):
        self.corpus_dir = corpus_dir
        self.hashes = corpus_file_hashes(corpus_dir)
        self.metadata = load_metadata(corpus_dir)
        self.file_sides = load_sides(corpus_dir)
        rules_path = corpus_dir / BOILERPLATE_FILE
        try:
            self.rules_json = load_rules(rules_path).model_dump_json()
        except ValueError as exc:
            raise QAError(f"{rules_path}: not a valid rule file ({exc})") from None
        self.source_keys = document_source_keys(self.hashes, self.metadata)
        self.files = [rel for rel in self.hashes if rel not in CONFIG_FILES]
        self.position = {rel: i for i, rel in enumerate(self.files)}
        self.sides = self.file_sides.with_sides(self._expected_sides())

    def _expected_sides(self) -> Iterator[str]:
        """The documents' sides as `make_document` will find them, from metadata.csv (and the lines of .jsonl
        files): what `load_corpus` adds to the side configuration, known before the workers attribute."""
        for rel in self.source_keys:
            if Path(rel).suffix.lower() in JSONL_EXTENSIONS:
                yield from self._jsonl_sides(rel)
                continue
            meta = self.metadata.get(rel) or DocumentMetadata(file=rel)
            side = meta.side or self.file_sides.side_of_publisher(meta.publisher, meta.url)
            if side:
                yield side

    def _jsonl_sides(self, rel: str) -> Iterator[str]:
        try:
            lines = read_text_file(self.corpus_dir / rel).splitlines()
        except (OSError, ValueError):
            return
        for line in lines:
            try:
                row = JsonlDocument.model_validate_json(line)
            except ValueError:
                continue
            side = row.side or self.file_sides.side_of_publisher(row.publisher, row.url)
            if side:
                yield side

    def items(self) -> list[dict[str, str]]:
        return [
            {"file": rel, "meta": self.metadata[rel].model_dump_json() if rel in self.metadata else ""}
            for rel in self.files
        ]


def _worker_config(config: MilvusConfig) -> MilvusConfig:
    """`config` as the workers reach it: a Milvus Lite file is opened by one process, this one (its client is open),
    whose Lite server the workers reach over its unix socket; a server as it is."""
    if not config.is_lite:
        return config
    from milvus_lite.server_manager import server_manager_instance

    socket_uri = server_manager_instance.start_and_get_uri(config.uri)
    if not socket_uri:
        raise QAError(f"cannot start the Milvus Lite server of {config.uri}")
    return config.model_copy(update={"uri": socket_uri})


@contextmanager
def _ray_session(
    ray: Any, address: str | None, workers: int | None, cpus_per_worker: float, say: Callable[[str], None]
) -> Iterator[float]:
    """Ray for the build: the one this process runs already, else the cluster at `address`, else a local one (shut
    down at the end). Yields the cluster's CPU count."""
    ours = False
    if not ray.is_initialized():
        quiet = {"include_dashboard": False, "logging_level": "warning", "log_to_driver": False}
        if address:
            _check_reachable(address)
            say(f"connecting to the Ray cluster at {address}")
            try:
                ray.init(address=address, **quiet)
            except Exception as exc:  # ConnectionError, RuntimeError, TimeoutError: all mean "no cluster there"
                raise QAError(
                    f"cannot connect to a Ray cluster at {address} ({type(exc).__name__}: {exc}); start one with "
                    "`ray start --head` on its head node, or leave out the address for a local Ray"
                ) from None
        else:
            cores = os.cpu_count() or 1
            wanted = (workers or _default_workers(cores, cpus_per_worker)) * cpus_per_worker + 2 * LIGHT_CPUS
            say(f"starting a local Ray ({max(cores, math.ceil(wanted))} CPUs)")
            try:
                ray.init(num_cpus=max(cores, math.ceil(wanted)), **quiet)
            except Exception:  # its processes were slow to start (RuntimeError, or Exception "timed out"): once more
                ray.shutdown()
                try:
                    ray.init(num_cpus=max(cores, math.ceil(wanted)), **quiet)
                except Exception as exc:
                    ray.shutdown()
                    raise QAError(
                        f"a local Ray did not start twice ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                        "the build did not start: run the same command again, or start Ray yourself (`ray start "
                        "--head`) and pass --ray auto"
                    ) from None
        ours = True
    try:
        yield float(ray.cluster_resources().get("CPU", 1))
    finally:
        if ours:
            ray.shutdown()


def _default_workers(cpus: float, cpus_per_worker: float) -> int:
    """As many encoding workers as `cpus` hold beside the reading and writing tasks (at least one)."""
    return max(1, int((cpus - 2 * LIGHT_CPUS) // cpus_per_worker))


def _check_reachable(address: str | None) -> None:
    """A QAError now, rather than a long wait, when nothing listens at a Ray address (host:port, ray://host:port)."""
    if not address or address == "auto":
        return
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise QAError(
            f"'{address}' is not a Ray address: give host:port (e.g. 10.0.0.1:6379), ray://host:10001 or auto"
        )
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise QAError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with `ray start --head` on its "
            "head node, or leave out the address for a local Ray"
        ) from None


class _Stages:
    """The Ray Data stages of one build."""

    def __init__(
        self,
        ray: Any,
        settings: StageSettings,
        workers: int,
        resources: tuple[float, float],
        retries: int,
        progress: bool,
        batch: int = DOCUMENTS_PER_BATCH,
    ):
        self.ray, self.settings, self.workers = ray, settings, workers
        self.cpus, self.gpus = resources  # of each encoding worker
        self.batch = batch  # documents per encoding call and per write task
        self.task_args = lambda: {"max_retries": retries}
        self.actor_args = lambda: {"max_restarts": retries, "max_task_retries": retries}
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = progress
        context.print_on_execution_start = False

    def run(self, items: list[dict[str, str]]) -> list[dict[str, Any]]:
        with _quiet():
            return self._run(items)

    def _run(self, items: list[dict[str, str]]) -> list[dict[str, Any]]:
        data = self.ray.data
        blocks = max(1, math.ceil(len(items) / FILES_PER_TASK))
        dataset = data.from_items(items, override_num_blocks=blocks).map_batches(
            prepare_files,
            batch_size=FILES_PER_TASK,
            fn_kwargs={"settings": self.settings},
            num_cpus=LIGHT_CPUS,
            ray_remote_args_fn=self.task_args,
        )
        dataset = dataset.map_batches(
            EncodeWorker,
            batch_size=self.batch,
            fn_constructor_kwargs={
                "model": self.settings.model,
                "encoder": self.settings.encoder,
                "threads": max(1, int(self.cpus)),
                "gpus": self.gpus,
                "fault": self.settings.fault,
            },
            compute=data.ActorPoolStrategy(size=self.workers),
            num_cpus=self.cpus,
            num_gpus=self.gpus or None,
            ray_remote_args_fn=self.actor_args,
        )
        return self._written(dataset)

    def write_again(self, rows: list[dict[str, Any]]) -> None:
        """Write the rows of documents again (their clusters changed), on the workers."""
        blocks = max(1, math.ceil(len(rows) / self.batch))
        with _quiet():
            self._written(self.ray.data.from_items(rows, override_num_blocks=blocks))

    def _written(self, dataset: Any) -> list[dict[str, Any]]:
        dataset = dataset.map_batches(
            write_documents,
            batch_size=self.batch,
            fn_kwargs={"settings": self.settings},
            num_cpus=LIGHT_CPUS,
            ray_remote_args_fn=self.task_args,
        )
        try:
            return dataset.take_all()
        except QAError:
            raise
        except Exception as exc:  # a stage that failed for good: Ray wraps the worker's error
            cause = _worker_error(exc)
            if isinstance(cause, QAError):
                raise RayBuildStopped(f"{cause}; the documents written so far are kept") from None
            raise RayBuildStopped(
                f"the Ray build stopped ({type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}); "
                "the documents written whole so far are kept and no index folder was written: run the same command "
                "again to finish"
            ) from None


@contextmanager
def _quiet() -> Iterator[None]:
    """Without Ray Data's notes that say nothing to a user of this command: the remote-argument hooks of the pinned
    Ray (retries are set through them) are to be renamed in a later Ray; a pool larger than a small corpus's
    batches."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="The minimum number of concurrent actors", category=UserWarning)
        yield


def _worker_error(exc: BaseException) -> BaseException:
    """The error a worker raised, out of Ray's wrappers."""
    seen = exc
    while True:
        inner = getattr(seen, "cause", None) or seen.__cause__
        if inner is None or inner is seen:
            return seen
        seen = inner


class _Collected:
    """The rows the stages returned, in corpus order (files by path, documents in file order)."""

    def __init__(self, rows: list[dict[str, Any]], plan: _CorpusPlan):
        rows = sorted(rows, key=lambda r: (plan.position[str(r["file"])], int(r["order"])))
        self.skipped = [SkippedFile(**s) for r in rows if r["skipped"] for s in json.loads(r["skipped"])]
        self.rows = [r for r in rows if r["doc"]]
        self.documents = [Document.model_validate_json(r["doc"]) for r in self.rows]
        self.starts = [int64s(r["starts"]) for r in self.rows]
        self.ends = [int64s(r["ends"]) for r in self.rows]
        ids = [doc.id for doc in self.documents]
        if len(set(ids)) != len(ids):
            twice = sorted(doc_id for doc_id, n in Counter(ids).items() if n > 1)
            raise QAError(f"documents read twice: {', '.join(twice[:5])}")

    def count(self, state: str) -> int:
        return sum(1 for r in self.rows if r["state"] == state)

    def attributions(self, sides: SideConfig | None) -> list[Attribution]:
        """The attributions the workers made, or (`sides`) made again here with that side configuration."""
        made: list[Attribution] = []
        for i, row in enumerate(self.rows):
            if sides is None:
                made.extend(Attribution.model_validate(a) for a in json.loads(row["attributions"]))
            else:
                spans = list(zip(self.starts[i].tolist(), self.ends[i].tolist()))
                made.extend(attribute_document(self.documents[i], spans, sides))
        return made

    def date_mentions(self) -> DateMentions:
        parts = []
        for number, row in enumerate(self.rows):
            if row["dates"]:
                table = np.frombuffer(bytes(row["dates"]), dtype=np.int64).reshape(-1, 7).copy()
                table[:, 0] = number
                parts.append(table)
        table = np.concatenate(parts) if parts else np.empty((0, 7), dtype=np.int64)
        return DateMentions.from_columns(list(table.T))

    def term_counts(self, sentences: int) -> TermCounts:
        total: Counter[str] = Counter()
        for row in self.rows:
            total.update(json.loads(row["terms"]))
        return TermCounts(dict(total), sentences)


def _final_stage(
    collected: _Collected,
    plan: _CorpusPlan,
    config: MilvusConfig,
    stored: dict[str, str],
    manifest: Manifest,
    say: Callable[[str], None],
) -> tuple[SentenceIndex, list[dict[str, Any]]]:
    """The index of the whole collection (clusters from every vector, read back from Milvus), and the rows (in the
    stages' columns) of the documents to write again because their version changed."""
    documents = collected.documents
    if not documents:
        raise QAError(f"no readable documents in {plan.corpus_dir}")
    sides = plan.file_sides.with_sides(d.side for d in documents if d.side)
    again = sides.model_dump() != plan.sides.model_dump()
    if again:  # (a file whose metadata names a side could not be read: that side is not the collection's)
        say("attributing speakers again: the documents' sides are not those metadata.csv named")
    attributions = collected.attributions(sides if again else None)
    counts = [len(s) for s in collected.starts]
    sentences = SentenceTable(
        doc_index=np.repeat(np.arange(len(documents), dtype=np.int32), counts),
        start=np.concatenate(collected.starts).astype(np.int64),
        end=np.concatenate(collected.ends).astype(np.int64),
    )
    if len(sentences) == 0:
        raise QAError(f"no sentences found in the documents of {plan.corpus_dir}")
    sentences.quotable = quotable_flags(
        (documents[d].text[s:e] for d, s, e in zip(sentences.doc_index, sentences.start, sentences.end)), len(sentences)
    )
    # the version each document's rows hold now: as written by this run, or as stored (clusters of an earlier build)
    written = [
        stored.get(doc.id, str(r["key"])) if r["state"] == KEEP else str(r["key"])
        for doc, r in zip(documents, collected.rows)
    ]
    vectors = _vectors_from_milvus(config, documents, counts, written, stored, manifest.dimension, say)
    texts = [
        join_soft_hyphens(documents[d].text[s:e])
        for d, s, e in zip(sentences.doc_index, sentences.start, sentences.end)
    ]
    say(f"clustering near-duplicate sentences over all {len(texts)} vectors")
    sentences.cluster = cluster_sentences(texts, sentences.doc_index, vectors)
    counted = {"documents": len(documents), "sentences": len(sentences), "skipped": len(collected.skipped)}
    index = SentenceIndex(
        manifest.model_copy(update=counted),
        documents,
        sentences,
        sides,
        collected.skipped,
        None,
        None,
        attributions,
        precomputed_labels=SentenceLabels.of(attributions),
        date_mentions=collected.date_mentions(),
        term_counts=collected.term_counts(len(sentences)),
    )
    made = IndexRows(index)
    index.document_keys = made.keys
    return index, _rewrites(collected, made, written, attributions, vectors)


def _rewrites(
    collected: _Collected, made: IndexRows, written: list[str], attributions: list[Attribution], vectors: np.ndarray
) -> list[dict[str, Any]]:
    """The rows (stages' columns) of the documents whose version after clustering (`made.keys`) is not the one
    their rows hold (`written`), with their final clusters."""
    rewrite = []
    for i, row in enumerate(collected.rows):
        if made.keys[i] == written[i]:
            continue
        lo, hi = int(made.bounds[i]), int(made.bounds[i + 1])
        rewrite.append(
            {
                **{name: row[name] for name in ("file", "order", "doc", "starts", "ends")},
                "attributions": json.dumps([a.model_dump(mode="json") for a in attributions[lo:hi]]),
                "key": made.keys[i],
                "state": WRITE,
                "vectors": np.ascontiguousarray(vectors[lo:hi]).tobytes(),
                "clusters": np.asarray(made.clusters(i), dtype=np.int64).tobytes(),
            }
        )
    return rewrite


def _vectors_from_milvus(
    config: MilvusConfig,
    documents: list[Document],
    counts: list[int],
    written: list[str],
    stored: dict[str, str],
    dimension: int,
    say: Callable[[str], None],
) -> np.ndarray:
    """Every sentence's vector, read back from the collection in sentence order; the rows of documents that are not
    the corpus's any more (or of a version of a document no longer wanted) are deleted."""
    position: dict[int, int] = {}
    at = 0
    for doc, count in zip(documents, counts):
        for j in range(count):
            position[row_id(doc.id, j)] = at + j
        at += count
    keys = {doc.id: key for doc, key in zip(documents, written)}
    vectors = np.zeros((at, dimension), dtype=np.float32)
    found = np.zeros(at, dtype=bool)
    stray_docs: set[str] = {doc_id for doc_id in stored if doc_id not in keys}
    stray_rows: list[int] = []
    client = client_for(config)
    say(f"reading {at} sentence vectors back from Milvus")
    with milvus_errors(config, "reading the vectors back"):
        iterator = client.query_iterator(
            config.collection, batch_size=READ_BATCH, filter="pk >= 0", output_fields=["doc_id", "doc_key", "vector"]
        )
        try:
            while batch := iterator.next():
                for row in batch:
                    i = position.get(int(row["pk"]))
                    if i is None or keys.get(row["doc_id"]) != row["doc_key"]:
                        if row["doc_id"] in keys:
                            stray_rows.append(int(row["pk"]))
                        else:
                            stray_docs.add(row["doc_id"])
                        continue
                    vectors[i] = row["vector"]
                    found[i] = True
        finally:
            iterator.close()
        if stray_docs:
            say(f"deleting the rows of {len(stray_docs)} documents that are not in the corpus any more")
            delete_documents(client, config, sorted(stray_docs))
        if stray_rows:
            client.delete(config.collection, ids=stray_rows)
    if not found.all():
        raise RayBuildStopped(
            f"{int((~found).sum())} sentence rows are missing from the collection '{config.collection}' after the "
            "workers wrote it; run the same command again"
        )
    return vectors
