"""Answers as a user gets them: every question put to `Assistant.ask`, and what its quotes got right.

* `ask_outcomes`: each question asked with no threshold (its best quote similarity, its quotes and how many are
  verbatim), then at the given thresholds for the real abstention decision; `abstentions` at one threshold.
* `answer_quality`: each question asked at the threshold in use, scored as a reader sees the answer (relevant
  passages quoted, quotes from the named sides, quotes inside the question's period, short quotes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qa_assistant.evaluation.evalset import ResolvedQuestion
from qa_assistant.evaluation.runner import RetrievalConfig
from qa_assistant.ingest.corpus import read_text_file
from qa_assistant.models import Answer
from qa_assistant.text.segment import is_quotable


@dataclass
class AskOutcome:
    """What `Assistant.ask` did for one question."""

    best_similarity: float  # best quote similarity when asked with no threshold (every hit quoted)
    quotes: int
    verbatim: int  # quotes equal to the document text at their offsets (and to the source file, when known)
    abstained_at: dict[float, bool] = field(default_factory=dict)  # real `ask` outcome at each given threshold
    holds_topic: bool = False  # still answers at the highest threshold: a sentence holds the asked topic

    @property
    def answers_up_to(self) -> float:
        """The highest threshold at which the answer still answers: its best similarity, or 1.0 when a sentence
        holding the asked topic (under one of its names) is quoted whatever its similarity."""
        return 1.0 if self.holds_topic else self.best_similarity


def quote_is_verbatim(quote, doc, source: str | None) -> bool:
    """`quote.text` is the document text at its offsets, and the source file's text at its source offsets."""
    if doc is None or doc.text[quote.start : quote.end] != quote.text:
        return False
    start, end = getattr(quote, "source_start", None), getattr(quote, "source_end", None)
    if source is not None and start is not None and end is not None:
        return source[start:end] == quote.text
    return True


def _source_text(corpus_dir: Path | None, path: str | None, cache: dict[str, str | None]) -> str | None:
    """The decoded text of a plain-text source file (None when unavailable)."""
    if corpus_dir is None or not path or Path(path).suffix.lower() not in {".txt", ".md", ".markdown"}:
        return None
    if path not in cache:
        try:
            cache[path] = read_text_file(corpus_dir / path)
        except (OSError, ValueError):
            cache[path] = None
    return cache[path]


def ask(
    assistant, question: ResolvedQuestion, config: RetrievalConfig, threshold: float, k: int, candidates: int
) -> Answer:
    """`question` asked as a user would: `config`'s settings, its own filters, at `threshold`."""
    return assistant.ask(
        question.question,
        k=k,
        settings=config.settings(candidates),
        min_similarity=threshold,
        filters=question.filters,
    )


def ask_outcomes(
    assistant,
    questions: list[ResolvedQuestion],
    config: RetrievalConfig,
    k: int = 6,
    candidates: int = 100,
    corpus_dir: Path | None = None,
    thresholds: Iterable[float] = (),
) -> dict[str, AskOutcome]:
    """Ask every question with no threshold (``min_similarity=-1``: every retrieved hit is quoted once),
    then once more at each of `thresholds` for the real abstention decision.

    Retrieval does not depend on the threshold, which only drops quotes, so an answer abstains at t exactly
    when `Answer.best_similarity` (over every retrieved hit, quoted or not) is below t, unless a sentence holding
    the asked topic is quoted whatever its similarity (asked once more at the highest threshold):
    `AskOutcome.answers_up_to` is what threshold sweeps use. The real asks at `thresholds` check it.
    """
    documents = {d.id: d for d in assistant.documents}
    files: dict[str, str | None] = {}
    thresholds = list(thresholds)
    outcomes = {}
    for q in questions:
        answer = ask(assistant, q, config, -1.0, k, candidates)
        verbatim = 0
        for quote in answer.quotes:
            doc = documents.get(quote.doc_id)
            verbatim += quote_is_verbatim(quote, doc, _source_text(corpus_dir, doc.path if doc else None, files))
        outcome = AskOutcome(
            # an answer withheld with no threshold at all (a name or a count no statement gives, a side silent in
            # the period asked) is withheld at every threshold
            best_similarity=(
                answer.best_similarity if answer.best_similarity is not None and not answer.abstained else float("-inf")
            ),
            quotes=len(answer.quotes),
            verbatim=verbatim,
            # a question about a topic keeps the sentences holding it below any threshold: asked at the highest
            holds_topic=bool(answer.topic and answer.quotes)
            and not ask(assistant, q, config, 1.0, k, candidates).abstained,
        )
        outcomes[q.id] = outcome
    for t in thresholds:
        for qid, abstained in abstentions(assistant, questions, config, t, k, candidates).items():
            outcomes[qid].abstained_at[t] = abstained
    return outcomes


