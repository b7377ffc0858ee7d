"""BEIR datasets: loading `corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`, and indexing the corpus once.

A BEIR document becomes a `Document` like any corpus file: ``id = path = _id``, ``title = title`` and
``text = title + "\\n\\n" + text`` (the title is a paragraph of its own, so sentence segmentation makes it a
sentence of its own; a document without a title is its text alone). Two granularities share this text:

    sentence   the product's index: `index.build.build_index`, sentences by `segment.split_sentences`
    window     the same code over passages of WINDOW_SENTENCES consecutive sentences (non-overlapping),
               to measure what sentence context is worth
    document   the same code over one unit per document (the whole text), for comparison

Built indexes are cached under ``<cache>/<dataset>-<granularity>-<fingerprint[:16]>/`` (a normal index
folder); the fingerprint covers the bytes of corpus.jsonl, the granularity, the model and the text layout.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa_assistant.errors import QAError, StaleIndexError
from qa_assistant.index import build as indexing
from qa_assistant.index.catalog import SentenceIndex, SentenceTable
from qa_assistant.index.embedder import DEFAULT_MODEL
from qa_assistant.index.manifest import SCHEMA_VERSION
from qa_assistant.index.store import load_index, save_index
from qa_assistant.ingest.corpus import LoadedCorpus, SkippedFile
from qa_assistant.ingest.sides import SideConfig
from qa_assistant.models import Document
from qa_assistant.text.segment import split_sentences

log = logging.getLogger(__name__)

GRANULARITIES = ("sentence", "window", "document")
WINDOW_SENTENCES = 3
# Bump when the way BEIR records become documents changes: cached indexes are then rebuilt.
TEXT_LAYOUT = "title-paragraph-v1"
DEFAULT_CACHE = Path("eval/cache")


@dataclass
class BeirDataset:
    name: str
    root: Path
    split: str
    documents: list[Document]
    skipped: list[SkippedFile]
    queries: dict[str, str]  # only the queries that have judgments in the split, in file order
    qrels: dict[str, dict[str, int]]  # query id -> document id -> relevance (> 0 only)
    corpus_sha256: str
    unjudged_queries: int = 0
    unknown_qrel_docs: int = 0

    def fingerprint(self, granularity: str, model: str) -> str:
        digest = hashlib.sha256()
        for part in (self.corpus_sha256, granularity, model, TEXT_LAYOUT, str(SCHEMA_VERSION)):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()


def _read_jsonl(path: Path, what: str) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise QAError(f"{path} not found: a BEIR dataset folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise QAError(f"{path}, line {line_no}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("_id"), (str, int)):
                raise QAError(f"{path}, line {line_no}: a {what} needs an '_id' (string)")
            if not isinstance(row.get("text", ""), str) or not isinstance(row.get("title", "") or "", str):
                raise QAError(f"{path}, line {line_no}: 'text' and 'title' must be strings")
            rows.append((line_no, row))
    return rows


def beir_document(doc_id: str, title: str | None, text: str) -> Document:
    """How a BEIR record becomes a `Document` (see the module docstring)."""
    title = (title or "").strip() or None
    body = text.strip()
    full = f"{title}\n\n{body}" if title and body else (title or body)
    return Document(id=doc_id, path=doc_id, title=title, text=full)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (query-id, corpus-id, score; header optional). Scores <= 0 are dropped."""
    if not path.is_file():
        choices = sorted(p.stem for p in path.parent.glob("*.tsv")) if path.parent.is_dir() else []
        hint = f" (splits here: {', '.join(choices)})" if choices else ""
        raise QAError(f"{path} not found{hint}")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 3:
                raise QAError(f"{path}, line {line_no}: expected query-id, corpus-id, score separated by tabs")
            query_id, doc_id, score = row[0].strip(), row[1].strip(), row[2].strip()
            try:
                value = int(float(score))
            except ValueError:
                if line_no == 1:
                    continue  # header
                raise QAError(f"{path}, line {line_no}: score '{score}' is not a number") from None
            if value > 0:
                qrels.setdefault(query_id, {})[doc_id] = value
    return qrels


