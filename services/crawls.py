"""Website import: crawl a site (ingest.crawl) and publish its pages and the documents they link, incrementally.

What each URL gave decides what happens to its document (source key ``url:<URL>``, its URL kept as ``source_url``):

- new content: the first version of a new document, or a new version of the URL's document; the page's own metadata
  (title, date, language, ``og:``/``article:`` tags) are its sidecar fields;
- a 304, or the same content hash as the URL's document: unchanged (the conditional request was the only one);
- 404 or 410: the URL's document is retracted (services.publishing.retract_document, audited, with a
  ``crawl.gone`` entry naming the URL); should the page come back, it is restored;
- a network error, a 5xx or another status: the document is left as it is and the URL reported as failed.

No single URL stops the crawl: each one's outcome is counted and the summary (``CrawlSummary``) lists the failures
with their reasons and the URLs skipped (robots.txt, the patterns, off-site redirects, other content types).
What the last crawl found at each URL is kept in the catalog (``crawl_pages``) for the next one.

From the command line (``kmh crawl``) ``run_crawl`` runs in the process; in the server a crawl is a job
(``queue_crawl``; services.jobs runs it), publishing under the runtime's write lock one page at a time.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from ingest.crawl import CrawlError, CrawlOptions, Fetched, Known, UrlFilter, normalize_url, site_of
from ingest.prepared import WEB_KEY_PREFIX
from kmh.catalog import CrawlPageRecord, JobRecord
from services.errors import Conflict, InvalidParameter

if TYPE_CHECKING:
    import httpx

    from ingest.indexer import Indexer
    from kmh.catalog import Catalog, DocumentRecord, KeyRecord
    from kmh.settings import Settings
    from kmh.store import VectorStore
    from services.jobs import JobWorker

log = logging.getLogger("kmh.crawl")

PageOutcome = Literal["new", "updated", "unchanged", "retracted", "failed", "skipped"]
OUTCOMES: tuple[PageOutcome, ...] = ("new", "updated", "unchanged", "retracted", "failed", "skipped")
DUPLICATE = "same content as another document"
# The most page entries a crawl's summary keeps (the counts cover them all).
SUMMARY_PAGES = 500


@dataclass
class PageResult:
    """What the crawl did with one URL."""

    url: str
    outcome: PageOutcome
    doc_id: str | None = None
    title: str | None = None
    reason: str | None = None
    http_status: int | None = None


@dataclass
class CrawlProgress:
    """How far a crawl is: URLs done, waiting (known so far), pages per second and seconds left when known."""

    done: int
    waiting: int
    rate: float | None
    eta: float | None
    last: PageResult

    def as_json(self) -> dict[str, Any]:
        return {"stage": "crawling", "done": self.done, "total": self.done + self.waiting,
                "rate": round(self.rate, 2) if self.rate is not None else None,
                "eta_seconds": round(self.eta) if self.eta is not None else None, "current": self.last.url}


@dataclass
class CrawlSummary:
    """A crawl's outcome: each URL's result, the URLs skipped by reason, the requests made and the time taken."""

    url: str
    site: str
    pages: list[PageResult] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0
    from_sitemap: bool = False

    def count(self, outcome: PageOutcome) -> int:
        return sum(p.outcome == outcome for p in self.pages)

    @property
    def counts(self) -> dict[str, int]:
        out = {o: self.count(o) for o in OUTCOMES if o != "skipped"}
        out["skipped"] = sum(self.skipped.values())
        return out

    @property
    def failures(self) -> list[PageResult]:
        return [p for p in self.pages if p.outcome == "failed"]

    @property
    def pages_per_second(self) -> float:
        fetched = sum(p.outcome != "skipped" for p in self.pages)
        return fetched / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "site": self.site, **self.counts, "skipped_by_reason": dict(self.skipped),
                "failures": [{"url": p.url, "reason": p.reason} for p in self.failures],
                "pages": [{"url": p.url, "outcome": p.outcome, "doc_id": p.doc_id, "reason": p.reason}
                          for p in self.pages if p.outcome != "skipped"][:SUMMARY_PAGES],
                "requests": self.requests, "seconds": round(self.seconds, 2),
                "pages_per_second": round(self.pages_per_second, 2), "from_sitemap": self.from_sitemap}


# -- options and the queue ------------------------------------------------------------------------------------------


def crawl_options(*, settings: Settings, url: str, depth: int | None = None, include: Sequence[str] = (),
                  exclude: Sequence[str] = (), delay: float | None = None, max_pages: int | None = None
                  ) -> CrawlOptions:
    """Checked crawl options (the settings' defaults for what is not given); InvalidParameter names a wrong one."""
    start = normalize_url(url)
    if start is None or len(url) > 2000:
        raise InvalidParameter("url", f"{url!r} is not an http(s) URL", "body")
    depth = settings.crawl_depth if depth is None else depth
    if not 0 <= depth <= 10:
        raise InvalidParameter("depth", "must be between 0 and 10", "body")
    try:
        UrlFilter(include, exclude)
    except ValueError as exc:
        raise InvalidParameter("include" if str(exc).startswith("include") else "exclude", str(exc), "body") from None
    if delay is not None and delay < 0:
        raise InvalidParameter("delay", "must be 0 or more seconds", "body")
    return CrawlOptions(url=start, depth=depth, include=tuple(include), exclude=tuple(exclude),
                        delay=settings.crawl_delay if delay is None else delay,
                        max_pages=max_pages or settings.crawl_max_pages, max_bytes=settings.max_file_bytes)


def queue_crawl(*, catalog: Catalog, worker: JobWorker | None, settings: Settings, url: str, depth: int | None = None,
                include: Sequence[str] = (), exclude: Sequence[str] = (), actor: KeyRecord | None) -> JobRecord:
    """Queue a crawl job (services.jobs runs it with the server's delay). InvalidParameter for a wrong option;
    Conflict (naming ``job_id``) while a crawl of the same site waits or runs."""
    from kmh.catalog import DuplicateJob

    options = crawl_options(settings=settings, url=url, depth=depth, include=include, exclude=exclude)
    try:
        job = catalog.create_crawl_job(options.url, site=site_of(options.url), actor=actor, options={
            "depth": options.depth, "include": list(options.include), "exclude": list(options.exclude)})
    except DuplicateJob as exc:
        raise Conflict(f"job {exc.job_id} is already crawling {site_of(options.url)}; retry when it is done",
                       job_id=exc.job_id) from None
    if worker is not None:
        worker.notify()
    return job


def list_crawls(*, catalog: Catalog, limit: int = 20) -> list[JobRecord]:
    """The latest crawl jobs, newest first."""
    return catalog.crawl_jobs(limit=limit)


def job_options(*, settings: Settings, job: JobRecord) -> CrawlOptions:
    """The options of a queued crawl job, with the server's delay and limits."""
    meta = job.meta
    return crawl_options(settings=settings, url=job.filename, depth=meta.get("depth"),
                         include=meta.get("include") or (), exclude=meta.get("exclude") or ())


# -- running --------------------------------------------------------------------------------------------------------


def run_crawl(*, catalog: Catalog, store: VectorStore, settings: Settings, options: CrawlOptions,
              indexer: Callable[[], Indexer], actor: KeyRecord | None,
              write_lock: AbstractContextManager | None = None,
              on_progress: Callable[[CrawlProgress], None] | None = None,
              client: httpx.Client | None = None) -> CrawlSummary:
    """Crawl ``options.url``'s site and publish what changed (see the module's docstring). ``indexer()`` gives the
    indexer to publish with, called under ``write_lock`` (the server's) for each page; ``actor`` is who the audit
    log names (None: the command line). Raises CrawlError when the crawl cannot start (robots.txt unreachable)."""
    from ingest.crawl import Crawler
    from ingest.progress import RateMeter

    site = site_of(options.url)
    lock = write_lock if write_lock is not None else nullcontext()
    summary = CrawlSummary(options.url, site)
    started = time.perf_counter()

    def known(url: str) -> Known | None:
        rec = catalog.crawl_page(url)
        if rec is None or rec.status == "gone":
            return None
        if rec.doc_id is not None and catalog.get(rec.doc_id) is None:
            return None  # its document was removed since: fetch it whole
        return Known(rec.etag, rec.last_modified, list(rec.links))

    revisit = [p.url for p in catalog.crawl_pages(site)]
    crawler = Crawler(options, known=known, revisit=revisit, client=client)
    meter = RateMeter()
    meter.update(0)  # the rate counts from the start (a first page that loads the models included)
    skipped_here: dict[str, int] = {}  # skipped by the publisher, not the crawler: the same content as another
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="crawl-", dir=settings.staging_dir) as tmp:
            page = _PagePublisher(catalog, store, indexer, lock, actor, site, tmp)
            for got in crawler.crawl():
                try:
                    result = page.handle(got)
                except Exception as exc:  # one page's bug must not stop the crawl
                    log.exception("crawling %s failed", got.url)
                    result = PageResult(got.url, "failed", reason=f"unexpected error: {exc}")
                summary.pages.append(result)
                if result.outcome == "skipped" and got.outcome != "skipped":
                    skipped_here[DUPLICATE] = skipped_here.get(DUPLICATE, 0) + 1
                done = sum(p.outcome != "skipped" for p in summary.pages)
                meter.update(done, done + crawler.queued)
                if on_progress is not None:
                    on_progress(CrawlProgress(done, crawler.queued, meter.rate, meter.eta, result))
    finally:
        crawler.close()
    summary.skipped = dict(crawler.skipped) | skipped_here
    summary.requests = crawler.requests
    summary.from_sitemap = bool(crawler.sitemap_urls)
    summary.seconds = time.perf_counter() - started
    catalog.audit(actor, "crawl.done", site, url=options.url, requests=summary.requests, **summary.counts)
    return summary


