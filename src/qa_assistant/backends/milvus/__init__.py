"""The Milvus backend: where a Milvus-backed index keeps its sentences (`config`, recorded in the manifest),
clients and errors (`client`), the collection's schema (`schema`) and rows (`rows`), keeping it in step with the
index (`sync`) and the searches (`backend`). May import `qa_assistant.backends.base`, `backends.filters`,
`backends.context`, `backends.local` (its BM25 parameters), `qa_assistant.ingest` (attributions), the leaves and
`qa_assistant.text`."""
