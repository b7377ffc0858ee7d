"""The package's rooms: every import of the package's own modules points down the stages, and every sub-package
says in its `__init__` docstring what it owns and what it may import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "qa_assistant"
# Bottom to top: a module may import its own room and the rooms of a lower rank only.
RANK = {
    "version": 0,
    "models": 0,
    "errors": 0,
    "limits": 0,
    "extras": 0,
    "text": 1,
    "ingest": 2,
    "backends": 3,
    "index": 4,
    "answer": 5,
    "assistant": 6,
    "cli": 7,
    "server": 7,
    "ui": 7,
    "evaluation": 7,
}


def _room(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def _imported_rooms(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "qa_assistant":
            parts = node.module.split(".")[1:]
            rooms = [parts[0]] if parts else [alias.name for alias in node.names]
            found += [(node.lineno, room) for room in rooms]
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"relative import at line {node.lineno}: the package imports itself absolutely")
    return found


def _modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.name != "__init__.py" or p.parent != PACKAGE]


def test_every_room_has_a_rank():
    rooms = {_room(p) for p in _modules()}
    assert rooms <= set(RANK), f"modules outside the known rooms: {sorted(rooms - set(RANK))}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path):
    room = _room(path)
    upward = [
        f"line {line}: {room} imports {target}"
        for line, target in _imported_rooms(ast.parse(path.read_text(encoding="utf-8")))
        if target in RANK and RANK[target] > RANK[room]
    ]
    assert not upward, f"{path.relative_to(PACKAGE)} imports a room above it: {upward}"


def test_the_check_finds_an_upward_import():
    tree = ast.parse("from qa_assistant.answer.builder import x\nfrom qa_assistant import assistant\n")
    assert [room for _, room in _imported_rooms(tree)] == ["answer", "assistant"]


@pytest.mark.parametrize("package", sorted(p.parent for p in PACKAGE.rglob("__init__.py")), ids=str)
def test_each_package_says_what_it_owns(package: Path):
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
    assert len(docstring) > 40, f"{package}/__init__.py needs a docstring: what it owns and what it may import"
    if package != PACKAGE and package.name not in {"ui", "evaluation"}:
        assert "import" in docstring, f"{package}/__init__.py must say what it may import"


SEARCH_LIBRARIES = {"faiss", "bm25s", "pymilvus"}


def _imports(tree: ast.Module) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every import: `import a.b` gives ("a.b", []), `from a import b, c` ("a", [b, c])."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def _private_imports(tree: ast.Module) -> list[str]:
    return [
        f"line {line}: {name} from {module}"
        for line, module, names in _imports(tree)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]


def _search_library_imports(tree: ast.Module) -> list[str]:
    return [f"line {line}: {module}" for line, module, _ in _imports(tree) if module.split(".")[0] in SEARCH_LIBRARIES]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_is_imported_from_another_module(path: Path):
    private = _private_imports(ast.parse(path.read_text(encoding="utf-8")))
    assert not private, f"{path.relative_to(PACKAGE)} imports private names of other modules: {private}"


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if RANK[_room(p)] > RANK["backends"]],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_nothing_above_the_backends_imports_a_search_library(path: Path):
    found = _search_library_imports(ast.parse(path.read_text(encoding="utf-8")))
    assert not found, f"{path.relative_to(PACKAGE)} imports {found}: only backends/ may (add a backend method)"


def test_the_checks_find_private_and_search_library_imports():
    tree = ast.parse(
        "from qa_assistant.text.tokens import _WORD, tokenize\nimport faiss\nfrom bm25s.tokenization import x\n"
    )
    assert _private_imports(tree) == ["line 1: _WORD from qa_assistant.text.tokens"]
    assert _search_library_imports(tree) == ["line 2: faiss", "line 3: bm25s.tokenization"]
    assert _private_imports(ast.parse("from __future__ import annotations\n")) == []


def test_the_command_line_parser_is_built_without_the_evaluation():
    """`qa-assistant --help` needs no evaluation module (nor its extra): the defaults it shows live below."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from qa_assistant.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith('qa_assistant.evaluation')))"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert found.stdout.strip() == "[]"


MAX_FUNCTION_LINES = 60


def test_no_function_is_longer_than_a_reader_can_follow():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, (
        f"functions over {MAX_FUNCTION_LINES} lines: split them where a reader would name the parts: {long}"
    )
