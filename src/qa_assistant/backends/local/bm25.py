"""Sparse retrieval: bm25s over our own tokens, saved as plain npy/json files.

bm25s scores queries from a matrix of precomputed BM25 weights (one column per token, Lucene variant). We fill that
matrix from a table of token counts in a few vectorized steps (`BM25Index.from_counts`, the same weights as
`bm25s.BM25.index`, tested against it), so an index over a million sentences is made in seconds once their tokens
are known, and an incremental rebuild re-tokenizes only new sentences (`TokenTable`, kept in the index).
"""

from __future__ import annotations

import bisect
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import scipy.sparse as sp

from qa_assistant.backends.local.pages import touch_pages
from qa_assistant.text.tokens import tokenize

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG

BM25_METHOD = "lucene"
BM25_K1 = 1.5
BM25_B = 0.75
# (`holds_any`) a unit looked up in a postings list by binary search costs about as much as flagging 12 postings;
# clearing the table of every unit's flags, as flagging one posting per 200 units (measured at 1.1 M sentences)
LOOKUP_COST = 12
TABLE_COST = 200
RARE_POSTINGS = 512  # (`holds_any`) tokens with at most this many postings are looked up as one sorted list


class BM25Index:
    def __init__(self, model: bm25s.BM25):
        self._sorted_vocab: list[str] | None = None  # the vocabulary in order, made on first use
        self.model = model

    @classmethod
    def from_counts(cls, counts: sp.csr_matrix, vocab: list[str]) -> BM25Index:
        """The index of units whose token counts are the rows of `counts` (columns: `vocab`), with bm25s's Lucene
        weights: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf / (tf + k1 (1 - b + b |d| / avg |d|))."""
        counts = sp.csr_matrix(counts, dtype=np.float64)
        n = counts.shape[0]
        df = np.diff(sp.csc_matrix(counts).indptr)
        used = np.flatnonzero(df > 0)  # tokens of no unit are left out of the vocabulary
        counts = sp.csr_matrix(counts[:, used])
        df = df[used]
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        average = float(lengths.mean()) if n else 0.0
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        rows = np.repeat(np.arange(n), np.diff(counts.indptr))
        tf = counts.data
        norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths[rows] / (average or 1.0))
        weights = sp.csr_matrix(
            (idf[counts.indices] * tf / (norm + tf), counts.indices, counts.indptr), shape=counts.shape
        )
        matrix = sp.csc_matrix(weights, dtype=np.float32)
        matrix.sort_indices()
        model = bm25s.BM25(method=BM25_METHOD, k1=BM25_K1, b=BM25_B)
        model.scores = {
            "data": matrix.data.astype(np.float32),
            "indices": matrix.indices.astype(np.int32),
            "indptr": matrix.indptr.astype(np.int32 if matrix.nnz < 2**31 else np.int64),
            "num_docs": n,
        }
        words = [vocab[i] for i in used.tolist()]
        model.vocab_dict = {word: i for i, word in enumerate(words)}
        model.vocab_dict.setdefault("", len(words))  # as bm25s: an empty token after the others
        model.unique_token_ids_set = set(model.vocab_dict.values())
        model.nonoccurrence_array = None  # (only bm25l and bm25+ use it)
        return cls(model)

    def holding(self, tokens: Sequence[str], mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the units (within `mask`) holding every one of `tokens`, and their BM25 score for those tokens."""
        vocab, scores = self.model.vocab_dict, self.model.scores
        found: np.ndarray | None = None
        weight = np.empty(0, dtype=np.float32)
        for word in tokens:
            at = vocab.get(word)
            if at is None:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            lo, hi = int(scores["indptr"][at]), int(scores["indptr"][at + 1])
            units = scores["indices"][lo:hi]  # (as stored: intersected before any copy)
            weights = np.asarray(scores["data"][lo:hi], dtype=np.float32)
            if found is None:  # (within `mask` from the first token on: the next are looked up for those only)
                inside = np.flatnonzero(mask[units]) if mask is not None else slice(None)
                found, weight = units[inside], weights[inside]
                continue
            found, weight = _common(found, weight, units, weights)
        if found is None:
            return np.empty(0, dtype=np.int64), weight
        return found.astype(np.int64), weight

    def holds_any(self, tokens: Sequence[str], units: np.ndarray) -> np.ndarray:
        """Whether each of `units` holds at least one of `tokens`: a flag per unit of `units`. Few units against the
        tokens' postings (a side's statements against a common word's): each looked up in each token's sorted
        postings by binary search; else the postings are flagged in a table of every unit, read at `units`."""
        vocab, scores = self.model.vocab_dict, self.model.scores
        indptr, indices = scores["indptr"], scores["indices"]
        columns = [
            (int(indptr[at]), int(indptr[at + 1])) for at in (vocab.get(word) for word in tokens) if at is not None
        ]
        postings = sum(hi - lo for lo, hi in columns)
        units = np.asarray(units, dtype=np.int64)
        if not postings or not len(units):
            return np.zeros(len(units), dtype=bool)
        if len(units) * len(columns) * LOOKUP_COST < postings + self.units // TABLE_COST:
            wanted = units.astype(indices.dtype)  # (the postings' own type: no converted copy of them)
            holds = np.zeros(len(units), dtype=bool)
            # each lookup is a few numpy calls: the rare tokens' postings (most forms of a word) looked up together
            lists = [indices[lo:hi] for lo, hi in columns if hi - lo > RARE_POSTINGS]
            rare = [indices[lo:hi] for lo, hi in columns if 0 < hi - lo <= RARE_POSTINGS]
            if rare:
                lists.append(np.sort(np.concatenate(rare)))
            for postings_list in lists:
                holds |= _look_up(postings_list, wanted)[1]
            return holds
        flags = np.zeros(self.units, dtype=bool)
        for lo, hi in columns:
            flags[indices[lo:hi]] = True
        return flags[units]

    def tokens_starting(self, prefix: str) -> list[str]:
        """The tokens of the vocabulary that start with `prefix`, in order."""
        if self._sorted_vocab is None:
            self._sorted_vocab = sorted(self.model.vocab_dict)
        words = self._sorted_vocab
        return words[bisect.bisect_left(words, prefix) : bisect.bisect_left(words, prefix + "\U0010ffff")]

    @property
    def size(self) -> int | None:
        """The number of units indexed, as its score arrays record it (None: not recorded)."""
        count = getattr(self.model, "scores", {}).get("num_docs")
        return None if count is None else int(count)

    def save(self, directory: Path) -> None:
        self.model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> BM25Index:
        """Read a saved index; with `mmap` its score arrays (npy) stay on disk, mapped read-only, paged in on use."""
        return cls(bm25s.BM25.load(str(directory), mmap=mmap))

    def warm(self) -> int:
        """Read every page of the mapped score arrays once (their bytes): questions then find them in memory
        instead of reading each word's postings from disk the first time it is asked."""
        touched = 0
        for name in ("data", "indices", "indptr"):
            array = self.model.scores.get(name)
            if isinstance(array, np.ndarray) and array.size:
                touch_pages(array)
                touched += array.nbytes
        return touched

    def scores(self, question: str) -> np.ndarray | None:
        """The BM25 score of every unit for `question`; None when no query token is in the vocabulary."""
        vocab = self.model.vocab_dict
        tokens = [t for t in tokenize(question, query=True) if t in vocab]
        if not tokens:
            return None
        return self.model.get_scores(tokens)

    def has_tokens(self, tokens: Sequence[str], mask: np.ndarray | None = None) -> bool:
        """Whether every one of `tokens` occurs in some unit where `mask` is true (not necessarily the same; no
        mask: in any unit)."""
        vocab, scores = self.model.vocab_dict, self.model.scores
        for token in tokens:
            at = vocab.get(token)
            if at is None:
                return False
            if mask is None:
                continue
            units = scores["indices"][scores["indptr"][at] : scores["indptr"][at + 1]]
            if not mask[units].any():
                return False
        return True

    @property
    def units(self) -> int:
        """How many units (sentences) the index holds."""
        return int(self.model.scores["num_docs"])

    def unit_frequency(self, token: str) -> int:
        """How many units hold `token` (0 when none does): the length of its column of BM25 weights."""
        at = self.model.vocab_dict.get(token)
        if at is None or at + 1 >= len(self.model.scores["indptr"]):
            return 0
        indptr = self.model.scores["indptr"]
        return int(indptr[at + 1] - indptr[at])

    def token_counts(self) -> dict[str, int]:
        """How many units hold each token of the vocabulary."""
        indptr = np.asarray(self.model.scores["indptr"])
        held = np.diff(indptr)
        return {token: int(held[at]) for token, at in self.model.vocab_dict.items() if at + 1 < len(indptr)}

    def units_holding(self, token: str, limit: int) -> np.ndarray:
        """The first `limit` units (in index order) that hold `token`."""
        at = self.model.vocab_dict.get(token)
        indptr = self.model.scores["indptr"]
        if at is None or at + 1 >= len(indptr):
            return np.empty(0, dtype=np.int64)
        start = int(indptr[at])
        return np.asarray(self.model.scores["indices"][start : min(int(indptr[at + 1]), start + limit)], dtype=np.int64)


def _common(
    ids: np.ndarray, weights: np.ndarray, other_ids: np.ndarray, other_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ids in both sorted, distinct id lists (a token's postings are stored sorted: `from_counts`), each with
    the sum of its two weights: the shorter list looked up in the longer by binary search (no sort of both)."""
    if len(ids) > len(other_ids):
        ids, weights, other_ids, other_weights = other_ids, other_weights, ids, weights
    at, both = _look_up(other_ids, ids)
    return ids[both], weights[both] + other_weights[at[both]]


def _look_up(sorted_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `wanted` is in `sorted_ids` (sorted; binary search) and whether it is there at all."""
    if not len(sorted_ids):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    return at, sorted_ids[at] == wanted


def top_k(scores: np.ndarray | None, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ids and scores of the `k` best positive `scores` (within `mask`), best first, ties by id."""
    if scores is None or len(scores) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    scored = scores > 0
    if mask is not None:
        scored &= mask
    top = np.flatnonzero(scored)  # (a question's words are in a small part of a large collection's sentences)
    if len(top) > k > 0:
        kept = scores[top]
        kth = np.partition(kept, len(kept) - k)[len(kept) - k]  # the k-th best score: every sentence tied with it
        top = top[kept >= kth]
    top = top[np.lexsort((top, -scores[top]))][: max(k, 0)]  # by score, ties by sentence id
    return top.astype(np.int64), scores[top].astype(np.float32)


@dataclass
class TokenTable:
    """The BM25 tokens of each unit, as token ids into `vocab`: those of unit i are ids[indptr[i]:indptr[i + 1]]."""

    indptr: np.ndarray
    ids: np.ndarray
    vocab: list[str]

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def of(cls, texts: list[str]) -> TokenTable:
        vocab: dict[str, int] = {}
        ids: list[int] = []
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        for i, text in enumerate(texts):
            tokens = tokenize(text)
            ids.extend(vocab.setdefault(t, len(vocab)) for t in tokens)
            indptr[i + 1] = len(ids)
        return cls(indptr, np.asarray(ids, dtype=np.int32), list(vocab))

    def counts(self) -> sp.csr_matrix:
        """Units x tokens: how often each token occurs in each unit."""
        rows = np.repeat(np.arange(len(self)), np.diff(self.indptr))
        ones = np.ones(len(self.ids), dtype=np.float64)
        shape = (len(self), len(self.vocab))
        return sp.csr_matrix(sp.coo_matrix((ones, (rows, self.ids)), shape=shape))

    def rows(self, take: np.ndarray) -> TokenTable:
        """The units `take`, in that order, over the same vocabulary."""
        lengths = np.diff(self.indptr)[take]
        indptr = np.zeros(len(take) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        starts = self.indptr[take]
        positions = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return TokenTable(indptr, self.ids[positions], self.vocab)

    @staticmethod
    def merge(parts: list[tuple[TokenTable, np.ndarray]], n: int) -> TokenTable:
        """One table of `n` units from parts, each (table, the unit numbers its rows go to)."""
        vocab: dict[str, int] = {}
        lengths = np.zeros(n, dtype=np.int64)
        for table, where in parts:
            lengths[where] = np.diff(table.indptr)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        ids = np.empty(int(indptr[-1]), dtype=np.int32)
        for table, where in parts:
            remap = np.array([vocab.setdefault(w, len(vocab)) for w in table.vocab], dtype=np.int32)
            targets = np.repeat(indptr[where], np.diff(table.indptr)) + (
                np.arange(len(table.ids)) - np.repeat(table.indptr[:-1], np.diff(table.indptr))
            )
            ids[targets] = remap[table.ids] if len(remap) else table.ids
        return TokenTable(indptr, ids, list(vocab))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "token_indptr.npy", self.indptr)
        np.save(directory / "token_ids.npy", self.ids)
        (directory / "token_vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TokenTable | None:
        """The table saved in `directory`; None when there is none (an index built before tables were kept)."""
        if not (directory / "token_ids.npy").exists():
            return None
        indptr = np.load(directory / "token_indptr.npy", allow_pickle=False)
        ids = np.load(directory / "token_ids.npy", allow_pickle=False)
        vocab = json.loads((directory / "token_vocab.json").read_text(encoding="utf-8"))
        if indptr.ndim != 1 or ids.ndim != 1 or not isinstance(vocab, list) or indptr[-1] != len(ids):
            raise ValueError("token table arrays do not agree")
        if len(ids) and (ids.min() < 0 or ids.max() >= len(vocab)):
            raise ValueError("token ids out of the vocabulary")
        return cls(indptr, ids, vocab)


def neighbour_sums(counts: sp.csr_matrix, first: np.ndarray, last: np.ndarray) -> sp.csr_matrix:
    """Row i = the sum of rows first[i]..last[i] of `counts` (a sentence with its neighbours)."""
    n = counts.shape[0]
    width = last - first + 1
    rows = np.repeat(np.arange(n), width)
    cols = np.repeat(first, width) + (np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width))
    window = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return sp.csr_matrix(window @ counts)
