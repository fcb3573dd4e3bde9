"""Haystack component: write embedded passage Documents into the vector store."""

from __future__ import annotations

from haystack import Document, component

from ingest.components.sentences import SENTENCE_SPANS, SENTENCE_VECTORS
from kmh.store import SparseVector, StoredPassage, VectorStore
from kmh.store.base import SPANS_FIELD

# Meta used by ingestion only, not stored in the payload as is.
NOT_IN_PAYLOAD = (SENTENCE_SPANS, SENTENCE_VECTORS)


@component
class PassageWriter:
    """Upserts Documents (dense + sparse embedding, the sentence multivector if any, meta and text as payload)."""

    def __init__(self, store: VectorStore):
        self.store = store

    @component.output_types(written=int)
    def run(self, documents: list[Document]) -> dict[str, int]:
        points = []
        for doc in documents:
            if doc.embedding is None or doc.sparse_embedding is None:
                raise ValueError(f"passage {doc.id} reached the writer without its embeddings")
            points.append(
                StoredPassage(
                    id=doc.id,
                    dense=doc.embedding,
                    sparse=SparseVector(doc.sparse_embedding.indices, doc.sparse_embedding.values),
                    payload={**{k: v for k, v in doc.meta.items() if k not in NOT_IN_PAYLOAD}, "text": doc.content,
                             SPANS_FIELD: [int(x) for span in doc.meta.get(SENTENCE_SPANS) or () for x in span]},
                    sentences=doc.meta.get(SENTENCE_VECTORS),
                )
            )
        if points:
            self.store.upsert(points)
        return {"written": len(points)}
