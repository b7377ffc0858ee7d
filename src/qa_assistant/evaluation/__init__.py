"""Retrieval evaluation: eval sets, BEIR datasets, runs, metrics and reports.

One module per stage:
    evalset   the JSONL format of this project's eval sets (pydantic), loading and resolving passages
    beir      BEIR datasets (corpus.jsonl, queries.jsonl, qrels/*.tsv) and their cached indexes
    runner    retrieval configurations run through the product's `Retriever` / `Assistant`
    metrics   ranx metrics and the task metrics (side coverage, abstention, verbatim rate)
    pipeline  an evaluation from end to end (eval set or BEIR dataset -> `EvalResult`)
    report    terminal table, JSON, Markdown, per-query drill-down, PNG plots, TREC run files
    command   the `qa-assistant eval` subcommand
"""
