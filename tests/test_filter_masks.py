"""The sentence masks of filters (`FilterMasks`), made the fast way (document flags repeated over sentences stored
document by document; names matched by comparing codes) and the general way (a lookup per sentence: sentences not in
document order, or many names), agree with a mask computed sentence by sentence from the rules themselves."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from qa_assistant.backends.filters import FilterMasks
from qa_assistant.index.labels import FEW_CODES, SentenceLabels
from qa_assistant.models import Filters

SIDES = [f"Side {n}" for n in range(FEW_CODES + 4)]


def fake_index(seed: int, in_order: bool) -> SimpleNamespace:
    """Documents (dates, some missing; publishers) and sentences with a document each and a side code."""
    rng = np.random.default_rng(seed)
    docs = 40
    cards = [
        SimpleNamespace(
            id=f"doc-{number}",
            date=None if number % 7 == 0 else dt.date(2000 + number % 20, 1 + number % 12, 1),
            publisher=f"Publisher {number % 5}",
        )
        for number in range(docs)
    ]
    doc_index = np.sort(rng.integers(0, docs, 900)).astype(np.int32)  # (some documents have no sentence)
    if not in_order:
        doc_index = rng.permutation(doc_index)
    side = rng.integers(-1, len(SIDES), len(doc_index)).astype(np.int32)
    speaker = np.full(len(doc_index), -1, dtype=np.int32)
    labels = SentenceLabels(side, list(SIDES), speaker, [], speaker.copy(), [])
    return SimpleNamespace(cards=cards, sentences=SimpleNamespace(doc_index=doc_index), labels=labels)


def by_rules(index: SimpleNamespace, filters: Filters) -> np.ndarray:
    """The mask, sentence by sentence (a document without a date is outside every period)."""
    wanted_sides = {s.lower() for s in filters.sides or []}
    wanted_publishers = {p.lower() for p in filters.publishers or []}
    out = []
    for doc_number, side in zip(index.sentences.doc_index.tolist(), index.labels.side.tolist()):
        card = index.cards[doc_number]
        ok = True
        if filters.sides:
            ok &= side >= 0 and SIDES[side].lower() in wanted_sides
        if filters.publishers:
            ok &= card.publisher.lower() in wanted_publishers
        if filters.since:
            ok &= card.date is not None and card.date >= filters.since
        if filters.until:
            ok &= card.date is not None and card.date <= filters.until
        out.append(ok)
    return np.array(out)


FILTERS = [
    Filters(sides=["Side 1"]),
    Filters(sides=["side 2", "SIDE 5"], since=dt.date(2005, 1, 1)),
    Filters(sides=SIDES[: FEW_CODES + 2]),  # more names than are compared one by one: the lookup table
    Filters(since=dt.date(2003, 6, 1), until=dt.date(2012, 12, 31)),
    Filters(publishers=["Publisher 3"], until=dt.date(2010, 1, 1)),
    Filters(until=dt.date(1990, 1, 1)),  # no document at all
]


@pytest.mark.parametrize("in_order", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_masks_agree_with_the_rules(seed, in_order):
    index = fake_index(seed, in_order)
    masks = FilterMasks(index)
    for filters in FILTERS:
        assert masks.mask(filters).tolist() == by_rules(index, filters).tolist(), filters
    assert masks._runs is not None and (len(masks._runs) == len(index.cards)) is in_order  # (the way taken)
