"""Ingest: a corpus folder becomes `Document`s — reading each file format, boilerplate removal (`clean`), the
metadata sidecar and side configuration (`corpus`; `sides`, with the
capitals and alternative-names tables of `qa_assistant/data/`), and who speaks in each sentence (`attribution`).

May import: the leaves (`models`, `errors`, `limits`, `version`) and `qa_assistant.text`.
"""
