"""Answering: reading the question (`question`, `constraints`), retrieval and fusion (`retriever`, `fusion`),
making quotes (`quotes`), the `Answer` itself (`builder`) and how its relevant statements spread over time
(`timeline`).

May import: the leaves, `qa_assistant.text`, `qa_assistant.ingest`, `qa_assistant.backends` and
`qa_assistant.index`.
"""
