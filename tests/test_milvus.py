"""The Milvus backend gives the local backend's answers: the seed corpus indexed into a Milvus Lite file (or, with
QA_MILVUS_URI=http://host:19530, into that server), searched in every mode with and without filters, updated
incrementally, and recorded in the manifest. Real model, real files."""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid

import numpy as np
import pytest

from qa_assistant import Assistant
from qa_assistant.backends.filters import UNKNOWN_DAY, expression, quoted
from qa_assistant.backends.local.backend import LocalBackend
from qa_assistant.backends.milvus import backend as mb
from qa_assistant.backends.milvus import client as milvus_client
from qa_assistant.backends.milvus import sync as milvus_sync
from qa_assistant.backends.milvus.config import MilvusConfig, default_collection
from qa_assistant.cli import main
from qa_assistant.errors import QAError
from qa_assistant.models import Filters, SearchSettings
from qa_assistant.text.tokens import tokenize

pytestmark = pytest.mark.slow


def test_the_milvus_extra_is_installed():
    """CI installs the 'milvus' extra: without it this module fails (it is not skipped)."""
    import pymilvus

    assert pymilvus.MilvusClient


QUESTIONS = [
    "What did each side say about Lachin?",
    "How many civilians were wounded?",
    "anti-terrorist measures in Nagorno-Karabakh",
    "landmine victims",
    "humanitarian situation of the population",
    "attacks on military positions along the border",
]
MODES = {
    "bm25": SearchSettings(mode="bm25"),
    "dense": SearchSettings(mode="dense"),
    "weighted": SearchSettings(mode="hybrid", fusion="weighted", alpha=0.5),
    "rrf": SearchSettings(mode="hybrid", fusion="rrf", rrf_k=60),
}


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory) -> str:
    """QA_MILVUS_URI (a server), else a Milvus Lite file of this test module."""
    return os.environ.get("QA_MILVUS_URI") or str(tmp_path_factory.mktemp("milvus") / "milvus.db")


def _config(uri: str, **fields) -> MilvusConfig:
    return MilvusConfig(uri=uri, collection=f"qa_test_{uuid.uuid4().hex[:12]}", **fields)


@pytest.fixture(scope="module")
def milvus_assistant(seed_corpus, milvus_uri, tmp_path_factory):
    config = _config(milvus_uri)
    index_dir = tmp_path_factory.mktemp("mindex") / "index"
    built = Assistant.build(seed_corpus, index_dir, backend=config)
    built.test_index_dir = index_dir
    yield built
    milvus_sync.drop(config)


def _ids(hits) -> list[int]:
    return [h.sentence_id for h in hits]


def test_the_manifest_records_the_collection_and_no_secret(milvus_assistant, monkeypatch):
    written = json.loads((milvus_assistant.test_index_dir / "manifest.json").read_text("utf-8"))
    assert written["backend"]["kind"] == "milvus"
    assert written["backend"]["milvus"]["collection"].startswith("qa_test_")
    assert written["backend"]["milvus"]["token_env"] == "MILVUS_TOKEN"
    assert "token" not in written["backend"]["milvus"]


def test_load_finds_the_milvus_backend_in_the_manifest(milvus_assistant, seed_corpus):
    loaded = Assistant.load(milvus_assistant.test_index_dir, corpus_dir=seed_corpus)
    assert isinstance(loaded.retriever.backend, mb.MilvusBackend)
    assert loaded.retriever.backend.count() == loaded.manifest.sentences
    assert _ids(loaded.search("Lachin corridor", k=5)) == _ids(milvus_assistant.search("Lachin corridor", k=5))


def test_a_local_index_keeps_the_local_backend(assistant):
    assert assistant.manifest.backend.kind == "local"
    assert isinstance(assistant.retriever.backend, LocalBackend)


@pytest.mark.parametrize("mode", list(MODES))
def test_every_mode_finds_the_local_sentences(milvus_assistant, assistant, mode):
    settings = MODES[mode]
    for question in QUESTIONS:
        local = assistant.search(question, k=10, settings=settings)
        remote = milvus_assistant.search(question, k=10, settings=settings)
        assert local and remote, (mode, question)
        overlap = len(set(_ids(local)) & set(_ids(remote))) / len(local)
        assert overlap >= 0.8, (mode, question, _ids(local), _ids(remote))
        if mode != "bm25":  # same vectors, exact search: the same order and scores
            assert _ids(local) == _ids(remote), (mode, question)
            np.testing.assert_allclose([h.score for h in local], [h.score for h in remote], rtol=1e-4, atol=1e-5)


