"""The eval set format: validation with line numbers, and passages checked against an index's documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_assistant.errors import QAError
from qa_assistant.evaluation.evalset import load_evalset, parse_evalset, resolve_evalset
from qa_assistant.models import Document

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    Document(id="a.txt", path="a.txt", text="The corridor was closed in December. The corridor was reopened later."),
    Document(id="b.txt", path="b.txt", text="Nineteen civilians were wounded."),
]


def line(**fields) -> str:
    return json.dumps(fields)


def test_valid_lines_parse_with_defaults():
    evalset = parse_evalset(
        [
            line(
                id="q1",
                question="When was it closed?",
                relevant=[{"doc_id": "a.txt", "text": "closed in December"}],
                sides=["Armenia"],
            ),
            "",
            line(id="q2", question="Unrelated?", answerable=False),
        ]
    )
    assert [item.line for item in evalset.items] == [1, 3]
    q1, q2 = (item.question for item in evalset.items)
    assert q1.answerable and q1.relevant[0].grade == 1 and q1.sides == ["Armenia"]
    assert not q2.answerable and q2.relevant == []


def test_every_bad_line_is_reported_with_its_number():
    lines = [
        line(id="ok", question="fine?", relevant=[{"doc_id": "a.txt", "text": "closed"}]),
        "{not json",
        line(id="q3", question="no passages?"),
        line(id="q4", question="both?", answerable=False, relevant=[{"doc_id": "a.txt", "text": "closed"}]),
        line(id="q5", question="where?", relevant=[{"doc_id": "a.txt"}]),
        line(id="q6", question="span?", relevant=[{"doc_id": "a.txt", "start": 5}]),
        line(id="ok", question="again?", relevant=[{"doc_id": "a.txt", "text": "closed"}]),
        line(id="q8", question="typo?", relevant=[{"doc_id": "a.txt", "text": "closed"}], answerible=False),
        "[1, 2]",
        line(id="q10", question="backwards?", relevant=[{"doc_id": "a.txt", "start": 9, "end": 3}]),
    ]
    with pytest.raises(QAError) as info:
        parse_evalset(lines, name="set.jsonl")
    message = str(info.value)
    for number, words in [
        (2, "not valid JSON"),
        (3, "needs at least one 'relevant' passage"),
        (4, "cannot list 'relevant'"),
        (5, "needs 'text'"),
        (6, "both 'start' and 'end'"),
        (7, "already used on line 1"),
        (8, "answerible"),
        (9, "expected a JSON object"),
        (10, "greater than 'start'"),
    ]:
        assert f"set.jsonl:{number}:" in message and words in message, (number, words, message)
    assert "set.jsonl:1:" not in message


def test_filters_are_optional_and_checked():
    evalset = parse_evalset(
        [
            line(
                id="q1",
                question="What did each side say?",
                relevant=[{"doc_id": "a.txt", "text": "closed in December"}],
                filters={"since": "2018-01-01", "until": "2018-12-31", "sides": ["Morocco", "Algeria"]},
            ),
            line(id="q2", question="Only a start?", answerable=False, filters={"since": "2019-01-01"}),
        ]
    )
    q1, q2 = (item.question for item in evalset.items)
    assert (
        q1.filters is not None and str(q1.filters.since) == "2018-01-01" and q1.filters.sides == ["Morocco", "Algeria"]
    )
    assert q2.filters is not None and q2.filters.until is None and q2.filters.sides is None
    with pytest.raises(QAError) as info:
        parse_evalset(
            [
                line(id="ok", question="fine?", answerable=False),
                line(id="d", question="bad date?", answerable=False, filters={"since": "2018-13-01"}),
                line(id="t", question="typo?", answerable=False, filters={"side": ["Cuba"]}),
            ],
            name="set.jsonl",
        )
    message = str(info.value)
    assert "set.jsonl:2:" in message and "since" in message
    assert "set.jsonl:3:" in message and "side" in message
    assert "set.jsonl:1:" not in message


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(QAError, match="no questions"):
        load_evalset(path)
    with pytest.raises(QAError, match="not found"):
        load_evalset(tmp_path / "missing.jsonl")


def test_passages_resolve_to_spans_by_text_or_offsets():
    evalset = parse_evalset(
        [
            line(id="q1", question="?", relevant=[{"doc_id": "b.txt", "text": "civilians were wounded"}]),
            line(id="q2", question="?", relevant=[{"doc_id": "a.txt", "start": 0, "end": 36}]),
            line(id="q3", question="?", relevant=[{"doc_id": "a.txt", "text": "reopened", "start": 54, "end": 62}]),
        ]
    )
    q1, q2, q3 = resolve_evalset(evalset, DOCS)
    assert (q1.passages[0].doc_index, q1.passages[0].start, q1.passages[0].end) == (1, 9, 31)
    assert q2.passages[0].id == "q2#p0" and (q2.passages[0].start, q2.passages[0].end) == (0, 36)
    assert DOCS[0].text[q3.passages[0].start : q3.passages[0].end] == "reopened"


def test_passages_that_do_not_match_the_documents_are_reported_with_line_numbers():
    evalset = parse_evalset(
        [
            line(id="q1", question="?", relevant=[{"doc_id": "c.txt", "text": "x"}]),
            line(id="q2", question="?", relevant=[{"doc_id": "a.txt", "text": "was opened"}]),
            line(id="q3", question="?", relevant=[{"doc_id": "a.txt", "text": "The corridor was"}]),
            line(id="q4", question="?", relevant=[{"doc_id": "a.txt", "text": "closed", "start": 0, "end": 6}]),
            line(id="q5", question="?", relevant=[{"doc_id": "b.txt", "start": 0, "end": 999}]),
            line(id="q6", question="?", relevant=[{"doc_id": "b.txt", "text": "wounded"}], sides=["Narnia"]),
        ],
        name="set.jsonl",
    )
    with pytest.raises(QAError) as info:
        resolve_evalset(evalset, DOCS, known_sides=["Armenia", "Azerbaijan"])
    message = str(info.value)
    assert "set.jsonl:1: relevant.0: no document 'c.txt'" in message
    assert "set.jsonl:2: relevant.0: text 'was opened' is not in a.txt" in message
    assert "set.jsonl:3: relevant.0: text 'The corridor was' occurs more than once" in message
    assert "set.jsonl:4: relevant.0: text does not match a.txt[0:6]" in message
    assert "set.jsonl:5: relevant.0: span 0-999 is beyond the end" in message
    assert "set.jsonl:6: side 'Narnia'" in message


def test_seed_set_is_valid_and_matches_the_bundled_corpus(assistant):
    evalset = load_evalset(ROOT / "eval" / "seed.jsonl")
    index = assistant.index
    sides = sorted({*index.sides.sides, *(d.side for d in index.documents if d.side)})
    questions = resolve_evalset(evalset, index.documents, sides)
    answerable = [q for q in questions if q.answerable]
    kinds = {q.kind for q in questions}
    assert len(questions) >= 40
    assert len(questions) - len(answerable) >= 6
    assert {"keyword", "paraphrase", "per-side", "number", "unanswerable"} <= kinds
    assert all(q.passages for q in answerable)
    for q in answerable:
        for p in q.passages:
            assert index.documents[p.doc_index].text[p.start : p.end]
