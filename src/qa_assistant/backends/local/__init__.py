"""The local backend: bm25s scores over the index folder's own token tables (`bm25`), FAISS vectors (`dense`),
close pairs of vectors for the near-duplicate clustering (`neighbours`), reading mapped files in ahead of use
(`pages`), and the backend that searches them
(`backend`). May import `qa_assistant.backends.base`, `backends.filters`, `backends.context`, the leaves and
`qa_assistant.text`."""
