"""GET /metrics: Prometheus text exposition of this app's registry."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import MetricsDep, RuntimeDep

router = APIRouter(tags=["metrics"])
log = logging.getLogger("kmh.api")


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
def metrics(rt: RuntimeDep, metrics: MetricsDep) -> Response:
    # Plain `def`: counting the store blocks, so this runs in the thread pool.
    store = rt.store if rt.ready else None
    if store is not None:
        try:
            metrics.passages.set(store.count())
        except Exception:  # a scrape must not fail because the store is closing
            log.warning("could not count the indexed passages", exc_info=True)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
