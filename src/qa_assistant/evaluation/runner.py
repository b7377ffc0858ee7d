"""Running retrieval configurations through the product's own `Retriever` (answers from `Assistant.ask`: `answers`).

Sentence rankings come from `Retriever.search` (the code behind `Assistant.search`), with each query encoded
once and its vector passed in. They are then turned into what the qrels judge:

* eval sets judge passages: a retrieved sentence is relevant to a passage of its question when their
  character spans in the same document overlap by at least one character (``s.start < p.end and
  p.start < s.end``). It stands for the first such passage not credited yet; a sentence that overlaps no
  passage, or only passages already credited higher up, is a non-relevant item of its own. So every
  passage is credited once, at the rank of its best sentence.
* BEIR judges documents: a document's score comes from its retrieved sentences' scores, by `max` (the
  best sentence; default), `top2` (best + 0.5 x second best), `maxsum` (best + weight x sum of the
  others) or `sum`.

Runs given to ranx carry rank-based scores (depth - rank + 1), so ties cannot reorder them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from qa_assistant.answer.retriever import Retriever
from qa_assistant.evaluation.evalset import ResolvedQuestion
from qa_assistant.index.catalog import SentenceIndex
from qa_assistant.models import (
    DEFAULT_ALPHA,
    DEFAULT_ALPHAS,
    DEFAULT_BM25_CONTEXT,
    DEFAULT_CANDIDATES,
    DEFAULT_CONTEXTS,
    DEFAULT_RRF_K,
    DEFAULT_RRF_KS,
    Filters,
    FusionMethod,
    RetrievalMode,
    SearchSettings,
)

AGGREGATIONS = ("max", "top2", "maxsum", "sum")
DEFAULT_MAXSUM_WEIGHT = 0.1
TOP2_WEIGHT = 0.5


@dataclass(frozen=True)
class RetrievalConfig:
    """One retrieval configuration, named like 'bm25', 'dense', 'rrf-k60', 'weighted-a0.5'; a BM25 context weight
    other than the product's default is added as '-c<weight>' ('bm25-c0': each sentence's own BM25 score only)."""

    mode: RetrievalMode
    fusion: FusionMethod = "rrf"
    rrf_k: int = DEFAULT_RRF_K
    alpha: float = DEFAULT_ALPHA
    context: float = DEFAULT_BM25_CONTEXT

    def __post_init__(self) -> None:
        if self.mode == "dense":  # dense retrieval has no BM25 part
            object.__setattr__(self, "context", DEFAULT_BM25_CONTEXT)

    @property
    def name(self) -> str:
        base: str
        if self.mode != "hybrid":
            base = self.mode
        elif self.fusion == "rrf":
            base = f"rrf-k{self.rrf_k}"
        elif self.fusion == "adaptive":
            base = "adaptive"
        else:
            base = f"weighted-a{self.alpha:g}"
        return base if self.context == DEFAULT_BM25_CONTEXT else f"{base}-c{self.context:g}"

    def settings(self, candidates: int = DEFAULT_CANDIDATES) -> SearchSettings:
        """What `Retriever.search` and `Assistant.ask` are given for this configuration."""
        return SearchSettings(
            mode=self.mode,
            fusion=self.fusion,
            rrf_k=self.rrf_k,
            alpha=self.alpha,
            bm25_context=self.context,
            candidates=candidates,
        )

    def with_context(self, context: float) -> RetrievalConfig:
        return replace(self, context=context)

    @classmethod
    def from_settings(cls, settings: SearchSettings) -> RetrievalConfig:
        if settings.mode != "hybrid":
            return cls(settings.mode, context=settings.bm25_context)
        return cls("hybrid", settings.fusion, settings.rrf_k, settings.alpha, settings.bm25_context)

    @classmethod
    def parse(cls, name: str) -> RetrievalConfig:
        text = name.strip().lower()
        context = DEFAULT_BM25_CONTEXT
        if match := re.fullmatch(r"(.+)-c([0-9.]+)", text):
            text, context = match.group(1), float(match.group(2))
        if text in ("bm25", "dense"):
            return cls(text, context=context)  # type: ignore[arg-type]
        if text in ("adaptive", "hybrid-adaptive"):
            return cls("hybrid", "adaptive", context=context)
        if match := re.fullmatch(r"(?:hybrid-)?rrf-k(\d+)", text):
            return cls("hybrid", "rrf", rrf_k=int(match.group(1)), context=context)
        if match := re.fullmatch(r"(?:hybrid-)?weighted-a([0-9.]+)", text):
            return cls("hybrid", "weighted", alpha=float(match.group(1)), context=context)
        raise ValueError(
            f"unknown mode '{name}' (use bm25, dense, rrf-k<N>, weighted-a<alpha>, adaptive, each optionally with -c<BM25 "
            "context weight>)"
        )


def product_default() -> RetrievalConfig:
    """The configuration `Assistant.ask` uses when given no settings (the defaults of `SearchSettings`)."""
    return RetrievalConfig.from_settings(SearchSettings())


def config_grid(
    rrf_ks: Iterable[int] = DEFAULT_RRF_KS,
    alphas: Iterable[float] = DEFAULT_ALPHAS,
    contexts: Iterable[float] = DEFAULT_CONTEXTS,
) -> list[RetrievalConfig]:
    """bm25, dense, RRF at each k, weighted fusion at each alpha and adaptive fusion (with the default BM25 context
    weight), then bm25 and the product's default mode at each other context weight."""
    configs = [RetrievalConfig("bm25"), RetrievalConfig("dense")]
    configs += [RetrievalConfig("hybrid", "rrf", rrf_k=k) for k in rrf_ks]
    configs += [RetrievalConfig("hybrid", "weighted", alpha=a) for a in alphas]
    configs.append(RetrievalConfig("hybrid", "adaptive"))
    default = product_default()
    if default not in configs:
        configs.append(default)
    for context in contexts:
        for config in (RetrievalConfig("bm25"), default):
            variant = config.with_context(context)
            if variant not in configs:
                configs.append(variant)
    return configs


