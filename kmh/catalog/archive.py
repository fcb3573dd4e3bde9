"""The seminar archive's part of the catalog: topics, seminars, transcripts, recordings and topic links.

``ArchiveMixin`` adds these methods to ``Catalog``; like the rest of it they return plain dataclasses.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select

from .models import (
    LINK_STATES,
    TOPIC_GROUPS,
    TRANSCRIPT_SOURCES,
    Document,
    Recording,
    Seminar,
    SeminarSession,
    Topic,
    TopicLink,
    Transcript,
    utcnow,
)
from .visibility import PUBLIC, Audience


class UnknownTopic(KeyError):
    """No topic with this id."""


@dataclass
class TopicRecord:
    id: str
    label_fr: str
    label_en: str
    description_fr: str
    description_en: str
    parent: str | None = None
    grp: str | None = None
    position: int = 0

    def label(self, lang: str | None) -> str:
        return self.label_fr if lang == "fr" else self.label_en

    def description(self, lang: str | None) -> str:
        return self.description_fr if lang == "fr" else self.description_en


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


@dataclass
class TopicLinkRecord:
    passage_id: str
    topic_id: str
    doc_id: str
    doc_version: int
    score: float | None
    state: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    created_at: datetime | None = None


def _copy(cls, row: Any, **extra: Any):
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls) if f.name not in extra}, **extra)


def _session_record(row: SeminarSession) -> SessionRecord:
    rec = _copy(SessionRecord, row)
    rec.speakers = [dict(s) for s in rec.speakers or []]
    return rec


def _seminar_record(row: Seminar) -> SeminarRecord:
    rec = _copy(SeminarRecord, row, sessions=[_session_record(s) for s in row.sessions])
    rec.languages = builtins.list(rec.languages or [])
    rec.related = builtins.list(rec.related or [])
    return rec


class ArchiveMixin:
    """Catalog methods of the seminar archive (mixed into ``Catalog``)."""

    def _write_extras(self, s, doc: Document, recording: RecordingRecord | None,
                      suggestions: Iterable[tuple[str, str, float]], decisions: Iterable[TopicLinkRecord] = ()) -> None:
        """In the transaction that stores a document version: its recording row, its topic suggestions, the
        organisers' decisions carried over from the previous version (``decisions``, already on the new passage
        ids), and no links left on passages of older versions."""
        if recording is not None:
            values = asdict(recording) | {"doc_id": doc.id}
            row = s.get(Recording, doc.id)
            if row is None:
                s.add(Recording(**values))
            else:
                for k, v in values.items():
                    setattr(row, k, v)
        # The older passages' links (decisions included) go; read the carried decisions before.
        decisions = builtins.list(decisions)
        s.execute(delete(TopicLink).where(TopicLink.doc_id == doc.id, TopicLink.doc_version != doc.version))
        known = set(s.scalars(select(Topic.id)))
        for passage_id, topic_id, score in suggestions:
            if topic_id in known and s.get(TopicLink, (passage_id, topic_id)) is None:
                s.add(TopicLink(passage_id=passage_id, topic_id=topic_id, doc_id=doc.id, doc_version=doc.version,
                                score=float(score), state="suggested", created_at=utcnow()))
        s.flush()
        for d in decisions:
            if d.topic_id not in known:
                continue
            row = s.get(TopicLink, (d.passage_id, d.topic_id))
            if row is None:
                row = TopicLink(passage_id=d.passage_id, topic_id=d.topic_id, doc_id=doc.id, doc_version=doc.version,
                                score=None, created_at=utcnow())
                s.add(row)
            row.state, row.decided_by, row.decided_at = d.state, d.decided_by, d.decided_at
        s.flush()

    # -- topics -------------------------------------------------------------------------------

    def replace_topics(self, topics: Sequence[TopicRecord]) -> dict[str, int]:
        """Make the taxonomy exactly ``topics`` (ids kept, links of removed topics dropped), in one transaction;
        counts of added, updated and removed topics."""
        ids = [t.id for t in topics]
        if len(set(ids)) != len(ids):
            raise ValueError("topic ids must be unique")
        for t in topics:
            if t.grp is not None and t.grp not in TOPIC_GROUPS:
                raise ValueError(f"topic {t.id}: group must be one of {', '.join(TOPIC_GROUPS)}")
            if t.parent is not None and t.parent not in ids:
                raise ValueError(f"topic {t.id}: unknown parent {t.parent!r}")
        counts = {"added": 0, "updated": 0, "removed": 0}
        with self.session(write=True) as s:
            existing = {row.id: row for row in s.scalars(select(Topic))}
            for position, t in enumerate(topics):
                values = asdict(t) | {"position": position}
                row = existing.pop(t.id, None)
                if row is None:
                    s.add(Topic(**values, updated_at=utcnow()))
                    counts["added"] += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(row, k, v)
                    row.updated_at = utcnow()
                    counts["updated"] += 1
            for row in existing.values():
                s.delete(row)
                counts["removed"] += 1
        return counts

    def topics(self) -> builtins.list[TopicRecord]:
        """The taxonomy, in file order."""
        with self.session() as s:
            return [_copy(TopicRecord, t) for t in s.scalars(select(Topic).order_by(Topic.position, Topic.id))]

    def topic(self, topic_id: str) -> TopicRecord | None:
        with self.session() as s:
            row = s.get(Topic, topic_id)
            return _copy(TopicRecord, row) if row else None

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
            return _copy(TranscriptRecord, row) if row else None

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
            return _copy(TranscriptRecord, row)

    def transcript(self, transcript_id: int) -> TranscriptRecord | None:
        with self.session() as s:
            row = s.get(Transcript, transcript_id)
            return _copy(TranscriptRecord, row) if row else None

    def recording(self, doc_id: str) -> RecordingRecord | None:
        with self.session() as s:
            row = s.get(Recording, doc_id)
            return _copy(RecordingRecord, row) if row else None

    def recordings(self, seminar_id: str | None = None) -> builtins.list[RecordingRecord]:
        """Recordings (of one seminar, or all), in the order of their documents' ingestion."""
        with self.session() as s:
            q = select(Recording).join(Document, Document.id == Recording.doc_id)
            if seminar_id is not None:
                q = q.where(Recording.seminar_id == seminar_id)
            return [_copy(RecordingRecord, r) for r in s.scalars(q.order_by(Document.ingested_at, Recording.doc_id))]

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

    # -- topic links --------------------------------------------------------------------------

    def replace_suggestions(self, doc_id: str, doc_version: int,
                            suggestions: Iterable[tuple[str, str, float]]) -> int:
        """Make ``suggestions`` the document's suggested links (after a taxonomy change): suggested links not in
        it go, decided links stay with their new score. Returns how many links are suggested now."""
        new = {(p, t): float(sc) for p, t, sc in suggestions}
        with self.session(write=True) as s:
            known = set(s.scalars(select(Topic.id)))
            rows = {(r.passage_id, r.topic_id): r for r in s.scalars(select(TopicLink).where(TopicLink.doc_id == doc_id))}
            for key, row in rows.items():
                if key in new:
                    row.score = new[key]
                elif row.state == "suggested":
                    s.delete(row)
            for (passage_id, topic_id), score in new.items():
                if (passage_id, topic_id) not in rows and topic_id in known:
                    s.add(TopicLink(passage_id=passage_id, topic_id=topic_id, doc_id=doc_id, doc_version=doc_version,
                                    score=score, state="suggested", created_at=utcnow()))
        return sum(1 for key in new if key not in rows or rows[key].state == "suggested")

    def decide_link(self, passage_id: str, topic_id: str, state: str, *, doc_id: str, doc_version: int,
                    by: str | None = None) -> TopicLinkRecord:
        """Confirm or reject a topic for a passage (a link not suggested is created). Raises UnknownTopic."""
        if state not in ("confirmed", "rejected"):
            raise ValueError("state must be 'confirmed' or 'rejected'")
        with self.session(write=True) as s:
            if s.get(Topic, topic_id) is None:
                raise UnknownTopic(topic_id)
            row = s.get(TopicLink, (passage_id, topic_id))
            if row is None:
                row = TopicLink(passage_id=passage_id, topic_id=topic_id, doc_id=doc_id, doc_version=doc_version,
                                score=None, created_at=utcnow())
                s.add(row)
            row.state, row.decided_by, row.decided_at = state, by, utcnow()
            s.flush()
            return _copy(TopicLinkRecord, row)

    def undo_link(self, passage_id: str, topic_id: str) -> bool:
        """Withdraw a decision: a suggested link goes back to "suggested", one added by hand is removed.
        False when there was no such link."""
        with self.session(write=True) as s:
            row = s.get(TopicLink, (passage_id, topic_id))
            if row is None:
                return False
            if row.score is None:
                s.delete(row)
            else:
                row.state, row.decided_by, row.decided_at = "suggested", None, None
            return True

    def links(self, passage_id: str) -> builtins.list[TopicLinkRecord]:
        """A passage's topic links, best score first (links added by hand last)."""
        with self.session() as s:
            rows = s.scalars(select(TopicLink).where(TopicLink.passage_id == passage_id))
            out = [_copy(TopicLinkRecord, r) for r in rows]
        return sorted(out, key=lambda r: (r.score is None, -(r.score or 0.0), r.topic_id))

    def confirmed_topics(self, passage_id: str) -> builtins.list[str]:
        """Ids of the topics confirmed for a passage, sorted (what its ``topics`` payload holds)."""
        with self.session() as s:
            return builtins.list(s.scalars(select(TopicLink.topic_id).where(
                TopicLink.passage_id == passage_id, TopicLink.state == "confirmed").order_by(TopicLink.topic_id)))

    def topic_links(self, topic_id: str, state: str = "confirmed", limit: int = 200) -> builtins.list[TopicLinkRecord]:
        """Links of one topic in one state, best score first (links added by hand last)."""
        if state not in LINK_STATES:
            raise ValueError(f"state must be one of {', '.join(LINK_STATES)}")
        with self.session() as s:
            rows = s.scalars(select(TopicLink).where(TopicLink.topic_id == topic_id, TopicLink.state == state)
                             .order_by(TopicLink.score.desc().nulls_last(), TopicLink.passage_id).limit(limit))
            return [_copy(TopicLinkRecord, r) for r in rows]

    def topic_counts(self, state: str = "confirmed", audience: Audience = PUBLIC) -> dict[str, int]:
        """How many links of this state each topic has, on passages of documents ``audience`` may see."""
        with self.session() as s:
            rows = s.execute(select(TopicLink.topic_id, func.count())
                             .join(Document, Document.id == TopicLink.doc_id)
                             .where(TopicLink.state == state, Document.status.in_(sorted(audience.statuses)))
                             .group_by(TopicLink.topic_id))
            return {topic_id: int(n) for topic_id, n in rows}

    def links_of_document(self, doc_id: str) -> builtins.list[TopicLinkRecord]:
        with self.session() as s:
            rows = s.scalars(select(TopicLink).where(TopicLink.doc_id == doc_id)
                             .order_by(TopicLink.passage_id, TopicLink.topic_id))
            return [_copy(TopicLinkRecord, r) for r in rows]
