"""The vector cache on its own: what it keeps, what it drops, and that it never trusts a damaged chunk."""

from __future__ import annotations

import numpy as np

from qa_assistant.index.vector_cache import VectorCache, text_keys


class CountingEncoder:
    """Stands in for the model: a vector per text derived from its characters, and a count of what it encoded."""

    name, encoder, dimension = "counting", "torch", 4

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.encoded += texts
        return np.array([[len(t), sum(map(ord, t)) % 97, t.count(" "), 1.0] for t in texts], dtype=np.float32)


def test_only_unseen_texts_are_encoded_and_vectors_are_the_encoders(tmp_path):
    cache, model = VectorCache(tmp_path, "counting", "torch"), CountingEncoder()
    first, reused = cache.encode(model, ["a b", "c", "a b"])
    assert reused == 0 and model.encoded == ["a b", "c"]  # a repeated text is encoded once
    second, reused = cache.encode(model, ["c", "d e f", "lone \ud800 surrogate"])
    assert reused == 1 and model.encoded[2:] == ["d e f", "lone \ud800 surrogate"]
    assert np.array_equal(second[0], first[1]) and np.array_equal(
        second, CountingEncoder().encode(["c", "d e f", "lone \ud800 surrogate"])
    )


def test_a_damaged_chunk_is_dropped_and_its_texts_encoded_again(tmp_path):
    cache, model = VectorCache(tmp_path, "counting", "torch"), CountingEncoder()
    cache.encode(model, ["one two", "three"])
    (chunk,) = cache.directory.glob("chunk-*.npz")
    chunk.write_bytes(chunk.read_bytes()[:40])  # truncated
    vectors, reused = cache.encode(model, ["one two", "three"])
    assert reused == 0 and model.encoded[-2:] == ["one two", "three"]
    assert len(cache.load()[0]) == 2  # the texts are cached again, in a sound chunk
    assert np.array_equal(vectors, CountingEncoder().encode(["one two", "three"]))


def test_the_cache_is_compacted_when_most_of_it_is_dead(tmp_path):
    cache, model = VectorCache(tmp_path, "counting", "torch"), CountingEncoder()
    cache.encode(model, [f"old sentence {i}" for i in range(30)])
    cache.encode(model, ["new sentence", "old sentence 0"])
    cache.compact(["new sentence", *[f"old sentence {i}" for i in range(15)]])
    assert len(cache.load()[0]) == 31  # half of it is alive: nothing is rewritten
    cache.compact(["new sentence", "old sentence 0"] * 20)  # a text repeated is one vector
    keys, vectors = cache.load()
    assert len(keys) == len(vectors) == 2  # only the live vectors are kept
    assert model.encoded[-1] == "new sentence"
    fresh = np.empty((2, 4), dtype=np.float32)
    assert cache.fill(text_keys(["old sentence 0", "never seen"]), fresh).tolist() == [True, False]
    assert np.array_equal(fresh[0], CountingEncoder().encode(["old sentence 0"])[0])


def test_vectors_are_found_for_every_row_of_a_repeated_text_across_chunks(tmp_path):
    cache, model = VectorCache(tmp_path, "counting", "torch"), CountingEncoder()
    cache.encode(model, ["alpha", "beta"])
    cache.encode(model, ["gamma"])
    texts = ["gamma", "alpha", "delta", "alpha", "gamma", "beta"]
    vectors = np.zeros((len(texts), 4), dtype=np.float32)
    found = cache.fill(text_keys(texts), vectors)
    assert found.tolist() == [True, True, False, True, True, True]
    expected = CountingEncoder().encode(texts)
    assert np.array_equal(vectors[found], expected[found]) and not vectors[2].any()
