"""A build of a Milvus-backed index on a Ray cluster (`qa-assistant index CORPUS --backend milvus --ray [ADDRESS]`).

`stages` holds what runs on the workers, as plain functions and classes that never import Ray: reading, cleaning,
segmenting and attributing the files of a batch (`prepare_files`), encoding batched per worker with one model per
worker (`EncodeWorker`), and writing rows to Milvus (`write_documents`). `driver` runs them as Ray Data stages
(importing Ray only when called: the `ray` extra) and then the final stage, which needs the whole collection: the
near-duplicate clusters made from every vector read back from Milvus, the rows whose cluster changed written again,
and the serving tables of the index folder (`index/serving.py`).

May import: the leaves, `qa_assistant.text`, `qa_assistant.ingest`, `qa_assistant.backends` and the rest of
`qa_assistant.index`; Ray and pyarrow only inside functions.
"""
