"""Metric plumbing of the evaluation, against hand-computed examples."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from qa_assistant.evaluation import metrics as M
from qa_assistant.evaluation.evalset import ResolvedPassage, ResolvedQuestion
from qa_assistant.evaluation.runner import (
    Ranking,
    RetrievalConfig,
    aggregate_documents,
    config_grid,
    passage_ranking,
    product_default,
    ranx_dict,
)
from qa_assistant.index.catalog import SentenceTable
from qa_assistant.models import DEFAULT_BM25_CONTEXT, Document

LOG2 = math.log2


def test_ranx_metrics_match_hand_computed_values():
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}}
    # q1: a at 1, b at 3; q2: c at 2
    run = {"q1": ranx_dict(["a", "x", "b", "y"]), "q2": ranx_dict(["z", "c"])}
    scores = M.ranking_metrics(qrels, run)
    dcg1 = 1 / LOG2(2) + 1 / LOG2(4)
    idcg1 = 1 / LOG2(2) + 1 / LOG2(3)
    ndcg2 = (1 / LOG2(3)) / 1.0
    assert scores["ndcg@10"] == pytest.approx((dcg1 / idcg1 + ndcg2) / 2)
    assert scores["recall@10"] == pytest.approx(1.0)
    assert scores["mrr@10"] == pytest.approx((1 + 1 / 2) / 2)
    assert scores["precision@1"] == pytest.approx((1 + 0) / 2)
    assert scores["precision@10"] == pytest.approx((2 / 10 + 1 / 10) / 2)


def test_recall_cutoff_unjudged_queries_and_missing_runs():
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "q3": {}}
    run = {"q1": ranx_dict(["a"] + [f"n{i}" for i in range(20)] + ["b"]), "q9": ranx_dict(["c"])}
    scores = M.ranking_metrics(qrels, run, ["recall@10", "recall@100"])
    # q1 finds a within 10 and b at rank 22; q2 has no run at all; q3 (no judgments) and q9 (not judged) are left out
    assert scores["recall@10"] == pytest.approx((0.5 + 0) / 2)
    assert scores["recall@100"] == pytest.approx((1.0 + 0) / 2)
    per_query = M.per_query_metrics(qrels, run, ["recall@10"])
    assert per_query == {"recall@10": {"q1": pytest.approx(0.5), "q2": 0.0}}


def test_graded_relevance_uses_the_grade_as_gain():
    qrels = {"q": {"a": 2, "b": 1}}
    run = {"q": ranx_dict(["b", "a"])}
    dcg = 1 / LOG2(2) + 2 / LOG2(3)
    idcg = 2 / LOG2(2) + 1 / LOG2(3)
    assert M.ranking_metrics(qrels, run, ["ndcg@10"])["ndcg@10"] == pytest.approx(dcg / idcg)


def test_ranx_dict_scores_follow_rank_so_ties_cannot_reorder():
    assert ranx_dict(["c", "a", "b"]) == {"c": 3.0, "a": 2.0, "b": 1.0}


def test_first_relevant_rank():
    assert M.first_relevant_rank({"b": 1}, ["a", "b", "c"]) == 2
    assert M.first_relevant_rank({"z": 1}, ["a", "b"]) is None
    assert M.first_relevant_rank({"a": 0, "c": 1}, ["a", "b", "c"]) == 3


def test_side_coverage():
    assert M.side_coverage(["Armenia", "Azerbaijan"], ["azerbaijan", None, "neutral"]) == 0.5
    assert M.side_coverage(["Armenia", "Azerbaijan"], ["Azerbaijan", "Armenia"]) == 1.0
    assert M.side_coverage(["Armenia"], ["Azerbaijan"] * 10 + ["Armenia"], k=10) == 0.0
    assert math.isnan(M.side_coverage([], ["Armenia"]))


def test_abstention_accuracy_and_calibration():
    best = {"a1": 0.62, "a2": 0.48, "a3": 0.41, "u1": 0.35, "u2": 0.20}
    answerable = {"a1": True, "a2": True, "a3": True, "u1": False, "u2": False}
    point = M.abstention_at(best, answerable, 0.30)
    # answered a1 a2 a3 (3/3), abstained on u2 only (1/2)
    assert point.accuracy == pytest.approx(4 / 5)
    assert point.balanced_accuracy == pytest.approx((1 + 0.5) / 2)
    chosen = M.calibrate_threshold(best, answerable)
    # any threshold in (0.35, 0.41] separates the classes; the middle of that gap is 0.38
    assert chosen.threshold == pytest.approx(0.38)
    assert chosen.accuracy == 1.0 and chosen.balanced_accuracy == 1.0
    # equal accuracy at 0.44 (answer all) and 0.48 (abstain on a3 and u1): the better balanced accuracy wins
    tied = M.calibrate_threshold(
        {"a1": 0.9, "a2": 0.5, "a3": 0.45, "u1": 0.47}, {"a1": True, "a2": True, "a3": True, "u1": False}
    )
    assert 0.47 < tied.threshold <= 0.5 and tied.accuracy == 0.75 and tied.abstained == 1.0
    decisions = {"a1": False, "a2": True, "a3": False, "u1": True, "u2": True}
    real = M.abstention_point(decisions, answerable, 0.5)
    assert (real.answered, real.abstained, real.accuracy) == (pytest.approx(2 / 3), 1.0, pytest.approx(4 / 5))


def test_verbatim_rate():
    assert M.verbatim_rate(3, 3) == 1.0
    assert M.verbatim_rate(2, 4) == 0.5
    assert math.isnan(M.verbatim_rate(0, 0))


def _index(doc_texts: list[str], spans: list[tuple[int, int, int]], sides: list[str | None] | None = None):
    """A stand-in with what the runner reads: documents, sentence table, attributions."""
    docs = [Document(id=f"d{i}", path=f"d{i}", text=t, side="neutral") for i, t in enumerate(doc_texts)]
    table = SentenceTable(
        doc_index=np.array([s[0] for s in spans], dtype=np.int32),
        start=np.array([s[1] for s in spans], dtype=np.int64),
        end=np.array([s[2] for s in spans], dtype=np.int64),
    )
    attributions = [SimpleNamespace(side=side) for side in (sides or [None] * len(spans))]
    return SimpleNamespace(documents=docs, sentences=table, attributions=attributions)


def test_document_aggregation_max_maxsum_sum():
    index = _index(["x" * 10, "y" * 10], [(0, 0, 1), (0, 2, 3), (1, 0, 1), (0, 4, 5)])
    ranking = Ranking(np.array([2, 0, 1, 3]), np.array([5.0, 4.0, 3.0, 2.0]))
    assert aggregate_documents(ranking, index, "max") == [("d1", 5.0), ("d0", 4.0)]
    assert aggregate_documents(ranking, index, "sum") == [("d0", 9.0), ("d1", 5.0)]
    assert aggregate_documents(ranking, index, "maxsum", weight=0.1) == [("d1", 5.0), ("d0", pytest.approx(4.5))]
    assert aggregate_documents(ranking, index, "maxsum", weight=0.5) == [("d0", pytest.approx(6.5)), ("d1", 5.0)]
    assert aggregate_documents(ranking, index, "top2") == [("d0", pytest.approx(5.5)), ("d1", 5.0)]
    assert aggregate_documents(ranking, index, "max", top=1) == [("d1", 5.0)]


def test_passage_mapping_overlap_and_credit_once():
    text = "Alpha one. Beta two. Gamma three."
    # sentences: [0,10) "Alpha one." [11,20) "Beta two." [21,33) "Gamma three."
    index = _index(
        [text, "Other doc."], [(0, 0, 10), (0, 11, 20), (0, 21, 33), (1, 0, 10)], ["Armenia", None, None, None]
    )
    passages = [
        ResolvedPassage("q#p0", 0, "d0", 6, 15, 1, None),  # "one. Beta" overlaps sentences 0 and 1
        ResolvedPassage("q#p1", 0, "d0", 21, 26, 1, "Azerbaijan"),  # "Gamma"
    ]
    question = ResolvedQuestion("q", 1, "?", True, ["Azerbaijan"], None, passages)
    mapped = passage_ranking(Ranking(np.array([3, 1, 0, 2]), np.zeros(4)), question, index)
    # 3: other doc; 1: first to overlap p0; 0: overlaps only p0, already credited; 2: p1
    assert mapped.items == ["s3", "q#p0", "s0", "q#p1"]
    # sides: the speaker's side as the side filter sees it (unknown for 3 and 1, though their documents are
    # "neutral"; Armenia for 0), and the passage's own side for 2
    assert mapped.sides == [None, None, "Armenia", "Azerbaijan"]
    touching = ResolvedPassage("q#p0", 0, "d0", 10, 11, 1, None)  # the space between two sentences
    mapped = passage_ranking(
        Ranking(np.array([0, 1]), np.zeros(2)), ResolvedQuestion("q", 1, "?", True, [], None, [touching]), index
    )
    assert mapped.items == ["s0", "s1"]


def test_config_names_and_grid():
    assert RetrievalConfig.parse("bm25").name == "bm25"
    assert RetrievalConfig.parse("rrf-k30") == RetrievalConfig("hybrid", "rrf", rrf_k=30)
    assert RetrievalConfig.parse("weighted-a0.7").name == "weighted-a0.7"
    with pytest.raises(ValueError):
        RetrievalConfig.parse("fancy")
    assert RetrievalConfig.parse("bm25-c0") == RetrievalConfig("bm25", context=0.0)
    assert RetrievalConfig.parse("weighted-a0.7-c1").name == "weighted-a0.7-c1"
    assert RetrievalConfig.parse("dense-c0").name == "dense"  # dense has no BM25 part
    assert RetrievalConfig.parse("bm25-c0").settings(100).bm25_context == 0.0
    assert RetrievalConfig.parse("bm25").settings().bm25_context == DEFAULT_BM25_CONTEXT
    names = [c.name for c in config_grid([10, 60], [0.5])]
    assert names == [
        "bm25",
        "dense",
        "rrf-k10",
        "rrf-k60",
        "weighted-a0.5",
        "adaptive",
        "bm25-c0",
        "adaptive-c0",  # the default mode at the other context weight
    ]
    assert [c.name for c in config_grid([60], [0.5], [])] == ["bm25", "dense", "rrf-k60", "weighted-a0.5", "adaptive"]
    assert RetrievalConfig.parse("adaptive") == RetrievalConfig("hybrid", "adaptive")
    assert RetrievalConfig.parse("adaptive-c0").settings(100).fusion == "adaptive"
    assert RetrievalConfig.parse("adaptive-c0").name == "adaptive-c0"
    assert product_default().name in [c.name for c in config_grid()]
