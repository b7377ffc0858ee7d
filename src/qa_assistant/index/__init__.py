"""The index: building it from a corpus and keeping it on disk.

Building: `build` orchestrates it (`reuse`: what is copied from the index being replaced; `report`: what the build
did, as data; `vector_cache` and `embedder`: sentence vectors; `dedupe`: near-duplicate clusters). Keeping:
`catalog` is the index in memory (sentence table, `SentenceIndex`), `labels` and `attributions` who speaks in each
sentence, `manifest` the manifest (schema, build settings, freshness), `store` writing and reading the folder,
`integrity`, `lock` and `check` its checksums, the writer lock and `qa-assistant check`. Documents added or
removed while it serves: `update`, run one at a time by `jobs`.

May import: the leaves, `qa_assistant.text`, `qa_assistant.ingest` and `qa_assistant.backends`.
"""
