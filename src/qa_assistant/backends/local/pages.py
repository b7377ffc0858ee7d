"""Memory-mapped index files: their pages read in once, ahead of the questions that would each read some from disk."""

from __future__ import annotations

import numpy as np

PAGE = 4096  # bytes of a memory page


def touch_pages(array: np.ndarray) -> None:
    """Read one byte of every memory page of `array` (a mapped file's pages are read in, and stay mapped)."""
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    int(flat[::PAGE].sum(dtype=np.int64))
