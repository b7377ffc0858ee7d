"""Dense retrieval: normalized sentence vectors in FAISS (exact inner product by default).

Index kinds (`--faiss`): flat (exact), hnsw (graph, approximate), ivf (inverted lists over k-means cells,
approximate). Vector storage (`--vectors`): float32, float16 or int8 (FAISS scalar quantizer, one byte per
dimension, ranges trained on the vectors). The files are read memory-mapped where FAISS can (flat and
scalar-quantized flat indexes); the others are read into memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import faiss
import numpy as np

from qa_assistant.backends.local.pages import touch_pages

FAISS_KINDS = ("flat", "hnsw", "ivf")
VECTOR_STORAGES = ("float32", "float16", "int8")
HNSW_M = 32
HNSW_EF_SEARCH = 128
IVF_PROBE_SHARE = 1 / 16  # an IVF search visits this share of the cells (at least IVF_MIN_PROBES)
IVF_MIN_PROBES = 16
IVF_TRAIN_PER_CELL = 32  # k-means training sample of the search index: this many vectors per cell
IVF_TRAIN_ITERATIONS = 10  # FAISS defaults to 25, at 2.5 times the training time
NEAREST_CELLS = 8  # cells nearest each vector noted while it is added to an IVF index (`add_to_cells`)
ADD_BATCH = 65_536
_SQ_TYPES = {"float16": faiss.ScalarQuantizer.QT_fp16, "int8": faiss.ScalarQuantizer.QT_8bit}
BITMAP_CACHE = 16  # the bitmaps of the last read-only masks searched with (a question searches each twice or more)
RANGES_KEPT = 4  # the last range searches kept: a search of the same vector within their scope is read from them
# a range search within a scope where it visits at most this many vectors keeps every one it visits, whatever its
# similarity: then any search within that scope is read from it (a side whose sentences are fewer than k above the
# floor too), for a few thousand more results at most
SCANNED_KEPT = 5_000


@contextmanager
def single_thread() -> Iterator[None]:
    """One query is fastest on one thread: OpenMP's thread start-up and barriers cost more than they give,
    and far more when other work holds the cores (measured 40 ms vs 10 ms at 100k vectors)."""
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def ivf_cells(n: int) -> int:
    """Number of IVF cells for `n` vectors: about 4·√n, and at least 39 training vectors per cell."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39))


def ivf_probes(cells: int) -> int:
    return min(cells, max(IVF_MIN_PROBES, round(cells * IVF_PROBE_SHARE)))


def make_index(dimension: int, kind: str = "flat", storage: str = "float32", n: int = 0) -> faiss.Index:
    """An empty (possibly untrained) inner-product index of `kind` storing vectors as `storage`."""
    if kind not in FAISS_KINDS:
        raise ValueError(f"unknown FAISS index kind '{kind}' (choose from {', '.join(FAISS_KINDS)})")
    if storage not in VECTOR_STORAGES:
        raise ValueError(f"unknown vector storage '{storage}' (choose from {', '.join(VECTOR_STORAGES)})")
    codes = {"float32": "Flat", "float16": "SQfp16", "int8": "SQ8"}[storage]
    if kind == "flat":
        spec = codes
    elif kind == "hnsw":
        spec = f"HNSW{HNSW_M}" if storage == "float32" else f"HNSW{HNSW_M},{codes}"
    else:
        spec = f"IVF{ivf_cells(n)},{codes}"
    index = faiss.index_factory(dimension, spec, faiss.METRIC_INNER_PRODUCT)
    if kind == "hnsw":
        faiss.ParameterSpace().set_index_parameter(index, "efSearch", HNSW_EF_SEARCH)
    elif kind == "ivf":
        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = ivf_probes(ivf.nlist)
    return index


def train_ivf(index: faiss.Index, vectors: np.ndarray, per_cell: int, seed: int = 0) -> None:
    """Train the cells of the IVF `index` (k-means, IVF_TRAIN_ITERATIONS rounds) on at most `per_cell` vectors
    per cell of `vectors`, a random sample drawn with `seed` when there are more."""
    ivf = faiss.extract_index_ivf(index)
    ivf.cp.niter = IVF_TRAIN_ITERATIONS
    ivf.cp.min_points_per_centroid = per_cell // 2
    sample = vectors
    limit = ivf.nlist * per_cell
    if len(vectors) > limit:
        rows = np.random.default_rng(seed).choice(len(vectors), limit, replace=False)
        sample = vectors[np.sort(rows)]
    index.train(sample)


