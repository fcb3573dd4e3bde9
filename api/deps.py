"""Dependencies reading what the lifespan loaded onto ``app.state``; 503 problem details until it is ready."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Request

from api.errors import NotReady
from api.state import Runtime
from api.telemetry import Metrics
from kmh.catalog import Catalog
from kmh.settings import Settings
from kmh.store import VectorStore
from search.searcher import Searcher


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def require_ready(request: Request) -> Runtime:
    """The loaded runtime, or a 503 (with Retry-After while loading)."""
    rt: Runtime = request.app.state.runtime
    if not rt.ready:
        headers = {"Retry-After": "5"} if rt.phase in ("starting", "loading") else None
        raise NotReady(rt.not_ready_reason(), headers=headers, phase=rt.phase)
    return rt


def get_settings(request: Request) -> Settings:
    return request.app.state.runtime.settings


def get_catalog(rt: Annotated[Runtime, Depends(require_ready)]) -> Catalog:
    return rt.catalog


def get_store(rt: Annotated[Runtime, Depends(require_ready)]) -> VectorStore:
    return rt.store


def get_searcher(rt: Annotated[Runtime, Depends(require_ready)]) -> Searcher:
    return rt.searcher


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_cpu_limiter(request: Request) -> anyio.CapacityLimiter:
    return request.app.state.cpu_limiter


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReadyDep = Annotated[Runtime, Depends(require_ready)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StoreDep = Annotated[VectorStore, Depends(get_store)]
SearcherDep = Annotated[Searcher, Depends(get_searcher)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
CpuLimiterDep = Annotated[anyio.CapacityLimiter, Depends(get_cpu_limiter)]
