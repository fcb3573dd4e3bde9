"""The background worker: runs queued ingestion jobs one at a time inside the server process.

Crash safety comes from the order of writes (ingest.versions): a new version's passages are written first, the
catalog switches to them in one transaction, then the old passages are deleted. A job still marked running when
the server starts was interrupted somewhere in between; ``recover`` looks at the catalog to tell where:

* the catalog already has the job's version: the switch happened; only the old version's passages may remain,
  and they are deleted; the job is done;
* otherwise the passages written for the job's version (if any) are deleted, and the job is queued again, or
  marked failed once it has been tried ``job_max_attempts`` times.

Before a job writes, the data folder must have ``KMH_MIN_FREE_MB`` free (kmh.diskspace); otherwise the job fails
saying so and /readyz answers 503 until there is room. A write that fails anyway (disk full, SQLite I/O error, store
error) fails its job with a plain message (services.errors.plain_error; the full error is logged), its half-written
passages are deleted where the store can, the catalog's connections are replaced, and the next job runs normally
once there is room. A failed job's staged upload is removed.

``list_jobs`` and ``get_job`` read the queue for staff (JobNotFound for an unknown id).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from kmh.catalog import JobRecord
from kmh.catalog.models import utcnow
from kmh.store import Filter
from services.errors import JobNotFound

if TYPE_CHECKING:
    from ingest.indexer import Indexer
    from kmh.catalog import Catalog
    from services.runtime import Runtime

log = logging.getLogger("kmh.worker")

JobState = Literal["queued", "running", "done", "failed"]


def list_jobs(*, catalog: Catalog, limit: int = 50, offset: int = 0, state: JobState | None = None,
              doc_id: str | None = None) -> tuple[list[JobRecord], int]:
    """One page of jobs, newest first, and how many match."""
    return catalog.jobs(limit=limit, offset=offset, state=state, doc_id=doc_id)


def get_job(*, catalog: Catalog, job_id: str) -> JobRecord:
    """The job with this id; JobNotFound when there is none."""
    job = catalog.job(job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


class JobRefused(Exception):
    """A job that cannot run, with a reason already fit to show (no space, its staged file gone)."""


class JobWorker:
    """Runs the catalog's queued jobs in a thread, with the runtime's indexer under its write lock."""

    def __init__(self, runtime: Runtime, poll_seconds: float = 2.0):
        self.rt = runtime
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Final job states the catalog could not save yet (job id -> values), saved again before the next claim.
        self._unsaved: dict[str, dict[str, Any]] = {}

    @property
    def catalog(self) -> Catalog:
        return self.rt.catalog

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="kmh-jobs", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop after its current job, and wait for it (a job cut short is recovered later)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def exclusive(self) -> bool:
        """Whether this process alone writes the index (the embedded store is locked by its owner): then every job
        marked running at start was interrupted. With a Qdrant server, other processes' workers may be running
        theirs: only jobs without progress for KMH_JOB_LEASE_SECONDS are taken as interrupted."""
        return self.rt.settings.store_backend == "edge"

    def _loop(self) -> None:
        last_check = 0.0
        while not self._stop.is_set():
            if self.exclusive and last_check == 0.0 or not self.exclusive and time.monotonic() - last_check > 60:
                last_check = time.monotonic()
                try:
                    self.recover()
                except Exception:
                    log.exception("recovering interrupted jobs failed")
            try:
                self._save_unsaved()
                job = self.catalog.claim_job()
            except Exception as exc:
                log.exception("could not read the job queue")
                self._catalog_failed(exc)
                job = None
            if job is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            self.run(job)

    # -- recovery

    def recover(self) -> list[tuple[str, str]]:
        """Settle the jobs an earlier process left running; returns (job id, outcome) pairs."""
        outcomes = []
        stale = None if self.exclusive else utcnow() - timedelta(seconds=self.rt.settings.job_lease_seconds)
        for job in self.catalog.interrupted_jobs(stale):
            with self.rt.write_lock:
                outcomes.append((job.id, self._recover(job)))
        for job_id, outcome in outcomes:
            log.warning("job %s was interrupted by a restart: %s", job_id, outcome)
        return outcomes

    def _recover(self, job: JobRecord) -> str:
        store, catalog = self.rt.store, self.catalog
        if job.kind == "crawl":  # each page was published on its own: crawling again finds where it stopped
            from ingest.pending import recover

            for doc_id, version, what in recover(self.rt.settings.data_dir, catalog, store, exclusive=self.exclusive):
                log.warning("crawl job %s: document %s, version %s: %s", job.id, doc_id, version, what)
            if job.attempts >= self.rt.settings.job_max_attempts:
                catalog.update_job(job.id, state="failed", progress={"stage": "failed"},
                                   error=f"interrupted {job.attempts} times (the server stopped while crawling)")
                return "failed"
            catalog.update_job(job.id, state="queued", progress={"stage": "queued"},
                               error="interrupted by a server restart; queued again")
            return "queued again"
        doc = catalog.get(job.doc_id)
        if doc is not None and doc.sha256 == job.sha256 and job.doc_version == doc.version:
            store.delete(Filter(equals={"doc_id": doc.id}, not_equals={"doc_version": doc.version}))
            catalog.update_job(job.id, state="done", error=None,
                               progress={"stage": "done", "done": doc.passage_count, "total": doc.passage_count})
            self._unstage(job)
            return "its new version was already catalogued: done"
        if job.doc_version is not None and (doc is None or job.doc_version > doc.version):
            store.delete(Filter(equals={"doc_id": job.doc_id, "doc_version": job.doc_version}))
        if job.attempts >= self.rt.settings.job_max_attempts:
            catalog.update_job(job.id, state="failed", progress={"stage": "failed"},
                               error=f"interrupted {job.attempts} times (the server stopped while ingesting it)")
            self._unstage(job)
            return "failed"
        catalog.update_job(job.id, state="queued", progress={"stage": "queued"},
                           error="interrupted by a server restart; queued again")
        return "queued again"

    # -- running

    def run(self, job: JobRecord) -> None:
        """Run one claimed job to done or failed (never raises). A recording (``meta["media"]``) is transcribed
        first, without the write lock (a backup or a caption fix need not wait for Whisper), then published under
        it; its progress counts the seconds transcribed (``seconds``, ``seconds_total``) through every stage."""
        from ingest.indexer import Upload
        from ingest.model import IngestError
        from ingest.progress import RateMeter

        if job.kind == "crawl":
            self._crawl(job)
            return
        path = self.rt.settings.data_dir / job.staged_path
        media = bool(job.meta.get("media"))
        meter = RateMeter()
        heard: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            state: dict[str, Any] = {"stage": stage, "done": done, "total": total}
            if stage == "transcribing":
                heard.update(seconds=done, seconds_total=total)
            if stage == "embedding":
                meter.update(done, total)
                rate, eta = meter.rate, meter.eta
                state["rate"] = round(rate, 1) if rate is not None else None
                state["eta_seconds"] = round(eta) if eta is not None else None
            self.catalog.update_job(job.id, progress=state | heard)

        def after_transcript(stage: str, done: int, total: int) -> None:
            """The stages after the transcript was made: the kept transcript's "transcribing" would only flicker."""
            if stage != "transcribing":
                progress(stage, done, total)

        upload = Upload(job.doc_id, job.filename, dict(job.meta))
        captions = path.parent / job.meta["captions"] if media and job.meta.get("captions") else None
        try:
            if media:
                with self.rt.write_lock:
                    if not path.is_file():
                        raise JobRefused(f"the uploaded file {job.filename} is no longer in the staging folder")
                    indexer = self.rt.indexer()
                try:
                    indexer.transcribe_recording(path, upload, language=job.meta["language"], captions=captions,
                                                 progress=progress)
                except IngestError as exc:
                    raise JobRefused(f"{job.filename}: {exc.reason}") from None
            with self.rt.write_lock:
                if not path.is_file():
                    raise JobRefused(f"the uploaded file {job.filename} is no longer in the staging folder")
                no_room = self.rt.check_disk()
                if no_room is not None:
                    raise JobRefused(no_room)
                indexer = self.rt.indexer()
                doc = self.catalog.get(job.doc_id)
                version = doc.version + 1 if doc is not None else 1
                self.catalog.update_job(job.id, doc_version=version, progress={"stage": "parsing"} | heard)
                job.doc_version = version
                if media:
                    result = indexer.publish_recording(path, upload, language=job.meta["language"],
                                                       captions=captions, progress=after_transcript)
                else:
                    result = indexer.publish(path, upload, progress)
        except Exception as exc:
            self._failed(job, exc)
            return
        if result.status in ("new", "updated"):
            done: dict[str, Any] = {"stage": "done", "done": result.passages, "total": result.passages} | heard
            if result.notes:
                done["notes"] = list(result.notes)  # pages left out: "page 3: OCR confidence 41% < 70%, not indexed"
            self._finish(job.id, state="done", error=None, progress=done)
            self._unstage(job)
        else:
            self._failed(job, result.reason or f"nothing was indexed ({result.status})")

    def _crawl(self, job: JobRecord) -> None:
        """Crawl a website (services.crawls), publishing page by page under the write lock; the job's progress
        counts the URLs done, and its summary is kept in its progress once done."""
        from ingest.pending import PendingLog
        from services.crawls import job_options, run_crawl
        from services.errors import plain_error

        # the versions a page is being published as, for recovery after a crash (the job names no single document)
        pending = PendingLog(self.rt.settings.data_dir)
        used: list[Indexer] = []

        def indexer() -> Indexer:  # called under the write lock
            ix = self.rt.indexer()
            ix.pending = pending
            used[:] = [ix]
            return ix

        try:
            no_room = self.rt.check_disk()
            if no_room is not None:
                raise JobRefused(no_room)
            options = job_options(settings=self.rt.settings, job=job)
            actor = self.catalog.key(job.created_by) if job.created_by else None
            summary = run_crawl(catalog=self.catalog, store=self.rt.store, settings=self.rt.settings, options=options,
                                indexer=indexer, actor=actor, write_lock=self.rt.write_lock,
                                on_progress=lambda p: self.catalog.update_job(job.id, progress=p.as_json()))
        except Exception as exc:
            log.warning("crawl job %s failed: %s", job.id, exc, exc_info=not isinstance(exc, JobRefused))
            self._finish(job.id, state="failed", progress={"stage": "failed"}, error=plain_error(exc))
            return
        finally:
            for ix in used:  # the upload jobs keep theirs in the job itself
                with self.rt.write_lock:
                    ix.pending = None
        done = len([p for p in summary.pages if p.outcome != "skipped"])
        self._finish(job.id, state="done", error=None,
                     progress={"stage": "done", "done": done, "total": done, "summary": summary.as_json()})

    def _failed(self, job: JobRecord, error: Exception | str) -> None:
        """Mark the job failed with a plain reason (the full error is logged), clean up after a failed write, and
        remove its staged upload."""
        from services.errors import plain_error, write_failure

        if isinstance(error, JobRefused):
            log.warning("job %s refused: %s", job.id, error)
            reason = str(error)
        else:
            if isinstance(error, BaseException):
                log.error("job %s failed", job.id, exc_info=error)
            else:
                log.warning("job %s failed: %s", job.id, error)
            reason = plain_error(error)
            failed_write = write_failure(error)
            if failed_write is not None:
                self._after_failed_write(job, failed_write)
        self._finish(job.id, state="failed", progress={"stage": "failed"}, error=reason)
        self._unstage(job)

    def _after_failed_write(self, job: JobRecord, reason: str) -> None:
        """A write failed: new catalog connections, the job's half-written passages deleted (when the store can;
        otherwise they stay invisible to search, as passages of a version the catalog does not have), and the
        service unready until the data folder takes writes again."""
        from kmh.diskspace import MB, free_bytes

        self._reset_catalog()
        self.rt.disk_write_failed(reason)
        with self.rt.write_lock:
            try:
                doc = self.catalog.get(job.doc_id)
                if job.doc_version is None or doc is not None and job.doc_version <= doc.version:
                    return
                # a delete is a write too: on a volume with no room at all, the store's mapped files could not take it
                if self.rt.settings.store_backend == "edge" and free_bytes(self.rt.settings.index_path) < 16 * MB:
                    log.warning("no room to delete the passages of the failed job %s now (left to recovery)", job.id)
                    return
                self.rt.store.delete(Filter(equals={"doc_id": job.doc_id, "doc_version": job.doc_version}))
            except Exception:
                log.exception("could not delete the passages of the failed job %s (left to recovery)", job.id)

    def _catalog_failed(self, exc: Exception) -> None:
        from services.errors import write_failure

        reason = write_failure(exc)
        if reason is not None:
            self._reset_catalog()
            self.rt.disk_write_failed(reason)

    def _reset_catalog(self) -> None:
        """Close the catalog's pooled connections: the next use opens new ones (a connection that saw an I/O error
        may keep failing)."""
        try:
            self.catalog.engine.dispose()
        except Exception:
            log.exception("could not reset the catalog connections")

    def _finish(self, job_id: str, **values: Any) -> None:
        """Save a job's final state; when the catalog cannot write it now, keep it and try again before the next
        job (the job reads as running meanwhile)."""
        try:
            self.catalog.update_job(job_id, **values)
        except Exception as exc:
            log.exception("could not save the state of job %s; it will be saved when the catalog can write", job_id)
            self._catalog_failed(exc)
            self._unsaved[job_id] = values
        else:
            self._unsaved.pop(job_id, None)

    def _save_unsaved(self) -> None:
        for job_id, values in list(self._unsaved.items()):
            self.catalog.update_job(job_id, **values)
            del self._unsaved[job_id]

    def _unstage(self, job: JobRecord) -> None:
        """Remove the staged upload (a published one is kept under originals/)."""
        path = self.rt.settings.data_dir / job.staged_path
        try:
            path.unlink(missing_ok=True)
            if job.meta.get("captions"):  # a recording's captions, staged beside it
                (path.parent / job.meta["captions"]).unlink(missing_ok=True)
            if path.parent != self.rt.settings.staging_dir and path.parent.is_relative_to(self.rt.settings.staging_dir):
                path.parent.rmdir()
        except OSError:
            log.warning("could not remove the staged upload %s", path)

