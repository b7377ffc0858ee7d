"""What the workers of a Ray build run, one batch at a time (Ray Data hands each a dict of columns). Nothing here
imports Ray: these are the single-machine build's own steps applied to a few documents.

One row per document flows through the stages (a corpus file that could not be read gives a row with `skipped`
set instead), with these columns:

    file, order    its corpus file (relative path) and its number among that file's documents (.jsonl: many)
    doc            the `Document` as JSON
    starts, ends   its sentences' offsets (int64 bytes)
    attributions   a JSON list of the sentences' `Attribution`s
    texts          a JSON list of the sentences' texts as encoded and searched (soft hyphens joined)
    key            the version of its rows (`backends.milvus.rows.document_key`, with each sentence its own
                   cluster; the final stage writes again the documents whose clusters it changes)
    state          "write" (its rows are to be written) or "keep" (the collection holds them whole already)
    terms          a JSON object: how many of its sentences hold each BM25 token (summed over the collection for
                   `token_counts.json`)
    dates          its date mentions (`DateMentions`, document 0), int64 bytes of 7 columns
    skipped        a JSON list of `SkippedFile`s ("" on a document's row)
    vectors        its sentences' vectors (float32 bytes), added by `EncodeWorker` ("" for a kept document)
    clusters       optional: the cluster row id of each sentence (int64 bytes; default: its own row id)

`write_documents` drops `texts` and `vectors` from what it passes on: the driver gets back metadata, offsets and
attributions, and reads the vectors from Milvus (which holds them whatever run wrote them).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa_assistant.backends.filters import quoted
from qa_assistant.backends.milvus.client import client_for, milvus_errors
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.backends.milvus.rows import document_key, document_parts, document_sentence_rows, row_id
from qa_assistant.backends.milvus.schema import documents_collection
from qa_assistant.backends.milvus.sync import RowWriter, delete_documents
from qa_assistant.index.date_mentions import DateMentions
from qa_assistant.ingest.attribution import Attribution, attribute_document
from qa_assistant.ingest.clean import BoilerplateRules
from qa_assistant.ingest.corpus import DocumentMetadata, read_documents
from qa_assistant.ingest.sides import SideConfig
from qa_assistant.models import Document, join_soft_hyphens
from qa_assistant.text.segment import split_sentences
from qa_assistant.text.tokens import tokenize

WRITE, KEEP = "write", "keep"
COLUMNS = (
    "file",
    "order",
    "doc",
    "starts",
    "ends",
    "attributions",
    "texts",
    "key",
    "state",
    "terms",
    "dates",
    "skipped",
)


@dataclass
class Fault:
    """A failure made on purpose (tests, trying a cluster's retries): the worker handling document `doc_id` in
    stage `stage` ("encode" or "write": after its sentence rows, before its parts) exits at once. With `marker`
    (a file path on storage the workers share), only while that file does not exist: it is made first, so the
    retry succeeds; without, every attempt fails."""

    doc_id: str
    stage: str = "write"
    marker: str | None = None

    def strike(self, stage: str, doc_id: str) -> None:
        if stage != self.stage or doc_id != self.doc_id:
            return
        if self.marker is not None:
            if Path(self.marker).exists():
                return
            Path(self.marker).touch()
        os._exit(1)


@dataclass
class StageSettings:
    """What every worker is handed (small: serialized into each task)."""

    corpus_dir: str
    milvus: dict[str, Any]  # `MilvusConfig` as the workers reach it (a Milvus Lite file: its server's socket)
    model: str
    encoder: str
    sides: str  # the side configuration attributions are made with (sides.json plus the documents' sides), JSON
    file_sides: str  # sides.json as read (what a document's side is found with), JSON
    rules: str  # the boilerplate rules, JSON
    stored: dict[str, str] = field(default_factory=dict)  # doc_id -> doc_key of the documents stored whole
    fault: Fault | None = None

    def config(self) -> MilvusConfig:
        return MilvusConfig.model_validate(self.milvus)


_parsed: dict[int, tuple[SideConfig, SideConfig, BoilerplateRules]] = {}


def _configuration(settings: StageSettings) -> tuple[SideConfig, SideConfig, BoilerplateRules]:
    """The side configurations and rules of `settings`, parsed once per worker process."""
    key = hash((settings.sides, settings.file_sides, settings.rules))
    if key not in _parsed:
        _parsed[key] = (
            SideConfig.model_validate_json(settings.sides),
            SideConfig.model_validate_json(settings.file_sides),
            BoilerplateRules.model_validate_json(settings.rules),
        )
    return _parsed[key]


def _int64(values: Any) -> bytes:
    return np.asarray(values, dtype=np.int64).tobytes()


def int64s(data: Any) -> np.ndarray:
    """The int64 array stored as bytes in a column."""
    return np.frombuffer(bytes(data), dtype=np.int64) if data else np.empty(0, dtype=np.int64)


def own_clusters(doc_id: str, count: int) -> list[int]:
    """Each sentence of a document its own cluster (the row ids of its sentences)."""
    return [row_id(doc_id, j) for j in range(count)]


def prepare_files(batch: dict[str, np.ndarray], settings: StageSettings) -> dict[str, list]:
    """Read, clean, segment and attribute the corpus files of `batch` (columns `file`, `meta`: the file's
    metadata.csv row as JSON, or ""); one row per document, or per file (part) skipped. A document whose rows the
    collection already holds whole is marked "keep"."""
    corpus = Path(settings.corpus_dir)
    sides, file_sides, rules = _configuration(settings)
    out: dict[str, list] = {name: [] for name in COLUMNS}
    for rel, meta_json in zip(batch["file"].tolist(), batch["meta"].tolist()):
        meta = DocumentMetadata.model_validate_json(meta_json) if meta_json else None
        documents, skipped = read_documents(corpus / rel, corpus, meta, file_sides, rules)
        if skipped:
            _add(out, rel, -1, skipped=json.dumps([s.model_dump() for s in skipped]))
        for order, doc in enumerate(documents):
            spans = split_sentences(doc.text)
            attributions = attribute_document(doc, spans, sides)
            texts = [join_soft_hyphens(doc.text[s:e]) for s, e in spans]
            starts, ends = [s for s, _ in spans], [e for _, e in spans]
            key = document_key(doc, starts, ends, attributions, own_clusters(doc.id, len(spans)))
            terms = Counter(token for text in texts for token in set(tokenize(text)))
            dates = DateMentions.of_documents([doc], [0]).columns()
            _add(
                out,
                rel,
                order,
                doc=doc.model_dump_json(),
                starts=_int64(starts),
                ends=_int64(ends),
                attributions=json.dumps([a.model_dump(mode="json") for a in attributions]),
                texts=json.dumps(texts),
                key=key,
                state=KEEP if _stored_whole(settings, doc, starts, ends, attributions, key) else WRITE,
                terms=json.dumps(terms),
                dates=np.stack(dates, axis=1).astype(np.int64).tobytes() if len(dates[0]) else b"",
            )
    return out


def _add(out: dict[str, list], rel: str, order: int, **values: Any) -> None:
    defaults: dict[str, Any] = {"doc": "", "starts": b"", "ends": b"", "attributions": "[]", "texts": "[]"}
    defaults |= {"key": "", "state": KEEP, "terms": "{}", "dates": b"", "skipped": ""}
    row = {"file": rel, "order": order, **defaults, **values}
    for name in COLUMNS:
        out[name].append(row[name])


def _stored_whole(
    settings: StageSettings,
    doc: Document,
    starts: list[int],
    ends: list[int],
    attributions: list[Attribution],
    key: str,
) -> bool:
    """Whether the collection holds this version of `doc` whole: its parts are there (written after its sentences)
    with the key of these offsets and attributions, either with each sentence its own cluster (`key`: as a build cut
    short left it) or with the clusters its rows hold (as a finished build left it)."""
    stored = settings.stored.get(doc.id)
    if stored is None:
        return False
    if stored == key:
        return True
    config = settings.config()
    client = client_for(config)
    with milvus_errors(config, "reading a document's clusters"):
        rows = client.query(
            config.collection,
            filter=f"doc_id == {quoted(doc.id)}",
            output_fields=["ordinal", "cluster"],
        )
    if len(rows) != len(starts):
        return False
    clusters = [int(r["cluster"]) for r in sorted(rows, key=lambda r: int(r["ordinal"]))]
    return document_key(doc, starts, ends, attributions, clusters) == stored


class EncodeWorker:
    """The sentence vectors of a batch of documents: one model per worker (loaded once, in the constructor), every
    sentence of the batch encoded in one call (batches of 64 inside it, as the single-machine build)."""

    def __init__(
        self, model: str, encoder: str, threads: int | None = None, gpus: float = 0, fault: Fault | None = None
    ):
        from qa_assistant.index.embedder import Embedder

        self.embedder = Embedder(model, encoder)
        if encoder == "torch":
            import torch

            if threads:
                torch.set_num_threads(threads)
            if gpus and torch.cuda.is_available():  # (the torch encoder on the worker's GPU)
                self.embedder.model.to("cuda")
        self.fault = fault

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        states = batch["state"].tolist()
        texts = [json.loads(t) if state == WRITE else [] for t, state in zip(batch["texts"].tolist(), states)]
        if self.fault is not None:
            for doc, state in zip(batch["doc"].tolist(), states):
                if state == WRITE:
                    self.fault.strike("encode", Document.model_validate_json(doc).id)
        flat = [text for group in texts for text in group]
        vectors = self.embedder.encode(flat) if flat else np.empty((0, self.embedder.dimension), dtype=np.float32)
        out, at = [], 0
        for group in texts:
            out.append(np.ascontiguousarray(vectors[at : at + len(group)], dtype=np.float32).tobytes())
            at += len(group)
        batch = dict(batch)
        batch["vectors"] = np.array(out, dtype=object)
        return batch


def write_documents(batch: dict[str, np.ndarray], settings: StageSettings) -> dict[str, np.ndarray]:
    """Write the rows of the documents of `batch` marked "write": their earlier rows deleted first (parts before
    sentences: a document without parts counts as missing), then their sentence rows, then their parts. Passes the
    batch on without its texts and vectors."""
    config = settings.config()
    client = client_for(config)
    states = batch["state"].tolist()
    writing = {
        i: Document.model_validate_json(d) for i, d in enumerate(batch["doc"].tolist()) if d and states[i] == WRITE
    }
    clusters = batch["clusters"].tolist() if "clusters" in batch else None
    if writing:
        delete_documents(client, config, [doc.id for doc in writing.values()])
        sentences = RowWriter(client, config.collection)
        parts = RowWriter(client, documents_collection(config), before=sentences)
        with milvus_errors(config, "inserting rows"):
            for i, doc in writing.items():
                starts, ends = int64s(batch["starts"][i]), int64s(batch["ends"][i])
                vectors = np.frombuffer(bytes(batch["vectors"][i]), dtype=np.float32).reshape(len(starts), -1)
                attributions = [Attribution.model_validate(a) for a in json.loads(batch["attributions"][i])]
                chosen = int64s(clusters[i]).tolist() if clusters is not None else own_clusters(doc.id, len(starts))
                sentences.add(
                    document_sentence_rows(
                        doc, batch["key"][i], starts.tolist(), ends.tolist(), vectors, attributions, chosen
                    )
                )
                if settings.fault is not None:
                    sentences.flush()
                    settings.fault.strike("write", doc.id)
                parts.add(document_parts(doc, batch["key"][i]))
            parts.flush()
    return {name: value for name, value in batch.items() if name not in ("texts", "vectors", "clusters")}
