"""Retrieval evaluation: eval sets, BEIR datasets, runs, metrics and reports.

One module per stage:
    evalset      the JSONL format of this project's eval sets (pydantic), loading and resolving passages
    beir         BEIR datasets (corpus.jsonl, queries.jsonl, qrels/*.tsv) and their cached indexes
    runner       retrieval configurations run through the product's `Retriever`
    answers      questions put to `Assistant.ask`: abstention, verbatim quotes, what the answers got right
    metrics      ranx metrics and the task metrics (side coverage, abstention, verbatim rate)
    results      `EvalResult` and its parts, the task metric names, steps shared by eval sets and BEIR
    run_evalset  an eval set from end to end (-> `EvalResult`)
    run_beir     a BEIR dataset from end to end (-> `EvalResult`)
    report       terminal table, JSON, Markdown report, TREC run files, the report folder
    per_query    the per-query drill-down (Markdown and CSV)
    plots        PNG plots
    command      the `qa-assistant eval` subcommand
"""
