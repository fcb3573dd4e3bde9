"""Haystack component: write embedded passage Documents into the vector store."""

from __future__ import annotations

from typing import Any

from haystack import Document, component, default_to_dict

from ingest.components.sentences import SENTENCE_SPANS, SENTENCE_VECTORS
from kmh.catalog import PassageCheckRecord, passage_check
from kmh.store import SparseVector, StoredPassage, VectorStore
from kmh.store.base import SPANS_FIELD

# Meta used by ingestion only, not stored in the payload as is.
NOT_IN_PAYLOAD = (SENTENCE_SPANS, SENTENCE_VECTORS)


@component
class PassageWriter:
    """Upserts Documents (dense + sparse embedding, the sentence multivector if any, meta and text as payload).

    Its ``checks`` are those of the passages written (kmh.catalog.checks: a sketch of the dense vector as written,
    a digest of the text), which the catalog keeps so that `kmh check` can tell a damaged passage."""

    def __init__(self, store: VectorStore):
        self.store = store

    @component.output_types(written=int, checks=list[PassageCheckRecord])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        points, checks = [], []
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
            checks.append(passage_check(doc.id, doc.meta["doc_id"], doc.meta["doc_version"], doc.embedding,
                                        doc.content))
        if points:
            self.store.upsert(points)
        return {"written": len(points), "checks": checks}

    def to_dict(self) -> dict[str, Any]:
        """The store it writes to, by type: an open store is handed to the writer, not made from a dictionary."""
        return default_to_dict(self, store=f"{type(self.store).__module__}.{type(self.store).__qualname__}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PassageWriter:
        raise TypeError("a PassageWriter writes to an open VectorStore: build it with PassageWriter(store)")
