"""GET /api/passages/{passage_id}: one passage with its neighbours, in document order."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Query

from api.deps import AudienceDep, CpuLimiterDep, SearcherDep
from api.errors import PassageNotFound, problem_responses
from api.schemas import Hit, PassageResponse

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
    found = await anyio.to_thread.run_sync(searcher.passage, passage_id, neighbours, audience, limiter=limiter)
    if found is None:
        raise PassageNotFound(passage_id)
    main, before, after = found
    doc = await anyio.to_thread.run_sync(searcher.catalog.visible, main.doc_id, audience, limiter=limiter)
    if doc is None:  # retracted in the meantime
        raise PassageNotFound(passage_id)
    return PassageResponse(
        **main.to_dict(),
        status=doc.status,
        before=[Hit.model_validate(h.to_dict()) for h in before],
        after=[Hit.model_validate(h.to_dict()) for h in after],
    )
