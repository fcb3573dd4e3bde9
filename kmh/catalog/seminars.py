"""The seminars' part of the catalog: seminars and their sessions, transcripts and recordings.

``SeminarsMixin`` adds these methods to ``Catalog``; like the rest of it they return plain dataclasses.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from .models import TRANSCRIPT_SOURCES, Document, Recording, Seminar, SeminarSession, Transcript, copy_row, utcnow
from .visibility import PUBLIC, Audience


@dataclass
class SessionRecord:
    number: int
    title: str
    description: str | None = None
    speakers: list[dict[str, Any]] = field(default_factory=list)
    recording_key: str | None = None
    start: float | None = None
    end: float | None = None


@dataclass
class SeminarRecord:
    id: str
    title: str
    manifest_sha256: str
    source_key: str
    title_en: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    languages: list[str] = field(default_factory=list)
    objectives: str | None = None
    format: str | None = None
    background: str | None = None
    related: list[str] = field(default_factory=list)
    sessions: list[SessionRecord] = field(default_factory=list)
    updated_at: datetime | None = None


@dataclass
class TranscriptRecord:
    media_sha256: str
    language: str
    source: str  # "captions" or "whisper"
    source_sha256: str
    cues: list[dict[str, Any]]
    id: int | None = None
    created_at: datetime | None = None


@dataclass
class RecordingRecord:
    doc_id: str
    language: str
    duration: float
    transcript_id: int
    seminar_id: str | None = None
    key: str | None = None
    has_video: bool = False


def _session_record(row: SeminarSession) -> SessionRecord:
    rec = copy_row(SessionRecord, row)
    rec.speakers = [dict(s) for s in rec.speakers or []]
    return rec


def _seminar_record(row: Seminar) -> SeminarRecord:
    rec = copy_row(SeminarRecord, row, sessions=[_session_record(s) for s in row.sessions])
    rec.languages = builtins.list(rec.languages or [])
    rec.related = builtins.list(rec.related or [])
    return rec


class SeminarsMixin:
    """Catalog methods of seminars, transcripts and recordings (mixed into ``Catalog``)."""

    def _write_recording(self, s, doc: Document, recording: RecordingRecord | None) -> None:
        """In the transaction that stores a document version: its recording row, if it is a recording."""
        if recording is not None:
            values = asdict(recording) | {"doc_id": doc.id}
            row = s.get(Recording, doc.id)
            if row is None:
                s.add(Recording(**values))
            else:
                for k, v in values.items():
                    setattr(row, k, v)

    # -- seminars -----------------------------------------------------------------------------

    def save_seminar(self, rec: SeminarRecord) -> SeminarRecord:
        """Create or replace a seminar and its sessions (recordings keep their link to it)."""
        with self.session(write=True) as s:
            row = s.get(Seminar, rec.id)
            values = {f.name: getattr(rec, f.name) for f in fields(SeminarRecord) if f.name not in ("sessions", "id")}
            values["updated_at"] = utcnow()
            if row is None:
                row = Seminar(id=rec.id, **values)
                s.add(row)
            else:
                for k, v in values.items():
                    setattr(row, k, v)
                row.sessions.clear()
                s.flush()
            row.sessions.extend(SeminarSession(**asdict(x)) for x in rec.sessions)
            s.flush()
            return _seminar_record(row)

    def seminar(self, seminar_id: str) -> SeminarRecord | None:
        with self.session() as s:
            row = s.get(Seminar, seminar_id)
            return _seminar_record(row) if row else None

    def seminars(self) -> builtins.list[SeminarRecord]:
        """Every seminar, the most recent first (those without a date last)."""
        with self.session() as s:
            # NULLS LAST: PostgreSQL puts NULL first in a descending order, SQLite last.
            rows = s.scalars(select(Seminar).order_by(Seminar.start_date.desc().nulls_last(), Seminar.id))
            return [_seminar_record(r) for r in rows]

    # -- transcripts and recordings -----------------------------------------------------------

    def find_transcript(self, media_sha256: str, language: str, source: str,
                        source_sha256: str) -> TranscriptRecord | None:
        """The transcript kept for this media, language and source, if any."""
        with self.session() as s:
            row = s.scalar(select(Transcript).where(
                Transcript.media_sha256 == media_sha256, Transcript.language == language,
                Transcript.source == source, Transcript.source_sha256 == source_sha256))
            return copy_row(TranscriptRecord, row) if row else None

    def add_transcript(self, rec: TranscriptRecord) -> TranscriptRecord:
        """Keep a transcript; the one already kept for the same content is returned instead."""
        if rec.source not in TRANSCRIPT_SOURCES:
            raise ValueError(f"transcript source must be one of {', '.join(TRANSCRIPT_SOURCES)}")
        found = self.find_transcript(rec.media_sha256, rec.language, rec.source, rec.source_sha256)
        if found is not None:
            return found
        with self.session(write=True) as s:
            row = Transcript(media_sha256=rec.media_sha256, language=rec.language, source=rec.source,
                             source_sha256=rec.source_sha256, cues=[dict(c) for c in rec.cues])
            s.add(row)
            s.flush()
            return copy_row(TranscriptRecord, row)

    def transcript(self, transcript_id: int) -> TranscriptRecord | None:
        with self.session() as s:
            row = s.get(Transcript, transcript_id)
            return copy_row(TranscriptRecord, row) if row else None

    def recording(self, doc_id: str) -> RecordingRecord | None:
        with self.session() as s:
            row = s.get(Recording, doc_id)
            return copy_row(RecordingRecord, row) if row else None

    def recordings(self, seminar_id: str | None = None) -> builtins.list[RecordingRecord]:
        """Recordings (of one seminar, or all), in the order of their documents' ingestion."""
        with self.session() as s:
            q = select(Recording).join(Document, Document.id == Recording.doc_id)
            if seminar_id is not None:
                q = q.where(Recording.seminar_id == seminar_id)
            return [copy_row(RecordingRecord, r) for r in s.scalars(q.order_by(Document.ingested_at, Recording.doc_id))]

    def documents_by_filename(self, filenames: Iterable[str], audience: Audience = PUBLIC) -> dict[str, str]:
        """Ids of the documents ``audience`` may see, by file name (the most recently updated when several share
        one)."""
        names = builtins.list(dict.fromkeys(filenames))
        if not names:
            return {}
        with self.session() as s:
            rows = s.execute(select(Document.filename, Document.id)
                             .where(Document.filename.in_(names), Document.status.in_(sorted(audience.statuses)))
                             .order_by(Document.updated_at))
            return {name: doc_id for name, doc_id in rows}
