"""The e5 model kit's encoders, loaded by path (never from a hub): the document encoder of ingestion
(kmh.encoder, one per process and configuration) and the query embedder (ONNX Runtime, or sentence-transformers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from haystack import component

from kmh.encoder import TokenEncoder, load_tokenizer, mean_vector
from kmh.modelfiles import ONNX_FILE
from kmh.settings import Settings

# Passages are embedded with their document title and section trail in front.
META_FIELDS_TO_EMBED = ["title", "section"]


class ModelMissingError(RuntimeError):
    """The model folder is absent: `make setup` (or `kmh setup-models`) has not been run."""


def _model_path(settings: Settings) -> str:
    path: Path = settings.embedding_model_path
    if not (path / "config.json").exists():
        raise ModelMissingError(f"embedding model not found at {path}; run `make setup` or `kmh setup-models`")
    return str(path)


def _backend_args(settings: Settings) -> dict:
    from haystack.utils import ComponentDevice

    return dict(
        model=_model_path(settings),
        device=ComponentDevice.from_str("cpu"),
        local_files_only=True,
        normalize_embeddings=True,
    )


_ENCODERS: dict[tuple, TokenEncoder] = {}  # one per configuration in a process, made on first use


def token_encoder(settings: Settings) -> TokenEncoder:
    """The document encoder of ingestion (kmh.encoder): token states that passage and sentence vectors pool. One
    per configuration and process, like Haystack's shared sentence-transformers backends: every indexer of the
    process (the server's jobs, each test's) uses the same loaded model."""
    key = (_model_path(settings), settings.document_backend, settings.document_precision, settings.torch_threads,
           settings.embed_batch_tokens)
    if key not in _ENCODERS:
        _ENCODERS[key] = TokenEncoder(key[0], backend=settings.document_backend,
                                      precision=settings.document_precision, threads=settings.torch_threads or None,
                                      batch_tokens=settings.embed_batch_tokens)
    return _ENCODERS[key]


def text_embedder(settings: Settings):
    """The query embedder: ONNX Runtime on the exported e5 model when present (about 3x faster), else PyTorch."""
    path = Path(_model_path(settings))
    if settings.query_backend == "onnx" and (path / ONNX_FILE).exists():
        return OnnxTextEmbedder(path, prefix=settings.query_prefix, threads=settings.torch_threads or None)
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersTextEmbedder,
    )

    return SentenceTransformersTextEmbedder(**_backend_args(settings), prefix=settings.query_prefix, progress_bar=False)


@component
class OnnxTextEmbedder:
    """Embeds one text with the e5 model exported to ONNX (token states out, mean-pooled and normalised here)."""

    def __init__(self, model_dir: Path | str, prefix: str = "query: ", threads: int | None = None,
                 max_tokens: int = 512):
        self.model_dir = Path(model_dir)
        if not (self.model_dir / ONNX_FILE).exists():
            raise ModelMissingError(f"no ONNX export at {self.model_dir / ONNX_FILE}; run `kmh setup-models`")
        self.prefix = prefix
        self.threads = threads
        self.max_tokens = max_tokens
        self._session = None
        self._tokenizer = None

    def warm_up(self) -> None:
        if self._session is not None:
            return
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            options.intra_op_num_threads = self.threads
        self._session = ort.InferenceSession(str(self.model_dir / ONNX_FILE), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = load_tokenizer(self.model_dir, self.max_tokens)

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, list[float]]:
        if self._session is None:
            self.warm_up()
        enc = self._tokenizer.encode(self.prefix + text.strip())
        ids = np.asarray([enc.ids], dtype=np.int64)
        mask = np.asarray([enc.attention_mask], dtype=np.int64)
        (states,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return {"embedding": mean_vector(states[0]).tolist()}


def embed_text_of(content: str, meta: dict) -> str:
    """The exact string (without the prefix) the document embedder sees for a passage."""
    parts = [str(meta[f]) for f in META_FIELDS_TO_EMBED if meta.get(f) is not None]
    return "\n".join([*parts, content])


def configure_torch(settings: Settings) -> None:
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
