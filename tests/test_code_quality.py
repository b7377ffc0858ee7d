"""Lint, format and type checks belong to the suite: a change that breaks them fails like any other test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    tool = BIN / command[0]
    if not tool.exists():
        pytest.fail(f"{command[0]} is not installed in {BIN}: run `bash scripts/setup.sh --test`")
    return subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tree_passes(command: tuple[str, ...]) -> None:
    result = _run(*command)
    assert result.returncode == 0, f"`{' '.join(command)}` failed:\n{result.stdout}\n{result.stderr}"
