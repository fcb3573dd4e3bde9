"""Haystack component: the sentence multivector of embedded passage Documents."""

from __future__ import annotations

from dataclasses import replace

from haystack import Document, component

# Meta keys: the chunker's (start, end) of each sentence in the passage text, and the multivector added here.
SENTENCE_SPANS = "sentences"
SENTENCE_VECTORS = "sentence_vectors"


@component
class SentenceEmbedder:
    """Adds each passage's multivector: its own embedding, then the embedding of each of its sentences alone."""

    def __init__(self, embedder):
        self.embedder = embedder  # a document embedder with the passage prefix and no meta fields in front

    def warm_up(self) -> None:
        self.embedder.warm_up()

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        spans = [doc.meta.get(SENTENCE_SPANS) or [] for doc in documents]
        pieces = [Document(content=doc.content[a:b]) for doc, ss in zip(documents, spans) for a, b in ss]
        vectors = iter(d.embedding for d in self.embedder.run(documents=pieces)["documents"]) if pieces else iter(())
        out = []
        for doc, ss in zip(documents, spans):
            if doc.embedding is None:
                raise ValueError(f"passage {doc.id} reached the sentence embedder without its own embedding")
            multi = [doc.embedding] + [next(vectors) for _ in ss]
            out.append(replace(doc, meta={**doc.meta, SENTENCE_VECTORS: multi}))
        return {"documents": out}
