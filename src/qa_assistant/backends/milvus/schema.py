"""The collection's schema: one row per sentence (fields listed in `backends/milvus/backend.py`), the BM25
functions and analyzer, the vector and scalar indexes."""

from __future__ import annotations

from typing import Any

from qa_assistant.backends.local.bm25 import BM25_B, BM25_K1
from qa_assistant.backends.milvus.client import pymilvus
from qa_assistant.backends.milvus.config import MilvusConfig
from qa_assistant.text.tokens import STOPWORDS

MAX_TEXT_BYTES = 65535
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
SCALAR_INDEXES = {"doc_id": "INVERTED", "publisher": "INVERTED", "speaker_side": "INVERTED", "date_day": "STL_SORT"}


def create_collection(client: Any, config: MilvusConfig, dimension: int) -> list[str]:
    """Make the collection (schema, BM25 functions, vector indexes); returns the scalar indexes made (Milvus Lite
    makes none: it filters by scanning)."""
    module = pymilvus()
    types = module.DataType
    schema = client.create_schema(auto_id=True, enable_dynamic_field=False)
    schema.add_field("pk", types.INT64, is_primary=True)
    schema.add_field("doc_id", types.VARCHAR, max_length=2048)
    schema.add_field("doc_key", types.VARCHAR, max_length=64)
    schema.add_field("ordinal", types.INT32)
    for name in ("text", "context"):
        schema.add_field(name, types.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True, analyzer_params=ANALYZER)
    schema.add_field("sparse", types.SPARSE_FLOAT_VECTOR)
    schema.add_field("context_sparse", types.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", types.FLOAT_VECTOR, dim=dimension)
    for name in ("publisher", "doc_side", "speaker_side"):
        schema.add_field(name, types.VARCHAR, max_length=1024)
    schema.add_field("speaker", types.VARCHAR, max_length=4096)
    schema.add_field("date_day", types.INT32)
    for source, target in (("text", "sparse"), ("context", "context_sparse")):
        schema.add_function(
            module.Function(
                name=f"{source}_bm25",
                function_type=module.FunctionType.BM25,
                input_field_names=[source],
                output_field_names=[target],
            )
        )
    params = client.prepare_index_params()
    for field in ("sparse", "context_sparse"):
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
    return made