@dataclass
class Ranking:
    """Retrieved units (sentence ids) and their scores, best first."""

    ids: np.ndarray
    scores: np.ndarray


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="q", disable=not enabled, leave=False, mininterval=0.5)


def encode_queries(retriever: Retriever, queries: dict[str, str], progress: bool = False) -> dict[str, np.ndarray]:
    ids = list(queries)
    vectors = retriever.embedder.encode([queries[q] for q in ids], progress=progress)
    return dict(zip(ids, vectors))


def search_runs(
    retriever: Retriever,
    queries: dict[str, str],
    configs: list[RetrievalConfig],
    depth: int,
    candidates: int,
    progress: bool = False,
    desc: str = "searching",
    filters: dict[str, Filters] | None = None,
    topics: set[str] | None = None,
) -> dict[str, dict[str, Ranking]]:
    """config name -> query id -> the top `depth` units for that query under that configuration (and the query's
    `filters`, when it has some); the queries of `topics` are the topics of questions about sides, searched as `ask`
    searches them (`Retriever.search`'s `topic`)."""
    vectors = encode_queries(retriever, queries, progress=False)
    topics = topics or set()
    runs: dict[str, dict[str, Ranking]] = {c.name: {} for c in configs}
    with _progress(len(queries) * len(configs), desc, progress) as bar:
        for qid, text in queries.items():
            for config in configs:
                where = (filters or {}).get(qid)
                hits = retriever.search(
                    text, depth, config.settings(candidates), where, query_vector=vectors[qid], topic=qid in topics
                )
                runs[config.name][qid] = Ranking(
                    np.fromiter((h.sentence_id for h in hits), dtype=np.int64, count=len(hits)),
                    np.fromiter((h.score for h in hits), dtype=np.float64, count=len(hits)),
                )
                bar.update(1)
    return runs


# ---------------------------------------------------------------- documents (BEIR)


def aggregate_documents(
    ranking: Ranking,
    index: SentenceIndex,
    method: str = "max",
    weight: float = DEFAULT_MAXSUM_WEIGHT,
    top: int = 100,
) -> list[tuple[str, float]]:
    """Documents ranked by their retrieved units' scores: (doc id, aggregated score), best first, at most `top`."""
    if method not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation '{method}' (choose from {', '.join(AGGREGATIONS)})")
    doc_of = index.sentences.doc_index
    best: dict[int, float] = {}
    second: dict[int, float] = {}
    total: dict[int, float] = {}
    first_seen: dict[int, int] = {}
    for position, (sid, score) in enumerate(zip(ranking.ids.tolist(), ranking.scores.tolist())):
        d = int(doc_of[sid])
        if d not in best:
            best[d] = score
            total[d] = 0.0
            first_seen[d] = position
        else:
            second.setdefault(d, score)
            total[d] += score  # the scores after the best one (rankings are best first)
    if method == "max":
        scored = best
    elif method == "top2":
        scored = {d: best[d] + TOP2_WEIGHT * second.get(d, 0.0) for d in best}
    elif method == "sum":
        scored = {d: best[d] + total[d] for d in best}
    else:
        scored = {d: best[d] + weight * total[d] for d in best}
    ordered = sorted(scored, key=lambda d: (-scored[d], first_seen[d]))[:top]
    docs = index.documents
    return [(docs[d].id, float(scored[d])) for d in ordered]


# ---------------------------------------------------------------- passages (eval sets)


@dataclass
class PassageRanking:
    """A question's ranking in passage terms: item ids (passage id or 's<sentence id>') and their sides."""

    items: list[str]
    sides: list[str | None]
    doc_ids: list[str]


def passage_ranking(ranking: Ranking, question: ResolvedQuestion, index: SentenceIndex) -> PassageRanking:
    """Map each retrieved sentence to the relevant passage it overlaps (see the module docstring)."""
    table = index.sentences
    docs = index.documents
    credited: set[str] = set()
    items, sides, doc_ids = [], [], []
    for sid in ranking.ids.tolist():
        d = int(table.doc_index[sid])
        start, end = int(table.start[sid]), int(table.end[sid])
        overlapping = [p for p in question.passages if p.doc_index == d and start < p.end and p.start < end]
        fresh = next((p for p in overlapping if p.id not in credited), None)
        if fresh is not None:
            credited.add(fresh.id)
            items.append(fresh.id)
        else:
            items.append(f"s{sid}")
        side = next((p.side for p in overlapping if p.side), None) or index.attributions[sid].side
        sides.append(side)
        doc_ids.append(docs[d].id)
    return PassageRanking(items, sides, doc_ids)


def ranx_dict(ranked_ids: list[str]) -> dict[str, float]:
    """Rank-based scores for ranx: the first of n gets n, the last 1."""
    n = len(ranked_ids)
    return {item: float(n - i) for i, item in enumerate(ranked_ids)}