def test_bm25_scores_are_on_the_local_scale(milvus_assistant, assistant):
    local = assistant.search("civilians wounded shelling", k=5, mode="bm25", bm25_context=0)
    remote = milvus_assistant.search("civilians wounded shelling", k=5, mode="bm25", bm25_context=0)
    assert _ids(local) == _ids(remote)
    np.testing.assert_allclose([h.score for h in local], [h.score for h in remote], rtol=0.02)


FILTERS = [
    Filters(sides=["Armenia"]),
    Filters(sides=["azerbaijan"]),
    Filters(publishers=["Report"]),
    Filters(since="2023-01-01"),
    Filters(until="2022-12-31"),
    Filters(since="2022-01-01", until="2022-12-31", sides=["Azerbaijan"]),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: f.model_dump_json(exclude_none=True))
def test_filters_apply_inside_each_search(milvus_assistant, assistant, filters):
    for mode in ("bm25", "dense"):
        local = assistant.retriever.search("attacks on civilians", 10, SearchSettings(mode=mode), filters)
        remote = milvus_assistant.retriever.search("attacks on civilians", 10, SearchSettings(mode=mode), filters)
        assert local and remote, (mode, filters)
        assert _ids(remote) == _ids(local) or len(set(_ids(remote)) & set(_ids(local))) >= 0.8 * len(local)
        allowed = assistant.retriever.mask(filters)
        assert allowed is not None and all(allowed[h.sentence_id] for h in remote)


def test_doc_and_speaker_filters(milvus_assistant, assistant):
    doc = assistant.documents[2].id
    speakers = [n for n in assistant.index.labels.speaker_names if n][:2]
    for filters in (Filters(doc_ids=[doc]), Filters(speakers=speakers)):
        local = assistant.retriever.search("the ministry said", 10, SearchSettings(mode="dense"), filters)
        remote = milvus_assistant.retriever.search("the ministry said", 10, SearchSettings(mode="dense"), filters)
        assert _ids(remote) == _ids(local) and local


def test_answers_quote_the_same_sentences(milvus_assistant, assistant):
    for question in ("What did each side say about Lachin?", "How many civilians were wounded?"):
        local = assistant.ask(question)
        remote = milvus_assistant.ask(question)
        assert [(q.doc_id, q.start, q.end) for q in remote.quotes] == [(q.doc_id, q.start, q.end) for q in local.quotes]
        for quote in remote.quotes:
            assert quote.text == milvus_assistant.document(quote.doc_id).text[quote.start : quote.end]


def test_milvus_rankers_fuse_in_the_server(milvus_assistant, assistant):
    backend = milvus_assistant.retriever.backend
    native = mb.MilvusBackend(backend.config.model_copy(update={"fusion": "milvus"}), backend.client, backend.index)
    vector = assistant.retriever.encode_query("Lachin corridor blockade")
    fused = native.fused("Lachin corridor blockade", vector, 10, None, SearchSettings(fusion="rrf"))
    assert fused and len(fused) <= 10
    local = _ids(assistant.search("Lachin corridor blockade", k=10, fusion="rrf"))
    assert len(set(fused) & set(local)) >= 5


