"""Ingest: a corpus folder becomes `Document`s — reading each file format (PDF in `pdf`, Word in `docx`, the rest
in `corpus`), boilerplate removal (`clean`), the metadata sidecar and side configuration (`corpus`; `sides`, with
the capitals and alternative-names tables of `qa_assistant/data/`), and who speaks in each sentence
(`attribution`); files added to and removed from a corpus folder while the tool runs (`uploads`: safe names,
limits, the `metadata.csv` rows, undo).

May import: the leaves (`models`, `errors`, `limits`, `version`) and `qa_assistant.text`.
"""