def load_beir(root: str | Path, split: str = "test") -> BeirDataset:
    root = Path(root)
    if not root.is_dir():
        raise QAError(f"BEIR dataset folder not found: {root}")
    corpus_path = root / "corpus.jsonl"
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    seen: set[str] = set()
    for line_no, row in _read_jsonl(corpus_path, "document"):
        doc_id = str(row["_id"])
        if doc_id in seen:
            raise QAError(f"{corpus_path}, line {line_no}: document id '{doc_id}' appears twice")
        seen.add(doc_id)
        if not (row.get("text") or "").strip() and not (row.get("title") or "").strip():
            skipped.append(SkippedFile(path=doc_id, reason="no title and no text"))
            continue
        documents.append(beir_document(doc_id, row.get("title"), row.get("text") or ""))
    if not documents:
        raise QAError(f"{corpus_path}: no documents")
    all_queries = {
        str(row["_id"]): str(row.get("text", "")) for _line, row in _read_jsonl(root / "queries.jsonl", "query")
    }
    qrels = read_qrels(root / "qrels" / f"{split}.tsv")
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise QAError(f"{root / 'qrels' / f'{split}.tsv'}: queries {', '.join(missing[:5])} are not in queries.jsonl")
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels}
    empty = [qid for qid, text in queries.items() if not text.strip()]
    if empty:
        raise QAError(f"{root / 'queries.jsonl'}: queries {', '.join(empty[:5])} have no text")
    known = {d.id for d in documents}
    unknown = sum(1 for rels in qrels.values() for d in rels if d not in known)
    if unknown:
        log.warning("%s: %d judged documents are not in the corpus (they count as missed)", root, unknown)
    return BeirDataset(
        name=root.name if root.name.endswith(f"-{split}") else f"{root.name}-{split}",
        root=root,
        split=split,
        documents=documents,
        skipped=skipped,
        queries=queries,
        qrels=qrels,
        corpus_sha256=hashlib.sha256(corpus_path.read_bytes()).hexdigest(),
        unjudged_queries=len(all_queries) - len(queries),
        unknown_qrel_docs=unknown,
    )


def loaded_corpus(dataset: BeirDataset, fingerprint: str) -> LoadedCorpus:
    return LoadedCorpus(
        documents=dataset.documents, skipped=dataset.skipped, sides=SideConfig(), fingerprint=fingerprint
    )


def document_table(documents: list[Document]) -> SentenceTable:
    """One unit per document: its whole text, trimmed of surrounding white space (a `segmenter` of
    `index.build.build_index`)."""
    starts, ends = [], []
    for doc in documents:
        stripped = doc.text.lstrip()
        start = len(doc.text) - len(stripped)
        starts.append(start)
        ends.append(start + len(stripped.rstrip()))
    return SentenceTable(
        doc_index=np.arange(len(documents), dtype=np.int32),
        start=np.asarray(starts, dtype=np.int64),
        end=np.asarray(ends, dtype=np.int64),
    )


def window_table(documents: list[Document]) -> SentenceTable:
    """Units of WINDOW_SENTENCES consecutive sentences of a document (the last one may be shorter)."""
    doc_index, starts, ends = [], [], []
    for i, doc in enumerate(documents):
        spans = split_sentences(doc.text)
        for first in range(0, len(spans), WINDOW_SENTENCES):
            group = spans[first : first + WINDOW_SENTENCES]
            doc_index.append(i)
            starts.append(group[0][0])
            ends.append(group[-1][1])
    return SentenceTable(
        doc_index=np.asarray(doc_index, dtype=np.int32),
        start=np.asarray(starts, dtype=np.int64),
        end=np.asarray(ends, dtype=np.int64),
    )


def cache_path(dataset: BeirDataset, granularity: str, model: str, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"{dataset.name}-{granularity}-{dataset.fingerprint(granularity, model)[:16]}"


def beir_index(
    dataset: BeirDataset,
    granularity: str = "sentence",
    model: str = DEFAULT_MODEL,
    cache_dir: str | Path = DEFAULT_CACHE,
    progress: bool = False,
    on_stage: Callable[[str], None] | None = None,
    encoder: str = "torch",
) -> SentenceIndex:
    """The index of `dataset` at `granularity`: from the cache when its fingerprint matches, else built and cached."""
    key = model if encoder == "torch" else f"{model}@{encoder}"  # torch: the same cache keys as before
    if granularity not in GRANULARITIES:
        raise QAError(f"unknown granularity '{granularity}' (choose from {', '.join(GRANULARITIES)})")
    say = on_stage or (lambda _msg: None)
    fingerprint = dataset.fingerprint(granularity, key)
    path = cache_path(dataset, granularity, key, Path(cache_dir))
    if path.is_dir():
        try:
            index = load_index(path, check=False)
            if index.manifest.corpus_fingerprint == fingerprint and index.manifest.built_with(model, encoder):
                say(f"using cached {granularity}-level index {path}")
                return index
        except (QAError, StaleIndexError, OSError, ValueError, KeyError) as exc:
            log.warning("cached index %s is unusable (%s); rebuilding", path, exc)
        shutil.rmtree(path, ignore_errors=True)
    corpus = loaded_corpus(dataset, fingerprint)
    say(f"indexing {len(dataset.documents)} documents of {dataset.name} at {granularity} level")
    # Whole documents: dense vectors of long documents are truncated to the model's input length, as in the
    # usual whole-document BEIR setup. Windows: WINDOW_SENTENCES consecutive sentences.
    segmenter = {"sentence": None, "window": window_table, "document": document_table}[granularity]
    index = indexing.build_index(
        corpus, dataset.root, model=model, progress=progress, on_stage=on_stage, segmenter=segmenter, encoder=encoder
    )
    save_index(index, path)
    say(f"cached the index in {path}")
    return index
