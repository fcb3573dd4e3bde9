"""Liveness (/healthz) and readiness (/readyz) probes."""

from __future__ import annotations

import anyio
from fastapi import APIRouter

from api.deps import ReadyDep
from api.errors import NotReady, problem_responses
from api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, summary="Models and store are loaded",
            responses=problem_responses(503))
async def readyz(rt: ReadyDep) -> Readiness:
    """200 once models and store are loaded and nothing keeps the store from working (a full disk, a failed
    consistency check): otherwise 503 with the reasons. The free space of the data folder is checked again on each
    call, so a disk problem clears as soon as there is room."""
    await anyio.to_thread.run_sync(rt.check_disk)
    reason = rt.problem_reason()
    if reason is not None:
        raise NotReady(reason, phase="degraded")
    return Readiness(
        status="ready",
        store_backend=rt.settings.store_backend,
        embedding_model=rt.settings.embedding_model_path.name,
    )
