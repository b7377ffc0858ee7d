"""Rebuilding an index after the corpus changed encodes only new sentences (the vector cache beside the index), a
build killed half way keeps what it had encoded, and the answers equal those of a fresh build."""

from __future__ import annotations

import shutil

import pytest

from qa_assistant import Assistant
from qa_assistant.index import date_mentions as date_mentions_module
from qa_assistant.index import vector_cache as vc
from qa_assistant.index.build import build_and_save
from qa_assistant.index.embedder import Embedder
from qa_assistant.index.store import load_index

QUESTIONS = [
    "What did each side say about Lachin?",
    "How many civilians were wounded?",
    "landmine victims since November 2020",
    "What did Armenia say about the blockade?",
]
NEW_DOC = (
    "The ministry said on Monday that the new checkpoint on the Lachin road was opened for humanitarian convoys.\n"
    "Aid workers reported that trucks carrying flour and medicine crossed the bridge without delay.\n"
)


class Killed(BaseException):
    """Stands for the process being killed (pytest stops the run on a real KeyboardInterrupt)."""


def _stages(corpus, index):
    said: list[str] = []
    built = build_and_save(corpus, index, on_stage=said.append)
    return built, said


@pytest.mark.slow
def test_an_update_encodes_only_new_sentences_and_answers_as_a_fresh_build(seed_corpus, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    first, _ = _stages(corpus, tmp_path / "index")
    report = first.build_report
    assert report.changes.added is None and report.documents_kept == 0  # no earlier build
    assert report.vectors_from_cache == 0 and report.vectors_looked_up == len(first.sentences)  # all encoded

    files = sorted(p for p in corpus.glob("*.txt"))
    (corpus / "zz_new.txt").write_text(NEW_DOC, encoding="utf-8")  # added
    files[1].unlink()  # removed
    text = files[2].read_text(encoding="utf-8")
    files[2].write_text(text + "\nThe statement was repeated by the spokesperson on the following day.\n", "utf-8")
    read_for_dates: list[str] = []
    find_dates = date_mentions_module.date_mentions

    def counting(text, published):
        read_for_dates.append(text)
        return find_dates(text, published)

    monkeypatch.setattr(date_mentions_module, "date_mentions", counting)
    updated, said = _stages(corpus, tmp_path / "index")
    monkeypatch.undo()
    assert len(read_for_dates) == 2  # the dates spoken of: only the new and the changed document are read
    report = updated.build_report
    assert (report.changes.added, report.changes.changed, report.changes.removed) == (1, 1, 1)
    assert "since the last build: 1 files added, 1 changed, 1 removed" in said  # and says so
    assert (report.documents_segmented, report.documents_kept) == (2, len(files) - 2)  # the new and the changed
    new_sentences = report.vectors_looked_up - report.vectors_from_cache
    assert 0 < new_sentences <= 4  # the new document and the added line
    # only the sentences of the new and the changed file are looked up; the kept ones stay in the vector index
    assert report.vectors_looked_up < len(updated.sentences) / 2
    assert report.vectors_added == report.vectors_looked_up

    fresh_dir = tmp_path / "fresh" / "index"  # its own folder: its own, empty, vector cache
    fresh = Assistant.build(corpus, fresh_dir)
    incremental = Assistant.load(tmp_path / "index", corpus_dir=corpus)
    # the same index, file for file: documents, sentences, clusters, attributions
    a_index, b_index = incremental.index, fresh.index
    assert [d.model_dump() for d in a_index.documents] == [d.model_dump() for d in b_index.documents]
    for column in ("doc_index", "start", "end", "cluster"):
        assert getattr(a_index.sentences, column).tolist() == getattr(b_index.sentences, column).tolist(), column
    assert list(a_index.attributions) == list(b_index.attributions)
    assert _same_labels(a_index.labels, b_index.labels)
    assert a_index.date_mentions is not None and len(a_index.date_mentions) > 0  # kept with the index, and the same
    for mine, theirs in zip(a_index.date_mentions.columns(), b_index.date_mentions.columns(), strict=True):
        assert mine.tolist() == theirs.tolist()
    for question in QUESTIONS:
        a, b = incremental.ask(question, k=8), fresh.ask(question, k=8)
        assert [(q.doc_id, q.start, q.end) for q in a.quotes] == [(q.doc_id, q.start, q.end) for q in b.quotes]
        assert [q.similarity for q in a.quotes] == pytest.approx([q.similarity for q in b.quotes], abs=1e-5)


@pytest.mark.slow
def test_a_killed_build_keeps_the_old_index_and_its_encoded_chunks(seed_corpus, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    index = tmp_path / "index"
    build_and_save(corpus, index)
    before = Assistant.load(index, check=False).ask(QUESTIONS[0]).model_dump(exclude={"timings"})
    shutil.rmtree(vc.cache_dir_for(index))  # as if every sentence were new
    (corpus / "zz_new.txt").write_text(NEW_DOC, encoding="utf-8")
    # another kind of vector index: nothing is kept from the earlier one, every sentence is encoded
    kind = "hnsw"

    monkeypatch.setattr(vc, "MIN_CHUNK", 4)  # 4 sentences a chunk: many chunks for this small corpus
    original = Embedder.encode
    calls = {"n": 0}

    def killed_half_way(self, texts, **kwargs):
        calls["n"] += 1
        if calls["n"] > 12:
            raise Killed  # the build is killed here
        return original(self, texts, **kwargs)

    monkeypatch.setattr(Embedder, "encode", killed_half_way)
    with pytest.raises(Killed):
        build_and_save(corpus, index, faiss_kind=kind)
    monkeypatch.setattr(Embedder, "encode", original)
    # the previous index is untouched and answers as before
    after = Assistant.load(index, check=False).ask(QUESTIONS[0]).model_dump(exclude={"timings"})
    assert after == before

    rebuilt = build_and_save(corpus, index, faiss_kind=kind)
    assert rebuilt.build_report.vectors_from_cache == 12 * 4  # the 12 chunks saved before the kill: not encoded again
    assert rebuilt.build_report.vectors_added is None  # (another kind: the vector index built anew)
    assert len(load_index(index).sentences) == len(rebuilt.sentences)


def test_an_unchanged_corpus_keeps_the_index_and_a_changed_metadata_row_remakes_only_its_document(
    seed_corpus, tmp_path
):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    index = tmp_path / "index"
    build_and_save(corpus, index)
    manifest = (index / "manifest.json").read_bytes()

    said: list[str] = []
    kept = build_and_save(corpus, index, on_stage=said.append)
    assert kept.build_report.up_to_date
    assert said == [f"the index in {index} is up to date with {corpus}: nothing to do"]
    assert (index / "manifest.json").read_bytes() == manifest  # not rewritten

    # a new title in metadata.csv for one document: that document is made again, the others are kept
    metadata = (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines()
    header = metadata[0].split(",")
    row = metadata[1].split(",")
    row[header.index("title")] = "A corrected title"
    metadata[1] = ",".join(row)
    (corpus / "metadata.csv").write_text("\n".join(metadata) + "\n", encoding="utf-8")
    updated = build_and_save(corpus, index)
    documents = len(updated.documents)
    assert not updated.build_report.up_to_date
    assert (updated.build_report.documents_segmented, updated.build_report.documents_kept) == (1, documents - 1)
    assert any(d.title == "A corrected title" for d in updated.documents)
    fresh = build_and_save(corpus, tmp_path / "fresh" / "index")
    assert [d.model_dump() for d in updated.documents] == [d.model_dump() for d in fresh.documents]
    assert updated.sentences.cluster.tolist() == fresh.sentences.cluster.tolist()

    forced = build_and_save(corpus, index, force=True)  # --force: everything from scratch
    assert (forced.build_report.documents_segmented, forced.build_report.documents_kept) == (documents, 0)


def _same_labels(a, b) -> bool:
    """Equal side, speaker and source of every sentence (the code numbers may differ)."""
    for field in ("side", "speaker", "source"):
        names_a, names_b = getattr(a, f"{field}_names") + [None], getattr(b, f"{field}_names") + [None]
        if [names_a[c] for c in getattr(a, field)] != [names_b[c] for c in getattr(b, field)]:
            return False
    return True
