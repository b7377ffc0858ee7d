"""The eval set format: one JSON object per line (see eval/README.md).

    {"id": "lachin-sides", "question": "What did each side say about the Lachin corridor?",
     "relevant": [{"doc_id": "000_ce08357c7478e3f0.txt", "text": "The illegal blockade of the Lachin corridor"},
                  {"doc_id": "004_54f105280d23d448.txt", "start": 5210, "end": 5390}],
     "sides": ["Armenia", "Azerbaijan"], "kind": "per-side"}
    {"id": "weather", "question": "What was the weather in Stepanakert?", "answerable": false}

A relevant passage is a document id plus either its exact text (a substring of the document text) or a
character span; never a sentence number, so re-segmenting the corpus does not break the set.
`load_evalset` checks the format and `resolve_evalset` checks the passages against an index's documents;
both report every problem with its line number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qa_assistant.errors import QAError, validation_problems
from qa_assistant.models import Document, Filters


class RelevantPassage(BaseModel):
    """A passage that answers the question: `doc_id` plus `text`, or `start`/`end`, or all three."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str = Field(min_length=1)
    text: str | None = Field(None, min_length=1, description="exact text of the passage, a substring of the document")
    start: int | None = Field(None, ge=0, description="character offset of the passage in the document text")
    end: int | None = Field(None, ge=1, description="end offset (exclusive)")
    grade: int = Field(1, ge=1, description="graded relevance (1 = relevant)")
    side: str | None = Field(None, description="side whose statement this passage is, when not its document's side")

    @model_validator(mode="after")
    def _located(self) -> RelevantPassage:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both 'start' and 'end', or neither")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("'end' must be greater than 'start'")
        if self.text is None and self.start is None:
            raise ValueError("a passage needs 'text' (exact text) or 'start' and 'end'")
        return self


class QuestionFilters(BaseModel):
    """Filters the question is asked with (as `ask --since/--until/--side` would give them)."""

    model_config = ConfigDict(extra="forbid")

    since: date | None = Field(None, description="only documents dated on or after this day (YYYY-MM-DD)")
    until: date | None = Field(None, description="only documents dated on or before this day (YYYY-MM-DD)")
    sides: list[str] | None = Field(None, description="only statements of these sides")


class EvalQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    relevant: list[RelevantPassage] = Field(default_factory=list)
    sides: list[str] | None = Field(None, description="sides whose statements answer the question")
    answerable: bool = True
    kind: str | None = Field(None, description="free label, e.g. keyword, paraphrase, per-side, number")
    note: str | None = None
    filters: QuestionFilters | None = Field(None, description="filters the question is asked with")

    @model_validator(mode="after")
    def _consistent(self) -> EvalQuestion:
        if not self.question.strip():
            raise ValueError("'question' is empty")
        if self.answerable and not self.relevant:
            raise ValueError(
                "an answerable question needs at least one 'relevant' passage (or set \"answerable\": false)"
            )
        if not self.answerable and self.relevant:
            raise ValueError("a question with \"answerable\": false cannot list 'relevant' passages")
        if not self.answerable and self.sides:
            raise ValueError("a question with \"answerable\": false cannot list expected 'sides'")
        return self


@dataclass
class EvalItem:
    line: int
    question: EvalQuestion


@dataclass
class EvalSet:
    name: str
    path: Path
    items: list[EvalItem]

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class ResolvedPassage:
    """A relevant passage as a span of an indexed document."""

    id: str  # "<question id>#p<n>", unique in the set
    doc_index: int
    doc_id: str
    start: int
    end: int
    grade: int
    side: str | None


@dataclass
class ResolvedQuestion:
    id: str
    line: int
    question: str
    answerable: bool
    sides: list[str]
    kind: str | None
    passages: list[ResolvedPassage]
    filters: Filters | None = None  # what the question is asked with


