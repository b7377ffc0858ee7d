"""Encoders (torch / ONNX / ONNX int8), vector storage and approximate FAISS indexes: real model, real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa_assistant import Assistant
from qa_assistant.backends.local.dense import FAISS_KINDS, VECTOR_STORAGES, DenseIndex
from qa_assistant.cli import main
from qa_assistant.errors import QAError
from qa_assistant.index.embedder import Embedder, load_onnx_encoder
from qa_assistant.index.integrity import MANIFEST
from qa_assistant.index.store import load_index

SENTENCES = [
    "The Armenian Foreign Ministry said that the Lachin corridor must stay open.",
    "Azerbaijan accused Armenia of shelling civilian areas near the border.",
    "Heavy rain is expected across the northern provinces later this week.",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """Exports go to a fresh cache folder: the test sees the export happen, and leaves the user's cache alone."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("QA_ASSISTANT_ONNX_CACHE", str(folder))
    load_onnx_encoder.cache_clear()
    yield folder
    load_onnx_encoder.cache_clear()
    patch.undo()


def test_onnx_encoders_match_torch_and_are_cached(onnx_cache):
    reference = Embedder().encode(SENTENCES)
    fp32 = Embedder(encoder="onnx").encode(SENTENCES)
    int8 = Embedder(encoder="onnx-int8").encode(SENTENCES)
    assert np.allclose((fp32 * reference).sum(1), 1.0, atol=1e-4)
    assert ((int8 * reference).sum(1) > 0.98).all()
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    exported = sorted(p.name for p in onnx_cache.iterdir())
    assert len(exported) == 2 and exported[0].endswith("-fp32") and "-int8-" in exported[1]
    assert all((onnx_cache / name / "model.onnx").stat().st_size > 1_000_000 for name in exported)
    assert not [p for p in onnx_cache.iterdir() if p.name.startswith(".")]  # no temporary folder left
    one = Embedder(encoder="onnx-int8").encode(SENTENCES[:1])  # a question: the single-thread session
    # activations are quantized per batch, so a sentence's int8 vector depends a little on its batch
    assert float(one[0] @ int8[0]) > 0.98 and float(one[0] @ reference[0]) > 0.98


def test_unknown_encoder_is_refused():
    with pytest.raises(QAError, match="unknown encoder"):
        Embedder(encoder="tensorrt")


