"""Haystack component: BM25 sparse vectors for passage Documents."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from haystack import Document, component, default_to_dict
from haystack.dataclasses import SparseEmbedding

from kmh.embedding import embed_text_of
from kmh.sparse import Bm25Encoder


@component
class Bm25DocumentEncoder:
    """Adds a BM25 sparse embedding, stemmed in the passage's language, over the same text the dense model sees."""

    def __init__(self, encoder: Bm25Encoder | None = None):
        self.encoder = encoder or Bm25Encoder()

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        out = []
        for doc in documents:
            vec = self.encoder.encode_document(embed_text_of(doc.content or "", doc.meta), doc.meta.get("language"))
            out.append(replace(doc, sparse_embedding=SparseEmbedding(indices=list(vec.indices), values=list(vec.values))))
        return {"documents": out}

    def to_dict(self) -> dict[str, Any]:
        e = self.encoder
        return default_to_dict(self, encoder={"k1": e.k1, "b": e.b, "avg_len": e.avg_len})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bm25DocumentEncoder:
        return cls(Bm25Encoder(**data.get("init_parameters", {}).get("encoder", {})))
