"""BEIR datasets: the loader, the cached indexes, and a run end to end on a tiny hand-made dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_assistant.cli import main
from qa_assistant.errors import QAError
from qa_assistant.evaluation.beir import beir_index, cache_path, load_beir
from qa_assistant.evaluation.report import write_report
from qa_assistant.evaluation.run_beir import evaluate_beir

CORPUS = [
    {
        "_id": "d1",
        "title": "Aspirin and headaches",
        "text": "Aspirin reduces headache pain in adults. It is a cheap drug.",
    },
    {"_id": "d2", "title": "Coffee", "text": "Coffee contains caffeine. Caffeine improves alertness in tired people."},
    {"_id": "d3", "title": "", "text": "Vitamin C does not prevent the common cold in most people."},
    {"_id": "d4", "title": "Sleep", "text": "Adults need seven hours of sleep. Short sleep harms memory."},
]
QUERIES = [
    {"_id": "q1", "text": "Does aspirin relieve headaches?"},
    {"_id": "q2", "text": "caffeine and alertness"},
    {"_id": "q3", "text": "vitamin C and colds"},
    {"_id": "q4", "text": "a query without judgments"},
]


def write_dataset(root: Path, qrels: str | None = None, corpus=CORPUS) -> Path:
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUERIES), encoding="utf-8")
    default = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq2\td3\t0\nq3\td3\t2\n"
    (root / "qrels" / "test.tsv").write_text(qrels if qrels is not None else default, encoding="utf-8")
    return root


@pytest.fixture
def dataset_dir(tmp_path) -> Path:
    return write_dataset(tmp_path / "tiny")


def test_loader_reads_documents_queries_and_qrels(dataset_dir):
    dataset = load_beir(dataset_dir, "test")
    assert dataset.name == "tiny-test"
    assert [d.id for d in dataset.documents] == ["d1", "d2", "d3", "d4"]
    d1, _d2, d3, _d4 = dataset.documents
    assert d1.title == "Aspirin and headaches"
    assert d1.text == "Aspirin and headaches\n\nAspirin reduces headache pain in adults. It is a cheap drug."
    assert d3.title is None and d3.text == "Vitamin C does not prevent the common cold in most people."
    # header skipped, score 0 dropped, the unjudged query left out
    assert dataset.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 2}}
    assert list(dataset.queries) == ["q1", "q2", "q3"]
    assert dataset.unjudged_queries == 1


def test_loader_errors_name_the_file_and_line(tmp_path):
    root = write_dataset(tmp_path / "bad")
    with pytest.raises(QAError, match=r"qrels/dev.tsv not found \(splits here: test\)"):
        load_beir(root, "dev")
    (root / "corpus.jsonl").write_text('{"_id": "d1", "text": "ok"}\n{broken\n', encoding="utf-8")
    with pytest.raises(QAError, match=r"corpus.jsonl, line 2: not valid JSON"):
        load_beir(root, "test")
    (root / "corpus.jsonl").write_text('{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n', encoding="utf-8")
    with pytest.raises(QAError, match=r"line 2: document id 'd1' appears twice"):
        load_beir(root, "test")
    write_dataset(root, qrels="q1\td1\t1\nq1\td2\tmany\n")
    with pytest.raises(QAError, match=r"test.tsv, line 2: score 'many' is not a number"):
        load_beir(root, "test")
    write_dataset(root, qrels="q9\td1\t1\n")
    with pytest.raises(QAError, match="q9 are not in queries.jsonl"):
        load_beir(root, "test")
    with pytest.raises(QAError, match="not found"):
        load_beir(tmp_path / "nowhere", "test")


def test_fingerprint_follows_corpus_bytes_and_granularity(tmp_path):
    a = load_beir(write_dataset(tmp_path / "a"), "test")
    b = load_beir(write_dataset(tmp_path / "b", corpus=CORPUS[:3]), "test")
    assert a.fingerprint("sentence", "m") != b.fingerprint("sentence", "m")
    assert a.fingerprint("sentence", "m") != a.fingerprint("document", "m")
    assert a.fingerprint("sentence", "m") != a.fingerprint("sentence", "other-model")


@pytest.mark.slow  # builds BEIR indexes with the model
def test_indexes_are_built_once_and_cached(dataset_dir, tmp_path):
    dataset = load_beir(dataset_dir, "test")
    cache = tmp_path / "cache"
    stages: list[str] = []
    sentences = beir_index(dataset, "sentence", cache_dir=cache, on_stage=stages.append)
    assert cache_path(dataset, "sentence", "all-MiniLM-L6-v2", cache).is_dir()
    texts = [sentences.sentence_text(i) for i in range(len(sentences.sentences))]
    assert texts[:3] == ["Aspirin and headaches", "Aspirin reduces headache pain in adults.", "It is a cheap drug."]
    documents = beir_index(dataset, "document", cache_dir=cache)
    assert len(documents.sentences) == 4
    assert documents.sentence_text(1) == dataset.documents[1].text
    stages.clear()
    again = beir_index(dataset, "sentence", cache_dir=cache, on_stage=stages.append)
    assert any("using cached" in s for s in stages) and not any("encoding" in s for s in stages)
    assert len(again.sentences) == len(sentences.sentences)


@pytest.mark.slow  # builds BEIR indexes with the model
def test_beir_run_end_to_end_with_report_and_trec_files(dataset_dir, tmp_path):
    result = evaluate_beir(
        dataset_dir,
        "test",
        cache_dir=tmp_path / "cache",
        aggregations=("max", "top2"),
        depth=50,
        candidates=50,
    )
    assert {"bm25", "dense", "rrf-k60", "rrf-k60+top2", "doc:bm25", "doc:rrf-k60", "adaptive"} <= set(result.modes)
    for name in ("bm25", "rrf-k60", "doc:bm25"):
        metrics = result.modes[name].metrics
        assert metrics["ndcg@10"] == pytest.approx(1.0), name  # each query's one relevant document comes first
        assert metrics["recall@100"] == pytest.approx(1.0)
    assert result.modes["rrf-k60"].per_query["q2"]["first_rank"] == 1
    assert result.modes["adaptive"].metrics["verbatim_rate"] == 1.0  # the default mode is asked
    data = result.to_json()
    assert data["dataset"] == "tiny-test" and data["default_mode"] == "adaptive"
    assert set(data["modes"]["bm25"]) >= {"ndcg@10", "recall@10", "recall@100", "mrr@10", "precision@1", "precision@10"}
    report = write_report(result, tmp_path / "report", runs=True)
    for name in ("report.md", "per_query.md", "per_query.csv", "results.json", "ndcg_at_10.png", "recall_at_k.png"):
        assert (report / name).stat().st_size > 0, name
    run_lines = (report / "runs" / "rrf-k60.trec").read_text().splitlines()
    first = run_lines[0].split()
    assert first[:4] == ["q1", "Q0", "d1", "1"] and first[5] == "rrf-k60"
    assert "q3 0 d3 2" in (report / "runs" / "qrels.trec").read_text().splitlines()


@pytest.mark.slow  # builds BEIR indexes with the model
def test_cli_beir_json(dataset_dir, tmp_path, capsys):
    code = main(
        [
            "eval",
            "--beir",
            str(dataset_dir),
            "--split",
            "test",
            "--cache",
            str(tmp_path / "cache"),
            "--modes",
            "bm25,rrf-k60",
            "--granularity",
            "sentence",
            "--aggregation",
            "max",
            "--no-report",
            "--json",
            "-q",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dataset"] == "tiny-test"
    assert set(data["modes"]) == {"bm25", "rrf-k60"}
    assert data["modes"]["bm25"]["ndcg@10"] == pytest.approx(1.0)
