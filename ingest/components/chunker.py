"""Haystack component: parsed documents -> passage Documents with citation metadata."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from haystack import Document, component

from ingest.chunking import Chunker, ChunkingTimeout
from ingest.components.sentences import SENTENCE_SPANS
from ingest.model import IngestError, ParsedDocument
from kmh.ids import passage_id


@dataclass
class PassageSource:
    """A parsed document to cut into passages, and the payload every passage of it carries (doc_id, doc_version and
    the document's filterable fields: ingest.prepared.passage_meta)."""

    parsed: ParsedDocument
    meta: dict[str, Any]


@component
class PassageChunker:
    """Cuts ParsedDocuments into passages; each becomes a Document whose meta cites it.

    Chunking runs in the calling process, after the parse worker: ``timeout_s`` (KMH_PARSE_TIMEOUT_S) bounds it too,
    and a document that runs over fails with an IngestError instead of holding the ingestion queue. Its memory is
    linear in the parsed text, which the worker's memory cap already bounds."""

    def __init__(self, min_words: int = 120, max_words: int = 250, overlap_words: int = 40,
                 timeout_s: float | None = None):
        self._chunker = Chunker(min_words, max_words, overlap_words)  # checks the arguments
        self.min_words = min_words
        self.max_words = max_words
        self.overlap_words = overlap_words
        self.timeout_s = timeout_s

    @component.output_types(documents=list[Document], failed=dict[str, IngestError])
    def run(self, sources: list[PassageSource]) -> dict[str, Any]:
        """The passages of every source, in order. A source that cannot be cut (past its deadline, or without text)
        gives none: its IngestError is in ``failed``, under its doc_id."""
        documents: list[Document] = []
        failed: dict[str, IngestError] = {}
        for source in sources:
            try:
                documents += self.passages(source.parsed, source.meta)
            except IngestError as exc:
                failed[source.meta["doc_id"]] = exc
        return {"documents": documents, "failed": failed}

    def passages(self, parsed: ParsedDocument, doc_meta: dict[str, Any]) -> list[Document]:
        """The passages of one document; raises IngestError past the deadline or when there is no text."""
        deadline = time.monotonic() + self.timeout_s if self.timeout_s else None
        try:
            _, passages = self._chunker.split(parsed.blocks, doc_meta.get("language"), deadline)
        except ChunkingTimeout:
            raise IngestError(parsed.path, f"parsing took longer than {self.timeout_s:g} s (KMH_PARSE_TIMEOUT_S): "
                                           "splitting the text into passages did not finish") from None
        if not passages:
            raise IngestError(parsed.path, "no text could be extracted")
        # Pages read by OCR: their passages carry the page's confidence (search shows "OCR text").
        ocr = {b.page: b.ocr for b in parsed.blocks if b.ocr is not None}
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
            if p.page in ocr:
                meta["ocr"] = ocr[p.page]
            docs.append(Document(id=passage_id(doc_meta["doc_id"], doc_meta["doc_version"], p.index), content=p.text,
                                 meta=meta))
        return docs
