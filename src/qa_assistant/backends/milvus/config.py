"""Where a Milvus-backed index keeps its sentences: the settings recorded in the manifest (never a secret).

`uri` is a Milvus server (`http://host:19530`, standalone or cluster) or a Milvus Lite file (`path/to/file.db`,
in-process, for tests and small collections). The token, when the server needs one, is read from the environment
variable named by `token_env` (default MILVUS_TOKEN) when the collection is opened; it is not written anywhere.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

DEFAULT_TOKEN_ENV = "MILVUS_TOKEN"
IndexType = Literal["HNSW", "IVF_FLAT", "FLAT", "AUTOINDEX"]
ServerFusion = Literal["ours", "milvus"]
_COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


def is_server_uri(uri: str) -> bool:
    """A server address (http, https, tcp, grpc, unix; `unix:/path` too: the socket of a Milvus Lite file's
    server, as a distributed build hands it to its workers), not a Milvus Lite file."""
    return re.match(r"(https?|tcp|grpc)://|unix:", uri) is not None


def default_collection(index_dir: str | Path) -> str:
    """A collection name of its own for each index folder: qa_<folder name>_<hash of its absolute path>."""
    path = Path(index_dir).resolve()
    name = re.sub(r"[^A-Za-z0-9_]", "_", path.name)[:40] or "index"
    return f"qa_{name}_{hashlib.sha1(str(path).encode('utf-8')).hexdigest()[:8]}"


class MilvusConfig(BaseModel):
    """How to reach the collection of a Milvus-backed index."""

    uri: str = Field(description="http://host:19530 (server) or a Milvus Lite file path (.db)")
    collection: str = Field(description="collection holding the index's sentences")
    db_name: str = Field("", description="database on the server ('' = default)")
    token_env: str = Field(DEFAULT_TOKEN_ENV, description="environment variable holding the token, if any")
    index_type: IndexType | None = Field(
        None, description="dense vector index; None: HNSW on a server, FLAT on Milvus Lite (all it supports)"
    )
    fusion: ServerFusion = Field(
        "ours", description="hybrid fusion: ours (same as the local index) or milvus (RRFRanker / WeightedRanker)"
    )
    timeout: float = Field(10.0, gt=0, description="seconds to wait for the server on connect and per call")

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("empty Milvus URI: give http://host:19530 or a Milvus Lite file such as milvus.db")
        if not is_server_uri(value):
            value = str(Path(value).expanduser().resolve())  # a Lite file: the same file from any working folder
        return value

    @field_validator("collection")
    @classmethod
    def _collection(cls, value: str) -> str:
        if not _COLLECTION.fullmatch(value):
            raise ValueError(
                f"'{value}' is not a Milvus collection name: use letters, digits and underscores, "
                "starting with a letter or underscore, at most 255 characters"
            )
        return value

    @property
    def is_lite(self) -> bool:
        return not is_server_uri(self.uri)

    @property
    def dense_index(self) -> str:
        """The dense index type used: Milvus Lite only has FLAT (exact), whatever is asked."""
        if self.is_lite:
            return "FLAT"
        return self.index_type or "HNSW"

    def token(self) -> str:
        return os.environ.get(self.token_env, "")
