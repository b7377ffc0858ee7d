"""The timeline's counting of cells: the one-key sort (`TimelineMaker.cells`) against the four-key sort it replaces
(`cells_by_keys`) on random statements — rows, periods (some undated), near-duplicate clusters — and a hand-checked
small case (the sentence ids given are the positions themselves, so each cell's best sentences are its positions); and
cells made for the rows shown only (no sides asked: the speakers with most statements)."""

from __future__ import annotations

import numpy as np
import pytest

from qa_assistant.answer.timeline import CELL_SENTENCES, MAX_ROWS, UNDATED, TimelineMaker


def as_lists(cells):
    return [(row, period, count, list(best)) for row, period, count, best in cells]


def random_statements(seed: int, n: int, rows: int):
    """`position` (increasing within each row, as `side_rows` and `speaker_rows` give them), rows, and per
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
    fast = as_lists(TimelineMaker.cells(position, row, periods, clusters, np.arange(len(periods)))[0])
    assert fast == as_lists(TimelineMaker.cells_by_keys(position, row, periods, clusters, np.arange(len(periods)))[0])
    assert fast and any(count > CELL_SENTENCES for _, _, count, _ in fast)


def test_cells_by_hand():
    # positions 0..5 (0 best). Row 0: positions 0 and 3 are one cluster in period 3 (counted once, the better
    # kept), position 2 the same cluster in period 1 (said again: counted there). Row 1: one in period 3, one undated.
    position = np.array([0, 2, 3, 1, 4])
    row = np.array([0, 0, 0, 1, 1])
    periods = np.array([3, 3, 1, 3, UNDATED, 0], dtype=np.int64)  # by position
    clusters = np.array([7, 8, 7, 7, 9, 5])
    cells = as_lists(TimelineMaker.cells(position, row, periods, clusters, np.arange(len(periods)))[0])
    assert cells == [(0, 1, 1, [2]), (0, 3, 1, [0]), (1, 3, 1, [1]), (1, UNDATED, 1, [4])]
    assert cells == as_lists(TimelineMaker.cells_by_keys(position, row, periods, clusters, np.arange(len(periods)))[0])
    assert TimelineMaker.cells(np.empty(0, dtype=np.int64), row[:0], periods, clusters, np.arange(6)) == ([], [])
    # only the row with most dated statements (row 0: two) keeps its dated cells; row 1's undated one stays, and
    # its one dated statement is counted as left out
    shown, left = TimelineMaker.cells(position, row, periods, clusters, np.arange(len(periods)), max_rows=1)
    assert as_lists(shown) == [(0, 1, 1, [2]), (0, 3, 1, [0]), (1, UNDATED, 1, [4])]
    assert left == [1]


@pytest.mark.parametrize("seed", range(4))
def test_rows_left_out_are_those_dated_rows_leaves_out(seed):
    """Cells made for the `max_rows` rows with most statements only give the rows, cells and left-out counts that
    making every row's cells and keeping the first `max_rows` of them gives."""
    shown_rows = 5
    position, row, periods, clusters = random_statements(seed, n=600, rows=12 + seed)
    assert len(set(row.tolist())) <= MAX_ROWS
    ids = np.arange(len(periods))
    names = [f"speaker {number}" for number in range(int(row.max()) + 1)]
    for cells_of in (TimelineMaker.cells, TimelineMaker.cells_by_keys):
        every, none_left = cells_of(position, row, periods, clusters, ids)
        assert none_left == []
        expected_rows, expected_left = TimelineMaker.dated_rows(every, names, "year", every_row=False)
        assert expected_left == [] and len(expected_rows) > shown_rows  # (fewer rows than MAX_ROWS: all of them)
        shown, left = cells_of(position, row, periods, clusters, ids, max_rows=shown_rows)
        rows, nothing_more = TimelineMaker.dated_rows(shown, names, "year", every_row=False)
        assert rows == expected_rows[:shown_rows] and nothing_more == []
        assert left == [expected["count"] for expected in expected_rows[shown_rows:]]
        assert TimelineMaker.undated_cells(shown, names) == TimelineMaker.undated_cells(every, names)
