"""Index files: plain formats, manifest, stale detection, atomic replacement."""

import json
import shutil

import numpy as np
import pytest

from qa_assistant import Assistant, StaleIndexError
from qa_assistant.backends.context import context_rows
from qa_assistant.backends.local.dense import DenseIndex
from qa_assistant.index.manifest import SCHEMA_VERSION
from qa_assistant.index.store import load_index


def test_manifest_describes_the_build(seed_index):
    manifest = json.loads((seed_index / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["documents"] == 5 and manifest["sentences"] > 50
    assert len(manifest["corpus_fingerprint"]) == 64 and manifest["created_at"]


def test_index_files_are_plain_formats_without_pickle(seed_index):
    for path in seed_index.rglob("*"):
        if path.is_file():
            assert path.suffix in {".json", ".jsonl", ".npy", ".npz", ".faiss"}, path
            if path.suffix == ".npy":
                np.load(path, allow_pickle=False)
            elif path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as arrays:
                    [arrays[name] for name in arrays.files]
            assert b"\x80\x04\x95" not in path.read_bytes()[:64]  # no pickle protocol header


def copy_of(tmp_path, seed_corpus, seed_index):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_corpus, corpus)
    shutil.copytree(seed_index, index)
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["corpus_dir"] = str(corpus)
    (index / "manifest.json").write_text(json.dumps(manifest))
    return corpus, index


def test_changed_corpus_makes_the_index_stale(tmp_path, seed_corpus, seed_index):
    corpus, index = copy_of(tmp_path, seed_corpus, seed_index)
    load_index(index)  # fresh
    (corpus / "new.txt").write_text("A brand new statement about Lachin.", encoding="utf-8")
    with pytest.raises(StaleIndexError, match=r"stale.*rebuild with: qa-assistant index"):
        Assistant.load(index)
    Assistant.load(index, check=False)  # explicitly allowed


def test_other_schema_or_model_is_refused(tmp_path, seed_corpus, seed_index):
    corpus, index = copy_of(tmp_path, seed_corpus, seed_index)
    with pytest.raises(StaleIndexError, match="built with model 'all-MiniLM-L6-v2'"):
        load_index(index, model="some/other-model")
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["schema_version"] = SCHEMA_VERSION + 1
    (index / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleIndexError, match="schema version"):
        load_index(index)


def test_failed_rebuild_keeps_the_working_index(tmp_path, seed_corpus, seed_index, monkeypatch):
    corpus, index = copy_of(tmp_path, seed_corpus, seed_index)
    before = (index / "manifest.json").read_text()

    def broken_save(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(DenseIndex, "save", broken_save)
    with pytest.raises(OSError):
        Assistant.build(corpus, index, force=True)  # a full rebuild, not the up-to-date index kept as it is
    assert (index / "manifest.json").read_text() == before
    assert Assistant.load(index).ask("Lachin corridor").quotes
    hidden = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert hidden == [f".{index.name}.vectors"]  # no temp folders left; the vectors it encoded are kept


def test_rebuild_replaces_the_index(tmp_path, seed_corpus, seed_index):
    corpus, index = copy_of(tmp_path, seed_corpus, seed_index)
    (corpus / "extra.md").write_text("# Extra\n\nThe Sarsang water reservoir feeds the valley.\n", encoding="utf-8")
    assistant = Assistant.build(corpus, index, faiss_kind="hnsw")
    assert assistant.index.manifest.documents == 6
    reloaded = Assistant.load(index)
    answer = reloaded.ask("Sarsang water reservoir", k=3)
    assert any(q.doc_id == "extra.md" and q.title == "Extra" and q.publisher is None for q in answer.quotes)


def test_sentences_follow_their_document_in_order(assistant):
    index = assistant.index
    table = index.sentences
    assert (np.diff(table.doc_index) >= 0).all()  # a document's sentences are contiguous, documents in corpus order
    for i in range(len(table)):
        text = index.sentence_text(i)
        assert text.strip() and text == index.document_of(i).text[int(table.start[i]) : int(table.end[i])]
        if i and table.doc_index[i - 1] == table.doc_index[i]:
            assert table.start[i] >= table.end[i - 1]  # in text order, never overlapping
    assert {index.document_of(i).id for i in range(len(table))} == {d.id for d in assistant.documents}


def test_context_rows_take_one_neighbour_each_side_within_the_document():
    doc_index = np.array([0, 0, 0, 1, 2, 2])
    first, last = context_rows(doc_index)
    assert list(zip(first.tolist(), last.tolist())) == [(0, 1), (0, 2), (1, 2), (3, 3), (4, 5), (4, 5)]
    first, last = context_rows(doc_index, width=2)
    assert list(zip(first.tolist(), last.tolist()))[:3] == [(0, 2), (0, 2), (0, 2)]


def test_context_index_is_saved_with_one_row_per_sentence(seed_index):
    index = load_index(seed_index, check=False)
    assert (seed_index / "bm25_context").is_dir()
    scores = index.bm25_context.scores("Lachin corridor")
    assert scores is not None and len(scores) == len(index.sentences)
