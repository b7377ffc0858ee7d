"""Milvus clients and errors: one client per server (or Milvus Lite file) in a process, pymilvus imported only when
needed (the 'milvus' extra), and its failures turned into messages that say what to do."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.errors import QAError
from qa_assistant.extras import missing_extra

_clients: dict[tuple[str, str, str], Any] = {}
_clients_lock = threading.Lock()


def pymilvus() -> Any:
    """The pymilvus module, or a QAError saying how to install it."""
    try:
        import pymilvus as module
    except ImportError:
        raise missing_extra("milvus", ["pymilvus"]) from None
    return module


@contextmanager
def milvus_errors(config: MilvusConfig, doing: str) -> Iterator[None]:
    """Turn a pymilvus failure into a QAError naming the URI, the collection and what to do."""
    module = pymilvus()
    try:
        yield
    except module.exceptions.MilvusException as exc:
        hint = (
            "check that the Milvus Lite file can be written"
            if config.is_lite
            else f"check that Milvus is running at {config.uri} (and the token in ${config.token_env}, if it needs one)"
        )
        raise QAError(
            f"Milvus failed while {doing} (collection '{config.collection}' at {config.uri}): "
            f"{getattr(exc, 'message', exc)}; {hint}"
        ) from None


def client_for(config: MilvusConfig) -> Any:
    """One client per URI, database and token in this process (a Milvus Lite file is opened once)."""
    module = pymilvus()
    key = (config.uri, config.db_name, config.token())
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if config.is_lite and not config.uri.endswith(".db"):
                raise QAError(f"Milvus Lite file '{config.uri}' must end in .db (or give a server: http://host:19530)")
            try:
                client = module.MilvusClient(
                    uri=config.uri, token=config.token(), db_name=config.db_name, timeout=config.timeout
                )
            except Exception as exc:  # the connection fails in several ways (MilvusException, OSError, gRPC)
                raise QAError(
                    f"cannot reach Milvus at {config.uri} ({type(exc).__name__}: {exc}); start the server (see the "
                    "README's Milvus section) or give another --milvus-uri"
                ) from None
            _clients[key] = client
        return client
