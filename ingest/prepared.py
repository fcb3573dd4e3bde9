"""A file prepared to become a new version of its document, and what the ingest pipeline made of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.components.chunker import PassageSource
from ingest.components.decisions import CarriedDecision
from ingest.components.transcripts import TranscriptSource
from ingest.model import IngestError, Upload

if TYPE_CHECKING:
    from kmh.catalog import DocumentRecord, PassageCheckRecord, RecordingRecord, TopicLinkRecord

# Fields whose change (from an edited sidecar) re-indexes an unchanged file.
META_FIELDS = ("title", "doc_type", "language", "published", "countries", "programme", "source_url", "source")


@dataclass
class Prepared:
    """A file checked against the catalog (new content, or new metadata) and ready for the pipeline."""

    path: Path
    data: bytes  # a document's bytes, kept at commit (a recording is copied from ``path`` instead)
    record: DocumentRecord  # the new version: id and version set; original_path and passage_count come at commit
    prior: DocumentRecord | None  # the document this file updates
    source: PassageSource | TranscriptSource  # what the pipeline cuts into passages
    expected_passages: int  # about how many the chunkers will make: batches are cut on it before they run
    recording: RecordingRecord | None = None  # for recordings (its doc_id is filled at commit)
    upload: Upload | None = None  # for a file published through the API
    carried: list[CarriedDecision] = field(default_factory=list)  # organisers' decisions on the prior version


@dataclass
class Indexed:
    """What the pipeline made of one Prepared file: its passages written (with their checks), the topics suggested
    for them and the decisions carried to them; or why it has none (``error``)."""

    passages: int = 0
    suggestions: list[tuple[str, str, float]] = field(default_factory=list)  # (passage_id, topic_id, score)
    decisions: list[TopicLinkRecord] = field(default_factory=list)
    checks: list[PassageCheckRecord] = field(default_factory=list)
    error: IngestError | None = None


def passage_meta(record: DocumentRecord, status: str, title: str | None = None) -> dict[str, Any]:
    """The payload every passage of ``record``'s version carries: its document's filterable fields. ``title`` is
    what is embedded in front of each passage (a recording of a seminar: the seminar's title)."""
    return {
        "doc_id": record.id,
        "doc_version": record.version,
        # the kept original the passages come from: `kmh check --repair` rebuilds a lost catalog from it
        "sha256": record.sha256,
        "title": title if title is not None else record.title,
        "filename": record.filename,
        "doc_type": record.doc_type,
        "language": record.language,
        "countries": list(record.countries),
        "programme": record.programme,
        "published": record.published_text,
        "year": record.published.year if record.published else None,
        "source_url": record.source_url,
        "status": status,
    }
