"""Filters, modes, fusion, per-side grouping and abstention, on the real model and index."""

import datetime as dt
import re

import pytest

from qa_assistant import Filters
from qa_assistant.answer.builder import DEFAULT_MIN_SIMILARITY


def sides_of(answer):
    return {q.side for q in answer.quotes}


def test_lachin_question_groups_quotes_from_both_sides(assistant):
    answer = assistant.ask("What did each side say about Lachin?")
    assert not answer.abstained and answer.grouped_by_side
    groups = {g.side: g for g in answer.groups}
    assert set(groups) == {"Armenia", "Azerbaijan", "Artsakh"}  # every party side a speaker in the corpus belongs to
    for side in ("Armenia", "Azerbaijan"):
        assert groups[side].quotes, side
        assert all(q.speaker_side == side for q in groups[side].quotes)
        assert any("Lachin" in q.text or "Lachín" in q.text for q in groups[side].quotes)
    # No statement attributed to Artsakh mentions Lachin: its group says so rather than quoting something else.
    assert (
        groups["Artsakh"].quotes == []
        and groups["Artsakh"].note == "No statement by Artsakh mentions “Lachin” (or Berdzor)."
    )
    armenian = groups["Armenia"].quotes[0]
    assert armenian.publisher == "Ministry of Foreign Affairs of Armenia" and armenian.date == dt.date(2023, 9, 19)
    assert {q.publisher for q in groups["Azerbaijan"].quotes} <= {
        "Report",
        "Government of Azerbaijan",
        "Wire agency (unnamed in text)",
    }


@pytest.mark.parametrize(
    "question, topic",
    [
        ("What did each side say about Lachin?", "Lachin"),
        ("What have both parties stated on violations of the ceasefire?", "violations of the ceasefire"),
        ("How did Yerevan and Baku report on the attack?", "the attack"),
        ("what each side said about the peace process", "the peace process"),
        # not a question about what the sides said: the whole question is searched
        ("What did the president of Turkey say about the offensive?", None),
        ("What did Armenia say about the offensive?", None),
        ("What did each side say?", None),
        ("How many civilians were wounded?", None),
    ],
)
def test_topic_of_a_question_about_the_sides(assistant, question, topic):
    sides, found = assistant.answers.questions.sides_and_topic(question)
    assert found == topic
    answer = assistant.ask(question, min_similarity=-1.0)
    assert answer.topic == topic
    assert answer.grouped_by_side == (sides is not None)


def test_quotes_of_a_side_question_are_judged_by_its_topic(assistant):
    index = assistant.index
    all_vectors = index.dense.vectors(range(len(index.sentences)))
    question = "What did Armenia and Azerbaijan say about the Eurovision Song Contest?"
    # The frame "What did Armenia and Azerbaijan say about" alone matches reported statements well enough to quote ...
    assert float((all_vectors @ assistant.embedder.encode([question])[0]).max()) >= DEFAULT_MIN_SIMILARITY
    # ... so relevance is judged by the topic, and nothing in the corpus is about it (without reading the question's
    # names: with it, "Eurovision Song Contest" is a name no document mentions, and the answer says so at once).
    assert "No document mentions" in (assistant.ask(question).abstain_reason or "")
    off_topic = assistant.ask(question, infer=False)
    assert off_topic.topic == "the Eurovision Song Contest"
    assert off_topic.grouped_by_side and off_topic.abstained and off_topic.quotes == []
    assert all(g.note for g in off_topic.groups)

    lachin = assistant.ask("What did each side say about Lachin?")
    by_place = {
        (d.id, int(s)): i
        for i, (d, s) in enumerate(zip((index.documents[j] for j in index.sentences.doc_index), index.sentences.start))
    }
    topic_similarity = all_vectors @ assistant.embedder.encode(["Lachin"])[0]
    assert any(not quote.topic_match for quote in lachin.quotes)
    for quote in lachin.quotes:
        assert quote.similarity >= topic_similarity[by_place[(quote.doc_id, quote.start)]] - 1e-5
        # similar enough to the topic, or holding its every word ("Lachin" alone is similar to little)
        assert quote.similarity >= DEFAULT_MIN_SIMILARITY or (quote.topic_match and "lachin" in quote.text.lower())


@pytest.mark.parametrize(
    "question",
    [
        "What did each side say about Lachin?",
        "How many civilians were wounded?",
        "What did both sides say about natural gas prices?",
        "What is the capital of France?",
    ],
)
def test_abstention_is_decided_by_the_best_similarity_of_all_retrieved_sentences(assistant, question):
    answer = assistant.ask(question)
    assert answer.best_similarity is not None
    assert answer.abstained == (answer.best_similarity < answer.min_similarity)
    assert all(q.similarity <= answer.best_similarity + 1e-9 for q in answer.quotes)
    assert all(answer.min_similarity <= q.similarity for q in answer.quotes if not q.topic_match)
    looser = assistant.ask(question, min_similarity=answer.best_similarity - 1e-6)
    assert not looser.abstained and looser.best_similarity == pytest.approx(answer.best_similarity)


