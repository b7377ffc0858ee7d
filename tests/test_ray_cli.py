"""`qa-assistant index --ray`: bad input is one error line saying what to do (no cluster, no model needed)."""

from __future__ import annotations

import sys

import pytest

from qa_assistant.cli import main


def test_ray_needs_the_milvus_backend(seed_corpus, tmp_path, capsys):
    assert main(["index", str(seed_corpus), "--index", str(tmp_path / "index"), "--ray"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --ray builds into a Milvus collection: add --backend milvus") and err.count("\n") == 1


def test_a_ray_address_that_does_not_answer(seed_corpus, tmp_path, capsys):
    pytest.importorskip("ray")
    milvus = ["--backend", "milvus", "--milvus-uri", str(tmp_path / "m.db")]
    assert main(["index", str(seed_corpus), "--index", str(tmp_path / "index"), *milvus, "--ray", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Ray cluster answers at 127.0.0.1:1") and err.count("\n") == 1
    assert "ray start --head" in err


def test_ray_not_installed_says_how_to_install_it(seed_corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    milvus = ["--backend", "milvus", "--milvus-uri", str(tmp_path / "m.db")]
    assert main(["index", str(seed_corpus), "--index", str(tmp_path / "index"), *milvus, "--ray"]) == 2
    err = capsys.readouterr().err
    assert "ray[data] not installed" in err and "pip install" in err and "qa-assistant[ray]" in err
    assert err.count("\n") == 1
