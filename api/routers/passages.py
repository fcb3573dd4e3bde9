"""GET /api/passages/{passage_id}: one passage with its neighbours, in document order."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Query

from api.deps import AudienceDep, CpuLimiterDep, SearcherDep
from api.errors import problem_responses
from api.schemas import PassageResponse
from services import search as service

router = APIRouter(prefix="/api", tags=["passages"])


@router.get(
    "/passages/{passage_id}",
    response_model=PassageResponse,
    summary="A passage and its neighbours",
    responses=problem_responses(404, 422, 503),
)
async def get_passage(
    searcher: SearcherDep,
    limiter: CpuLimiterDep,
    audience: AudienceDep,
    passage_id: Annotated[str, Path(max_length=100, description="A passage id from a search hit")],
    neighbours: Annotated[int, Query(ge=0, le=10, description="Passages to include before and after")] = 1,
) -> PassageResponse:
    read = partial(service.passage, searcher=searcher, passage_id=passage_id, neighbours=neighbours, audience=audience)
    return PassageResponse.from_passage(await anyio.to_thread.run_sync(read, limiter=limiter))
