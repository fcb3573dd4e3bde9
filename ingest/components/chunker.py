"""Haystack component: parsed document -> passage Documents with citation metadata."""

from __future__ import annotations

import time
from typing import Any

from haystack import Document, component

from ingest.chunking import Chunker, ChunkingTimeout
from ingest.components.sentences import SENTENCE_SPANS
from ingest.model import IngestError, ParsedDocument
from kmh.ids import passage_id



@component
class PassageChunker:
    """Cuts a ParsedDocument into passages; each becomes a Document whose meta cites it.

    Chunking runs in the calling process, after the parse worker: ``timeout_s`` (KMH_PARSE_TIMEOUT_S) bounds it too,
    and a document that runs over fails with an IngestError instead of holding the ingestion queue. Its memory is
    linear in the parsed text, which the worker's memory cap already bounds."""

    def __init__(self, min_words: int = 120, max_words: int = 250, overlap_words: int = 40,
                 timeout_s: float | None = None):
        self._chunker = Chunker(min_words, max_words, overlap_words)  # checks the arguments
        self.timeout_s = timeout_s

    @component.output_types(documents=list[Document], text=str)
    def run(self, parsed: ParsedDocument, doc_meta: dict[str, Any]) -> dict[str, Any]:
        """``doc_meta`` holds doc_id, doc_version and the document's filterable fields."""
        deadline = time.monotonic() + self.timeout_s if self.timeout_s else None
        try:
            text, passages = self._chunker.split(parsed.blocks, doc_meta.get("language"), deadline)
        except ChunkingTimeout:
            raise IngestError(parsed.path, f"parsing took longer than {self.timeout_s:g} s (KMH_PARSE_TIMEOUT_S): "
                                           "splitting the text into passages did not finish") from None
        docs = []
        for p in passages:
            meta = {
                **doc_meta,
                "kind": "document",
                "index": p.index,
                "page": p.page,
                "section": p.section,
                "section_path": p.section_path,
                "start": p.start,
                "end": p.end,
                SENTENCE_SPANS: p.sentences,
            }
            docs.append(Document(id=passage_id(doc_meta["doc_id"], doc_meta["doc_version"], p.index), content=p.text, meta=meta))
        return {"documents": docs, "text": text}
