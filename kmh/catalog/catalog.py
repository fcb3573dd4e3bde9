"""The catalog database: documents and their version history, on SQLite or PostgreSQL."""

from __future__ import annotations

import builtins
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from kmh.dates import PRECISIONS, partial_date_text

from .access import AccessMixin
from .analytics import AnalyticsMixin
from .checks import ChecksMixin
from .crawl import CrawlMixin
from .editions import EditionsMixin
from .errors import DuplicateDocument, NotFound
from .jobs import JobsMixin
from .models import DOC_TYPES, STATUSES, Document, DocumentVersion, utcnow
from .seminars import SeminarsMixin
from .topics import TopicsMixin
from .visibility import Audience

if TYPE_CHECKING:
    from .checks import PassageCheckRecord
    from .seminars import RecordingRecord
    from .topics import TopicLinkRecord

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Key of the PostgreSQL advisory lock held while migrating.
_PG_MIGRATE_LOCK = 0x4B4D48  # "KMH"
_DOC_ID = re.compile(r"[0-9a-f]{12}")
# Fields a new version replaces; id, version, status and ingested_at are handled apart.
_CONTENT_FIELDS = (
    "sha256", "filename", "source_key", "title", "doc_type", "language", "published", "published_precision", "countries",
    "programme", "source_url", "source", "passage_count", "format", "mime", "page_count", "outline", "original_path",
    "edition_of", "inferred",
)


@dataclass
class DocumentRecord:
    """A document as the catalog stores it (a plain copy, detached from any session).

    To add one, leave ``id`` empty to get a fresh id; ``ingested_at``/``updated_at`` default to now.
    """

    sha256: str
    filename: str
    source_key: str
    title: str
    format: str
    mime: str
    original_path: str
    id: str = ""
    doc_type: str = "other"
    language: str | None = None
    published: date | None = None
    published_precision: str | None = None  # "year", "month" or "day" (None: day); kmh.dates
    countries: list[str] = field(default_factory=list)
    programme: str | None = None
    source_url: str | None = None
    source: str | None = None
    # The metadata fields inferred from the file rather than given (sidecar, upload, edit): staff check them. None for
    # a document catalogued before this was kept (revision 0008).
    inferred: list[str] | None = field(default_factory=list)
    status: str = "published"
    version: int = 1
    passage_count: int = 0
    page_count: int | None = None
    outline: list[dict[str, Any]] = field(default_factory=list)
    ingested_at: datetime | None = None
    updated_at: datetime | None = None
    # Shared by the language editions of one publication (kmh.catalog.editions); kept across versions.
    publication_id: str | None = None
    # The file name of another edition, as the sidecar gave it.
    edition_of: str | None = None

    @property
    def published_text(self) -> str | None:
        """The publication date as given: "2019", "2019-09" or "2019-09-12"."""
        return partial_date_text(self.published, self.published_precision)


@dataclass
class VersionRecord:
    """One entry of a document's version history."""

    doc_id: str
    version: int
    sha256: str
    filename: str
    original_path: str
    ingested_at: datetime
    passage_count: int
    note: str | None = None


@dataclass(frozen=True)
class DocumentRef:
    """The few fields of a document that every search reads."""

    id: str
    version: int
    status: str
    title: str
    doc_type: str
    filename: str
    language: str | None = None
    publication_id: str | None = None


_DOC_FIELDS = tuple(f.name for f in fields(DocumentRecord))
# What update_document may change.
_EDITABLE_FIELDS = ("title", "doc_type", "language", "published", "published_precision", "countries", "programme",
                    "source", "source_url", "status")
_REF_FIELDS = tuple(f.name for f in fields(DocumentRef))
_VERSION_FIELDS = tuple(f.name for f in fields(VersionRecord))


def _record(doc: Any) -> DocumentRecord:
    """A DocumentRecord from an ORM object or a row with the same attribute names."""
    rec = DocumentRecord(**{name: getattr(doc, name) for name in _DOC_FIELDS})
    rec.countries = builtins.list(rec.countries or [])
    rec.inferred = None if rec.inferred is None else builtins.list(rec.inferred)
    rec.outline = [dict(item) for item in rec.outline or []]
    return rec


def _version_record(row: DocumentVersion) -> VersionRecord:
    return VersionRecord(**{name: getattr(row, name) for name in _VERSION_FIELDS})