def test_an_update_replaces_only_changed_documents(seed_corpus, milvus_uri, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    config = _config(milvus_uri)
    index_dir = tmp_path / "index"
    try:
        said: list[str] = []
        first = Assistant.build(corpus, index_dir, backend=config, on_stage=said.append)
        assert any("0 documents unchanged, 5 to add" in s for s in said)
        client = milvus_client.client_for(config)
        files = sorted(corpus.glob("*.txt"))
        kept_doc = first.documents[0].id
        kept_keys = _keys_of(client, config, kept_doc)
        (corpus / "zz_new.txt").write_text(
            "The ministry said on Monday that the new checkpoint on the Lachin road was opened for convoys.\n"
            "Aid workers reported that trucks carrying flour and medicine crossed the bridge without delay.\n",
            encoding="utf-8",
        )
        removed = files[1].name
        files[1].unlink()
        files[2].write_text(files[2].read_text("utf-8") + "\nThe spokesperson repeated the statement.\n", "utf-8")
        said.clear()
        updated = Assistant.build(corpus, index_dir, backend=config, on_stage=said.append)
        assert any("3 documents unchanged, 1 to add, 1 changed, 1 to remove" in s for s in said), said
        assert _keys_of(client, config, kept_doc) == kept_keys  # rows of an unchanged document are left alone
        # The assistant opened before the update skips the rows of documents it holds in another version (or not
        # at all): their ordinals would point at other sentences.
        stale = first.search("checkpoint on the Lachin road convoys flour statement repeated", k=20, mode="bm25")
        assert {h.doc_id for h in stale} <= {d.id for d in first.documents} - {"zz_new.txt", files[2].name}
        assert updated.retriever.backend.count() == updated.manifest.sentences
        hits = updated.search("checkpoint on the Lachin road convoys flour", k=3, mode="bm25")
        assert hits and hits[0].doc_id == "zz_new.txt"
        assert all(h.doc_id != removed for h in updated.search("Armenia", k=50, mode="dense"))
        local = Assistant.build(corpus, tmp_path / "local")
        for question in QUESTIONS[:3]:
            assert _ids(updated.search(question, k=10, mode="dense")) == _ids(
                local.search(question, k=10, mode="dense")
            )
        said.clear()
        Assistant.build(corpus, index_dir, backend=config, on_stage=said.append)  # nothing changed
        assert any("up to date" in s for s in said) and any("5 documents unchanged, 0 to add" in s for s in said)
    finally:
        milvus_sync.drop(config)


def _keys_of(client, config, doc_id):
    rows = client.query(config.collection, filter=f"doc_id == {quoted(doc_id)}", output_fields=["pk"])
    return sorted(r["pk"] for r in rows)


def test_a_missing_collection_names_the_rebuild(milvus_assistant, seed_corpus, tmp_path, milvus_uri, capsys):
    config = _config(milvus_uri)
    index_dir = tmp_path / "index"
    Assistant.build(seed_corpus, index_dir, backend=config)
    assert main(["check", str(index_dir)]) == 0
    assert f"Milvus collection '{config.collection}'" in capsys.readouterr().out
    milvus_sync.drop(config)
    assert main(["check", str(index_dir)]) == 2
    assert "does not exist; rebuild with" in capsys.readouterr().err
    with pytest.raises(QAError, match=r"does not exist; rebuild with: qa-assistant index .* --backend milvus"):
        Assistant.load(index_dir, corpus_dir=seed_corpus)


def test_the_cli_builds_and_asks_through_milvus(seed_corpus, tmp_path, milvus_uri, capsys):
    index_dir = tmp_path / "index"
    assert main(["index", str(seed_corpus), "--index", str(index_dir), "--backend", "milvus", "-q"]) == 2
    assert "--backend milvus needs --milvus-uri" in capsys.readouterr().err
    collection = f"qa_cli_{uuid.uuid4().hex[:8]}"
    args = ["index", str(seed_corpus), "--index", str(index_dir), "-q", "--backend", "milvus"]
    assert main([*args, "--milvus-uri", milvus_uri, "--collection", collection]) == 0
    capsys.readouterr()
    try:
        assert main(["ask", "How many civilians were wounded?", "--index", str(index_dir), "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert answer["quotes"]
        manifest = json.loads((index_dir / "manifest.json").read_text("utf-8"))
        assert manifest["backend"]["kind"] == "milvus" and manifest["backend"]["milvus"]["collection"] == collection
    finally:
        milvus_sync.drop(MilvusConfig(uri=milvus_uri, collection=collection))


def test_without_pymilvus_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(QAError, match=r"'milvus' extra.*qa-assistant\[milvus\]"):
        milvus_client.pymilvus()


def test_an_unreachable_server_says_what_to_do():
    config = MilvusConfig(uri="http://127.0.0.1:9", collection="qa_nowhere", timeout=2)
    with pytest.raises(QAError, match=r"cannot reach Milvus at http://127.0.0.1:9.*start the server"):
        milvus_client.client_for(config)


def test_filter_expressions_and_names():
    expr = expression(Filters(publishers=['Say "hi"\\'], since="1970-01-02", until="1970-01-03", doc_ids=["a.txt"]))
    assert 'doc_id in ["a.txt"]' in expr and 'publisher in ["say \\"hi\\"\\\\"]' in expr
    assert "date_day >= 1" in expr and f"date_day <= 2 and date_day > {UNKNOWN_DAY}" in expr
    assert expression(Filters()) == "" and expression(None) == ""
    assert mb.question_text("What did each side say about Lachín?") == "about lachin"
    assert default_collection("/tmp/my index").startswith("qa_my_index_")
    with pytest.raises(ValueError, match="not a Milvus collection name"):
        MilvusConfig(uri="x.db", collection="1-bad")
    assert MilvusConfig(uri="http://h:19530", collection="c").dense_index == "HNSW"
    assert MilvusConfig(uri="x.db", collection="c", index_type="HNSW").dense_index == "FLAT"


# The backend protocol (`backends/base.py`), each method against both backends: what the answer path asks of them.


@pytest.fixture(params=["local", "milvus"])
def backend(request, assistant, milvus_assistant):
    """(the backend, its assistant): the seed index's local backend, or the Milvus one of the same corpus."""
    chosen = assistant if request.param == "local" else milvus_assistant
    return chosen.retriever.backend, chosen


def _side_words(assistant) -> tuple[str, str, set[str], set[str]]:
    """Two sides of the seed index, and the BM25 tokens of each one's sentences."""
    labels = assistant.index.labels
    texts = [assistant.index.sentence_text(i) for i in range(len(assistant.index.sentences))]
    words: dict[str, set[str]] = {}
    for i, text in enumerate(texts):
        if labels.side[i] >= 0:
            words.setdefault(labels.side_names[labels.side[i]], set()).update(tokenize(text))
    first, second = sorted(words, key=lambda side: -len(words[side]))[:2]
    return first, second, words[first], words[second]


def test_protocol_search_applies_the_filters(backend):
    searcher, owner = backend
    side = _side_words(owner)[1]  # the smaller side: the best sentences overall are not all its)
    filters = Filters(sides=[side])
    allowed = owner.retriever.mask(filters)
    vector = owner.retriever.encode_query("attacks on civilians")
    for ids, _ in (searcher.bm25("attacks on civilians", 10, filters, 0.5), searcher.dense(vector, 10, filters)):
        assert len(ids) > 0 and all(allowed[ids])
    everywhere, _ = searcher.dense(vector, 10, None)
    assert len(everywhere) == 10 and not all(allowed[everywhere])  # the filter did something


def test_protocol_vectors_are_the_sentences_encoded(backend):
    searcher, owner = backend
    ids = np.array([0, 7, len(owner.index.sentences) - 1])
    found = searcher.vectors(ids)
    encoded = owner.retriever.embedder.encode([owner.index.sentence_text(int(i)) for i in ids])
    assert found.shape == (3, owner.manifest.dimension)
    np.testing.assert_allclose(found, encoded, atol=1e-4)
    assert searcher.vectors(np.array([], dtype=np.int64)).shape == (0, owner.manifest.dimension)


def test_protocol_mentions_within_filters(backend):
    searcher, owner = backend
    first, second, first_words, second_words = _side_words(owner)
    only_second = sorted(second_words - first_words)[0]
    shared = sorted(first_words & second_words)[0]
    assert searcher.mentions([only_second]) and searcher.mentions([shared, only_second])
    assert searcher.mentions([only_second], Filters(sides=[second]))
    assert not searcher.mentions([only_second], Filters(sides=[first]))
    assert searcher.mentions([shared], Filters(sides=[first]))
    assert not searcher.mentions([shared, only_second], Filters(sides=[first]))
    assert not searcher.mentions(["zqxjkv"])
    assert searcher.mentions([])


def test_protocol_similar_to_is_a_range_search_within_filters(backend):
    searcher, owner = backend
    side = _side_words(owner)[1]
    allowed = owner.retriever.mask(Filters(sides=[side]))
    vector = owner.retriever.encode_query("attacks on civilians")
    ids, scores = searcher.similar_to(vector, 0.3, None)
    expected = np.flatnonzero(owner.index.dense.vectors(np.arange(len(owner.index.sentences))) @ vector >= 0.3)
    assert len(ids) > 0 and sorted(ids.tolist()) == expected.tolist()
    assert (scores >= 0.3 - 1e-6).all()
    inside, _ = searcher.similar_to(vector, 0.3, Filters(sides=[side]))
    assert 0 < len(inside) < len(ids) and sorted(inside.tolist()) == [i for i in expected.tolist() if allowed[i]]


def test_protocol_holding_finds_every_sentence_with_the_words(backend):
    searcher, owner = backend
    first, _, first_words, _ = _side_words(owner)
    texts = [owner.index.sentence_text(i) for i in range(len(owner.index.sentences))]
    word = "armenia" if "armenia" in first_words else sorted(first_words)[0]
    expected = [i for i, text in enumerate(texts) if word in tokenize(text)]
    ids, scores = searcher.holding([word], None)
    assert len(expected) > 1 and sorted(ids.tolist()) == expected and (scores > 0).all()
    allowed = owner.retriever.mask(Filters(sides=[first]))
    inside, _ = searcher.holding([word], Filters(sides=[first]))
    assert len(inside) > 0 and sorted(inside.tolist()) == [i for i in expected if allowed[i]]
    assert len(searcher.holding([word, "zqxjkv"], None)[0]) == 0
