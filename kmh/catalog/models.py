"""ORM models of the catalog. The Alembic migrations in ``kmh/migrations`` must match them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

DOC_TYPES = ("report", "knowledge_paper", "handbook", "news", "seminar_page", "recording", "other")
STATUSES = ("published", "retracted")
TRANSCRIPT_SOURCES = ("captions", "whisper")
LINK_STATES = ("suggested", "confirmed", "rejected")
TOPIC_GROUPS = ("level", "dimension", "theme")

# Fixed constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime stored in UTC, and read back in UTC: SQLite's naive values get UTC attached,
    PostgreSQL's (given in the session's TimeZone) are converted to it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone-aware one")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Document(Base):
    """The current version of one document."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(_in("doc_type", DOC_TYPES), name="doc_type"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("version >= 1", name="version"),
    )

    # 12 lowercase hex characters, stable across versions.
    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    # sha256 of the current version's original file.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(Text)
    # Absolute source path or upload key: recognises a changed file.
    source_key: Mapped[str] = mapped_column(Text, index=True)
    title: Mapped[str] = mapped_column(Text)
    doc_type: Mapped[str] = mapped_column(String(32), default="other")
    language: Mapped[str | None] = mapped_column(String(2))
    published: Mapped[date | None] = mapped_column(Date)
    # "year", "month" or "day" (NULL: day): published holds the first day of that period (kmh.dates).
    published_precision: Mapped[str | None] = mapped_column(String(5))
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Names of the metadata fields inferred from the file (not given by a sidecar, an upload or an edit); NULL for the
    # documents catalogued before revision 0008, when nobody kept track. No default: a row written without it (an older
    # schema's rows, a restore) is "not known", and an insert into an older schema does not name it.
    inferred: Mapped[list[str] | None] = mapped_column(JSON)
    programme: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="published")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # When the current version was ingested; updated_at moves on any change.
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    passage_count: Mapped[int] = mapped_column(Integer, default=0)
    format: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str] = mapped_column(String(128))
    page_count: Mapped[int | None] = mapped_column(Integer)
    # [{"section": str, "page": int | None}, ...]
    outline: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Kept original, relative to the data folder.
    original_path: Mapped[str] = mapped_column(Text)
    # Language editions of one publication share this id (kmh.catalog.editions); None: no other edition.
    publication_id: Mapped[str | None] = mapped_column(String(12), index=True)
    # The file name of another edition, as the sidecar's ``edition_of`` gave it (linked once both are catalogued).
    edition_of: Mapped[str | None] = mapped_column(Text)

    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="DocumentVersion.version",
    )


class DocumentVersion(Base):
    """One version of a document, the current one included."""

    __tablename__ = "document_versions"

    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(Text)
    original_path: Mapped[str] = mapped_column(Text)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    passage_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)

    document: Mapped[Document] = relationship(back_populates="versions")


class CatalogState(Base):
    """One row: the generation, increased by database triggers on every change to ``documents``."""

    __tablename__ = "catalog_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)



class PassageCheck(Base):
    """What one passage of a document version was written with: a sketch of its dense vector and a digest of its
    text (kmh.catalog.checks), compared with the index by `kmh check`."""

    __tablename__ = "passage_checks"
    __table_args__ = (Index("ix_passage_checks_doc", "doc_id", "doc_version"),)

    passage_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    doc_version: Mapped[int] = mapped_column(Integer)
    # Projections of the normalised dense vector on fixed directions, as integers (checks.vector_sketch).
    dense: Mapped[str] = mapped_column(String(96))
    # sha256 of the passage's text.
    text_sha256: Mapped[str] = mapped_column(String(64))


class Topic(Base):
    """One topic of the bilingual taxonomy (corpus/topics.yaml)."""

    __tablename__ = "topics"

    # kebab-case, e.g. "psychosocial-dimension".
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label_fr: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)
    description_fr: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    parent: Mapped[str | None] = mapped_column(String(64))
    # "level", "dimension", "theme" or None.
    grp: Mapped[str | None] = mapped_column(String(16))
    # Order in the taxonomy file.
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Seminar(Base):
    """A seminar, from its manifest (corpus/seminars/<slug>/seminar.yaml)."""

    __tablename__ = "seminars"

    # The manifest's folder name.
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    objectives: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(Text)
    background: Mapped[str | None] = mapped_column(Text)
    # File names of related publications, resolved against the documents when read.
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    # sha256 of the manifest file: an unchanged manifest is skipped.
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sessions: Mapped[list[SeminarSession]] = relationship(
        back_populates="seminar", cascade="all, delete-orphan", passive_deletes=True,
        order_by="SeminarSession.number",
    )


