"""Data passed between ingestion stages, and what ingesting a file answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

BlockKind = Literal["title", "text", "list_item", "table"]
Status = Literal["new", "updated", "unchanged", "failed"]
Progress = Callable[[str, int, int], None]  # (stage, done, total)


class IngestError(Exception):
    """A file could not be ingested; the message names the reason, ``path`` the file."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class UnknownRecording(LookupError):
    """No published recording with this document id."""

    def __init__(self, doc_id: str):
        super().__init__(f"no recording with id {doc_id!r}")
        self.doc_id = doc_id


@dataclass
class FileResult:
    """What ingesting one file did: ``status``, the document (``doc_id``, ``title``), its passages, why not."""

    path: Path
    status: Status
    doc_id: str | None = None
    title: str | None = None
    passages: int = 0
    reason: str | None = None
    # What went wrong beside the document itself, which was ingested: an edition_of naming no document, pages
    # whose OCR was too poor to index (one line each).
    notes: list[str] = field(default_factory=list)


@dataclass
class Upload:
    """A file published through the API: its document id (reserved at upload, or the document it updates), the
    name it was uploaded under and the metadata given with it (validated sidecar-style fields; they win over
    what is inferred from the text). ``key``: where it comes from, when not an upload (a crawled page:
    ``url:<its URL>``)."""

    doc_id: str
    filename: str
    meta: dict[str, Any] = field(default_factory=dict)
    key: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.meta.get("published"), str):  # as kept in the job (JSON)
            self.meta["published"] = date.fromisoformat(self.meta["published"])
            self.meta.setdefault("published_precision", "day")

    @property
    def source_key(self) -> str:
        return self.key or f"upload:{self.doc_id}"


@dataclass
class Block:
    """One structural element of a parsed file, in reading order."""

    text: str
    kind: BlockKind = "text"
    # 1-based page (PDF) or slide (PPTX) number; None for formats without pages.
    page: int | None = None
    # Heading level for titles: 1 is the top level. Ignored for other kinds.
    level: int = 1
    # Read by OCR from a scanned page: the page's mean word confidence, 0-100; None for a text layer.
    ocr: float | None = None


@dataclass
class DocMeta:
    """Descriptive metadata of a document, from its sidecar or inferred from its content."""

    title: str | None = None
    doc_type: str = "other"
    language: str | None = None  # ISO 639-1: "fr", "en", ...
    published: date | None = None  # the first day of the period given (a year, a month or a day)
    published_precision: str | None = None  # "year", "month" or "day" (None: day); kmh.dates
    countries: list[str] = field(default_factory=list)
    programme: str | None = None
    source_url: str | None = None
    source: str | None = None  # free-text citation of the publisher, e.g. "OIM Sénégal, communiqué"
    edition_of: str | None = None  # the sidecar's file name of another language edition (ingest.editions)
    # Which fields came from the sidecar (or the upload), and which were inferred from the file (ingest.metadata).
    from_sidecar: set[str] = field(default_factory=set)
    inferred: set[str] = field(default_factory=set)


@dataclass
class ParsedDocument:
    """A file turned into ordered blocks plus metadata. ``blocks`` is never empty."""

    path: Path
    format: str  # pdf, docx, pptx, html, md, txt
    mime: str
    blocks: list[Block]
    meta: DocMeta
    page_count: int | None = None
    # The file's own metadata (PDF Info/XMP, DOCX/PPTX core properties, HTML <title>/<meta>): text values under
    # the keys of ingest.parsers.properties ("title", "created", "published", ...).
    properties: dict[str, str] = field(default_factory=dict)
    # Pages left out, and why: "page 3: OCR confidence 41% < 70%, not indexed".
    notes: list[str] = field(default_factory=list)
