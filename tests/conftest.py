"""Shared fixtures: the bundled corpus indexed once per test session with the real model.

Tests that use the session index (they load the model and build it), and those marked `slow` by hand (a browser,
a BEIR index, an index of their own), form the slow set; `pytest -m "not slow"` runs the rest in seconds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa_assistant import Assistant

ROOT = Path(__file__).resolve().parents[1]
SEED_CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def seed_corpus(tmp_path_factory) -> Path:
    """A private copy of the bundled corpus (tests may not touch the real one)."""
    target = tmp_path_factory.mktemp("corpus") / "corpus"
    shutil.copytree(SEED_CORPUS, target)
    return target


@pytest.fixture(scope="session")
def seed_index(seed_corpus, tmp_path_factory) -> Path:
    index_dir = tmp_path_factory.mktemp("index") / "index"
    Assistant.build(seed_corpus, index_dir)
    return index_dir


@pytest.fixture(scope="session")
def assistant(seed_index, seed_corpus) -> Assistant:
    return Assistant.load(seed_index, corpus_dir=seed_corpus)


# Fixtures that load the model and build an index: every test using one (directly or not) is slow.
SLOW_FIXTURES = {"seed_index", "assistant"}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
