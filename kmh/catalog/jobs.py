"""Ingestion jobs: an uploaded file waiting to be published, its progress and its outcome.

``JobsMixin`` adds these methods to ``Catalog``. Jobs live in the catalog, so a job queued or running when the
server stops is found again when it starts (``interrupted_jobs``) and resumed or failed.
"""

from __future__ import annotations

import builtins
import secrets
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from .access import KeyRecord
from .errors import DuplicateDocument, DuplicateJob, NotFound
from .models import JOB_KINDS, Document, Job, utcnow


@dataclass
class JobRecord:
    id: str
    kind: str
    state: str
    doc_id: str
    filename: str
    sha256: str
    size: int
    staged_path: str
    doc_version: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    error: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None


_JOB_FIELDS = tuple(f.name for f in fields(JobRecord))


def _job(row: Job) -> JobRecord:
    rec = JobRecord(**{n: getattr(row, n) for n in _JOB_FIELDS})
    rec.meta, rec.progress = dict(rec.meta or {}), dict(rec.progress or {})
    return rec


class JobsMixin:
    """Catalog methods for ingestion jobs (mixed into ``Catalog``)."""

    def create_job(self, kind: str, *, filename: str, sha256: str, size: int, staged_path: str,
                   meta: dict[str, Any], actor: KeyRecord | None, doc_id: str | None = None) -> JobRecord:
        """Queue a job, with its audit entry, in one transaction.

        ``publish`` reserves a new document id; ``new_version`` names the document. Raises DuplicateDocument when a
        document already has this content, DuplicateJob when a waiting or running job already publishes it.
        """
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        now = utcnow()
        with self.session(write=True) as s:
            dup = s.scalar(select(Document.id).where(Document.sha256 == sha256))
            if dup is not None:
                raise DuplicateDocument(sha256, dup)
            twin = s.scalar(select(Job).where(Job.sha256 == sha256, Job.state.in_(("queued", "running"))))
            if twin is not None:
                raise DuplicateJob(sha256, twin.id, twin.doc_id)
            if kind == "new_version":
                if doc_id is None or s.get(Document, doc_id) is None:
                    raise NotFound(doc_id)
            else:
                doc_id = self._fresh_id(s)
                while s.scalar(select(Job.id).where(Job.doc_id == doc_id)) is not None:
                    doc_id = self._fresh_id(s)
            job_id = secrets.token_hex(6)
            row = Job(id=job_id, kind=kind, state="queued", doc_id=doc_id, filename=filename, sha256=sha256,
                      size=size, staged_path=staged_path, meta=dict(meta), progress={"stage": "queued"}, attempts=0,
                      created_by=actor.id if actor else None, created_at=now, updated_at=now)
            s.add(row)
            self.audit(actor, "document.publish" if kind == "publish" else "document.new_version", doc_id, s=s,
                       job=job_id, filename=filename, sha256=sha256, size=size, meta=meta)
            s.flush()
            return _job(row)

    def job(self, job_id: str) -> JobRecord | None:
        with self.session() as s:
            row = s.get(Job, job_id)
            return _job(row) if row else None

    def jobs(self, *, limit: int = 50, offset: int = 0, state: str | None = None,
             doc_id: str | None = None) -> tuple[builtins.list[JobRecord], int]:
        """Jobs newest first, and how many match."""
        where = []
        if state:
            where.append(Job.state == state)
        if doc_id:
            where.append(Job.doc_id == doc_id)
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(Job).where(*where)) or 0
            rows = s.scalars(select(Job).where(*where).order_by(Job.created_at.desc(), Job.id)
                             .limit(max(0, limit)).offset(max(0, offset)))
            return [_job(r) for r in rows], total

    def claim_job(self) -> JobRecord | None:
        """The oldest queued job, now marked running (attempts + 1); None when none waits."""
        with self.session(write=True) as s:
            row = s.scalar(select(Job).where(Job.state == "queued").order_by(Job.created_at, Job.id).limit(1)
                           .with_for_update(skip_locked=True))
            if row is None:
                return None
            now = utcnow()
            row.state, row.attempts, row.error = "running", row.attempts + 1, None
            row.started_at = row.updated_at = now
            row.progress = {"stage": "starting"}
            s.flush()
            return _job(row)

    def update_job(self, job_id: str, **values: Any) -> None:
        """Set progress, doc_version, state, error (and finished_at with a final state)."""
        allowed = {"progress", "doc_version", "state", "error"}
        if not set(values) <= allowed:
            raise ValueError(f"cannot set {sorted(set(values) - allowed)} on a job")
        now = utcnow()
        values["updated_at"] = now
        if values.get("state") in ("done", "failed"):
            values["finished_at"] = now
        elif values.get("state") == "queued":
            values["finished_at"] = None
        with self.session(write=True) as s:
            s.execute(update(Job).where(Job.id == job_id).values(**values))

    def interrupted_jobs(self, stale_before: datetime | None = None) -> builtins.list[JobRecord]:
        """Jobs marked running: all of them (a process that owns the store alone calls this before its worker
        starts), or those not updated since ``stale_before`` (workers of several processes share the queue)."""
        where = [Job.state == "running"]
        if stale_before is not None:
            where.append(Job.updated_at < stale_before)
        with self.session() as s:
            return [_job(r) for r in s.scalars(select(Job).where(*where).order_by(Job.created_at))]
