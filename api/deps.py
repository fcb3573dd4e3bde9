"""Dependencies reading what the lifespan loaded onto ``app.state``; 503 problem details until it is ready.

They are ``async def`` on purpose: they only read attributes, and FastAPI runs a plain ``def`` dependency in
its thread pool (one thread hand-off each, five per search request).
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Request

from api.errors import NotReady
from services.runtime import Runtime
from api.telemetry import Metrics
from kmh.catalog import Audience, Catalog
from kmh.settings import Settings
from kmh.store import VectorStore
from services.archive import Archive
from search.searcher import Searcher


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def require_ready(request: Request) -> Runtime:
    """The loaded runtime, or a 503 (with Retry-After while loading)."""
    rt: Runtime = request.app.state.runtime
    if not rt.ready:
        headers = {"Retry-After": "5"} if rt.phase in ("starting", "loading") else None
        raise NotReady(rt.not_ready_reason(), headers=headers, phase=rt.phase)
    return rt


async def get_settings(request: Request) -> Settings:
    return request.app.state.runtime.settings


async def get_catalog(rt: Annotated[Runtime, Depends(require_ready)]) -> Catalog:
    return rt.catalog


async def get_store(rt: Annotated[Runtime, Depends(require_ready)]) -> VectorStore:
    return rt.store


async def get_searcher(rt: Annotated[Runtime, Depends(require_ready)]) -> Searcher:
    return rt.searcher


async def get_archive(rt: Annotated[Runtime, Depends(require_ready)]) -> Archive:
    return rt.archive


async def get_audience(request: Request, rt: Annotated[Runtime, Depends(require_ready)]) -> Audience:
    """Who is reading, as the visibility rule sees it (kmh.catalog.visibility): every read by id takes this.

    A Bearer key (a wrong or revoked one is a 401) or the web session cookie decides; an expired or closed session,
    or another scheme (a proxy's Basic credentials), reads as the public, like no credentials at all.
    """
    from api.auth import current_key
    from api.errors import Unauthorized
    from kmh.catalog import PUBLIC, audience_of

    try:
        key = await current_key(request, rt)
    except Unauthorized:
        scheme = request.headers.get("authorization", "").partition(" ")[0]
        if scheme.lower() == "bearer":
            raise
        return PUBLIC
    return audience_of(key)


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_cpu_limiter(request: Request) -> anyio.CapacityLimiter:
    return request.app.state.cpu_limiter


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReadyDep = Annotated[Runtime, Depends(require_ready)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StoreDep = Annotated[VectorStore, Depends(get_store)]
SearcherDep = Annotated[Searcher, Depends(get_searcher)]
ArchiveDep = Annotated[Archive, Depends(get_archive)]
AudienceDep = Annotated[Audience, Depends(get_audience)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
CpuLimiterDep = Annotated[anyio.CapacityLimiter, Depends(get_cpu_limiter)]
