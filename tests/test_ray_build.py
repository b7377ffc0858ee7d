"""The build on Ray (`qa-assistant index CORPUS --backend milvus --ray`, `index/distributed`): a local Ray building
the seed corpus into Milvus Lite writes the rows of the single-machine Milvus build and answers as it does, from an
index folder that holds the serving tables alone; a worker killed mid-build is retried; a build that stops midway
leaves no manifest claiming what is missing, and running it again finishes it without duplicate rows. Real model,
Milvus Lite, one local Ray for the module (its builds start their own workers: a few seconds each)."""

from __future__ import annotations

import os
import uuid
from collections import Counter

import numpy as np
import pytest

from qa_assistant import Assistant
from qa_assistant.backends.milvus import sync as milvus_sync
from qa_assistant.backends.milvus.client import client_for
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.backends.milvus.schema import documents_collection
from qa_assistant.cli import main
from qa_assistant.index.integrity import MANIFEST
from qa_assistant.index.serving import DOCUMENTS_TABLE, SERVING_FILES, TermCounts

pytestmark = pytest.mark.slow

ray = pytest.importorskip("ray")

from qa_assistant.index.distributed.driver import RayBuildStopped, build_on_ray  # noqa: E402
from qa_assistant.index.distributed.stages import Fault  # noqa: E402

QUESTIONS = [
    "What did each side say about Lachin?",
    "How many civilians were wounded?",
    "Who is to blame for the September 2022 clashes on the border?",
]


@pytest.fixture(scope="module")
def local_ray():
    options = {"num_cpus": 3, "include_dashboard": False, "log_to_driver": False, "logging_level": "warning"}
    try:
        ray.init(**options)
    except Exception:  # (a local Ray's services can time out while starting on a busy machine: once more)
        ray.shutdown()
        ray.init(**options)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    return str(tmp_path_factory.mktemp("ray-milvus") / "milvus.db")


def _config(lite: str, name: str) -> MilvusConfig:
    return MilvusConfig(uri=lite, collection=f"qa_{name}_{uuid.uuid4().hex[:10]}")


def _rows(config: MilvusConfig) -> list[dict]:
    """Every sentence row of the collection: pk, doc_id, doc_key, ordinal, cluster."""
    client = client_for(config)
    found: list[dict] = []
    iterator = client.query_iterator(
        config.collection, batch_size=1000, filter="pk >= 0", output_fields=["doc_id", "doc_key", "ordinal", "cluster"]
    )
    while batch := iterator.next():
        found.extend(batch)
    iterator.close()
    return found


def _whole_documents(config: MilvusConfig) -> set[str]:
    """The documents whose parts are in the collection (written after their sentences)."""
    client = client_for(config)
    return {
        row["doc_id"]
        for row in client.query(documents_collection(config), filter="part == 0", output_fields=["doc_id"])
    }


@pytest.fixture(scope="module")
def builds(seed_corpus, local_ray, lite, tmp_path_factory):
    """The seed corpus built into Milvus Lite by the single-machine build and by a local Ray with two workers, one
    of which is killed (os._exit) once, as it writes the third document (after its sentence rows, before its
    parts)."""
    single_config, ray_config = _config(lite, "single"), _config(lite, "ray")
    single_dir = tmp_path_factory.mktemp("single") / "index"
    ray_dir = tmp_path_factory.mktemp("ray") / "index"
    Assistant.build(seed_corpus, single_dir, backend=single_config)
    marker = tmp_path_factory.mktemp("fault") / "killed-once"
    victim = sorted(p.name for p in seed_corpus.glob("*.txt"))[2]
    index = build_on_ray(seed_corpus, ray_dir, ray_config, workers=2, fault=Fault(victim, "write", str(marker)))
    assert marker.exists()  # the worker did exit once, and Ray ran its batch again
    yield single_config, single_dir, ray_config, ray_dir, index
    milvus_sync.drop(single_config)
    milvus_sync.drop(ray_config)


def test_the_rows_are_those_of_the_single_machine_build(builds):
    single_config, _, ray_config, _, index = builds
    single, distributed = _rows(single_config), _rows(ray_config)
    assert len(distributed) == len(single) == index.manifest.sentences
    assert len({r["pk"] for r in distributed}) == len(distributed)  # no duplicate rows
    assert {r["pk"] for r in distributed} == {r["pk"] for r in single}
    as_set = lambda rows: {(r["pk"], r["doc_id"], r["doc_key"], r["ordinal"], r["cluster"]) for r in rows}  # noqa: E731
    assert as_set(distributed) == as_set(single)  # same versions and near-duplicate clusters too
    assert _whole_documents(ray_config) == _whole_documents(single_config)
    assert index.build_report is not None and index.build_report.milvus["kept"] == 0