def test_naming_two_sides_groups_by_those_sides(assistant):
    answer = assistant.ask("What did Yerevan and Baku say about the corridor?")
    assert answer.grouped_by_side
    assert [g.side for g in answer.groups] == ["Armenia", "Azerbaijan"]


def test_side_without_relevant_statement_is_said_explicitly(assistant):
    # Before 2021 only an Azerbaijani document exists: the Armenian side has no statement.
    answer = assistant.ask(
        "What did each side say about civilians?", until=dt.date(2021, 1, 1), sides=["Armenia", "Azerbaijan"]
    )
    groups = {g.side: g for g in answer.groups}
    assert groups["Armenia"].quotes == [] and "No relevant statement from Armenia" in groups["Armenia"].note
    assert groups["Azerbaijan"].quotes


def test_plain_question_is_not_grouped(assistant):
    answer = assistant.ask("How many civilians were wounded and hospitalized?")
    assert not answer.grouped_by_side and answer.groups == []
    assert "19 civilians have been wounded" in answer.quotes[0].text


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_side_filter_applies_before_fusion(assistant, mode):
    # Unfiltered, the top of this question is Armenian; filtered, all k slots are still filled by Azerbaijan.
    question = "Azerbaijan aggression Nagorno-Karabakh ethnic cleansing"
    sides = lambda hits: [assistant.index.attributions[h.sentence_id].side for h in hits]  # noqa: E731
    assert "Azerbaijan" not in sides(assistant.search(question, k=3, mode=mode))
    hits = assistant.search(question, k=5, mode=mode, sides=["Azerbaijan"])
    assert sides(hits) == ["Azerbaijan"] * 5


def test_publisher_and_date_filters(assistant):
    docs = {d.id: d for d in assistant.documents}
    hits = assistant.search("Armenia attack", k=10, publishers=["report"])
    assert hits and {docs[h.doc_id].publisher for h in hits} == {"Report"}
    hits = assistant.search("Armenia attack", k=30, since="2023-01-01", until="2023-08-01")
    assert hits and {docs[h.doc_id].date for h in hits} == {dt.date(2023, 7, 29)}
    hits = assistant.search("Armenia attack", k=10, filters=Filters(since=dt.date(2030, 1, 1)))
    assert hits == []


def test_modes_report_their_retrievers_evidence(assistant):
    hybrid = assistant.search("Lachin corridor blockade", k=5, mode="hybrid")
    assert any(h.bm25_rank and h.dense_rank for h in hybrid)
    assert all(h.dense_rank is None for h in assistant.search("Lachin corridor blockade", k=5, mode="bm25"))
    assert all(h.bm25_rank is None for h in assistant.search("Lachin corridor blockade", k=5, mode="dense"))
    weighted = assistant.search("Lachin corridor blockade", k=5, fusion="weighted", alpha=1.0)
    dense = assistant.search("Lachin corridor blockade", k=5, mode="dense")
    assert [h.sentence_id for h in weighted] == [h.sentence_id for h in dense]


def test_rrf_scores_follow_the_formula(assistant):
    for hit in assistant.search("Lachin corridor blockade", k=5, fusion="rrf", rrf_k=10):
        expected = sum(1 / (10 + r) for r in (hit.bm25_rank, hit.dense_rank) if r)
        assert hit.score == pytest.approx(expected)


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("What is the capital of France?", r"relevant enough to quote \(best similarity 0\.\d\d, threshold 0\.33\)"),
        ("Who won the 2018 football World Cup?", "^No document mentions “World Cup”\\.$"),
        (
            "How do I bake sourdough bread?",
            "^No document mentions bake sourdough bread\\.$",
        ),  # a topic no document covers
    ],
)
def test_unrelated_questions_abstain(assistant, question, reason):
    answer = assistant.ask(question)
    assert answer.abstained and answer.quotes == []
    assert re.search(reason, answer.abstain_reason), answer.abstain_reason
    if "threshold" in reason:  # nothing unknown was named: the similarity decided
        assert answer.best_similarity is not None and answer.best_similarity < answer.min_similarity
        assert answer.understood is not None and answer.understood.unknown_names == []


def test_threshold_is_a_setting(assistant):
    forced = assistant.ask("What is the capital of France?", min_similarity=-1.0)
    assert not forced.abstained and forced.quotes
    assert all(
        q.similarity >= DEFAULT_MIN_SIMILARITY or q.topic_match
        for q in assistant.ask("What did each side say about Lachin?").quotes
    )


def test_empty_date_range_and_bad_dates_are_clear_errors(assistant):
    from qa_assistant import QAError

    with pytest.raises(QAError, match="since 2023-05-01 is after until 2023-01-01"):
        assistant.ask("Lachin", since="2023-05-01", until="2023-01-01")
    with pytest.raises(QAError, match=r"^bad filter \(since: .*\); dates are YYYY-MM-DD$"):
        assistant.ask("Lachin", since="yesterday")
    with pytest.raises(QAError, match=r"^bad filter \(until: .*\); dates are YYYY-MM-DD$"):
        assistant.search("Lachin", until="2023-13-01")


