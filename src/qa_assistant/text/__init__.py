"""Text: the words BM25 counts (`tokens`), dates written in text (`dates`), and sentence splitting with exact
character offsets (`segment`, `abbreviations`, `segment_parallel`), which sentences may be quoted at all
(`quotable`).

Owns plain-text rules only. May import: `qa_assistant.errors`, `qa_assistant.models` and the standard library
and third-party text packages; nothing else of the package.
"""
