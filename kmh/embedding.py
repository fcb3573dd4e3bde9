"""Haystack embedders for the e5 model kit, loaded by path (never from a hub).

The document and the text embedder are built with identical backend arguments, so
Haystack's backend factory gives them one shared SentenceTransformer in memory.
"""

from __future__ import annotations

from pathlib import Path

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


def document_embedder(settings: Settings, progress_bar: bool = False):
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
    )

    return SentenceTransformersDocumentEmbedder(
        **_backend_args(settings),
        prefix=settings.passage_prefix,
        batch_size=settings.embed_batch_size,
        progress_bar=progress_bar,
        meta_fields_to_embed=META_FIELDS_TO_EMBED,
        embedding_separator="\n",
    )


def text_embedder(settings: Settings):
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersTextEmbedder,
    )

    return SentenceTransformersTextEmbedder(**_backend_args(settings), prefix=settings.query_prefix, progress_bar=False)


def embed_text_of(content: str, meta: dict) -> str:
    """The exact string (without the prefix) the document embedder sees for a passage."""
    parts = [str(meta[f]) for f in META_FIELDS_TO_EMBED if meta.get(f) is not None]
    return "\n".join([*parts, content])


def configure_torch(settings: Settings) -> None:
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
