"""Haystack component: BM25 sparse vectors for passage Documents."""

from __future__ import annotations

from dataclasses import replace

from haystack import Document, component
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
