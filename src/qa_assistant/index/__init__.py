"""The index: building it from a corpus (`build`, with `reuse` of an earlier build, the `vector_cache`, `dedupe`
of near-duplicates and the `embedder`), and the folder on disk (`store`: manifest, sentence table, save/load;
`labels`: per-sentence attributions; `integrity`, `check`, `lock`), and documents added or removed while it
serves (`update`, run one at a time by `jobs`).

May import: the leaves, `qa_assistant.text`, `qa_assistant.ingest` and `qa_assistant.backends`.
"""