def test_the_folder_holds_the_serving_tables_alone_and_equal(builds):
    _, single_dir, _, ray_dir, _ = builds
    assert set(os.listdir(ray_dir)) == {MANIFEST, *SERVING_FILES}
    for name in ("sentences.npz", "labels.npz", "date_mentions.npz"):
        with np.load(single_dir / name) as a, np.load(ray_dir / name) as b:
            assert sorted(a.files) == sorted(b.files)
            for key in a.files:
                assert np.array_equal(a[key], b[key]), (name, key)
    for name in (DOCUMENTS_TABLE, "sides.json", "skipped.json"):
        assert (single_dir / name).read_text("utf-8") == (ray_dir / name).read_text("utf-8"), name
    single_terms, ray_terms = (
        TermCounts.load(single_dir / "token_counts.json"),
        TermCounts.load(ray_dir / "token_counts.json"),
    )
    assert (ray_terms.counts, ray_terms.units) == (single_terms.counts, single_terms.units)
    assert main(["check", str(ray_dir)]) == 0  # its files, and the collection holding every sentence


def test_it_answers_as_the_single_machine_build(builds, seed_corpus):
    _, single_dir, _, ray_dir, _ = builds
    single, distributed = (
        Assistant.load(single_dir, corpus_dir=seed_corpus),
        Assistant.load(ray_dir, corpus_dir=seed_corpus),
    )
    assert distributed.index.dense is None and distributed.index.bm25 is None
    for question in QUESTIONS:
        expected, found = single.ask(question), distributed.ask(question)
        assert [(q.doc_id, q.start, q.end, q.text) for q in found.quotes] == [
            (q.doc_id, q.start, q.end, q.text) for q in expected.quotes
        ], question
        assert found.abstained == expected.abstained


def _rows_per_document(config: MilvusConfig) -> Counter:
    rows = _rows(config)
    assert len({r["pk"] for r in rows}) == len(rows), "duplicate rows"
    return Counter(r["doc_id"] for r in rows)


def test_a_killed_worker_is_retried_and_the_build_completes(builds, seed_corpus):
    _, single_dir, ray_config, _, index = builds
    expected = Assistant.load(single_dir, corpus_dir=seed_corpus)
    counts = Counter({card.id: card.sentences for card in expected.index.cards})
    assert _rows_per_document(ray_config) == counts  # every document whole, none doubled
    assert _whole_documents(ray_config) == set(counts)
    assert index.manifest.sentences == sum(counts.values())


def test_a_stopped_build_claims_nothing_missing_and_running_it_again_finishes_it(builds, seed_corpus, lite, tmp_path):
    _, single_dir, ray_config, _, _ = builds
    expected = Assistant.load(single_dir, corpus_dir=seed_corpus)
    counts = Counter({card.id: card.sentences for card in expected.index.cards})
    config = _config(lite, "resume")
    index_dir = tmp_path / "index"
    victim = sorted(counts)[-1]
    try:
        with pytest.raises(RayBuildStopped, match="run the same command again"):
            build_on_ray(
                seed_corpus,
                index_dir,
                config,
                workers=1,
                retries=1,
                documents_per_batch=1,
                fault=Fault(victim, "write"),
            )
        assert not (index_dir / MANIFEST).exists()  # no manifest claims any document of the stopped build
        whole = _whole_documents(config)
        assert victim not in whole
        stored = _rows_per_document(config)
        assert all(stored[doc_id] == counts[doc_id] for doc_id in whole)  # a document with parts has all its rows
        assert stored[victim] == counts[victim]  # its sentence rows were written, then the worker died: no parts

        index = build_on_ray(seed_corpus, index_dir, config, workers=1, documents_per_batch=1)
        assert index.build_report is not None and index.build_report.milvus["kept"] == len(whole)  # skipped
        assert _rows_per_document(config) == counts  # the partial document deleted and written again: no duplicates
        assert {(r["pk"], r["doc_key"], r["cluster"]) for r in _rows(config)} == {
            (r["pk"], r["doc_key"], r["cluster"]) for r in _rows(ray_config)
        }
        assert (index_dir / MANIFEST).exists() and index.manifest.documents == len(counts)
    finally:
        milvus_sync.drop(config)