class _PagePublisher:
    """Turns each crawled URL into its document's fate (new, updated, unchanged, retracted, failed)."""

    def __init__(self, catalog: Catalog, store: VectorStore, indexer: Callable[[], Indexer],
                 lock: AbstractContextManager, actor: KeyRecord | None, site: str, tmp: str):
        self.catalog = catalog
        self.store = store
        self.indexer = indexer
        self.lock = lock
        self.actor = actor
        self.site = site
        self.tmp = tmp

    def handle(self, got: Fetched) -> PageResult:
        rec = self.catalog.crawl_page(got.url)
        if got.outcome == "skipped":
            return PageResult(got.requested, "skipped", reason=got.reason, http_status=got.http_status)
        if got.outcome == "not_modified":
            self._save(got, rec, status="ok", etag=got.etag, last_modified=got.last_modified)
            if rec is not None and rec.doc_id is None:  # still the same content as another document
                return PageResult(got.url, "skipped", reason=DUPLICATE, http_status=304)
            doc = self.catalog.get(rec.doc_id) if rec and rec.doc_id else None
            return PageResult(got.url, "unchanged", rec.doc_id if rec else None, doc.title if doc else None,
                              http_status=304)
        if got.outcome == "gone":
            return self._gone(got, rec)
        if got.outcome == "failed":
            if rec is not None:
                self._save(got, rec, status="error", reason=got.reason)
            return PageResult(got.url, "failed", rec.doc_id if rec else None, reason=got.reason,
                              http_status=got.http_status)
        return self._content(got, rec)

    def _gone(self, got: Fetched, rec: CrawlPageRecord | None) -> PageResult:
        from services.publishing import retract_document

        reason = f"HTTP {got.http_status}: no longer on the site"
        if rec is None or rec.doc_id is None:
            return PageResult(got.url, "failed", reason=f"not found (HTTP {got.http_status})",
                              http_status=got.http_status)
        doc = self.catalog.get(rec.doc_id)
        self._save(got, rec, status="gone", etag=None, last_modified=None, reason=reason)
        if doc is None or doc.status == "retracted":
            return PageResult(got.url, "unchanged", rec.doc_id, doc.title if doc else None, reason=reason,
                              http_status=got.http_status)
        retract_document(catalog=self.catalog, store=self.store, doc_id=doc.id, actor=self.actor)
        self.catalog.audit(self.actor, "crawl.gone", doc.id, url=got.url, http_status=got.http_status)
        return PageResult(got.url, "retracted", doc.id, doc.title, reason=reason, http_status=got.http_status)

    def _content(self, got: Fetched, rec: CrawlPageRecord | None) -> PageResult:
        from pathlib import Path

        from ingest.indexer import Upload
        from kmh.catalog import sha256_bytes

        sha = sha256_bytes(got.body)
        doc = self._document(got.url, rec)
        if doc is not None and doc.sha256 == sha:
            self._save(got, rec, status="ok", doc_id=doc.id, sha256=sha)
            if doc.status == "retracted" and rec is not None and rec.status == "gone":
                self._restore(doc)
                return PageResult(got.url, "updated", doc.id, doc.title, reason="back on the site: published again")
            return PageResult(got.url, "unchanged", doc.id, doc.title, http_status=got.http_status)
        twin = self.catalog.by_sha256(sha)
        if twin is not None and (doc is None or twin.id != doc.id):
            self._save(got, rec, status="ok", doc_id=doc.id if doc else None, sha256=sha)
            return PageResult(got.url, "skipped", twin.id, twin.title, reason=f"same content as document {twin.id}")
        meta = page_sidecar(got)
        path = Path(self.tmp) / file_name(got.url, got.suffix or ".html")
        path.write_bytes(got.body)
        upload = Upload(doc.id if doc else self.catalog.new_doc_id(), path.name, meta, key=WEB_KEY_PREFIX + got.url)
        try:
            with self.lock:
                result = self.indexer().publish(path, upload)
        finally:
            path.unlink(missing_ok=True)
        if result.status not in ("new", "updated"):
            if rec is not None:
                self._save(got, rec, status="error", reason=result.reason)
            return PageResult(got.url, "failed", upload.doc_id if doc else None,
                              reason=result.reason or result.status, http_status=got.http_status)
        self.catalog.audit(self.actor, "document.ingest" if result.status == "new" else "document.update",
                           result.doc_id, url=got.url, passages=result.passages, via="crawl")
        self._save(got, rec, status="ok", doc_id=result.doc_id, sha256=sha)
        if doc is not None and doc.status == "retracted" and rec is not None and rec.status == "gone":
            self._restore(doc)
        return PageResult(got.url, result.status, result.doc_id, result.title, http_status=got.http_status)

    def _document(self, url: str, rec: CrawlPageRecord | None) -> DocumentRecord | None:
        if rec is not None and rec.doc_id:
            doc = self.catalog.get(rec.doc_id)
            if doc is not None:
                return doc
        return self.catalog.by_source_key(WEB_KEY_PREFIX + url)

    def _restore(self, doc: DocumentRecord) -> None:
        from services.publishing import restore_document

        restore_document(catalog=self.catalog, store=self.store, doc_id=doc.id, actor=self.actor)
        self.catalog.audit(self.actor, "crawl.back", doc.id)

    def _save(self, got: Fetched, rec: CrawlPageRecord | None, *, status: str, **values: Any) -> None:
        page = rec if rec is not None else CrawlPageRecord(url=got.url, site=self.site, status=status)
        page.status = status
        page.http_status = got.http_status
        page.reason = values.pop("reason", None)
        if got.outcome in ("ok", "not_modified"):
            page.etag, page.last_modified = got.etag, got.last_modified
            page.links = list(got.links)
        for name, value in values.items():
            setattr(page, name, value)
        self.catalog.save_crawl_page(page)