def test_sides_and_k_of_an_answer(assistant):
    assert assistant.sides == ["Armenia", "Artsakh", "Azerbaijan", "neutral"]
    answer = assistant.ask("Lachin corridor", k=3)
    assert answer.k == 3 and 1 <= len(answer.quotes) <= 3


def test_settings_object_and_keyword_overrides(assistant):
    from qa_assistant import QAError, SearchSettings

    settings = SearchSettings(mode="bm25", bm25_context=0.0)
    hits = assistant.search("Lachin corridor blockade", k=5, settings=settings)
    assert hits == assistant.search("Lachin corridor blockade", k=5, mode="bm25", bm25_context=0.0)
    assert all(h.dense_rank is None for h in hits)
    overridden = assistant.ask("Lachin corridor", k=3, settings=settings, mode="dense")
    assert overridden.settings.mode == "dense" and overridden.settings.bm25_context == 0.0
    assert settings.mode == "bm25"  # the given object is not changed
    with pytest.raises(QAError, match=r"bad search setting \(alpha: "):
        assistant.search("Lachin", alpha=2.0)


def test_bm25_context_weight_zero_is_plain_sentence_bm25(assistant):
    from qa_assistant.backends.local.bm25 import top_k

    plain_ids, plain_scores = top_k(assistant.index.bm25.scores("Lachin corridor blockade"), 10)
    hits = assistant.search("Lachin corridor blockade", k=10, mode="bm25", bm25_context=0.0)
    assert [h.sentence_id for h in hits] == plain_ids.tolist()
    assert [h.bm25_score for h in hits] == pytest.approx(plain_scores.tolist())


def test_bm25_context_lifts_a_sentence_whose_neighbours_carry_the_other_query_words(tmp_path):
    from qa_assistant import Assistant

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "Envoy visit\n\nThe special envoy arrived in Geneva on Monday morning.\n"
        "She said talks on the water dispute would resume.\n",
        encoding="utf-8",
    )
    (corpus / "b.txt").write_text(
        "Farm news\n\nThe water dispute talks stalled again, farmers said.\n"
        "The harvest was good this year in the valley.\n",
        encoding="utf-8",
    )
    (corpus / "c.txt").write_text(
        "Weather\n\nRain is expected in the mountains on Friday.\nThe roads will stay open.\n", encoding="utf-8"
    )
    small = Assistant.build(corpus, tmp_path / "index")
    query = "envoy water dispute talks"
    resumed = "She said talks on the water dispute would resume."
    stalled = "The water dispute talks stalled again, farmers said."

    def scores(context: float) -> dict[str, float]:
        hits = small.search(query, k=9, mode="bm25", bm25_context=context)
        return {small.index.sentence_text(h.sentence_id): h.bm25_score for h in hits}

    alone, with_context = scores(0.0), scores(0.5)
    assert alone[resumed] == pytest.approx(alone[stalled])  # the same query words, alike in length
    assert with_context[resumed] > with_context[stalled] + 0.1  # its neighbour names the envoy
    reloaded = Assistant.load(tmp_path / "index")  # the context index is saved and read back
    hits = reloaded.search(query, k=9, mode="bm25")
    assert {reloaded.index.sentence_text(h.sentence_id): h.bm25_score for h in hits} == pytest.approx(with_context)


@pytest.mark.parametrize(
    "filters",
    [
        Filters(publishers=["Report"]),
        Filters(since=dt.date(2023, 9, 1), until=dt.date(2023, 9, 30)),
        Filters(sides=["Armenia"], since=dt.date(2023, 1, 1)),
        Filters(sides=["azerbaijan"], speakers=["MFA of Azerbaijan", "azeri ministry of defense"]),
    ],
)
def test_a_filter_mask_is_each_sentence_judged_on_its_own_and_is_remembered(assistant, filters):
    retriever, index = assistant.retriever, assistant.index
    mask = retriever.mask(filters)
    assert mask is not None and mask.any()
    for sid in range(len(index.sentences)):
        doc, attribution = index.document_of(sid), index.attributions[sid]
        passes = (
            (not filters.publishers or (doc.publisher or "").lower() in {p.lower() for p in filters.publishers})
            and (not filters.since or (doc.date is not None and doc.date >= filters.since))
            and (not filters.until or (doc.date is not None and doc.date <= filters.until))
            and (not filters.sides or (attribution.side or "").lower() in {s.lower() for s in filters.sides})
            and (not filters.speakers or (attribution.speaker or "").lower() in {s.lower() for s in filters.speakers})
        )
        assert mask[sid] == passes, (sid, index.sentence_text(sid))
    assert retriever.mask(filters.model_copy()) is mask  # the same filters again: the same (read-only) mask
    with pytest.raises(ValueError):
        mask[0] = not mask[0]