def reusable_cells(earlier: faiss.Index | None, n: int, dimension: int) -> faiss.Index | None:
    """An empty copy of `earlier`'s trained IVF index when its cells still suit `n` vectors (within 25 % of the
    number `ivf_cells(n)` asks for, i.e. about 0.6-1.6 times the vectors it was trained for); else None."""
    if not isinstance(earlier, faiss.IndexIVF) or earlier.d != dimension:
        return None
    if not 0.8 <= earlier.nlist / ivf_cells(n) <= 1.25:
        return None
    index = faiss.clone_index(earlier)
    # `earlier` is usually memory-mapped (read-only views of its file), and so are the copy's inverted lists and
    # id map: resizing a view aborts the process. The copy gets an empty map and empty lists of its own.
    library: Any = faiss  # (what follows is missing from faiss's type stubs)
    ivf: Any = index
    ivf.set_direct_map_type(library.DirectMap.NoMap)
    lists: Any = library.ArrayInvertedLists(ivf.nlist, ivf.code_size)
    ivf.replace_invlists(lists, True)
    lists.this.disown()  # the index owns the lists now
    index.reset()
    return index


def add_to_cells(index: faiss.Index, vectors: np.ndarray, nearest: int = NEAREST_CELLS) -> np.ndarray:
    """Add `vectors` to the trained IVF `index` as `index.add` does (each to the cell of the nearest centroid, ids
    going on from its size), and return for each the `nearest` cells nearest it (the first: its own), found by
    the same search of the centroids: a near-duplicate search that visits them (`neighbours.cell_pairs`) need not
    search the centroids again, which costs as much as adding."""
    ivf: Any = faiss.extract_index_ivf(index)
    nearest = min(nearest, ivf.nlist)
    cells = np.empty((len(vectors), nearest), dtype=np.int64)
    for lo in range(0, len(vectors), ADD_BATCH):
        part = np.ascontiguousarray(vectors[lo : lo + ADD_BATCH], dtype=np.float32)
        _, found = ivf.quantizer.search(part, nearest)
        cells[lo : lo + len(part)] = found
        own = np.ascontiguousarray(found[:, 0])
        ivf.add_core(len(part), faiss.swig_ptr(part), None, faiss.swig_ptr(own))  # (the factory makes no transform)
    return cells


