"""Dependencies reading what the lifespan loaded onto ``app.state``; 503 problem details until it is ready. And
who is asking (``KeyDep``, ``AudienceDep``): an API key in ``Authorization: Bearer KEY``, or a web session cookie.

They are ``async def`` on purpose: they only read attributes, and FastAPI runs a plain ``def`` dependency in
its thread pool (one thread hand-off each, five per search request); the catalog lookups of a key or a session
run in a worker thread.

A request authenticated by the session cookie that changes something must also carry the session's CSRF token
(``X-CSRF-Token`` header or a ``csrf_token`` form field), or it is a 403: the cookie alone proves nothing, since a
browser sends it with requests that other sites make. What a route requires of the key (its role) is ``api.auth``.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import Depends, Request

from api.errors import Forbidden, NotReady, Unauthorized
from services import access
from services.runtime import Runtime
from api.telemetry import Metrics
from kmh.catalog import Audience, Catalog, KeyRecord
from kmh.settings import Settings
from kmh.store import VectorStore
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


def public_base(request: Request, settings: Settings) -> str:
    """What absolute links start with: KMH_PUBLIC_URL when set (the site behind a proxy), else the address the
    request was made to."""
    return settings.public_url or str(request.base_url)


async def get_public_base(request: Request) -> str:
    return public_base(request, request.app.state.runtime.settings)


async def get_catalog(rt: Annotated[Runtime, Depends(require_ready)]) -> Catalog:
    return rt.catalog


async def get_store(rt: Annotated[Runtime, Depends(require_ready)]) -> VectorStore:
    return rt.store


async def get_searcher(rt: Annotated[Runtime, Depends(require_ready)]) -> Searcher:
    return rt.searcher


# -- who is asking

SESSION_COOKIE = "kmh_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer(request: Request) -> str | None:
    """The key of an ``Authorization: Bearer`` header; None without one; a 401 for another scheme."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("use 'Authorization: Bearer KEY' with an API key (kmh keys create)")
    return value.strip()


async def current_key(request: Request, rt: Annotated[Runtime, Depends(require_ready)]) -> KeyRecord | None:
    """The key behind this request (a Bearer key, else the session cookie's), or None for an anonymous reader."""
    if hasattr(request.state, "key"):
        return request.state.key
    presented = bearer(request)
    key: KeyRecord | None = None
    if presented is not None:
        key = await anyio.to_thread.run_sync(partial(access.authenticate, catalog=rt.catalog, secret=presented))
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            session = await anyio.to_thread.run_sync(partial(access.web_session, catalog=rt.catalog, token=token))
            if request.method not in SAFE_METHODS:
                await _check_csrf(request, session.csrf_token)
            key = session.key
    request.state.key = key
    return key


async def _check_csrf(request: Request, expected: str) -> None:
    import hmac

    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached: the endpoint reads the same form
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given, expected):
        raise Forbidden(f"missing or wrong CSRF token: send the session's token in the {CSRF_HEADER} header "
                        "or a csrf_token form field")


async def get_audience(request: Request, rt: Annotated[Runtime, Depends(require_ready)]) -> Audience:
    """Who is reading, as the visibility rule sees it (kmh.catalog.visibility): every read by id takes this.

    A Bearer key (a wrong or revoked one is a 401) or the web session cookie decides; an expired or closed session,
    or another scheme (a proxy's Basic credentials), reads as the public, like no credentials at all.
    """
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
PublicBaseDep = Annotated[str, Depends(get_public_base)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StoreDep = Annotated[VectorStore, Depends(get_store)]
SearcherDep = Annotated[Searcher, Depends(get_searcher)]
KeyDep = Annotated[KeyRecord | None, Depends(current_key)]
AudienceDep = Annotated[Audience, Depends(get_audience)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
CpuLimiterDep = Annotated[anyio.CapacityLimiter, Depends(get_cpu_limiter)]
