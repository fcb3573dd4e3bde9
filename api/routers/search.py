"""GET /api/search: cited passages for a question, with facets."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Query

from api.deps import CpuLimiterDep, MetricsDep, ReadyDep, SearcherDep
from api.errors import problem_responses
from api.params import SearchOptions
from api.schemas import SearchResponse
from services import analytics
from services import search as service

router = APIRouter(prefix="/api", tags=["search"])


@router.get(
    "/search",
    response_model=SearchResponse,
    summary="Search cited passages",
    responses=problem_responses(422, 503),
)
async def search(
    rt: ReadyDep,
    searcher: SearcherDep,
    metrics: MetricsDep,
    limiter: CpuLimiterDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="The question, in French or English")],
    options: SearchOptions,
) -> SearchResponse:
    query = replace(options, q=q)
    results = await anyio.to_thread.run_sync(partial(service.search, searcher=searcher, query=query), limiter=limiter)
    metrics.searches.labels(query.mode).inc()
    response = SearchResponse.from_results(results)
    response.search_id = analytics.record_search(recorder=rt.analytics, query=results.query, results=results,
                                                 channel="api")
    return response