def test_index_records_encoder_and_storage_and_refuses_another_encoder(onnx_cache, seed_corpus, tmp_path, capsys):
    index_dir = tmp_path / "index"
    assistant = Assistant.build(seed_corpus, index_dir, faiss_kind="ivf", encoder="onnx-int8", vectors="int8")
    manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    assert (manifest["encoder"], manifest["vectors"], manifest["faiss_kind"]) == ("onnx-int8", "int8", "ivf")
    loaded = Assistant.load(index_dir, corpus_dir=seed_corpus)
    assert loaded.embedder.encoder == "onnx-int8"
    answer = loaded.ask("What did Armenia say about the Lachin corridor?", k=3)
    assert answer.quotes and not answer.abstained
    assert (
        answer.quotes[0].text
        == assistant.document(answer.quotes[0].doc_id).text[answer.quotes[0].start : answer.quotes[0].end]
    )
    with pytest.raises(QAError, match="built with encoder 'onnx-int8'"):
        Assistant.load(index_dir, corpus_dir=seed_corpus, encoder="torch")
    code = main(["ask", "Lachin", "--index", str(index_dir), "--corpus", str(seed_corpus), "--encoder", "torch"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error:") and "--encoder onnx-int8" not in err[0]


def test_manifest_without_encoder_fields_reads_as_torch_float32(seed_index, tmp_path):
    copy = tmp_path / "old-index"
    shutil.copytree(seed_index, copy)
    manifest = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    del manifest["encoder"], manifest["vectors"]
    (copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    index = load_index(copy, check=False)
    assert (index.manifest.encoder, index.manifest.vectors) == ("torch", "float32")


@pytest.mark.parametrize("kind", FAISS_KINDS)
@pytest.mark.parametrize("storage", VECTOR_STORAGES)
def test_every_index_kind_and_storage_finds_neighbours_filters_and_reloads(kind, storage, tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense = DenseIndex.build(vectors, kind, storage)
    dense.save(tmp_path / "dense.faiss")
    loaded = DenseIndex.load(tmp_path / "dense.faiss")
    assert loaded.size == 2000
    for index in (dense, loaded):
        ids, scores = index.search(vectors[7], 5)
        assert ids[0] == 7 and scores[0] == pytest.approx(1.0, abs=0.02)
        mask = np.zeros(2000, dtype=bool)
        mask[1000:] = True
        ids, _ = index.search(vectors[7], 5, mask)
        assert len(ids) and (ids >= 1000).all()
        assert float(index.vectors(np.array([7]))[0] @ vectors[7]) == pytest.approx(1.0, abs=0.02)
    sizes = {"float32": 4, "float16": 2, "int8": 1}
    if kind == "flat":
        assert (tmp_path / "dense.faiss").stat().st_size < 2000 * 64 * sizes[storage] * 1.1


def test_an_ivf_rebuild_keeps_the_trained_cells_while_they_suit_the_number_of_vectors():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 32))

    def vectors(n):
        v = centres[rng.integers(0, 40, n)] + 0.1 * rng.normal(size=(n, 32))
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    first_vectors = vectors(4000)
    first = DenseIndex.build(first_vectors, "ivf", "float16")
    cells = faiss_centroids(first)

    grown = np.vstack([first_vectors, vectors(200)])  # a few documents more: the same cells
    again = DenseIndex.build(grown, "ivf", "float16", earlier=first)
    assert np.array_equal(faiss_centroids(again), cells)
    assert again.size == len(grown)
    ids, scores = again.search(grown[4100], 5)
    assert ids[0] == 4100 and scores[0] == pytest.approx(1.0, abs=1e-3)  # the added vectors are found
    mask = np.zeros(len(grown), dtype=bool)
    mask[4000:] = True
    assert set(again.search(grown[10], 5, mask)[0].tolist()) <= set(range(4000, 4200))

    much_larger = vectors(16000)  # four times as many: cells for that size, trained anew
    retrained = DenseIndex.build(much_larger, "ivf", "float16", earlier=first)
    assert faiss_centroids(retrained).shape[0] != cells.shape[0]


def faiss_centroids(dense: DenseIndex) -> np.ndarray:
    import faiss

    ivf = faiss.extract_index_ivf(dense.index)
    return ivf.quantizer.reconstruct_n(0, ivf.nlist)


@pytest.mark.parametrize("storage", ["float32", "float16", "int8"])
def test_an_ivf_index_read_from_disk_lends_its_cells_to_the_next_build(tmp_path, storage):
    """An update reads the earlier index memory-mapped; reusing its cells must not write into the mapped file."""
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    DenseIndex.build(vectors, "ivf", storage).save(tmp_path / "dense.faiss")
    saved = (tmp_path / "dense.faiss").read_bytes()
    earlier = DenseIndex.load(tmp_path / "dense.faiss")  # memory-mapped, as `load_index` reads it
    grown = np.vstack([vectors, vectors[:50] * -1])
    again = DenseIndex.build(grown, "ivf", storage, earlier=earlier)
    assert np.array_equal(faiss_centroids(again), faiss_centroids(earlier))
    assert again.size == len(grown) and earlier.size == len(vectors)
    ids, _scores = again.search(grown[3010], 3)
    assert ids[0] == 3010
    assert float(again.vectors(np.array([3010]))[0] @ grown[3010]) == pytest.approx(1.0, abs=0.02)
    assert (tmp_path / "dense.faiss").read_bytes() == saved


@pytest.mark.parametrize(
    "kind,storage", [("flat", "float32"), ("flat", "float16"), ("ivf", "float32"), ("ivf", "float16"), ("ivf", "int8")]
)
def test_an_update_renumbers_kept_vectors_adds_new_ones_and_finds_what_a_rebuild_finds(tmp_path, kind, storage):
    """Documents removed from the middle, new ones appended: the updated index holds vector i of the new numbering
    at id i and answers every search as an index built from all the vectors with the same cells does."""
    rng = np.random.default_rng(11)
    old = rng.normal(size=(3000, 32)).astype(np.float32)
    old /= np.linalg.norm(old, axis=1, keepdims=True)
    DenseIndex.build(old, kind, storage).save(tmp_path / "dense.faiss")
    saved = (tmp_path / "dense.faiss").read_bytes()
    earlier = DenseIndex.load(tmp_path / "dense.faiss")  # memory-mapped, as an update reads it
    added = rng.normal(size=(120, 32)).astype(np.float32)
    added /= np.linalg.norm(added, axis=1, keepdims=True)
    # rows 1000-1199 removed; 60 new vectors between the kept ones, 60 at the end
    earlier_rows = np.concatenate([np.arange(0, 1000), np.full(60, -1), np.arange(1200, 3000), np.full(60, -1)])
    updated = DenseIndex.updated(earlier, earlier_rows, added, kind, storage)
    assert updated is not None and updated.size == len(earlier_rows)
    every = np.empty((len(earlier_rows), 32), dtype=np.float32)
    every[earlier_rows >= 0] = old[earlier_rows[earlier_rows >= 0]]
    every[earlier_rows < 0] = added
    rebuilt = DenseIndex.build(every, kind, storage, earlier=earlier)  # (IVF: the same cells)
    assert np.allclose(updated.vectors(np.arange(len(every))), rebuilt.vectors(np.arange(len(every))), atol=1e-6)
    for row in (0, 999, 1000, 1059, 1060, 2859, 2860, 2919):
        ids, scores = updated.search(every[row], 10)
        expected_ids, expected_scores = rebuilt.search(every[row], 10)
        assert ids[0] == row and set(ids.tolist()) == set(expected_ids.tolist())
        assert np.allclose(np.sort(scores), np.sort(expected_scores), atol=1e-6)
    mask = np.zeros(len(every), dtype=bool)
    mask[1000:1060] = True  # the new vectors only
    assert set(updated.search(every[5], 5, mask)[0].tolist()) <= set(range(1000, 1060))
    updated.save(tmp_path / "updated.faiss")
    assert DenseIndex.load(tmp_path / "updated.faiss").search(every[1030], 1)[0][0] == 1030
    assert (tmp_path / "dense.faiss").read_bytes() == saved  # the earlier index's file is untouched


def test_an_update_of_an_index_that_cannot_be_kept_is_refused_for_a_rebuild():
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = np.concatenate([np.arange(500), [-1]])
    for kind, storage in (("hnsw", "float32"), ("flat", "int8")):
        earlier = DenseIndex.build(vectors, kind, storage)
        assert DenseIndex.updated(earlier, rows, vectors[:1], kind, storage) is None, (kind, storage)
    ivf = DenseIndex.build(vectors, "ivf", "float32")
    many = np.concatenate([np.arange(500), np.full(5000, -1)])  # ten times the vectors: cells trained anew
    assert DenseIndex.updated(ivf, many, np.tile(vectors, (10, 1)), "ivf", "float32") is None


def _resident_bytes_of(path: Path) -> int:
    """How much of the file at `path` this process has mapped and in memory (Linux: /proc/self/smaps)."""
    resident, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:  # a mapping's first line: address range … path
            inside = len(fields) >= 6 and fields[-1] == str(path)
        elif inside and fields and fields[0] == "Rss:":
            resident += int(fields[1]) * 1024
    return resident


@pytest.mark.parametrize("kind", ["ivf", "flat"])
def test_a_warmed_index_holds_its_mapped_vectors_in_memory(tmp_path, kind):
    vectors = np.random.default_rng(3).standard_normal((20_000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    path = tmp_path / "dense.faiss"
    DenseIndex.build(vectors, kind, "float16").save(path)
    loaded = DenseIndex.load(path)  # mapped: nothing of the vectors is read yet
    assert _resident_bytes_of(path) < 2_000_000
    touched = loaded.warm()
    assert touched >= 20_000 * 384 * 2  # every stored vector (float16)
    assert _resident_bytes_of(path) >= 0.95 * touched  # now in memory: no question reads them from disk
    ids = loaded.neighbours(vectors[:3], 1)[1]
    assert ids[:, 0].tolist() == [0, 1, 2]  # and searched as before
