"""Backends: what answers "the best sentences for this question (within these filters)".

`base` holds the protocol every backend meets and `BackendInfo` (no backend imported there); `local/` searches the
index folder's own files (bm25s, FAISS), `milvus/` a Milvus collection; `factory.open_backend` is the one place that
knows them all. `filters` holds the filter rules (the local mask and the Milvus expression); `context` defines
the neighbour windows BM25 scores sentences with.

May import: the leaves (`models`, `errors`, `limits`, `version`) and `qa_assistant.text`. Never the index layer:
a backend is handed the loaded index (or plain arrays) by its caller.
"""