def check_record(rec: DocumentRecord) -> None:
    if rec.id and not _DOC_ID.fullmatch(rec.id):
        raise ValueError(f"document id must be 12 lowercase hex characters, not {rec.id!r}")
    if rec.published_precision is not None and rec.published_precision not in PRECISIONS:
        raise ValueError(f"published_precision must be one of {', '.join(PRECISIONS)}, not {rec.published_precision!r}")
    if rec.doc_type not in DOC_TYPES:
        raise ValueError(f"unknown doc_type {rec.doc_type!r}; expected one of {', '.join(DOC_TYPES)}")
    if rec.status not in STATUSES:
        raise ValueError(f"unknown status {rec.status!r}; expected one of {', '.join(STATUSES)}")
    if rec.language is not None and (len(rec.language) != 2 or not rec.language.isalpha()):
        raise ValueError(f"language must be a 2-letter code, not {rec.language!r}")


def _version_row(doc: Document, note: str | None) -> DocumentVersion:
    return DocumentVersion(
        version=doc.version,
        sha256=doc.sha256,
        filename=doc.filename,
        original_path=doc.original_path,
        ingested_at=doc.ingested_at,
        passage_count=doc.passage_count,
        note=note,
    )


def _is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str | URL) -> Engine:
    """An engine for the catalog; SQLite gets WAL, foreign keys, a busy timeout and real transactions."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if _is_memory_sqlite(url):
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        if url.database and not url.database.startswith("file:"):
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (see "begin" below), so DDL is transactional too.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if not _is_memory_sqlite(url):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: no SQLITE_BUSY when a read turns into a write.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("kmh_write") else "BEGIN")

    return engine


class Catalog(SeminarsMixin, TopicsMixin, AccessMixin, JobsMixin, ChecksMixin, CrawlMixin, EditionsMixin,
              AnalyticsMixin):
    """The document catalog at a SQLAlchemy URL; the schema is upgraded to the latest migration on open.

    Methods return plain ``DocumentRecord``/``VersionRecord`` copies, never live ORM objects.
    """

    def __init__(self, url: str, *, migrate: bool = True):
        self.url = make_url(url)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Positional parameter marker of the DB-API driver (sqlite3: "?", psycopg: "%s").
        self._placeholder = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        if migrate:
            self.migrate()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Catalog({self.url.render_as_string(hide_password=True)!r})"

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def alembic_config(self) -> Any:
        """An Alembic config for this catalog's migrations (no alembic.ini needed)."""
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        cfg.set_main_option("sqlalchemy.url", self.url.render_as_string(hide_password=False).replace("%", "%%"))
        return cfg

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision``, in one transaction; a no-op when already there."""
        from alembic import command

        cfg = self.alembic_config()
        with self.engine.connect() as conn:
            conn.execution_options(kmh_write=True)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATE_LOCK})")
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)

    def current_revision(self) -> str | None:
        """The schema's Alembic revision, or None before any migration."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session that commits at the end of the block and rolls back on error.

        ``write=True`` takes SQLite's write lock when the transaction starts.
        """
        with self._sessions() as s:
            if write:
                s.connection(execution_options={"kmh_write": True})
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- reading ----------------------------------------------------------------------------

    def get(self, doc_id: str) -> DocumentRecord | None:
        """The document with this id, or None."""
        with self.session() as s:
            doc = s.get(Document, doc_id)
            return _record(doc) if doc else None

    def visible(self, doc_id: str, audience: Audience) -> DocumentRecord | None:
        """The document with this id if ``audience`` may see it (kmh.catalog.visibility), else None."""
        return audience.filter(self.get(doc_id))

    def refs(self, doc_ids: Iterable[str]) -> dict[str, DocumentRef]:
        """What search needs of each known document (version, status, title, type, file name), by id; one query."""
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        marks = ", ".join([self._placeholder] * len(ids))
        rows = self._select(f"SELECT {', '.join(_REF_FIELDS)} FROM documents WHERE id IN ({marks})", ids)
        return {row[0]: DocumentRef(*row) for row in rows}

    def all_refs(self, limit: int) -> dict[str, DocumentRef]:
        """``refs`` of up to ``limit`` documents (most recently updated first), by id; one query."""
        rows = self._select(f"SELECT {', '.join(_REF_FIELDS)} FROM documents ORDER BY updated_at DESC LIMIT {int(limit)}")
        return {row[0]: DocumentRef(*row) for row in rows}

    def newest_published(self) -> builtins.list[str]:
        """The ids of the published documents, newest first: by publication date (undated ones after the dated
        ones), then by ingestion, then by id; one query (a feed without a question lists documents in this order)."""
        order = (Document.published.is_(None), Document.published.desc(), Document.ingested_at.desc(), Document.id)
        with self.session() as s:
            return builtins.list(s.scalars(select(Document.id).where(Document.status == "published").order_by(*order)))

    def generation(self) -> int:
        """A counter that every change to the documents table increases (database triggers; see 0002)."""
        return int(self._select("SELECT generation FROM catalog_state WHERE id = 1")[0][0])

    def _select(self, sql: str, params: Iterable[Any] = ()) -> builtins.list[tuple]:
        """Rows of a plain SELECT on a pooled DB-API connection: search runs these on every query, and a
        SQLAlchemy connection's transaction events cost ten times the query itself on SQLite."""
        conn = self.engine.raw_connection()
        try:
            cur = conn.cursor()
            try:
                cur.execute(sql, tuple(params))
                return cur.fetchall()
            finally:
                cur.close()
        finally:
            conn.close()

    def by_sha256(self, sha256: str) -> DocumentRecord | None:
        """The document whose current version has this content hash, or None."""
        with self.session() as s:
            doc = s.scalar(select(Document).where(Document.sha256 == sha256))
            return _record(doc) if doc else None

    def by_source_key(self, key: str) -> DocumentRecord | None:
        """The document ingested from this source path or upload key, or None (the latest if several)."""
        with self.session() as s:
            doc = s.scalar(
                select(Document)
                .where(Document.source_key == key)
                .order_by(Document.updated_at.desc(), Document.id)
                .limit(1)
            )
            return _record(doc) if doc else None

    def history(self, doc_id: str) -> builtins.list[VersionRecord]:
        """All versions of a document, oldest first, the current one included."""
        with self.session() as s:
            rows = s.scalars(
                select(DocumentVersion).where(DocumentVersion.doc_id == doc_id).order_by(DocumentVersion.version)
            )
            return [_version_record(r) for r in rows]

    def new_doc_id(self) -> str:
        """A random 12-hex-character id not used by any document."""
        with self.session() as s:
            return self._fresh_id(s)

    # -- writing ----------------------------------------------------------------------------

    def add(self, record: DocumentRecord, *, note: str | None = None, recording: RecordingRecord | None = None,
            suggestions: Iterable[tuple[str, str, float]] = (), decisions: Iterable[TopicLinkRecord] = (),
            checks: Iterable[PassageCheckRecord] = (), version: int = 1) -> DocumentRecord:
        """Store a new document as ``version`` (1, or the version of a document restored from the index by
        `kmh check --repair`; history included) and return it as stored.

        ``recording`` (a RecordingRecord), topic ``suggestions`` (passage_id, topic_id, score) and the passages'
        ``checks`` (PassageCheckRecords) are written in the same transaction. Raises DuplicateDocument if its sha256 is already catalogued, ValueError on bad values.
        """
        check_record(record)
        now = utcnow()
        with self.session(write=True) as s:
            dup = s.scalar(select(Document.id).where(Document.sha256 == record.sha256))
            if dup is not None:
                raise DuplicateDocument(record.sha256, dup)
            values = {name: getattr(record, name) for name in _DOC_FIELDS}
            values["id"] = record.id or self._fresh_id(s)
            values["version"] = int(version)
            values["ingested_at"] = record.ingested_at or now
            values["updated_at"] = record.updated_at or values["ingested_at"]
            values["countries"] = builtins.list(record.countries)
            values["inferred"] = None if record.inferred is None else builtins.list(record.inferred)
            values["outline"] = [dict(item) for item in record.outline]
            doc = Document(**values)
            doc.versions.append(_version_row(doc, note))
            s.add(doc)
            s.flush()
            self._write_recording(s, doc, recording)
            self._write_links(s, doc, suggestions, decisions)
            self._write_checks(s, doc, checks)
            return _record(doc)

    def save_new_version(self, doc_id: str, record: DocumentRecord, *, note: str | None = None, recording: RecordingRecord | None = None,
                         suggestions: Iterable[tuple[str, str, float]] = (),
                         decisions: Iterable[TopicLinkRecord] = (), checks: Iterable[PassageCheckRecord] = ()) -> DocumentRecord:
        """Replace a document's content and metadata with ``record`` as its next version, in one transaction.

        The id and status are kept (use set_status to change it); the version goes up by one and is
        appended to the history; topic links and passage checks of older versions are dropped, ``recording``,
        ``suggestions``, the organisers' ``decisions`` carried to the new passages (TopicLinkRecords) and the new
        passages' ``checks`` written. On any error nothing
        changes. Raises NotFound, DuplicateDocument, ValueError.
        """
        check_record(record)
        now = utcnow()
        with self.session(write=True) as s:
            doc = s.get(Document, doc_id, with_for_update=True)
            if doc is None:
                raise NotFound(doc_id)
            dup = s.scalar(select(Document.id).where(Document.sha256 == record.sha256, Document.id != doc_id))
            if dup is not None:
                raise DuplicateDocument(record.sha256, dup)
            for name in _CONTENT_FIELDS:
                setattr(doc, name, getattr(record, name))
            doc.countries = builtins.list(record.countries)
            doc.inferred = None if record.inferred is None else builtins.list(record.inferred)
            doc.outline = [dict(item) for item in record.outline]
            doc.version += 1
            doc.ingested_at = record.ingested_at or now
            doc.updated_at = now
            doc.versions.append(_version_row(doc, note))
            s.flush()
            self._write_recording(s, doc, recording)
            self._write_links(s, doc, suggestions, decisions)
            self._write_checks(s, doc, checks)
            return _record(doc)

    def set_status(self, doc_id: str, status: str) -> DocumentRecord:
        """Mark a document "published" or "retracted". Raises NotFound, ValueError."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        with self.session(write=True) as s:
            doc = s.get(Document, doc_id, with_for_update=True)
            if doc is None:
                raise NotFound(doc_id)
            if doc.status != status:
                doc.status = status
                doc.updated_at = utcnow()
            s.flush()
            return _record(doc)

    def update_document(self, doc_id: str, changes: dict[str, Any], *, actor: Any = None,
                        action: str = "document.edit") -> DocumentRecord:
        """Change a document's metadata or status (no new version) and record it in the audit log, in one
        transaction. Raises NotFound, ValueError."""
        unknown = set(changes) - set(_EDITABLE_FIELDS)
        if unknown:
            raise ValueError(f"cannot edit {', '.join(sorted(unknown))}")
        with self.session(write=True) as s:
            doc = s.get(Document, doc_id, with_for_update=True)
            if doc is None:
                raise NotFound(doc_id)
            before = _record(doc)
            after = DocumentRecord(**{**{n: getattr(before, n) for n in _DOC_FIELDS}, **changes})
            check_record(after)
            if "language" in changes:  # one edition per language
                self._check_language(s, doc, after.language)
            diff = {k: [getattr(before, k), v] for k, v in changes.items() if getattr(before, k) != v}
            for name, value in changes.items():
                setattr(doc, name, builtins.list(value) if name == "countries" else value)
            edited = {"published" if k == "published_precision" else k for k in diff}
            if edited & set(before.inferred or ()):  # a field a person changed is no longer inferred
                doc.inferred = [name for name in before.inferred or () if name not in edited]
            if diff:
                doc.updated_at = utcnow()
            self.audit(actor, action, doc_id, s=s, changes=diff)
            s.flush()
            return _record(doc)

    def delete(self, doc_id: str) -> bool:
        """Remove a document and its history; False if there was none. Kept originals stay on disk."""
        with self.session(write=True) as s:
            doc = s.get(Document, doc_id)
            if doc is None:
                return False
            self._leave(s, doc)  # its editions stay a publication without it
            s.expunge(doc)
            s.execute(sa_delete(DocumentVersion).where(DocumentVersion.doc_id == doc_id))
            s.execute(sa_delete(Document).where(Document.id == doc_id))
            return True

    @staticmethod
    def _fresh_id(s: Session) -> str:
        while True:
            doc_id = secrets.token_hex(6)
            if s.get(Document, doc_id) is None:
                return doc_id

    # -- listing (last: the method name shadows the builtin inside the class) ---------------

    def every(self, *, page: int = 500) -> Iterator[DocumentRecord]:
        """Every document, retracted ones too, read a page at a time (newest ingestion first)."""
        offset = 0
        while True:
            docs, total = self.list(limit=page, offset=offset, status=None)
            yield from docs
            offset += len(docs)
            if not docs or offset >= total:
                return

    def list(
        self,
        limit: int = 50,
        offset: int = 0,
        doc_type: str | None = None,
        language: str | None = None,
        status: str | None = "published",
        audience: Audience | None = None,
    ) -> tuple[builtins.list[DocumentRecord], int]:
        """One page of documents, newest ingestion first, and the total count that match.

        ``None`` for a filter means any value (``status=None`` lists retracted documents too); ``audience``, when
        given, keeps only the statuses it may see.
        """
        where = []
        if doc_type is not None:
            where.append(Document.doc_type == doc_type)
        if language is not None:
            where.append(Document.language == language)
        if status is not None:
            where.append(Document.status == status)
        if audience is not None:
            where.append(Document.status.in_(sorted(audience.statuses)))
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(Document).where(*where)) or 0
            rows = s.scalars(
                select(Document)
                .where(*where)
                .order_by(Document.ingested_at.desc(), Document.id)
                .limit(max(0, limit))
                .offset(max(0, offset))
            )
            return [_record(d) for d in rows], total
