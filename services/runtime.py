"""What the app holds while it runs: the settings, the open catalog, store and searcher, and readiness."""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from kmh.settings import Settings

if TYPE_CHECKING:
    from ingest.indexer import Indexer
    from kmh.catalog import Catalog
    from kmh.diskspace import DiskGuard
    from kmh.store import VectorStore
    from search.searcher import Searcher
    from services.analytics import SearchRecorder
    from services.jobs import JobWorker

log = logging.getLogger("kmh.api")

Phase = Literal["starting", "loading", "ready", "failed", "stopped"]


@dataclass
class Runtime:
    """Loaded once by the lifespan; ``phase`` says how far it got.

    starting: the lifespan has not run (yet); loading: models and store are being opened;
    ready: everything is open and warm; failed: loading raised (``error`` says why); stopped: closed.
    """

    settings: Settings
    phase: Phase = "starting"
    error: str | None = None
    catalog: Catalog | None = None
    store: VectorStore | None = None
    searcher: Searcher | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _indexer: Indexer | None = field(default=None, repr=False)
    # Runs the queued ingestion jobs (services.jobs.JobWorker), started once the rest is loaded.
    worker: JobWorker | None = None
    # Whether load() starts the background job worker.
    start_jobs: bool = True
    # Records the searches for staff (services.analytics), started once the rest is loaded.
    analytics: SearchRecorder | None = None
    # One write at a time: the indexer and its models are shared, and versions of a document must not race.
    write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # What keeps a loaded service from being ready, by source ("disk", "check", ...): /readyz answers 503 with
    # these reasons while any is set; searches keep working where they can.
    problems: dict[str, str] = field(default_factory=dict)
    # Free space and failed writes in the data folder (kmh.diskspace.DiskGuard), made on first use.
    _disk: DiskGuard | None = field(default=None, repr=False)

    def set_problem(self, source: str, reason: str) -> None:
        """Mark the service unready for ``reason`` (logged once per change)."""
        with self._lock:
            changed = self.problems.get(source) != reason
            self.problems[source] = reason
        if changed:
            log.error("not ready (%s): %s", source, reason)

    def clear_problem(self, source: str) -> None:
        with self._lock:
            gone = self.problems.pop(source, None)
        if gone is not None:
            log.warning("ready again (%s resolved)", source)

    def check_disk(self) -> str | None:
        """Whether the data folder can take a job's writes now; sets or clears the "disk" problem. Returns the reason
        it cannot, or None."""
        reason = self._disk_guard().check()
        if reason is None:
            self.clear_problem("disk")
        else:
            self.set_problem("disk", reason)
        return reason

    def disk_write_failed(self, reason: str) -> None:
        """A write to the data folder failed: unready until a check finds room and a probe write succeeds."""
        self._disk_guard().write_failed(reason)
        self.set_problem("disk", reason)

    def _disk_guard(self) -> DiskGuard:
        if self._disk is None:
            from kmh.diskspace import DiskGuard

            self._disk = DiskGuard(self.settings)
        return self._disk

    @property
    def ready(self) -> bool:
        return self.phase == "ready"

    def load(self) -> None:
        """Open the catalog and the vector store, build the searcher and warm it up (blocking; run in a thread)."""
        from kmh.diskspace import check_index_room
        from kmh.runtime import open_catalog, open_vector_store
        from kmh.settings import set_offline_env
        from search.searcher import Searcher

        with self._lock:
            if self.phase in ("loading", "ready"):
                return
            self.phase, self.error = "loading", None
        catalog = store = None
        try:
            set_offline_env()
            check_index_room(self.settings)  # before the store maps its files: a full volume would be a SIGBUS
            catalog = open_catalog(self.settings)
            store = open_vector_store(self.settings)
            searcher = Searcher(self.settings, catalog, store)
            searcher.warm_up()
            # a quick `kmh check` (counts and a sample of vectors): a damaged index is unready, not silently empty
            from kmh.check import quick_check

            problem = quick_check(catalog, store)
            if problem:
                self.set_problem("check", problem)
            else:
                self.clear_problem("check")
        except Exception as exc:
            log.exception("the search service could not load")
            error = f"{exc}"
            if catalog is not None and store is None:  # the catalog opened, the index did not: damaged?
                error += "; `kmh check` says whether the index is damaged and `kmh check --repair` rebuilds it"
                log.error("the index could not be opened: run `kmh check --repair` (with the server stopped)")
            _close_quietly(store, catalog, when="after a failed load")
            with self._lock:
                self.phase, self.error = "failed", error
            return
        # The ~300k objects loaded so far (model runtime, libraries) live as long as the process: move them out of
        # the collector's reach, so a full collection (about 180 ms over them) never lands inside a request.
        gc.collect()
        gc.freeze()
        from services.analytics import SearchRecorder

        self.analytics = SearchRecorder(catalog, days=self.settings.analytics_days)
        self.analytics.start()  # before ready: every search answered is recorded
        with self._lock:
            self.catalog, self.store, self.searcher = catalog, store, searcher
            self.phase = "ready"
        log.info("search service ready (data in %s)", self.settings.data_dir)
        if self.start_jobs:
            from services.jobs import JobWorker

            self.worker = JobWorker(self)
            self.worker.start()

    def stop_worker(self) -> None:
        """Let the job worker finish its current job and stop (before close())."""
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop()

    def indexer(self) -> Indexer:
        """The ingestion pipeline over the open catalog and store, loaded on first use (its document
        embedder adds a few hundred MB); call with ``write_lock`` held."""
        if self._indexer is None:
            from ingest.indexer import Indexer

            indexer = Indexer(self.settings, self.catalog, self.store)
            indexer.warm_up()
            self._indexer = indexer
        return self._indexer

    def close(self) -> None:
        """Release the store (its folder lock) and the catalog connections; safe to call twice."""
        self.stop_worker()
        analytics, self.analytics = self.analytics, None
        if analytics is not None:
            _close_quietly(analytics, when="the search analytics")  # writes the searches still waiting
        with self._lock:
            catalog, store, indexer = self.catalog, self.store, self._indexer
            self.catalog = self.store = self.searcher = self._indexer = None
            self.phase = "stopped"
        _close_quietly(indexer, store, catalog, when="the search service")  # the indexer stops its parse worker
        gc.unfreeze()  # what load() froze can be collected again (an app created and closed in a longer process)

    def problem_reason(self) -> str | None:
        """The problems that make /readyz 503, in one sentence, or None."""
        with self._lock:
            reasons = [self.problems[k] for k in sorted(self.problems)]
        return "; ".join(reasons) or None

    def not_ready_reason(self) -> str:
        if self.phase == "starting":
            return "the service has not started: models and index are not loaded yet"
        if self.phase == "loading":
            return "the service is loading its models and index; retry shortly"
        if self.phase == "failed":
            return f"the service failed to load: {self.error}"
        return "the service is shutting down"


def _close_quietly(*things, when: str) -> None:
    """Close each opened resource; a failure is logged and does not stop the others from closing."""
    for thing in things:
        if thing is not None:
            try:
                thing.close()
            except Exception:
                log.exception("while closing %s", when)
