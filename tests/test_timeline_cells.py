"""The timeline's counting of cells: the one-key sort (`TimelineMaker.cells`) against the four-key sort it replaces
(`cells_by_keys`) on random statements — rows, periods (some undated), near-duplicate clusters — and a hand-checked
small case (the sentence ids given are the positions themselves, so each cell's best sentences are its positions); and
cells made for the rows shown only (no sides asked: the speakers with most statements, ranked by `shown_speakers`
without ordering the statements) against every row's cells cut to the rows shown."""

from __future__ import annotations

import numpy as np
import pytest

from qa_assistant.answer.timeline import (
    CELL_SENTENCES,
    MAX_ROWS,
    UNDATED,
    TimelineMaker,
    distinct,
    shared_clusters,
    top_rows,
)


def as_lists(cells):
    return [(row, period, count, list(best)) for row, period, count, best in cells]


def random_statements(seed: int, n: int, rows: int):
    """`position` (increasing within each row, as `side_rows` gives them and rows per speaker are), rows, and per
    position a period code (some undated, some before 1970: negative) and a cluster (many shared)."""
    rng = np.random.default_rng(seed)
    row = np.sort(rng.integers(0, rows, n))
    position = np.concatenate([np.sort(rng.choice(n, int((row == r).sum()), replace=False)) for r in range(rows)])
    periods = rng.integers(-30, 50, n).astype(np.int64)
    periods[rng.random(n) < 0.1] = UNDATED
    clusters = rng.integers(0, max(1, n // 3), n)
    return position, row, periods, clusters


@pytest.mark.parametrize("seed", range(6))
def test_one_key_sort_counts_as_the_four_key_sort(seed):
    position, row, periods, clusters = random_statements(seed, n=400 + 300 * seed, rows=1 + seed)
    fast = as_lists(TimelineMaker.cells(position, row, periods, clusters, np.arange(len(periods))))
    assert fast == as_lists(TimelineMaker.cells_by_keys(position, row, periods, clusters, np.arange(len(periods))))
    assert fast and any(count > CELL_SENTENCES for _, _, count, _ in fast)


def test_cells_by_hand():
    # positions 0..5 (0 best). Row 0: positions 0 and 3 are one cluster in period 3 (counted once, the better
    # kept), position 2 the same cluster in period 1 (said again: counted there). Row 1: one in period 3, one undated.
    position = np.array([0, 2, 3, 1, 4])
    row = np.array([0, 0, 0, 1, 1])
    periods = np.array([3, 3, 1, 3, UNDATED, 0], dtype=np.int64)  # by position
    clusters = np.array([7, 8, 7, 7, 9, 5])
    cells = as_lists(TimelineMaker.cells(position, row, periods, clusters, np.arange(len(periods))))
    assert cells == [(0, 1, 1, [2]), (0, 3, 1, [0]), (1, 3, 1, [1]), (1, UNDATED, 1, [4])]
    assert cells == as_lists(TimelineMaker.cells_by_keys(position, row, periods, clusters, np.arange(len(periods))))
    assert TimelineMaker.cells(np.empty(0, dtype=np.int64), row[:0], periods, clusters, np.arange(6)) == []


def test_shown_speakers_by_hand():
    # statements 0..5 (speaker rows: one row each). Row 0: 0 and 3 one cluster in period 3 (one statement), 2 that
    # cluster in period 1 (another); row 1: one in period 3 and one undated; row 2: two in period 3
    row = np.array([0, 1, 0, 0, 1, 2, 2])
    periods = np.array([3, 3, 1, 3, UNDATED, 3, 3], dtype=np.int64)
    clusters = np.array([0, 1, 0, 0, 4, 5, 6])
    shared = shared_clusters(clusters)
    assert shared.tolist() == [True, False, True, True, False, False, False]
    # rows 0 and 2 have two dated statements each, row 1 one: with one row shown, the lower of the tied rows (0)
    kept, left = TimelineMaker.shown_speakers(row, periods, clusters, shared, rows=3, max_rows=1)
    assert kept.tolist() == [0, 2, 3, 4] and left.tolist() == [1, 2]  # rows 1 and 2 left out (in row order); row
    # 1's undated statement stays (counted apart)
    kept, left = TimelineMaker.shown_speakers(row, periods, clusters, shared, rows=3, max_rows=3)
    assert kept.tolist() == list(range(7)) and left.tolist() == []
    # labels too large for one integer per (row, period, cluster): counted by three keys, the same
    far = clusters + 2**61
    assert TimelineMaker.shown_speakers(row, periods, far, shared, rows=3, max_rows=1)[1].tolist() == [1, 2]


def random_speaker_statements(seed: int, n: int, rows: int):
    """One row per statement (statements in order of merit), periods (some undated), clusters as an index has
    them (the smallest member's id; most sentences alone)."""
    rng = np.random.default_rng(seed)
    row = rng.integers(0, rows, n)
    periods = rng.integers(-5, 12, n).astype(np.int64)
    periods[rng.random(n) < 0.1] = UNDATED
    clusters = np.arange(n)
    joined = rng.random(n) < 0.3
    clusters[joined] = rng.integers(0, n, int(joined.sum()))
    clusters = np.minimum(clusters, np.arange(n))  # (a cluster's id is its smallest member's)
    return row, periods, clusters


@pytest.mark.parametrize("seed", range(4))
def test_rows_left_out_are_those_dated_rows_leaves_out(seed):
    """Cells made for the `max_rows` speakers with most statements only (`shown_speakers`, then `cells` of the
    statements kept) give the rows, cells and left-out counts that making every row's cells and keeping the first
    `max_rows` of them gives."""
    shown_rows = 5
    row, periods, clusters = random_speaker_statements(seed, n=600, rows=12 + seed)
    rows = int(row.max()) + 1
    assert rows <= MAX_ROWS
    ids = np.arange(len(periods)) + 1000
    names = [f"speaker {number}" for number in range(rows)]
    every = TimelineMaker.cells(np.arange(len(row)), row, periods, clusters, ids)
    expected_rows, expected_left = TimelineMaker.dated_rows(every, names, "year", every_row=False)
    assert expected_left == [] and len(expected_rows) > shown_rows  # (fewer rows than MAX_ROWS: all of them)
    kept, left = TimelineMaker.shown_speakers(
        row, periods, clusters, shared_clusters(clusters), rows, max_rows=shown_rows
    )
    shown = TimelineMaker.cells(np.arange(len(kept)), row[kept], periods[kept], clusters[kept], ids[kept])
    got_rows, nothing_more = TimelineMaker.dated_rows(shown, names, "year", every_row=False)
    assert got_rows == expected_rows[:shown_rows] and nothing_more == []
    assert sorted(left.tolist(), reverse=True) == [expected["count"] for expected in expected_rows[shown_rows:]]
    assert TimelineMaker.undated_cells(shown, names) == TimelineMaker.undated_cells(every, names)


@pytest.mark.parametrize("seed", range(6))
def test_top_rows_are_the_first_rows_of_a_full_ranking(seed):
    """`top_rows` orders only the rows at or above the bar; the rows it gives are the first of every row ranked by
    total (most first, ties: the lower row first), rows with none never among them — many ties here, at the bar too."""
    rng = np.random.default_rng(seed)
    totals = rng.integers(0, 4, 50 + 40 * seed)
    counted = np.flatnonzero(totals)
    everyone = counted[np.argsort(-totals[counted], kind="stable")].tolist()
    for count in (1, 5, MAX_ROWS, len(totals)):
        assert top_rows(totals, count).tolist() == everyone[:count]
    assert top_rows(np.zeros(7, dtype=np.int64), 3).tolist() == []


def test_distinct_is_numpys_unique():
    values = np.random.default_rng(0).integers(-50, 50, 400)
    assert distinct(values).tolist() == np.unique(values).tolist()
    assert distinct(np.empty(0, dtype=np.int64)).tolist() == []
