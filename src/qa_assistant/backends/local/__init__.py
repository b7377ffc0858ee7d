"""The local backend: bm25s scores over the index folder's own token tables (`bm25`), FAISS vectors (`dense`),
and the backend that searches them (`backend`). May import `qa_assistant.backends.base`, `backends.context`, the
leaves and `qa_assistant.text`."""