def parse_evalset(lines: list[str], name: str = "evalset", path: Path | None = None) -> EvalSet:
    """Validate every line; raise one QAError listing all bad lines as '<file>:<line>: <problem>'."""
    label = str(path) if path else name
    items: list[EvalItem] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{label}:{line_no}: not valid JSON ({exc.msg}, column {exc.colno})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{label}:{line_no}: expected a JSON object, found {type(data).__name__}")
            continue
        try:
            question = EvalQuestion.model_validate(data)
        except ValidationError as exc:
            problems.extend(f"{label}:{line_no}: {p}" for p in validation_problems(exc))
            continue
        if question.id in first_line:
            problems.append(f"{label}:{line_no}: id '{question.id}' is already used on line {first_line[question.id]}")
            continue
        first_line[question.id] = line_no
        items.append(EvalItem(line_no, question))
    if problems:
        raise QAError("the eval set has errors:\n  " + "\n  ".join(problems))
    if not items:
        raise QAError(f"{label}: no questions (one JSON object per line; see eval/README.md)")
    return EvalSet(name=name, path=path or Path(name), items=items)


def load_evalset(path: str | Path) -> EvalSet:
    path = Path(path)
    if not path.is_file():
        raise QAError(f"eval set not found: {path} (a JSONL file; see eval/README.md)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QAError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_evalset(text.splitlines(), name=path.stem, path=path)


def _locate(passage: RelevantPassage, doc: Document) -> tuple[int, int] | str:
    """The passage's span in `doc`, or the problem."""
    text = doc.text
    if passage.start is not None and passage.end is not None:
        if passage.end > len(text):
            return f"span {passage.start}-{passage.end} is beyond the end of {doc.id} ({len(text)} characters)"
        if passage.text is not None and text[passage.start : passage.end] != passage.text:
            return (
                f"text does not match {doc.id}[{passage.start}:{passage.end}] "
                f"(found {text[passage.start : passage.end][:60]!r})"
            )
        return passage.start, passage.end
    assert passage.text is not None
    found = text.find(passage.text)
    if found < 0:
        return f"text {passage.text[:60]!r} is not in {doc.id} (it must be an exact substring of the document text)"
    again = text.find(passage.text, found + 1)
    if again >= 0:
        return (
            f"text {passage.text[:60]!r} occurs more than once in {doc.id} (at {found} and {again}); "
            "make it longer or add 'start' and 'end'"
        )
    return found, found + len(passage.text)


def resolve_evalset(
    evalset: EvalSet, documents: list[Document], known_sides: list[str] | None = None
) -> list[ResolvedQuestion]:
    """Check every passage against `documents` and turn it into a span; all problems are reported at once."""
    position = {doc.id: i for i, doc in enumerate(documents)}
    sides_lower = {s.lower(): s for s in (known_sides or [])}
    label = str(evalset.path)
    problems: list[str] = []
    resolved: list[ResolvedQuestion] = []
    for item in evalset.items:
        q = item.question
        passages: list[ResolvedPassage] = []
        for n, passage in enumerate(q.relevant):
            where = f"{label}:{item.line}: relevant.{n}"
            if passage.doc_id not in position:
                close = [d for d in position if passage.doc_id.lower() in d.lower()][:3]
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                problems.append(f"{where}: no document '{passage.doc_id}' in the index{hint}")
                continue
            doc = documents[position[passage.doc_id]]
            span = _locate(passage, doc)
            if isinstance(span, str):
                problems.append(f"{where}: {span}")
                continue
            passages.append(
                ResolvedPassage(
                    id=f"{q.id}#p{n}",
                    doc_index=position[passage.doc_id],
                    doc_id=passage.doc_id,
                    start=span[0],
                    end=span[1],
                    grade=passage.grade,
                    side=passage.side,
                )
            )
        expected = []
        for side in q.sides or []:
            if sides_lower and side.lower() not in sides_lower:
                problems.append(
                    f"{label}:{item.line}: side '{side}' is not a side of this index ({', '.join(sides_lower.values())})"
                )
            expected.append(sides_lower.get(side.lower(), side))
        for n, passage in enumerate(q.relevant):
            if passage.side and sides_lower and passage.side.lower() not in sides_lower:
                problems.append(f"{label}:{item.line}: relevant.{n}.side '{passage.side}' is not a side of this index")
        resolved.append(
            ResolvedQuestion(
                id=q.id,
                line=item.line,
                question=q.question.strip(),
                answerable=q.answerable,
                sides=expected,
                kind=q.kind,
                passages=passages,
                filters=Filters(**q.filters.model_dump()) if q.filters else None,
            )
        )
    if problems:
        raise QAError("the eval set does not match the index:\n  " + "\n  ".join(problems))
    return resolved
