"""Optional parts of the package: the app needs the `ui` extra, `qa-assistant eval` the `eval` extra,
`qa-assistant serve` the `serve` extra, the Milvus backend the `milvus` extra, a build on Ray (`index --ray`) the `ray`
extra."""

from __future__ import annotations

from importlib.util import find_spec

from qa_assistant.errors import QAError

EXTRAS = {
    "ui": ("gradio",),
    "eval": ("ranx", "matplotlib", "tqdm"),
    "serve": ("fastapi", "uvicorn"),
    "milvus": ("pymilvus",),
    "ray": ("ray", "pyarrow"),
}


def missing_extra(extra: str, missing: list[str]) -> QAError:
    """The error for packages `missing` of `extra`: what is missing and the command that installs it."""
    return QAError(
        f"{', '.join(missing)} not installed: this needs the '{extra}' extra; install it with "
        f"pip install -c constraints.txt 'qa-assistant[{extra}]' (or, in a checkout: bash scripts/setup.sh)"
    )


def require(extra: str) -> None:
    """Raise QAError naming the missing packages and the install command when `extra` is not installed."""
    missing = [name for name in EXTRAS[extra] if find_spec(name) is None]
    if missing:
        raise missing_extra(extra, missing)
