"""Prometheus metrics on a per-app registry, and the access-log middleware that feeds them.

Each app gets its own ``CollectorRegistry`` so several apps in one process (tests) never collide.
"""

from __future__ import annotations

import json
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("kmh.access")

UNMATCHED = "<unmatched>"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_seconds = Histogram(
            "kmh_http_request_duration_seconds",
            "HTTP request latency, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        )
        self.searches = Counter(
            "kmh_searches", "Searches answered, by mode", ["mode"], registry=self.registry
        )
        self.passages = Gauge(
            "kmh_passages_indexed", "Passages in the vector store (refreshed on each scrape)", registry=self.registry
        )


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/documents/{doc_id}``), never the raw path (bounded labels)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class AccessLogMiddleware:
    """One JSON line per HTTP request on the ``kmh.access`` logger, and the latency histogram."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = route_template(scope)
            method = scope.get("method", "")
            self.metrics.request_seconds.labels(route, method, str(status)).observe(elapsed)
            client = scope.get("client")
            access_log.info(
                json.dumps(
                    {
                        "method": method,
                        "path": scope.get("path", ""),
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "client": f"{client[0]}:{client[1]}" if client else None,
                    },
                    ensure_ascii=False,
                )
            )
