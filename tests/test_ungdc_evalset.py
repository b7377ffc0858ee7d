"""eval/ungdc.jsonl against the real UN General Debate archive: every judged passage is found, once, in the text
the corpus loader gives its speech, on the side and in the year the question asks about.

Prepares only the speeches the set refers to (a few seconds); nothing is indexed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qa_assistant.evaluation.evalset import load_evalset, resolve_evalset
from qa_assistant.ingest.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[1]
PREPARER = ROOT / "eval" / "datasets" / "ungdc.py"
EVALSET = ROOT / "eval" / "ungdc.jsonl"
ARCHIVE = ROOT.parent / "shared" / "ungdc" / "ungdc-1946-2019.tar.gz"

needs_archive = pytest.mark.skipif(
    not ARCHIVE.is_file(), reason=f"the UN General Debate archive is not at {ARCHIVE} (see eval/datasets/ungdc.py)"
)


@pytest.fixture(scope="module")
def dev_corpus(tmp_path_factory):
    evalset = load_evalset(EVALSET)
    codes = sorted({p.doc_id.split("_")[0] for item in evalset.items for p in item.question.relevant})
    out = tmp_path_factory.mktemp("ungdc") / "dev"
    command = [sys.executable, str(PREPARER), "--split", "dev", "--countries", ",".join(codes), "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return evalset, load_corpus(out)


@needs_archive
def test_every_passage_is_found_once_in_a_speech_of_the_dev_split(dev_corpus):
    evalset, corpus = dev_corpus
    assert not corpus.skipped
    assert {d.id.split("_")[1] for d in corpus.documents} == {"72", "73", "74"}
    # raises, listing every passage that is missing or occurs more than once, and every unknown side
    resolved = resolve_evalset(evalset, corpus.documents, known_sides=list(corpus.sides.sides))
    assert sum(len(q.passages) for q in resolved) == sum(len(i.question.relevant) for i in evalset.items)
    by_id = {d.id: d for d in corpus.documents}
    for item, question in zip(evalset.items, resolved, strict=True):
        for passage in question.passages:
            doc = by_id[passage.doc_id]
            text = doc.text[passage.start : passage.end]
            assert len(text.split()) >= 4, f"{question.id}: passage too short to quote: {text!r}"
            if question.sides or item.question.filters is not None:  # (a question about an event asks no side)
                assert doc.side in question.sides, f"{question.id}: {passage.doc_id} is {doc.side}'s speech"
            filters = item.question.filters
            if filters is not None:
                assert filters.since is not None and filters.until is not None
                assert filters.since <= doc.date <= filters.until, (
                    f"{question.id}: {passage.doc_id} is outside the filter"
                )
                assert filters.sides == question.sides


def test_the_set_has_the_kinds_it_promises():
    evalset = load_evalset(EVALSET)
    questions = [item.question for item in evalset.items]
    kinds: dict[str, int] = {}
    for q in questions:
        kinds[q.kind or ""] = kinds.get(q.kind or "", 0) + 1
    assert len(questions) >= 40
    assert kinds["per-side"] >= 8 and kinds["per-side-filter"] == kinds["per-side"]
    assert sum(not q.answerable for q in questions) >= 8
    pairs = {tuple(q.sides or []) for q in questions if q.kind == "per-side"}
    assert len(pairs) >= 8 and all(len(p) == 2 for p in pairs)
    # each pair is asked twice: the year in the question, and the same question without it but with a date filter
    with_year = {q.id: q for q in questions if q.kind == "per-side"}
    for q in questions:
        if q.kind == "per-side-filter":
            twin = with_year[q.id.removesuffix("-filter")]
            assert q.filters is not None and q.filters.since is not None
            year = str(q.filters.since.year)
            assert year in twin.question and year not in q.question
            assert twin.relevant == q.relevant
