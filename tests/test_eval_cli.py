"""`qa-assistant eval` on the seed eval set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa_assistant.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEED_SET = ROOT / "eval" / "seed.jsonl"


def test_eval_seed_set_json_and_report(seed_index, seed_corpus, tmp_path, capsys):
    report = tmp_path / "report"
    code = main(
        [
            "eval",
            str(SEED_SET),
            "--index",
            str(seed_index),
            "--corpus",
            str(seed_corpus),
            "--modes",
            "bm25,rrf-k60,adaptive",
            "--report",
            str(report),
            "--json",
            "-q",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dataset"] == "seed"
    assert data["default_mode"] == "adaptive"  # the fusion chosen in eval/results/README.md
    assert set(data["modes"]) == {"bm25", "rrf-k60", "adaptive"}
    for metrics in data["modes"].values():
        for key in (
            "ndcg@10",
            "recall@10",
            "recall@100",
            "mrr@10",
            "precision@1",
            "precision@10",
            "side_coverage@10",
            "abstention_accuracy",
            "verbatim_rate",
        ):
            assert metrics[key] is not None and 0.0 <= metrics[key] <= 1.0, key
        assert metrics["verbatim_rate"] == 1.0
        assert metrics["ndcg@10"] > 0.5  # the bundled corpus is small: a broken mapping would show here
        # what a reader of the answers sees
        for key in ("answer_recall", "answer_side_precision", "answer_side_coverage", "dates_kept"):
            assert 0.0 < metrics[key] <= 1.0, key
        assert metrics["short_quotes"] == 0.0
    assert data["abstention"]["calibrated"]["adaptive"]["threshold"] > 0
    assert data["info"]["abstention_sweep_mismatches"] == 0  # the threshold sweep predicts every real ask
    for name in (
        "report.md",
        "per_query.md",
        "per_query.csv",
        "results.json",
        "ndcg_at_10.png",
        "recall_at_k.png",
        "abstention.png",
    ):
        assert (report / name).stat().st_size > 0, name
    drill_down = (report / "per_query.md").read_text(encoding="utf-8")
    assert "misses" in drill_down and "u-weather" in drill_down


@pytest.mark.slow  # builds the index and runs an evaluation
def test_eval_from_a_fresh_checkout_builds_the_index_and_prints_the_table(seed_corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(seed_corpus, tmp_path / "corpus")
    assert main(["eval", str(SEED_SET), "--modes", "bm25,dense", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (tmp_path / "index" / "manifest.json").exists()
    assert (tmp_path / "eval" / "results" / "seed" / "report.md").exists()
    # the table: a title, the header, a rule, then one row per mode with the numbers of the report it wrote
    assert lines[0].startswith("seed: ") and lines[1].split()[:2] == ["mode", "nDCG@10"]
    rows = {cells[0].rstrip("*+"): cells for cells in (line.split() for line in lines[3:5])}
    assert set(rows) == {"bm25", "dense"}
    saved = json.loads((tmp_path / "eval" / "results" / "seed" / "results.json").read_text(encoding="utf-8"))
    for name, cells in rows.items():
        assert float(cells[1]) == pytest.approx(saved["modes"][name]["ndcg@10"], abs=5e-4), name
        assert float(cells[1]) > 0.5, name


def test_eval_errors(seed_index, tmp_path, capsys):
    assert main(["eval", "--index", str(seed_index)]) == 2
    assert "give an eval set" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "q?"}\n', encoding="utf-8")
    assert main(["eval", str(bad), "--index", str(seed_index), "--no-report"]) == 2
    assert "bad.jsonl:1:" in capsys.readouterr().err
    assert main(["eval", str(SEED_SET), "--index", str(seed_index), "--modes", "magic", "--no-report"]) == 2
    assert "unknown mode" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--rrf-k", "--alpha"])
def test_eval_rejects_bad_grids(seed_index, option, capsys):
    assert main(["eval", str(SEED_SET), "--index", str(seed_index), option, "x,y", "--no-report"]) == 2
    assert option in capsys.readouterr().err


def test_filters_of_an_eval_question_apply_to_retrieval_and_answers(seed_index, seed_corpus, tmp_path, capsys):
    eval_set = tmp_path / "dated.jsonl"
    eval_set.write_text(
        json.dumps(
            {
                "id": "lachin-2023",
                "question": "the Lachin corridor",
                "filters": {"since": "2023-01-01", "until": "2023-12-31", "sides": ["Armenia"]},
                "relevant": [
                    {"doc_id": "000_ce08357c7478e3f0.txt", "text": "The illegal blockade of the Lachin corridor"}
                ],
                "sides": ["Armenia"],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    args = ["eval", str(eval_set), "--index", str(seed_index), "--corpus", str(seed_corpus), "--modes", "bm25"]
    assert main([*args, "--no-report", "--json", "-q"]) == 0
    metrics = json.loads(capsys.readouterr().out)["modes"]["bm25"]
    assert metrics["dates_kept"] == 1.0 and metrics["answer_side_coverage"] == 1.0
    assert metrics["precision@1"] == 1.0  # only Armenian statements of 2023 are ranked
