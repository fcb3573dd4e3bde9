"""Website import in the catalog: what the last crawl found at each URL (``crawl_pages``), and the crawl jobs.

``CrawlMixin`` adds these methods to ``Catalog``. A crawl is a job of kind "crawl" (services.crawls): its start URL
is the job's ``filename``, its options its ``meta``, its counts and summary its ``progress``.
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .access import KeyRecord
from .errors import DuplicateJob
from .jobs import JobRecord, _job
from .models import CRAWL_PAGE_STATES, CrawlPage, Job, utcnow


@dataclass
class CrawlPageRecord:
    url: str
    site: str
    status: str  # ok, gone, error
    doc_id: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    http_status: int | None = None
    reason: str | None = None
    links: list[str] = field(default_factory=list)
    checked_at: datetime | None = None


_PAGE_FIELDS = tuple(f.name for f in fields(CrawlPageRecord))


def _page(row: CrawlPage) -> CrawlPageRecord:
    rec = CrawlPageRecord(**{n: getattr(row, n) for n in _PAGE_FIELDS})
    rec.links = builtins.list(rec.links or [])
    return rec


class CrawlMixin:
    """Catalog methods for website crawls (mixed into ``Catalog``)."""

    def crawl_page(self, url: str) -> CrawlPageRecord | None:
        with self.session() as s:
            row = s.get(CrawlPage, url)
            return _page(row) if row else None

    def crawl_pages(self, site: str) -> builtins.list[CrawlPageRecord]:
        """The URLs of ``site`` (host[:port]) earlier crawls found, in URL order."""
        with self.session() as s:
            return [_page(r) for r in s.scalars(select(CrawlPage).where(CrawlPage.site == site)
                                                .order_by(CrawlPage.url))]

    def save_crawl_page(self, page: CrawlPageRecord) -> CrawlPageRecord:
        """Insert or replace what is known of ``page.url`` (checked_at: now)."""
        if page.status not in CRAWL_PAGE_STATES:
            raise ValueError(f"crawl page status must be one of {', '.join(CRAWL_PAGE_STATES)}, not {page.status!r}")
        with self.session(write=True) as s:
            row = s.get(CrawlPage, page.url)
            if row is None:
                row = CrawlPage(url=page.url)
                s.add(row)
            for name in _PAGE_FIELDS:
                if name not in ("url", "checked_at"):
                    value = getattr(page, name)
                    setattr(row, name, builtins.list(value) if name == "links" else value)
            row.checked_at = utcnow()
            s.flush()
            return _page(row)

    def create_crawl_job(self, url: str, *, site: str, options: dict[str, Any], actor: KeyRecord | None
                         ) -> JobRecord:
        """Queue a crawl of ``url`` with its audit entry. Raises DuplicateJob while a crawl of the same site waits or
        runs."""
        now = utcnow()
        key = hashlib.sha256(f"crawl:{site}".encode()).hexdigest()
        with self.session(write=True) as s:
            twin = s.scalar(select(Job).where(Job.kind == "crawl", Job.sha256 == key,
                                              Job.state.in_(("queued", "running"))))
            if twin is not None:
                raise DuplicateJob(key, twin.id, "")
            job_id = secrets.token_hex(6)
            row = Job(id=job_id, kind="crawl", state="queued", doc_id="", filename=url, sha256=key, size=0,
                      staged_path="", meta=dict(options), progress={"stage": "queued"}, attempts=0,
                      created_by=actor.id if actor else None, created_at=now, updated_at=now)
            s.add(row)
            self.audit(actor, "crawl.queue", job_id, s=s, url=url, **options)
            s.flush()
            return _job(row)

    def crawl_jobs(self, *, limit: int = 20) -> builtins.list[JobRecord]:
        """The latest crawls, newest first."""
        with self.session() as s:
            rows = s.scalars(select(Job).where(Job.kind == "crawl").order_by(Job.created_at.desc(), Job.id)
                             .limit(max(0, limit)))
            return [_job(r) for r in rows]
