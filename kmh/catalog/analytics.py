"""Search analytics in the catalog: one ``search_log`` row per search, the hit its reader opened, and the counts staff
read (services.analytics records them, off the request path).

``AnalyticsMixin`` adds these methods to ``Catalog``. A row says what was asked and what it found, never who asked:
no IP address, key, cookie or session is stored.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, case, delete, func, insert, or_, select, update

from .access import KeyRecord
from .models import SEARCH_CHANNELS, SearchLog, utcnow


@dataclass
class SearchLogRecord:
    """One recorded search. ``week``, ``query_norm`` and ``language`` are filled when it is written."""

    id: str
    at: datetime
    channel: str  # "api" or "web"
    query: str
    mode: str
    filters: dict[str, Any]
    page_offset: int
    result_count: int
    no_match: bool
    hits: list[str] = field(default_factory=list)
    week: str = ""
    query_norm: str = ""
    language: str | None = None
    opened_passage: str | None = None
    opened_at: datetime | None = None

    @property
    def opened_rank(self) -> int | None:
        """1-based position of the opened hit on the page shown (plus the page's offset), or None."""
        if self.opened_passage is None or self.opened_passage not in self.hits:
            return None
        return self.page_offset + self.hits.index(self.opened_passage) + 1


@dataclass
class QueryCount:
    """A normalised query and how its searches went (first pages only: paging is not another search)."""

    query: str
    searches: int
    no_match: int
    opened: int
    last_at: datetime


@dataclass
class WeekCount:
    week: str  # ISO week, "2026-W49"
    searches: int
    no_match: int
    opened: int
    queries: int  # distinct normalised queries


@dataclass
class SearchSummary:
    since: datetime
    until: datetime
    searches: int
    no_match: int
    opened: int
    top: list[QueryCount]
    no_match_queries: list[QueryCount]
    no_click_queries: list[QueryCount]
    weeks: list[WeekCount]


# What a report of the opened hit did: set it, found it already set, found no such search, or a passage that was
# not among its hits.
Opened = Literal["set", "already", "unknown", "not_a_hit"]

_FIELDS = tuple(f.name for f in fields(SearchLogRecord))


def _record(row: Any) -> SearchLogRecord:
    rec = SearchLogRecord(**{n: getattr(row, n) for n in _FIELDS})
    rec.filters = dict(rec.filters or {})
    rec.hits = builtins.list(rec.hits or [])
    rec.no_match = bool(rec.no_match)
    return rec


def _where(since: datetime | None, until: datetime | None, no_match: bool | None) -> list:
    where = []
    if since is not None:
        where.append(SearchLog.at >= since)
    if until is not None:
        where.append(SearchLog.at < until)
    if no_match is not None:
        where.append(SearchLog.no_match.is_(no_match))
    return where


class AnalyticsMixin:
    """Catalog methods for the search log (mixed into ``Catalog``)."""

    def add_searches(self, records: Iterable[SearchLogRecord]) -> int:
        """Insert these searches in one transaction (one statement); returns how many."""
        rows = []
        for rec in records:
            if rec.channel not in SEARCH_CHANNELS:
                raise ValueError(f"search channel must be one of {', '.join(SEARCH_CHANNELS)}, not {rec.channel!r}")
            rows.append(asdict(rec))
        if rows:
            with self.session(write=True) as s:
                s.execute(insert(SearchLog), rows)
        return len(rows)

    def search_opened(self, search_id: str, passage_id: str, *, at: datetime | None = None) -> Opened:
        """Record that the reader of search ``search_id`` opened ``passage_id``, one of its hits; only the first
        report counts."""
        with self.session(write=True) as s:
            row = s.execute(select(SearchLog.hits, SearchLog.opened_passage).where(SearchLog.id == search_id)).first()
            if row is None:
                return "unknown"
            if passage_id not in (row.hits or []):
                return "not_a_hit"
            if row.opened_passage is not None:
                return "already"
            done = s.execute(update(SearchLog).where(SearchLog.id == search_id, SearchLog.opened_passage.is_(None))
                             .values(opened_passage=passage_id, opened_at=at or utcnow()))
            return "set" if done.rowcount else "already"

    def searches(self, *, since: datetime | None = None, until: datetime | None = None, no_match: bool | None = None,
                 limit: int = 100, offset: int = 0) -> tuple[builtins.list[SearchLogRecord], int]:
        """Searches at or after ``since`` and before ``until``, newest first, and how many match."""
        where = _where(since, until, no_match)
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(SearchLog).where(*where)) or 0
            rows = s.scalars(select(SearchLog).where(*where).order_by(SearchLog.at.desc(), SearchLog.id.desc())
                             .limit(max(0, limit)).offset(max(0, offset)))
            return [_record(r) for r in rows], total

    def iter_searches(self, *, since: datetime | None = None, until: datetime | None = None,
                      no_match: bool | None = None, batch: int = 1000) -> Iterator[SearchLogRecord]:
        """Every matching search, newest first, read ``batch`` rows at a time (each batch its own short read, so a
        long export holds no transaction open)."""
        where = _where(since, until, no_match)
        last: tuple[datetime, str] | None = None
        while True:
            page = where
            if last is not None:
                page = [*where, or_(SearchLog.at < last[0], and_(SearchLog.at == last[0], SearchLog.id < last[1]))]
            with self.session() as s:
                rows = [_record(r) for r in s.scalars(select(SearchLog).where(*page)
                                                      .order_by(SearchLog.at.desc(), SearchLog.id.desc()).limit(batch))]
            yield from rows
            if len(rows) < batch:
                return
            last = (rows[-1].at, rows[-1].id)

    def search_summary(self, *, since: datetime, until: datetime, limit: int = 20) -> SearchSummary:
        """Counts of the searches at or after ``since`` and before ``until``: the most asked queries, those that found
        nothing, those that found something nobody opened, and each ISO week. A search is counted on its first page
        (paging is not another search); a hit opened on any page counts for its query."""
        first = case((SearchLog.page_offset == 0, 1), else_=0)
        missed = case((and_(SearchLog.page_offset == 0, SearchLog.no_match.is_(True)), 1), else_=0)
        opened = case((SearchLog.opened_passage.is_not(None), 1), else_=0)
        searches, no_match, clicks = func.sum(first), func.sum(missed), func.sum(opened)
        window = [SearchLog.at >= since, SearchLog.at < until]
        by_query = (select(SearchLog.query_norm, searches.label("searches"), no_match.label("no_match"),
                           clicks.label("opened"), func.max(SearchLog.at).label("last_at"))
                    .where(*window).group_by(SearchLog.query_norm))

        def counts(stmt) -> builtins.list[QueryCount]:
            return [QueryCount(r.query_norm, int(r.searches or 0), int(r.no_match or 0), int(r.opened or 0),
                               _utc(r.last_at)) for r in s.execute(stmt.limit(max(0, limit)))]

        with self.session() as s:
            totals = s.execute(select(searches, no_match, clicks).where(*window)).one()
            top = counts(by_query.having(searches > 0).order_by(searches.desc(), SearchLog.query_norm))
            none = counts(by_query.having(no_match > 0).order_by(no_match.desc(), SearchLog.query_norm))
            unopened = counts(by_query.having(and_(clicks == 0, searches > no_match))
                              .order_by((searches - no_match).desc(), SearchLog.query_norm))
            weeks = [WeekCount(r.week, int(r.searches or 0), int(r.no_match or 0), int(r.opened or 0), int(r.queries))
                     for r in s.execute(select(SearchLog.week, searches.label("searches"), no_match.label("no_match"),
                                               clicks.label("opened"),
                                               func.count(func.distinct(SearchLog.query_norm)).label("queries"))
                                        .where(*window).group_by(SearchLog.week).order_by(SearchLog.week))]
        return SearchSummary(since=since, until=until, searches=int(totals[0] or 0), no_match=int(totals[1] or 0),
                             opened=int(totals[2] or 0), top=top, no_match_queries=none, no_click_queries=unopened,
                             weeks=weeks)

    def delete_searches(self, *, before: datetime | None = None, actor: KeyRecord | None = None,
                        audit: bool = True) -> int:
        """Delete the searches made before ``before`` (all of them when None); returns how many. ``audit``: an
        ``analytics.delete`` entry in the same transaction (the retention purge is not audited)."""
        with self.session(write=True) as s:
            stmt = delete(SearchLog)
            if before is not None:
                stmt = stmt.where(SearchLog.at < before)
            deleted = s.execute(stmt).rowcount or 0
            if audit:
                self.audit(actor, "analytics.delete", None, s=s, before=before.isoformat() if before else None,
                           deleted=deleted)
            return deleted


def _utc(value: datetime) -> datetime:
    """An aggregate's datetime (max(at) comes back untyped on SQLite: text) as an aware UTC datetime."""
    from datetime import timezone

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
