"""Search analytics for staff: every search through GET /api/search or the search page is recorded (the query, the
language search detected, the filters, the number of results, whether nothing matched, the hit its reader opened,
when), kept ``KMH_ANALYTICS_DAYS`` days, and read back as a list, a CSV file and weekly counts.

Nothing about the reader is recorded: no IP address, key, cookie or session. A search's id (``search_id``) is random
and only returned to the one who searched, who may report the hit they opened with it.

Recording adds a few microseconds to a search: ``SearchRecorder.record`` only keeps the search in memory; a thread
writes the waiting searches every half second in one statement (detecting the language and folding the query
there, off the request path), deletes those past the retention at start and daily, and writes what is left on
shutdown. A failed write is logged and its searches are lost; it never fails a search. ``kmh search`` on the command
line is not recorded.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import TYPE_CHECKING, Literal

from kmh.catalog import SearchLogRecord, SearchSummary
from kmh.catalog.models import utcnow
from kmh.language import guess_language
from services.errors import InvalidParameter, ThingNotFound

if TYPE_CHECKING:
    from kmh.catalog import Catalog, KeyRecord
    from search.results import SearchQuery, SearchResults

log = logging.getLogger("kmh.analytics")

Channel = Literal["api", "web"]
SEARCH_ID = re.compile(r"[0-9a-f]{16}")
# The filters of a query that are recorded, by the name the API and the page give them.
_FILTERS = (("lang", "lang"), ("type", "doc_type"), ("country", "country"), ("year_from", "year_from"),
            ("year_to", "year_to"), ("topic", "topic"), ("seminar", "seminar"))
_SPACES = re.compile(r"\s+")
_END_PUNCTUATION = " \t?!.,;:…¿¡'\"«»“”"
# Cells a spreadsheet would read as a formula (and tab/CR, which some also do): prefixed with a quote in the CSV.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("id", "at", "week", "channel", "query", "language", "mode", "filters", "offset", "results", "no_match",
               "opened_passage", "opened_rank", "opened_at")


def normalise(query: str) -> str:
    """The query as counts group it: case folded, runs of spaces made one, punctuation at either end dropped
    ("  Réintégration  durable ? " -> "réintégration durable")."""
    return _SPACES.sub(" ", query.casefold()).strip(_END_PUNCTUATION)


def iso_week(at: datetime) -> str:
    """The ISO week of a UTC datetime: "2026-W49"."""
    year, week, _ = at.astimezone(timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def csv_cell(value: object) -> str:
    """A value as a CSV cell that no spreadsheet runs: text starting with = + - @ (or a tab or CR) gets a leading
    quote."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def filters_of(query: SearchQuery) -> dict[str, object]:
    """The filters a query was searched with (those given), as the API names them."""
    out: dict[str, object] = {name: getattr(query, attr) for name, attr in _FILTERS
                              if getattr(query, attr) not in (None, "")}
    if query.group_by_document:
        out["group_by_document"] = True
    if query.include_weak:
        out["include_weak"] = True
    return out


