"""The Milvus backend: where a Milvus-backed index keeps its sentences (`config`, recorded in the manifest) and the
searches and sync against a Milvus collection (`backend`). May import `qa_assistant.backends.base`,
`backends.context`, `backends.local.bm25` (its BM25 parameters), the leaves and `qa_assistant.text`."""