def build_faiss(
    vectors: np.ndarray,
    kind: str = "flat",
    storage: str = "float32",
    seed: int = 0,
    earlier: faiss.Index | None = None,
) -> tuple[faiss.Index, np.ndarray | None]:
    """An index of `vectors`, and for IVF the NEAREST_CELLS cells nearest each vector (`add_to_cells`; else None).
    For IVF, the cells of `earlier` (an index of the same kind and storage) are kept when they still suit the
    number of vectors: only the vectors are added again, k-means is not re-run."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    reused = reusable_cells(earlier, len(vectors), vectors.shape[1]) if kind == "ivf" else None
    index = reused if reused is not None else make_index(vectors.shape[1], kind, storage, len(vectors))
    if not index.is_trained:
        if kind == "ivf":
            train_ivf(index, vectors, IVF_TRAIN_PER_CELL, seed)
        else:
            index.train(vectors)
    if kind != "ivf":
        index.add(vectors)
        return index, None
    cells = add_to_cells(index, vectors)
    faiss.extract_index_ivf(index).make_direct_map()  # reconstruct(id) for the similarity of a quote
    return index, cells


def _codes_of(index: Any) -> np.ndarray:
    """The stored codes of a flat (IndexFlatCodes) index, one row per vector: a view, also of a mapped file."""
    size = index.ntotal * index.code_size
    flat = faiss.rev_swig_ptr(index.codes.data(), size) if size else np.empty(0, dtype=np.uint8)
    return np.asarray(flat).reshape(index.ntotal, index.code_size)


def updated_faiss(
    earlier: faiss.Index, earlier_rows: np.ndarray, new_vectors: np.ndarray, kind: str, storage: str
) -> faiss.Index | None:
    """The index after an incremental rebuild, made from `earlier` in time that grows with the change: vector `i`
    of the new index is `earlier`'s vector `earlier_rows[i]`, or, where that is -1, the next of `new_vectors` (in
    order). The stored codes of kept vectors are copied, not encoded again; only the new vectors are encoded
    (and, for IVF, assigned to a cell). None when this is not possible: HNSW (its graph is built anew), int8
    flat storage, IVF cells that no longer suit the number of vectors, another dimension or kind."""
    n = len(earlier_rows)
    new = np.flatnonzero(earlier_rows < 0)
    kept = np.flatnonzero(earlier_rows >= 0)
    if len(new) != len(new_vectors) or index_kind(earlier) != kind or earlier.d != new_vectors.shape[1]:
        return None
    if len(kept) and (earlier_rows[kept].max() >= earlier.ntotal):
        return None
    queries = np.ascontiguousarray(new_vectors, dtype=np.float32)
    if kind == "flat":
        if storage == "int8":
            return None  # (its value ranges were trained on the earlier vectors)
        index: Any = make_index(earlier.d, kind, storage)
        codes = np.empty((n, index.code_size), dtype=np.uint8)
        codes[kept] = _codes_of(earlier)[earlier_rows[kept]]
        if len(new):
            codes[new] = index.sa_encode(queries)
        if n:
            index.add_sa_codes(codes)
        return index
    if kind != "ivf":
        return None
    index = reusable_cells(earlier, n, earlier.d)
    if index is None:
        return None
    moved = np.full(earlier.ntotal, -1, dtype=np.int64)  # earlier id -> new id (-1: removed)
    moved[earlier_rows[kept]] = kept
    source: Any = faiss.extract_index_ivf(earlier).invlists
    target: Any = faiss.extract_index_ivf(index).invlists
    size = index.code_size
    for cell in range(index.nlist):
        count = source.list_size(cell)
        if count == 0:
            continue
        ids = moved[np.asarray(faiss.rev_swig_ptr(source.get_ids(cell), count))]
        codes = np.asarray(faiss.rev_swig_ptr(source.get_codes(cell), count * size)).reshape(count, size)
        keep = ids >= 0
        ids, codes = np.ascontiguousarray(ids[keep]), np.ascontiguousarray(codes[keep])
        if len(ids):
            target.add_entries(cell, len(ids), faiss.swig_ptr(ids), faiss.swig_ptr(codes))
    index.ntotal = len(kept)
    if len(new):
        index.add_with_ids(queries, new.astype(np.int64))
    faiss.extract_index_ivf(index).make_direct_map()
    return index


def index_kind(index: faiss.Index) -> str:
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


class KeptRange(NamedTuple):
    """A range search kept by `DenseIndex.at_least`: its query vector's bytes, floor and mask (None: every
    sentence), the ids and similarities it found at least `floor` similar, and — searched where it visits few
    vectors — every vector it visited within the mask, whatever its similarity (else None)."""

    vector: bytes
    floor: float
    scope: np.ndarray | None
    ids: np.ndarray
    scores: np.ndarray
    scanned: tuple[np.ndarray, np.ndarray] | None


class DenseIndex:
    def __init__(self, index: faiss.Index):
        self.index = index
        self._bitmaps: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id(mask) -> (mask, its bitmap)
        self._ranges: list[KeptRange] = []  # the last range searches (`at_least`)

    def bitmap_of(self, mask: np.ndarray) -> np.ndarray:
        """`mask` packed as FAISS's IDSelectorBitmap reads it (bit i in byte i // 8, lowest first). The filters'
        masks are read-only and the same arrays come again (a side's search, its quotes, the timeline): the
        bitmaps of the last BITMAP_CACHE such masks are kept (a million sentences: 140 kB and about 1 ms each)."""
        if mask.flags.writeable:
            return np.packbits(mask.astype(np.uint8), bitorder="little")
        kept = self._bitmaps.get(id(mask))
        if kept is not None and kept[0] is mask:
            return kept[1]
        bitmap = np.packbits(mask.astype(np.uint8), bitorder="little")
        self._bitmaps[id(mask)] = (mask, bitmap)
        while len(self._bitmaps) > BITMAP_CACHE:
            self._bitmaps.pop(next(iter(self._bitmaps)), None)
        return bitmap

    @classmethod
    def build(
        cls, vectors: np.ndarray, kind: str = "flat", storage: str = "float32", earlier: DenseIndex | None = None
    ) -> DenseIndex:
        """`earlier`: the index being replaced (same kind and storage), whose IVF cells may be reused."""
        return cls.build_noting_cells(vectors, kind, storage, earlier)[0]

    @classmethod
    def build_noting_cells(
        cls, vectors: np.ndarray, kind: str = "flat", storage: str = "float32", earlier: DenseIndex | None = None
    ) -> tuple[DenseIndex, np.ndarray | None]:
        """`build`, and for IVF the NEAREST_CELLS cells nearest each vector, noted while it was added (None for
        the other kinds): the near-duplicate search of the build visits them (`neighbours.cell_pairs`)."""
        index, cells = build_faiss(vectors, kind, storage, earlier=earlier.index if earlier is not None else None)
        return cls(index), cells

    @classmethod
    def updated(
        cls, earlier: DenseIndex, earlier_rows: np.ndarray, new_vectors: np.ndarray, kind: str, storage: str
    ) -> DenseIndex | None:
        """`earlier` with its vectors renumbered by `earlier_rows` and `new_vectors` added (`updated_faiss`)."""
        index = updated_faiss(earlier.index, earlier_rows, new_vectors, kind, storage)
        return cls(index) if index is not None else None

    def neighbours(
        self, queries: np.ndarray, k: int, among: np.ndarray | None = None, probes: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarities and ids of the `k` nearest vectors of each query (a batch, on every core), among the
        ids where `among` is true; an IVF index visits `probes` cells (default: its own setting)."""
        params: Any = faiss.SearchParametersIVF() if isinstance(self.index, faiss.IndexIVF) else None
        if params is not None:
            params.nprobe = probes or faiss.extract_index_ivf(self.index).nprobe
        bitmap, selector = None, None  # both live until the search is done
        if among is not None:
            bitmap = np.packbits(among.astype(np.uint8), bitorder="little")
            selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
            params = params if params is not None else faiss.SearchParameters()
            params.sel = selector
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        del bitmap, selector
        return scores, ids

    def warm(self) -> int:
        """Read every page of the stored vectors once (their bytes). A mapped index (flat, or IVF's inverted lists)
        is otherwise read from disk by the questions, cell by cell: 0.5 s for the first question that probes
        cold cells at a million sentences, then 6 ms when they are asked again."""
        if isinstance(self.index, faiss.IndexIVF):
            lists: Any = faiss.extract_index_ivf(self.index).invlists
            touched = 0
            for cell in range(lists.nlist):
                count = lists.list_size(cell)
                if count:
                    codes = faiss.rev_swig_ptr(lists.get_codes(cell), count * lists.code_size)
                    ids = faiss.rev_swig_ptr(lists.get_ids(cell), count)
                    touch_pages(np.asarray(codes))
                    touch_pages(np.asarray(ids))
                    touched += count * (lists.code_size + 8)
            return touched
        if isinstance(self.index, faiss.IndexFlatCodes):
            codes = _codes_of(self.index)
            touch_pages(codes)
            return codes.nbytes
        return 0  # (HNSW is read into memory)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> DenseIndex:
        """Read `path`; with `mmap`, flat (IndexFlatCodes) indexes stay on disk, mapped, not copied into memory."""
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
        return cls(faiss.read_index(str(path), flags))

    @property
    def size(self) -> int:
        return self.index.ntotal

    @property
    def dimension(self) -> int:
        return self.index.d

    @property
    def cell_count(self) -> int | None:
        """The number of cells of an IVF index (None: another kind)."""
        return faiss.extract_index_ivf(self.index).nlist if isinstance(self.index, faiss.IndexIVF) else None

    def vector_range(self, first: int, count: int) -> np.ndarray:
        """The stored (normalized) vectors of sentences `first` .. `first + count - 1`, one row each."""
        return self.index.reconstruct_n(first, count)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored (normalized) vectors of sentences `ids`."""
        return (
            np.vstack([self.index.reconstruct(int(i)) for i in ids])
            if len(ids)
            else np.empty((0, self.index.d), np.float32)
        )

    def vector_batch(self, ids: np.ndarray) -> np.ndarray:
        """`vectors`, in one call to FAISS when the index can (the same values)."""
        try:
            return np.asarray(self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64)))
        except RuntimeError:  # (an index without the direct map a batch needs): one by one
            return self.vectors(ids)

    def at_least(
        self, query_vector: np.ndarray, floor: float, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosine similarities of the vectors (within `mask`) at least `floor` similar to `query_vector`:
        a range search, in the order FAISS returns them (read-only arrays). The last RANGES_KEPT are kept: the same
        search again is not run again, and `search` reads a search of the same vector within them (`from_ranges`).
        Within a scope where the search visits few vectors (`visits_few`), every vector it visits is kept."""
        raw = np.ascontiguousarray(query_vector, dtype=np.float32).tobytes()
        for kept in self._ranges:
            if kept.vector == raw and kept.floor == floor and kept.scope is mask:
                return kept.ids, kept.scores
        scanned = None
        if self.visits_few(mask):
            scanned = self.range_search(query_vector, -np.inf, mask)
            above = np.flatnonzero(scanned[1] >= np.float32(floor))  # (as the range search at `floor` keeps them)
            ids, scores = scanned[0][above], scanned[1][above]
        else:
            ids, scores = self.range_search(query_vector, floor, mask)
        for array in (ids, scores, *(scanned or ())):
            array.flags.writeable = False
        self._ranges = [*self._ranges[-(RANGES_KEPT - 1) :], KeptRange(raw, floor, mask, ids, scores, scanned)]
        return ids, scores

    def visits_few(self, mask: np.ndarray | None) -> bool:
        """Whether a search within `mask` visits at most SCANNED_KEPT vectors, as expected from its share of the
        sentences and, for IVF, of the cells visited (never for a graph index: its searches are not read from
        ranges)."""
        if mask is None or isinstance(self.index, faiss.IndexHNSW):
            return False
        share = 1.0
        if isinstance(self.index, faiss.IndexIVF):
            share = self.index.nprobe / self.index.nlist
        return bool(np.count_nonzero(mask) * share <= SCANNED_KEPT)

    def forget_ranges(self) -> None:
        """Drop the kept range searches (a benchmark asking the same question twice measures each ask as if asked
        once: the second would otherwise read its searches from the first's range)."""
        self._ranges = []

    def from_ranges(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The `k` nearest vectors within `mask` read from a kept range search of the same vector whose mask holds
        `mask` and which found at least `k` of them, or kept every vector it visited (None: none such): the same
        as `search` finds — flat and IVF indexes compare the same vectors (the same cells) by the same code either
        way — best first, as FAISS orders them. A question's timeline searches the range first, and its side
        searches need not scan the index again."""
        if isinstance(self.index, faiss.IndexHNSW):  # (a graph search is not a range search)
            return None
        raw = np.ascontiguousarray(query, dtype=np.float32).tobytes()
        for kept in reversed(self._ranges):
            scope = kept.scope
            if kept.vector != raw or not (
                scope is None or scope is mask or (mask is not None and not np.greater(mask, scope).any())
            ):
                continue
            # every vector visited within the scope: the search's own candidates, however few; else those above the
            # floor, which hold the search's k best only when there are k of them
            found, similar = kept.scanned if kept.scanned is not None else (kept.ids, kept.scores)
            if mask is not None and mask is not scope:
                inside = np.flatnonzero(mask[found])
                found, similar = found[inside], similar[inside]
            if len(found) < k and kept.scanned is None:
                continue
            if len(found) > k > 0:  # (tens of thousands for a broad question: only those tied with the k-th or above)
                best = similar >= np.partition(similar, len(similar) - k)[len(similar) - k]
                found, similar = found[best], similar[best]
            order = np.lexsort((-found, -similar))[:k]  # (FAISS's own order: ties, the larger id first)
            return found[order], similar[order]
        return None

    def range_search(
        self, query_vector: np.ndarray, floor: float, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """`at_least`, searched."""
        index: Any = self.index
        params: Any
        if isinstance(index, faiss.IndexIVF):
            params = faiss.SearchParametersIVF()
            params.nprobe = index.nprobe
        elif isinstance(index, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = index.hnsw.efSearch
        else:
            params = faiss.SearchParameters()
        bitmap = None
        if mask is not None:
            if not mask.any():
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            bitmap = self.bitmap_of(mask)
            params.sel = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        query = np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32)
        # a range search keeps scores above the radius: just below the floor, so the rule itself decides
        with single_thread():  # one question's search on one core, as the retriever's (threads cost more here)
            _limits, scores, ids = index.range_search(
                query, float(np.nextafter(np.float32(floor), np.float32(-1))), params=params
            )
        del bitmap
        return ids.astype(np.int64, copy=False), scores.astype(np.float32, copy=False)

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sentence ids and cosine similarities of the `k` nearest sentences (within `mask`); read from a kept range
        search when one holds them (`from_ranges`)."""
        served = self.from_ranges(query, k, mask) if k > 0 else None
        if served is not None:
            return served
        params: Any = None  # faiss's SearchParameters kinds (the SWIG stubs do not know their keywords)
        if mask is not None:
            allowed = int(mask.sum())
            if allowed == 0:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            k = min(k, allowed)
            bitmap = self.bitmap_of(mask)
            selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))  # bitmap, selector live to the end
            if isinstance(self.index, faiss.IndexHNSW):
                params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
                params.sel = selector
                params.efSearch = self.index.hnsw.efSearch
            elif isinstance(self.index, faiss.IndexIVF):
                params = faiss.SearchParametersIVF()
                params.sel = selector
                params.nprobe = self.index.nprobe
            else:
                params = faiss.SearchParameters()
                params.sel = selector
        k = min(k, self.size)
        with single_thread():
            scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)