def page_sidecar(got: Fetched) -> dict[str, Any]:
    """The sidecar fields of a crawled page or document: its URL as ``source``, and the page's own metadata that
    pass the sidecar's checks (ingest.metadata.check_fields); a wrong one is left out, not fatal."""
    from ingest.metadata import check_fields

    class _Bad(Exception):
        pass

    def bad(name: str, why: str) -> Exception:
        return _Bad(name)

    out = check_fields({"source": got.url}, bad)
    for name, value in got.meta.items():
        try:
            out |= check_fields({name: value}, bad)
        except _Bad:
            log.info("left out the page's %s of %s: %r", name, got.url, value)
    return out


def file_name(url: str, suffix: str) -> str:
    """A safe file name for a crawled URL: its last path segment (or "index"), with the parser's extension."""
    segment = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    stem = re.sub(r"[^\w.-]+", "-", segment).strip(".-")[:80] or "index"
    if stem.lower().endswith(suffix):
        stem = stem[: -len(suffix)] or "index"
    stem = re.sub(r"\.(html?|php|aspx?|jsp)$", "", stem, flags=re.IGNORECASE) or "index"
    return stem + suffix


__all__ = ["CrawlError", "CrawlProgress", "CrawlSummary", "PageResult", "crawl_options", "file_name", "job_options",
           "list_crawls", "page_sidecar", "queue_crawl", "run_crawl"]
