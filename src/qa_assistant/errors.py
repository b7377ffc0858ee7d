"""Errors whose message is meant for the user: what is wrong, where, and what to do."""

from pydantic import ValidationError


class QAError(Exception):
    """A problem with the user's input or files; the message names the thing and the fix."""


class StaleIndexError(QAError):
    """The index on disk does not match the corpus, model or schema it is asked to serve."""


class IndexCorruptError(QAError):
    """An index file is missing, truncated, altered or unreadable; the message names the file and the rebuild."""


class IndexLockedError(QAError):
    """Another process is writing the index folder and did not finish within the wait."""


def validation_problems(exc: ValidationError) -> list[str]:
    """One 'field: problem' line per error of a pydantic validation."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return problems


def rebuild_command(index_dir: object, corpus_dir: object = None, *options: str) -> str:
    """The command that builds the index `index_dir` from `corpus_dir` (CORPUS when not known) anew, with `options`."""
    return " ".join([f"qa-assistant index {corpus_dir or 'CORPUS'} --index {index_dir}", *options])
