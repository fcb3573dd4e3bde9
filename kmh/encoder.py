"""e5's token states for batches of texts, the one forward pass that passage and sentence vectors are pooled from.

Two backends (the graph exported by kmh.modelkit, token states out):
- "openvino": OpenVINO on the CPU (kmh.modelfiles.OPENVINO_FILE, half-precision weights mapped from the file), in
  bfloat16 where the CPU has the instructions (AVX-512 BF16, AMX), float32 otherwise. On two Zen 4 cores it reads
  1.8x as many tokens per second as PyTorch in float32, with vectors at cosine > 0.9999 of float32's
  (bench/kernels.py, docs/benchmarks.md).
- "torch": PyTorch in float32 through transformers, the reference.

Texts are sorted by length and cut into batches of at most ``batch_tokens`` padded tokens, so short texts are
not padded to the longest of a mixed batch; results come back in the caller's order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kmh.modelfiles import OPENVINO_FILE

Backend = Literal["openvino", "torch"]
Precision = Literal["auto", "bf16", "f32"]


class EncoderError(RuntimeError):
    """The encoder cannot run as asked (model files missing, precision the CPU lacks)."""


@dataclass(frozen=True)
class Encoded:
    """One text's token states (tokens x dim, float32) and each token's (start, end) in the text; special tokens
    have (0, 0)."""

    states: np.ndarray
    offsets: np.ndarray


def mean_vector(states: np.ndarray) -> np.ndarray:
    """Mean of all the token states, L2-normalised: sentence-transformers' mean pooling of e5."""
    v = states.mean(axis=0)
    return v / (np.linalg.norm(v) or 1.0)


def span_vectors(enc: Encoded, spans: list[tuple[int, int]]) -> list[np.ndarray | None]:
    """For each character span of the text, the normalised mean of the states of the tokens inside it (late
    chunking); None for a span none of whose tokens survived truncation."""
    starts, ends = enc.offsets[:, 0], enc.offsets[:, 1]
    real = ends > starts  # special tokens have an empty span
    csum = np.concatenate([np.zeros((1, enc.states.shape[1]), np.float64), np.cumsum(enc.states, 0, dtype=np.float64)])
    out: list[np.ndarray | None] = []
    for a, b in spans:
        inside = np.flatnonzero(real & (ends > a) & (starts < b))
        if inside.size == 0:
            out.append(None)
            continue
        i, j = int(inside[0]), int(inside[-1]) + 1  # tokens are in text order: the span is contiguous
        v = (csum[j] - csum[i]) / (j - i)
        out.append((v / (np.linalg.norm(v) or 1.0)).astype(np.float32))
    return out


def load_tokenizer(model_dir: Path, max_tokens: int = 512):
    """The model's fast tokenizer, truncating at ``max_tokens``, no padding (the batch pads)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tokenizer.enable_truncation(max_tokens)
    tokenizer.no_padding()
    return tokenizer


class TokenEncoder:
    """Token states of texts; the model loads in warm_up()."""

    def __init__(self, model_dir: Path | str, *, backend: Backend = "openvino", precision: Precision = "auto",
                 threads: int | None = None, max_tokens: int = 512, batch_tokens: int = 4096):
        self.model_dir = Path(model_dir)
        self.backend = backend
        self.precision = precision
        self.threads = threads
        self.max_tokens = max_tokens
        self.batch_tokens = batch_tokens
        self.used_precision: str | None = None  # what runs, once warmed up
        self._tokenizer = None
        self._run = None
        self._lock = threading.Lock()  # one inference at a time: the server's job worker and a CLI share it

    # ---------------------------------------------------------------- loading

    def warm_up(self) -> None:
        with self._lock:
            if self._run is None:
                self._load()

    def _load(self) -> None:
        self._tokenizer = load_tokenizer(self.model_dir, self.max_tokens)
        self._run = self._openvino() if self.backend == "openvino" else self._torch()

    def _openvino(self):
        import openvino as ov

        path = self.model_dir / OPENVINO_FILE
        if not path.exists():
            raise EncoderError(f"no exported encoder at {path}; run `make setup` or `kmh setup-models`")
        core = ov.Core()
        has_bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        precision = self.precision if self.precision != "auto" else ("bf16" if has_bf16 else "f32")
        if precision == "bf16" and not has_bf16:
            raise EncoderError("KMH_DOCUMENT_PRECISION=bf16 but this CPU has no bfloat16 instructions; use auto or f32")
        model = core.read_model(str(path))
        config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = self.threads
        request = core.compile_model(model, "CPU", config).create_infer_request()
        self.used_precision = precision

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return request.infer({"input_ids": ids, "attention_mask": mask})[0]

        return run

    def _torch(self):
        import torch
        from transformers import AutoModel

        if self.precision == "bf16":
            raise EncoderError("the torch document backend runs in float32 only; use KMH_DOCUMENT_BACKEND=openvino")
        model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).eval()
        self.used_precision = "f32"

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)) \
                    .last_hidden_state.numpy()

        return run

    # ---------------------------------------------------------------- encoding

    def count_tokens(self, texts: list[str]) -> list[int]:
        self.warm_up()
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str]) -> list[Encoded]:
        """Token states of each text (truncated to ``max_tokens``), in the order given."""
        self.warm_up()
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out: list[Encoded | None] = [None] * len(texts)
        for batch in self._batches(order, [len(e.ids) for e in encodings]):
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), np.int64)  # <pad> of XLM-R is 1, but masked positions never count
            mask = np.zeros((len(batch), width), np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            with self._lock:
                states = self._run(ids, mask)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                out[i] = Encoded(np.ascontiguousarray(states[row, :n], dtype=np.float32),
                                 np.asarray(encodings[i].offsets, np.int64).reshape(-1, 2))
        return out  # type: ignore[return-value]

    def _batches(self, order: list[int], lengths: list[int]):
        batch: list[int] = []
        for i in order:  # ascending length: the last text of a batch is its widest
            if batch and (len(batch) + 1) * lengths[i] > self.batch_tokens:
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def embed(self, texts: list[str]) -> list[np.ndarray]:
        """Mean-pooled, normalised vectors of whole texts."""
        return [mean_vector(e.states) for e in self.encode(texts)]
