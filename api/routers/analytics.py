"""Search analytics: the recorded searches and their weekly counts (staff), and the report of the hit a reader opened
(public: it takes only the search's random id and the passage)."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from api.auth import StaffDep
from api.deps import ReadyDep
from api.errors import InvalidParameter, ThingNotFound, problem_responses
from api.schemas import AnalyticsSummary, SearchesDeleted, SearchLogList
from services import analytics

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

Since = Annotated[date | None, Query(description="From this day (UTC), included")]
Until = Annotated[date | None, Query(description="To this day (UTC), included")]


@router.get(
    "/searches",
    response_model=SearchLogList,
    summary="The recorded searches, newest first (staff); format=csv: all of them as a CSV file",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "JSON, or with format=csv a CSV file (a header row; every matching search, "
                                    "paging ignored; cells that a spreadsheet would run as formulas start with ')"},
               **problem_responses(401, 403, 422, 503)},
)
async def list_searches(
    rt: ReadyDep,
    _key: StaffDep,
    since: Since = None,
    until: Until = None,
    no_match: Annotated[bool | None, Query(description="true: only searches that found nothing; false: only those "
                                                       "that found something")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    output: Annotated[Literal["json", "csv"], Query(alias="format", description="json (a page) or csv (every "
                                                                               "matching search)")] = "json",
):
    catalog = rt.catalog
    analytics.day_bounds(since, until)  # a wrong range is a 422 before the answer starts
    await anyio.to_thread.run_sync(analytics.flush, rt.analytics)  # up to the last search answered
    if output == "csv":
        rows = analytics.searches_csv(catalog=catalog, since=since, until=until, no_match=no_match)
        name = "kmh-searches" + (f"-{since}" if since else "") + (f"-{until}" if until else "") + ".csv"
        return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"',
                                          "Cache-Control": "private, no-store"})
    page = await anyio.to_thread.run_sync(partial(
        analytics.list_searches, catalog=catalog, since=since, until=until, no_match=no_match, limit=limit,
        offset=offset))
    return SearchLogList.from_page(page)


@router.get("/summary", response_model=AnalyticsSummary, responses=problem_responses(401, 403, 422, 503),
            summary="Top queries, queries that found nothing, queries with no hit opened, and weekly counts (staff)")
async def summary(
    rt: ReadyDep,
    _key: StaffDep,
    weeks: Annotated[int, Query(ge=1, le=104, description="ISO weeks counted, this one included")] = 12,
    limit: Annotated[int, Query(ge=1, le=200, description="Queries per list")] = 20,
) -> AnalyticsSummary:
    await anyio.to_thread.run_sync(analytics.flush, rt.analytics)
    found = await anyio.to_thread.run_sync(partial(analytics.summary, catalog=rt.catalog, weeks=weeks, limit=limit))
    return AnalyticsSummary.from_record(found, rt.settings.analytics_days)


@router.delete("/searches", response_model=SearchesDeleted, responses=problem_responses(401, 403, 422, 503),
               summary="Delete the recorded searches made before a day, or all of them (staff; audited)")
async def delete_searches(
    rt: ReadyDep,
    key: StaffDep,
    before: Annotated[date | None, Query(description="Delete the searches made before this day (UTC); "
                                                     "all=true instead deletes every one")] = None,
    all_: Annotated[bool, Query(alias="all", description="Delete every recorded search")] = False,
) -> SearchesDeleted:
    if (before is None) == (not all_):
        raise InvalidParameter("before", "give a day (before=YYYY-MM-DD) or all=true, not both")
    deleted = await anyio.to_thread.run_sync(partial(analytics.delete_searches, catalog=rt.catalog, before=before,
                                                     actor=key, recorder=rt.analytics))
    return SearchesDeleted(deleted=deleted, before=before)


@router.post(
    "/opened",
    status_code=204,
    summary="Report the hit a reader opened from a search (no key: the search's random id is the proof)",
    responses={204: {"description": "Recorded, or a hit was already reported for this search (the first counts)"},
               **problem_responses(404, 422, 503)},
)
async def opened(
    rt: ReadyDep,
    search_id: Annotated[str, Query(max_length=16, description="The search_id of the search's answer")],
    passage_id: Annotated[str, Query(min_length=1, max_length=64, description="The hit opened: one of the "
                                                                              "passages that search answered")],
) -> Response:
    # Both in the query string, which the access log leaves out: no log line ties a search to a client address.
    if rt.analytics is None:
        raise ThingNotFound("search", search_id, field="search_id")
    await anyio.to_thread.run_sync(partial(analytics.report_opened, recorder=rt.analytics, search_id=search_id,
                                           passage_id=passage_id))
    return Response(status_code=204)