class SeminarSession(Base):
    """One session of a seminar, and where it lies in a recording."""

    __tablename__ = "seminar_sessions"

    seminar_id: Mapped[str] = mapped_column(ForeignKey("seminars.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # [{"name": str, "role": str | None}, ...]
    speakers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The manifest's id of the recording the session is in, and its span there (seconds).
    recording_key: Mapped[str | None] = mapped_column(String(80))
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)

    seminar: Mapped[Seminar] = relationship(back_populates="sessions")


class Transcript(Base):
    """The timed text of a recording's media in one language: its captions or a speech-to-text run.

    Kept by content: re-ingesting the same media reuses it instead of transcribing again.
    """

    __tablename__ = "transcripts"
    __table_args__ = (
        CheckConstraint(_in("source", TRANSCRIPT_SOURCES), name="source"),
        UniqueConstraint("media_sha256", "language", "source", "source_sha256", name="uq_transcripts_content"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    media_sha256: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(2))
    # "captions" (a WebVTT/SRT file) or "whisper".
    source: Mapped[str] = mapped_column(String(16))
    # sha256 of the captions file, or of the speech model's identity and options.
    source_sha256: Mapped[str] = mapped_column(String(64))
    # [{"start": float, "end": float, "text": str, "speaker": str | None}, ...]
    cues: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Recording(Base):
    """What a recording adds to its document (doc_type "recording"): seminar, media facts, transcript."""

    __tablename__ = "recordings"

    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    seminar_id: Mapped[str | None] = mapped_column(ForeignKey("seminars.id", ondelete="SET NULL"), index=True)
    # The manifest's id of the recording (None for a lone media file).
    key: Mapped[str | None] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(2))
    duration: Mapped[float] = mapped_column(Float)
    has_video: Mapped[bool] = mapped_column(Boolean, default=False)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id"))


class TopicLink(Base):
    """A topic suggested for a passage (by embedding similarity) and an organiser's decision on it."""

    __tablename__ = "topic_links"
    __table_args__ = (
        CheckConstraint(_in("state", LINK_STATES), name="state"),
        Index("ix_topic_links_topic_state", "topic_id", "state"),
    )

    passage_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    topic_id: Mapped[str] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    doc_version: Mapped[int] = mapped_column(Integer)
    # Similarity of the passage to the topic (None for a link an organiser added by hand).
    score: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="suggested")
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ROLES = ("reader", "staff", "organiser", "admin")
JOB_STATES = ("queued", "running", "done", "failed")
JOB_KINDS = ("publish", "new_version", "crawl")


class ApiKey(Base):
    """An API key: only its sha256 is kept; the key itself is shown once, when created."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    # 12 hex characters, also the key's visible prefix: kmh_<id>_<secret>.
    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    # sha256 (hex) of the whole key.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who created it ("cli" or a key id).
    created_by: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in web session: the cookie holds a random token, the table its sha256 and the CSRF token."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One write: who did what to which object, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The key's id and name and role at the time ("cli" for the command line).
    actor_id: Mapped[str | None] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    # e.g. "document.publish", "document.retract", "key.create".
    action: Mapped[str] = mapped_column(String(48), index=True)
    # The object: a document, job, key, passage or recording id.
    target: Mapped[str | None] = mapped_column(Text, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Job(Base):
    """An ingestion job (an uploaded file to publish), run by the server's background worker."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("state", JOB_STATES), name="state"),
        CheckConstraint(_in("kind", JOB_KINDS), name="kind"),
        Index("ix_jobs_state_created", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # The document it creates (id reserved at upload) or updates, and the version being written.
    doc_id: Mapped[str] = mapped_column(String(12), index=True)
    doc_version: Mapped[int | None] = mapped_column(Integer)
    # The uploaded file: sanitised name, content hash, size, and where it waits (relative to the data folder).
    filename: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    staged_path: Mapped[str] = mapped_column(Text)
    # Metadata given with the upload (title, doc_type, language, published, countries, ...).
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"stage": "parsing" | "embedding" | ..., "done": int, "total": int}
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


CRAWL_PAGE_STATES = ("ok", "gone", "error")


class CrawlPage(Base):
    """What the last crawl of a website found at one URL (``kmh crawl``, services.crawls): the document it became,
    the validators and content hash a re-crawl compares, and the same-site links the page had."""

    __tablename__ = "crawl_pages"
    __table_args__ = (
        CheckConstraint(_in("status", CRAWL_PAGE_STATES), name="status"),
        Index("ix_crawl_pages_site", "site"),
    )

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    # host[:port] of the URL
    site: Mapped[str] = mapped_column(Text)
    doc_id: Mapped[str | None] = mapped_column(String(12))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # ok: imported (or unchanged); gone: answered 404/410 (its document retracted); error: the last try failed
    status: Mapped[str] = mapped_column(String(16))
    # the last HTTP status, and the reason of a failure
    http_status: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


SEARCH_CHANNELS = ("api", "web")


class SearchLog(Base):
    """One search made through GET /api/search or the search page (services.analytics): what was asked and what it
    found, for staff. Nothing about who asked: no IP address, key, cookie or session."""

    __tablename__ = "search_log"
    __table_args__ = (CheckConstraint(_in("channel", SEARCH_CHANNELS), name="channel"),)

    # Random, 16 hex characters: the search_id a search answers, with which its reader reports the hit opened.
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The ISO week of ``at`` (UTC), "2026-W49": what the weekly counts group by, on any database.
    week: Mapped[str] = mapped_column(String(8))
    # "api" (GET /api/search) or "web" (the search page).
    channel: Mapped[str] = mapped_column(String(8))
    query: Mapped[str] = mapped_column(Text)
    # The query with case, spaces and end punctuation folded (services.analytics.normalise): what counts group by.
    query_norm: Mapped[str] = mapped_column(Text)
    # The question's language as search detected it (fr or en), None when too short to tell.
    language: Mapped[str | None] = mapped_column(String(2))
    mode: Mapped[str] = mapped_column(String(8))
    # The filters given (type, lang, country, year_from, year_to, topic, seminar, group_by_document, include_weak).
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    page_offset: Mapped[int] = mapped_column(Integer, default=0)
    # Passages above the relevance floor (the answer's ``total``); 0 when no_match.
    result_count: Mapped[int] = mapped_column(Integer)
    no_match: Mapped[bool] = mapped_column(Boolean)
    # The passage ids of the page shown, in order.
    hits: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The first hit its reader opened, and when.
    opened_passage: Mapped[str | None] = mapped_column(String(36))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def copy_row(cls, row: Any, **extra: Any):
    """A ``cls`` record (a dataclass) from an ORM row with the same attribute names; ``extra`` sets the others."""
    from dataclasses import fields

    return cls(**{f.name: getattr(row, f.name) for f in fields(cls) if f.name not in extra}, **extra)
