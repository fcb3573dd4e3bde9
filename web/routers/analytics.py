"""Staff page of the search analytics: the most searched queries, those that found nothing, those whose results
nobody opened, and each week's counts (services.analytics, as GET /api/analytics/summary), with the CSV links."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query

from api.deps import ReadyDep
from services import analytics
from web.deps import StaffPage
from web.templating import render

router = APIRouter(include_in_schema=False)

WEEKS = (4, 12, 26, 52)


@router.get("/staff/analytics")
def analytics_page(page: StaffPage, rt: ReadyDep, weeks: Annotated[int, Query(ge=1, le=104)] = 12):
    analytics.flush(rt.analytics)  # up to the last search answered
    found = analytics.summary(catalog=rt.catalog, weeks=weeks, limit=20)
    since = found.since.date().isoformat()
    csv = {"all": "/api/analytics/searches?" + urlencode({"format": "csv", "since": since}),
           "no_match": "/api/analytics/searches?" + urlencode({"format": "csv", "since": since, "no_match": "true"})}
    return render(page.request, page, "analytics.html", summary=found, weeks=weeks, choices=WEEKS, csv=csv,
                  retention=rt.settings.analytics_days)