class SearchRecorder:
    """Keeps searches in memory and writes them in batches from a thread (see the module's docstring).

    ``days`` 0: ``record`` records nothing and returns None. At most ``max_pending`` searches wait; more are dropped
    (logged), never waited for.
    """

    def __init__(self, catalog: Catalog, *, days: int, flush_seconds: float = 0.5, max_pending: int = 10_000,
                 purge_seconds: float = 86_400.0):
        self.catalog, self.days = catalog, days
        self.flush_seconds, self.max_pending, self.purge_seconds = flush_seconds, max_pending, purge_seconds
        self._pending: dict[str, SearchLogRecord] = {}
        self._lock = threading.Lock()  # the pending searches (held for microseconds)
        self._write_lock = threading.Lock()  # a batch being written (held while the catalog writes)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0  # searches lost: too many waiting, or a failed write
        self.written = 0

    @property
    def enabled(self) -> bool:
        return self.days > 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="kmh-analytics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and write what waits."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(30)
        self.flush()

    def record(self, query: SearchQuery, results: SearchResults, channel: Channel) -> str | None:
        """Keep one search to be written; returns its id, or None when nothing is recorded."""
        if not self.enabled:
            return None
        search_id = secrets.token_hex(8)
        rec = SearchLogRecord(id=search_id, at=utcnow(), channel=channel, query=query.q, mode=query.mode,
                              filters=filters_of(query), page_offset=query.offset, result_count=results.total,
                              no_match=results.no_match, hits=[h.passage_id for h in results.hits])
        with self._lock:
            if len(self._pending) >= self.max_pending:
                self.dropped += 1
                full = True
            else:
                self._pending[search_id] = rec
                full = False
        if full:
            if self.dropped % 1000 == 1:
                log.warning("search analytics: %d searches waiting, this one is not recorded (%d so far)",
                            self.max_pending, self.dropped)
            return None
        return search_id

    def opened(self, search_id: str, passage_id: str) -> str:
        """Record the hit opened from search ``search_id`` (kmh.catalog.analytics.Opened): at once if the search
        still waits to be written, else in the catalog."""
        now = utcnow()
        with self._lock:
            done = _open(self._pending.get(search_id), passage_id, now)
        if done is not None:
            return done
        with self._write_lock:  # a batch being written holding this search: wait until it is in the catalog
            with self._lock:
                done = _open(self._pending.get(search_id), passage_id, now)
            if done is not None:
                return done
            return self.catalog.search_opened(search_id, passage_id, at=now)

    def flush(self) -> int:
        """Write the waiting searches now; returns how many were written (0 after a failure, which is logged)."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = list(self._pending.values()), {}
            if not batch:
                return 0
            try:
                for rec in batch:
                    rec.week = iso_week(rec.at)
                    rec.query_norm = normalise(rec.query)
                    rec.language = guess_language(rec.query, ("fr", "en"))  # as search does
                self.catalog.add_searches(batch)
            except Exception:
                self.dropped += len(batch)
                log.exception("search analytics: %d searches could not be written", len(batch))
                return 0
            self.written += len(batch)
            return len(batch)

    def purge(self) -> int:
        """Delete the searches older than the retention; returns how many (0 when recording is off)."""
        if not self.enabled:
            return 0
        return purge_expired(catalog=self.catalog, days=self.days)

    def _loop(self) -> None:
        next_purge = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_purge:
                next_purge = time.monotonic() + self.purge_seconds
                try:
                    self.purge()
                except Exception:
                    log.exception("search analytics: the searches past the retention could not be deleted")
            if self._stop.wait(self.flush_seconds):
                break
            self.flush()


def _open(rec: SearchLogRecord | None, passage_id: str, at: datetime) -> str | None:
    """Set the opened hit of a search still in memory; None when it is not there."""
    if rec is None:
        return None
    if passage_id not in rec.hits:
        return "not_a_hit"
    if rec.opened_passage is not None:
        return "already"
    rec.opened_passage, rec.opened_at = passage_id, at
    return "set"


# -- the uses --------------------------------------------------------------------------------------------------


def record_search(*, recorder: SearchRecorder | None, query: SearchQuery, results: SearchResults,
                  channel: Channel) -> str | None:
    """Record a search that was answered; its id, or None (not recorded). Never raises: a failure is logged."""
    if recorder is None:
        return None
    try:
        return recorder.record(query, results, channel)
    except Exception:
        log.exception("search analytics: a search could not be recorded")
        return None


def flush(recorder: SearchRecorder | None) -> None:
    """Write the searches waiting in memory, so that what staff read goes up to the last search answered."""
    if recorder is not None:
        recorder.flush()


def report_opened(*, recorder: SearchRecorder, search_id: str, passage_id: str) -> bool:
    """The reader of search ``search_id`` opened its hit ``passage_id``; only the first report counts (returns
    whether this one did). ThingNotFound for an unknown search (or one past the retention), InvalidParameter for a
    passage that was not among its hits."""
    if not SEARCH_ID.fullmatch(search_id):
        raise ThingNotFound("search", search_id, field="search_id")
    done = recorder.opened(search_id, passage_id)
    if done == "unknown":
        raise ThingNotFound("search", search_id, field="search_id")
    if done == "not_a_hit":
        raise InvalidParameter("passage_id", "was not among the hits this search answered")
    return done == "set"


def day_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """From the first moment of ``since`` to the end of ``until`` (UTC days, both included)."""
    if since is not None and until is not None and since > until:
        raise InvalidParameter("since", f"must not be after until ({since} > {until})")
    start = datetime.combine(since, dtime.min, timezone.utc) if since else None
    end = datetime.combine(until + timedelta(days=1), dtime.min, timezone.utc) if until else None
    return start, end


@dataclass
class SearchLogPage:
    items: list[SearchLogRecord]
    total: int
    limit: int
    offset: int


def list_searches(*, catalog: Catalog, since: date | None = None, until: date | None = None,
                  no_match: bool | None = None, limit: int = 100, offset: int = 0) -> SearchLogPage:
    """One page of recorded searches, newest first (``since`` and ``until`` days included)."""
    start, end = day_bounds(since, until)
    items, total = catalog.searches(since=start, until=end, no_match=no_match, limit=limit, offset=offset)
    return SearchLogPage(items=items, total=total, limit=limit, offset=offset)


def searches_csv(*, catalog: Catalog, since: date | None = None, until: date | None = None,
                 no_match: bool | None = None) -> Iterator[str]:
    """Every matching search as CSV text (a header row, then one row a search, newest first), in pieces."""
    start, end = day_bounds(since, until)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for n, rec in enumerate(catalog.iter_searches(since=start, until=end, no_match=no_match), 1):
        writer.writerow([csv_cell(v) for v in (
            rec.id, rec.at, rec.week, rec.channel, rec.query, rec.language, rec.mode,
            json.dumps(rec.filters, ensure_ascii=False, sort_keys=True) if rec.filters else "", rec.page_offset,
            rec.result_count, "true" if rec.no_match else "false", rec.opened_passage, rec.opened_rank,
            rec.opened_at)])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def summary(*, catalog: Catalog, weeks: int = 12, limit: int = 20, now: datetime | None = None) -> SearchSummary:
    """The searches of the last ``weeks`` ISO weeks (this one included): most asked queries, queries that found
    nothing, queries whose results nobody opened, and each week's counts."""
    if weeks < 1:
        raise InvalidParameter("weeks", "must be at least 1")
    now = now or utcnow()
    monday = datetime.combine(now.date() - timedelta(days=now.weekday()), dtime.min, timezone.utc)
    return catalog.search_summary(since=monday - timedelta(weeks=weeks - 1), until=now + timedelta(seconds=1),
                                  limit=limit)


def delete_searches(*, catalog: Catalog, before: date | None, actor: KeyRecord,
                    recorder: SearchRecorder | None = None) -> int:
    """Delete the searches made before the day ``before`` (all of them when None), audited; returns how many.
    ``recorder``: its waiting searches are written first, so that they are deleted too."""
    start, _ = day_bounds(before, None)
    if recorder is not None:
        recorder.flush()
    return catalog.delete_searches(before=start, actor=actor)


def purge_expired(*, catalog: Catalog, days: int, now: datetime | None = None) -> int:
    """Delete the searches older than ``days`` days (the retention, not audited); returns how many."""
    if days <= 0:
        return 0
    deleted = catalog.delete_searches(before=(now or utcnow()) - timedelta(days=days), audit=False)
    if deleted:
        log.info("search analytics: %d searches older than %d days deleted", deleted, days)
    return deleted
