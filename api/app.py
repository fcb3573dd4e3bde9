"""The FastAPI application: ``create_app(settings)`` builds it; nothing is loaded at import time.

The lifespan opens the catalog and the vector store and builds and warms the searcher once (in a
worker thread, off the event loop), keeps them on ``app.state.runtime`` and closes them on shutdown.
Until that has succeeded, /readyz and every /api/* route answer 503 problem details.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from api.errors import install_error_handlers
from services.runtime import Runtime
from api.telemetry import AccessLogMiddleware, Metrics
from kmh.settings import Settings

DESCRIPTION = """\
Search the knowledge of the EU-IOM Knowledge Management Hub on return and sustainable reintegration.

Every hit is a **cited passage**: its document, page, section trail and exact character span, with a
URL that opens the original file at that page. French and English questions find passages in either
language (hybrid search: multilingual e5 embeddings fused with BM25 by reciprocal rank).

Reading needs no key. Writing needs an API key (`Authorization: Bearer KEY`, created with
`kmh keys create`) whose role allows it: **staff** publish, update and retract documents;
**organisers** decide topic links and correct captions; **admins** do both and manage keys and
read the audit log. Web pages sign in with a key into a session cookie; writes made with the
cookie must carry its CSRF token (`X-CSRF-Token`).

Errors are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem details
(`application/problem+json`). `/healthz` tells that the process is up, `/readyz` that the models and
the index are loaded; `/metrics` is in Prometheus text format.
"""

TAGS = [
    {"name": "search", "description": "Cited passages for a question, with facets."},
    {"name": "feeds", "description": "A search as an Atom feed: follow a question, a topic, a country or a seminar."},
    {"name": "passages", "description": "A passage with its neighbours."},
    {"name": "documents", "description": "The catalog and the kept original files."},
    {"name": "similar", "description": "More like this: passages, documents and recording segments like a passage "
                                       "or a document, in any language."},
    {"name": "citations", "description": "References to a document, passage or recording moment: text (fr, en), "
                                         "RIS, BibTeX, CSL-JSON."},
    {"name": "seminars", "description": "Seminars, their sessions and recordings with timed transcripts."},
    {"name": "topics", "description": "The topic taxonomy; topics suggested for passages, confirmed by organisers."},
    {"name": "jobs", "description": "Ingestion jobs of published files (staff)."},
    {"name": "access", "description": "Web sign-in, API keys and the audit log."},
    {"name": "analytics", "description": "The searches made (what was asked and found, never who asked), for staff."},
    {"name": "health", "description": "Liveness and readiness probes."},
    {"name": "metrics", "description": "Prometheus metrics."},
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kmh-search")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(settings: Settings | None = None, *, background_load: bool = False) -> FastAPI:
    """Build the app.

    background_load=False: startup waits until models and store are loaded (the server accepts
    connections only then; ``with TestClient(app)`` is ready on entry). True: startup returns at once
    and loading goes on in a thread, so /healthz answers (and /readyz says 503) while the model loads.
    Either way a failed load does not stop the process: /readyz and /api/* answer 503 saying why.
    """
    settings = settings or Settings()
    runtime = Runtime(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.cpu_limiter = anyio.CapacityLimiter(max(2, os.cpu_count() or 1))
        try:
            async with anyio.create_task_group() as tg:
                if background_load:
                    tg.start_soon(_load, runtime)
                else:
                    await _load(runtime)
                yield
                await anyio.to_thread.run_sync(runtime.stop_worker)
                # leaving the task group waits for a background load still running (threads cannot be cancelled)
        finally:
            await anyio.to_thread.run_sync(runtime.close)

    app = FastAPI(
        title="KMH Search API",
        summary="Cited-passage search over French and English documents on migrant return and reintegration.",
        description=DESCRIPTION,
        version=_version(),
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.metrics = metrics
    app.state.cpu_limiter = None  # the default thread limiter until the lifespan runs

    install_error_handlers(app)
    from api.uploads import BodyLimit

    # each route's body limit: a few KB, or a file of KMH_MAX_FILE_MB (KMH_MAX_MEDIA_MB for recordings) on the upload
    # routes (api.uploads.LARGE_BODIES)
    app.add_middleware(BodyLimit, max_file_bytes=settings.max_file_bytes, max_media_bytes=settings.max_media_bytes)
    app.add_middleware(AccessLogMiddleware, metrics=metrics)

    from api.routers import (access, citations, crawls, documents, feeds, health, jobs, passages, recordings, search,
                             seminars, topics)
    from api.routers import similar
    from api.routers import analytics as analytics_router
    from api.routers import backup as backup_router
    from api.routers import metrics as metrics_router

    for module in (search, feeds, passages, similar, documents, citations, jobs, crawls, seminars, recordings, topics,
                   access, backup_router, analytics_router, health, metrics_router):
        app.include_router(module.router)
    return app


async def _load(runtime: Runtime) -> None:
    await anyio.to_thread.run_sync(runtime.load)
