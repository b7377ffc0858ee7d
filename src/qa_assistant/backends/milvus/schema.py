"""The collections' schemas. The sentences collection: one row per sentence (fields in `rows.py`), the BM25
functions and analyzer, the vector and scalar indexes. The documents collection (`documents_collection`): each
document's JSON (its text, metadata and offset maps) in parts of at most PART_BYTES bytes, since a VARCHAR holds at
most 65,535 bytes and a speech can be longer."""

from __future__ import annotations

from typing import Any

from qa_assistant.backends.local.bm25 import BM25_B, BM25_K1
from qa_assistant.backends.milvus.client import pymilvus
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.text.tokens import STOPWORDS

MAX_TEXT_BYTES = 65535
PART_BYTES = 60000  # a document's JSON is stored in parts of at most this many bytes (VARCHAR limit 65,535)
MAX_ID_LENGTH = 2048
HNSW_PARAMS = {"M": 32, "efConstruction": 200}
ANALYZER = {
    "tokenizer": "standard",
    "filter": [
        "lowercase",
        "asciifolding",
        {"type": "stop", "stop_words": sorted(STOPWORDS)},
        {"type": "stemmer", "language": "english"},
    ],
}
SCALAR_INDEXES = {
    "doc_id": "INVERTED",
    "publisher": "INVERTED",
    "speaker_side": "INVERTED",
    "date_day": "STL_SORT",
    "cluster": "STL_SORT",
}
TOKENS_ANALYZER = {"tokenizer": "whitespace"}  # `tokens` holds our own BM25 tokens (`text.tokens.tokenize`)
DOCUMENTS_SUFFIX = "_documents"


def documents_collection(config: MilvusConfig) -> str:
    """The name of the collection holding the documents of the sentences collection `config.collection`."""
    return config.collection + DOCUMENTS_SUFFIX


def _sentence_schema(client: Any, dimension: int) -> Any:
    types = pymilvus().DataType
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", types.INT64, is_primary=True)  # rows.row_id(doc_id, ordinal)
    schema.add_field("doc_id", types.VARCHAR, max_length=MAX_ID_LENGTH)
    schema.add_field("doc_key", types.VARCHAR, max_length=64)
    schema.add_field("ordinal", types.INT32)
    schema.add_field("start", types.INT64)
    schema.add_field("end", types.INT64)
    for name in ("text", "context"):
        schema.add_field(name, types.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True, analyzer_params=ANALYZER)
    # the sentence's tokens as ours (`tokenize`), for "which sentences hold these words" (`holding`, `mentions`):
    # Milvus's analyzer would stem our stems again ("offens" -> "offen") and split some words otherwise
    schema.add_field(
        "tokens", types.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True, analyzer_params=TOKENS_ANALYZER
    )
    schema.add_field("sparse", types.SPARSE_FLOAT_VECTOR)
    schema.add_field("context_sparse", types.SPARSE_FLOAT_VECTOR)
    schema.add_field("tokens_sparse", types.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", types.FLOAT_VECTOR, dim=dimension)
    for name in ("publisher", "doc_side", "speaker_side"):
        schema.add_field(name, types.VARCHAR, max_length=1024)
    schema.add_field("speaker", types.VARCHAR, max_length=4096)
    schema.add_field("date_day", types.INT32)
    schema.add_field("cluster", types.INT64)  # the row id of the first sentence of its near-duplicate cluster
    schema.add_field("attribution", types.JSON)  # `ingest.attribution.Attribution` as stored (names as written)
    return schema


def create_collection(client: Any, config: MilvusConfig, dimension: int) -> list[str]:
    """Make the sentences collection (schema, BM25 functions, vector indexes) and its documents collection; returns
    the scalar indexes made (Milvus Lite makes none: it filters by scanning)."""
    module = pymilvus()
    schema = _sentence_schema(client, dimension)
    for source, target in (("text", "sparse"), ("context", "context_sparse"), ("tokens", "tokens_sparse")):
        schema.add_function(
            module.Function(
                name=f"{source}_bm25",
                function_type=module.FunctionType.BM25,
                input_field_names=[source],
                output_field_names=[target],
            )
        )
    params = client.prepare_index_params()
    for field in ("sparse", "context_sparse", "tokens_sparse"):
        params.add_index(
            field_name=field,
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
        )
    kind = config.dense_index
    params.add_index(
        field_name="vector",
        index_type=kind,
        metric_type="IP",
        params=HNSW_PARAMS if kind == "HNSW" else ({"nlist": 1024} if kind == "IVF_FLAT" else {}),
    )
    made = []
    if not config.is_lite:  # (made with the collection, before it is loaded)
        for field, scalar in SCALAR_INDEXES.items():
            params.add_index(field_name=field, index_type=scalar)
            made.append(field)
    client.create_collection(config.collection, schema=schema, index_params=params, consistency_level="Strong")
    create_documents_collection(client, config)
    return made


def create_documents_collection(client: Any, config: MilvusConfig) -> None:
    """The documents collection: pk (rows.part_id), doc_id, doc_key, part, parts, data (a part of the JSON) and a
    two-dimensional `placeholder` vector (a Milvus server wants one vector field in every collection)."""
    types = pymilvus().DataType
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", types.INT64, is_primary=True)
    schema.add_field("doc_id", types.VARCHAR, max_length=MAX_ID_LENGTH)
    schema.add_field("doc_key", types.VARCHAR, max_length=64)
    schema.add_field("part", types.INT32)
    schema.add_field("parts", types.INT32)
    schema.add_field("data", types.VARCHAR, max_length=MAX_TEXT_BYTES)
    schema.add_field("placeholder", types.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
    if not config.is_lite:
        params.add_index(field_name="doc_id", index_type="INVERTED")
    name = documents_collection(config)
    if not client.has_collection(name):
        client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
