"""`qa-assistant index --ray`: bad input is one error line saying what to do (no cluster, no model needed); a local
Ray slow to start is started once more, then refused with what to do."""

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


class SlowRay:
    """A stand-in for the `ray` module whose local start times out the first `failures` times (as Ray's own
    'The current node timed out during startup' Exception)."""

    def __init__(self, failures: int):
        self.failures, self.started, self.stopped = failures, 0, 0

    def is_initialized(self) -> bool:
        return False

    def init(self, **options) -> None:
        self.started += 1
        if self.started <= self.failures:
            raise Exception("The current node timed out during startup.")

    def shutdown(self) -> None:
        self.stopped += 1

    def cluster_resources(self) -> dict:
        return {"CPU": 2.0}


def test_a_local_ray_slow_to_start_is_started_again_then_refused_with_what_to_do():
    from qa_assistant.errors import QAError
    from qa_assistant.index.distributed.driver import _ray_session

    once = SlowRay(failures=1)
    with _ray_session(once, None, 2, 1.0, lambda line: None) as cpus:
        assert cpus == 2.0
    assert once.started == 2 and once.stopped == 2  # (the failed start cleaned up, the session shut down)
    never = SlowRay(failures=2)
    session = _ray_session(never, None, 2, 1.0, lambda line: None)
    with pytest.raises(QAError, match="did not start twice.*run the same command again"):
        session.__enter__()
