"""A node that answers from Milvus alone: its copy of the index folder holds only the serving tables (no vectors, no
BM25 files, no documents, no attributions), and it gives the local index's answers — the same quotes, attributions,
groups and abstentions. And an update writes only the rows of the documents that changed. Real model, Milvus Lite."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from qa_assistant import Assistant
from qa_assistant.backends.milvus import client as milvus_client
from qa_assistant.backends.milvus import sync as milvus_sync
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.backends.milvus.schema import documents_collection
from qa_assistant.index.integrity import MANIFEST
from qa_assistant.index.serving import SERVING_FILES, RemoteAttributions, RemoteDocuments

pytestmark = pytest.mark.slow

QUESTIONS = [
    "What did each side say about Lachin?",
    "How many civilians were wounded?",
    "anti-terrorist measures in Nagorno-Karabakh",
    "Who is to blame for the September 2022 clashes on the border?",
    "What did the Nagorno-Karabakh authorities say about the offensive?",
    "On which days in July did Azerbaijan say Armenia fired on border guards and sent cargo trucks?",
    "What is the population of Baku?",
    "How much did Azerbaijan's sugar exports grow?",
]
SCORES = {"score", "bm25_score", "bm25_rank", "dense_score", "dense_rank", "fusion_weights", "timings"}
BUILD = {"index_fingerprint"}  # (names the build: its creation time)
SIMILARITIES = {"similarity", "best_similarity"}


def _config(tmp_path_factory) -> MilvusConfig:
    uri = os.environ.get("QA_MILVUS_URI") or str(tmp_path_factory.mktemp("milvus-node") / "milvus.db")
    return MilvusConfig(uri=uri, collection=f"qa_node_{uuid.uuid4().hex[:12]}")


def serving_copy(index_dir, node_dir):
    """What a serving node gets of a Milvus-backed index folder: the manifest and the serving tables."""
    node_dir.mkdir(parents=True)
    for name in (MANIFEST, *SERVING_FILES):
        shutil.copy2(index_dir / name, node_dir / name)
    return node_dir


@pytest.fixture(scope="module")
def node(seed_corpus, tmp_path_factory):
    config = _config(tmp_path_factory)
    built = tmp_path_factory.mktemp("built") / "index"
    Assistant.build(seed_corpus, built, backend=config)
    node_dir = serving_copy(built, tmp_path_factory.mktemp("node") / "index")
    yield Assistant.load(node_dir, corpus_dir=seed_corpus)
    milvus_sync.drop(config)


def _view(value, digits: int = 4):
    """An answer as a user reads it: retrieval scores left out (Milvus's BM25 statistics come from its own
    analyzer), similarities rounded (the dense search's float32 scores), and which build it came from."""
    if isinstance(value, dict):
        return {
            k: (round(v, digits) if k in SIMILARITIES and isinstance(v, float) else _view(v, digits))
            for k, v in value.items()
            if k not in SCORES | BUILD
        }
    if isinstance(value, list):
        return [_view(v, digits) for v in value]
    return value


def test_the_node_holds_no_vectors_bm25_documents_or_attributions(node):
    folder = set(os.listdir(node.index_dir))
    assert not folder & {"dense.faiss", "bm25", "bm25_context", "tokens", "documents.jsonl", "attributions.jsonl"}
    assert node.index.bm25 is None and node.index.dense is None
    assert isinstance(node.index.documents, RemoteDocuments)
    assert isinstance(node.index.attributions, RemoteAttributions)


def test_the_node_answers_as_the_local_index(node, assistant):
    for question in QUESTIONS:
        local = assistant.ask(question).model_dump(mode="json")
        remote = node.ask(question).model_dump(mode="json")
        assert _view(remote) == _view(local), question
    answered = [node.ask(q) for q in QUESTIONS[:3]]
    assert all(a.quotes and not a.abstained for a in answered)
    assert node.ask(QUESTIONS[-1]).abstained
    for quote in answered[0].quotes:  # verbatim from the document read back from Milvus
        assert quote.text == node.document(quote.doc_id).text[quote.start : quote.end]


def test_the_node_opens_documents_and_timelines_as_the_local_index(node, assistant):
    doc_id = assistant.documents[1].id
    assert node.document(doc_id) == assistant.document(doc_id)
    assert [d.model_dump() for d in node.list_documents()] == [d.model_dump() for d in assistant.list_documents()]
    local = assistant.ask("What did each side say about Lachin?", timeline=True)
    remote = node.ask("What did each side say about Lachin?", timeline=True)
    assert local.timeline is not None and remote.timeline is not None
    assert _view(remote.timeline.model_dump(mode="json"), 3) == _view(local.timeline.model_dump(mode="json"), 3)


def test_an_update_writes_only_the_changed_documents_rows(seed_corpus, tmp_path, tmp_path_factory, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    config = _config(tmp_path_factory)
    index_dir = tmp_path / "index"
    try:
        Assistant.build(corpus, index_dir, backend=config)
        client = milvus_client.client_for(config)
        written: list[tuple[str, str]] = []
        deleted: list[tuple[str, str]] = []
        insert, delete = client.insert, client.delete
        monkeypatch.setattr(
            client,
            "insert",
            lambda name, rows, **kw: written.extend((name, r["doc_id"]) for r in rows) or insert(name, rows, **kw),
        )
        monkeypatch.setattr(
            client, "delete", lambda name, **kw: deleted.append((name, kw["filter"])) or delete(name, **kw)
        )
        files = sorted(corpus.glob("*.txt"))
        (corpus / "zz_new.txt").write_text(
            "The ministry said on Monday that the new checkpoint on the Lachin road was opened for convoys.\n",
            encoding="utf-8",
        )
        files[1].unlink()
        files[2].write_text(files[2].read_text("utf-8") + "\nThe spokesperson repeated the statement.\n", "utf-8")
        Assistant.build(corpus, index_dir, backend=config)
        touched = {"zz_new.txt", files[2].name}
        assert {doc for _, doc in written} == touched
        assert {name for name, _ in written} == {config.collection, documents_collection(config)}
        assert all(files[1].name in f or any(t in f for t in touched) for _, f in deleted)
        assert not any(f for _, f in deleted if any(other.name in f for other in (files[0], files[3])))
        node = Assistant.load(serving_copy(index_dir, tmp_path / "node" / "index"), corpus_dir=corpus)
        answer = node.ask("When was the new checkpoint on the Lachin road opened for convoys?")
        assert answer.quotes and answer.quotes[0].doc_id == "zz_new.txt"
        assert all(q.doc_id != files[1].name for q in node.ask("What did each side say about Lachin?").quotes)
    finally:
        milvus_sync.drop(config)