def abstentions(
    assistant,
    questions: list[ResolvedQuestion],
    config: RetrievalConfig,
    threshold: float,
    k: int = 6,
    candidates: int = 100,
) -> dict[str, bool]:
    """Whether `Assistant.ask` abstains on each question at `threshold`."""
    return {q.id: ask(assistant, q, config, threshold, k, candidates).abstained for q in questions}


@dataclass
class AnswerQuality:
    """What a reader of the real answers (at the threshold in use) sees, per question."""

    recall: float | None  # share of the relevant passages some quote overlaps (answerable questions)
    recall_with_duplicates: float | None  # ... or some quote's "also in" source overlaps
    side_precision: float | None  # share of quotes from a side the question names (speaker's or document's side)
    side_coverage: float | None  # share of the sides expected to have spoken with a quote
    dated_quotes: int  # quotes of a question that has a period (a filter or written in it)
    dates_kept: int  # of those, quotes dated inside the period or speaking of it
    quotes: int
    short_quotes: int  # quotes of fewer than MIN_WORDS words
    abstained: bool


def answer_quality(
    assistant,
    questions: list[ResolvedQuestion],
    config: RetrievalConfig,
    threshold: float,
    k: int = 6,
    candidates: int = 100,
) -> dict[str, AnswerQuality]:
    """Each question asked as a user would (`ask` at `threshold`), and what its answer got right."""
    result = {}
    for q in questions:
        answer = ask(assistant, q, config, threshold, k, candidates)
        quotes = answer.quotes
        covered = {
            p.id
            for p in q.passages
            for quote in quotes
            if quote.doc_id == p.doc_id and quote.start < p.end and p.start < quote.end
        }
        listed = {  # shown as the same sentence in another document ("also in …") under a quote
            p.id
            for p in q.passages
            for quote in quotes
            for other in quote.also_in
            if other.doc_id == p.doc_id and other.start < p.end and p.start < other.end
        }
        asked = set(answer.understood.sides) if answer.understood else set()
        grouped = {group.side for group in answer.groups}  # "each side", or two or more sides named
        named = {s.lower() for s in asked | grouped}
        spoke = {s.lower() for s in q.sides}
        on_side = [
            (quote.speaker_side or "").lower() in named or (quote.side or "").lower() in named for quote in quotes
        ]
        since, until = answer.filters.since, answer.filters.until
        dated = quotes if (since or until) else []
        kept = [  # published in the period, or (a period read from the question) speaking of it
            x
            for x in dated
            if (x.date and (not since or x.date >= since) and (not until or x.date <= until)) or x.speaks_of_period
        ]
        result[q.id] = AnswerQuality(
            recall=len(covered) / len(q.passages) if q.answerable and q.passages else None,
            recall_with_duplicates=len(covered | listed) / len(q.passages) if q.answerable and q.passages else None,
            side_precision=sum(on_side) / len(quotes) if named and quotes else None,
            side_coverage=(
                len({(quote.speaker_side or "").lower() for quote in quotes} & spoke) / len(spoke) if spoke else None
            ),
            dated_quotes=len(dated),
            dates_kept=len(kept),
            quotes=len(quotes),
            short_quotes=sum(not is_quotable(quote.text) for quote in quotes),
            abstained=answer.abstained,
        )
    return result
