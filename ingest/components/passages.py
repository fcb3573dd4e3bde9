"""Haystack component: passage vectors, and the sentence vectors of the sentence ranking, from one forward pass."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from haystack import Document, component, default_to_dict

from ingest.components.sentences import SENTENCE_SPANS, SENTENCE_VECTORS
from ingest.model import Progress
from kmh.embedding import embed_text_of
from kmh.encoder import TokenEncoder, mean_vector, span_vectors

SentenceMode = Literal["late", "separate"]
PROGRESS_STEP = 64  # passages embedded between two progress reports


def embed_text(doc: Document, prefix: str) -> tuple[str, int]:
    """The string the encoder reads for a passage (prefix, title, section, text) and where the text starts in it."""
    content = doc.content or ""
    text = prefix + embed_text_of(content, doc.meta)
    return text, len(text) - len(content)


@component
class PassageEmbedder:
    """Embeds passages: each passage's vector is the mean of its token states (as sentence-transformers pools e5).

    With sentences on, each passage also gets its multivector: its own vector, then one vector per sentence. "late"
    pools a sentence's tokens inside the passage's forward pass (late chunking: no second pass, and each sentence
    read in its context); "separate" encodes each sentence again on its own. A sentence cut off by the encoder's
    512-token window is encoded on its own in both modes.

    With a ``progress`` callback (stage, done, total), the passages are embedded PROGRESS_STEP at a time, each step
    reported as ("embedding", done, total) before it runs.
    """

    def __init__(self, encoder: TokenEncoder, prefix: str = "passage: ", sentences: SentenceMode | None = "late"):
        self.encoder = encoder
        self.prefix = prefix
        self.sentences = sentences

    def warm_up(self) -> None:
        self.encoder.warm_up()

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document], progress: Progress | None = None
            ) -> dict[str, list[Document]]:
        if progress is None:
            return {"documents": self._embed(documents)}
        out: list[Document] = []
        for start in range(0, len(documents), PROGRESS_STEP):
            progress("embedding", start, len(documents))
            out += self._embed(documents[start:start + PROGRESS_STEP])
        return {"documents": out}

    def _embed(self, documents: list[Document]) -> list[Document]:
        texts = [embed_text(doc, self.prefix) for doc in documents]
        encoded = self.encoder.encode([t for t, _ in texts])
        vectors = [mean_vector(e.states) for e in encoded]
        if not self.sentences:
            return [replace(doc, embedding=v.tolist()) for doc, v in zip(documents, vectors)]
        spans = [[(a, b) for a, b in doc.meta.get(SENTENCE_SPANS) or []] for doc in documents]
        per_doc: list[list[np.ndarray | None]] = []
        for doc, (_, start), enc, ss in zip(documents, texts, encoded, spans):
            if self.sentences == "late":
                per_doc.append(span_vectors(enc, [(start + a, start + b) for a, b in ss]))
            else:
                per_doc.append([None] * len(ss))
        alone = [(d, k) for d, vs in enumerate(per_doc) for k, v in enumerate(vs) if v is None]
        if alone:
            pieces = [self.prefix + documents[d].content[slice(*spans[d][k])] for d, k in alone]
            for (d, k), v in zip(alone, self.encoder.embed(pieces)):
                per_doc[d][k] = v
        out = []
        for doc, v, vs in zip(documents, vectors, per_doc):
            multi = [v.tolist()] + [s.tolist() for s in vs]
            out.append(replace(doc, embedding=multi[0], meta={**doc.meta, SENTENCE_VECTORS: multi}))
        return out

    def to_dict(self) -> dict[str, Any]:
        e = self.encoder
        return default_to_dict(self, prefix=self.prefix, sentences=self.sentences, encoder={
            "model_dir": str(e.model_dir), "backend": e.backend, "precision": e.precision, "threads": e.threads,
            "max_tokens": e.max_tokens, "batch_tokens": e.batch_tokens})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PassageEmbedder:
        params = dict(data.get("init_parameters", {}))
        encoder = dict(params.pop("encoder"))
        return cls(TokenEncoder(Path(encoder.pop("model_dir")), **encoder), **params)
