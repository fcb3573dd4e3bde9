"""Errors as RFC 9457 problem details (``application/problem+json``), mapped at the edge.

Services and endpoints raise the domain errors of ``services.errors`` (each kind maps to one status here, e.g.
``ThingNotFound("seminar", id)`` is a 404 naming what was not found), or let FastAPI's validation and Starlette's
routing raise theirs; the handlers installed by :func:`install_error_handlers` turn every one of them into
a problem document with ``type``, ``title``, ``status``, ``detail`` and ``instance``. An unexpected
exception becomes a generic 500 whose body says nothing about the code that failed (a 507 saying so plainly when
the data folder's disk is full or failing). ``services.errors.plain_error`` gives the same care to the errors of ingestion jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("kmh.api")

__all__ = [  # the domain errors and plain messages of services.errors, re-exported for the routers
    "Conflict", "DocumentNotFound", "Forbidden", "InvalidParameter", "NotFound", "NotReady", "PassageNotFound",
    "PayloadTooLarge", "ServiceError", "ThingNotFound", "Unauthorized", "UnsupportedType", "DISK_FAILED",
    "plain_error", "write_failure", "problem_response", "problem_responses", "install_error_handlers", "status_of",
    "ProblemResponse",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:kmh-search:problem:"


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="URI identifying the problem type")
    title: str = Field(description="Short, human-readable summary of the problem type")
    status: int = Field(description="HTTP status code")
    detail: str | None = Field(None, description="Explanation specific to this occurrence")
    instance: str | None = Field(None, description="The request path this problem occurred on")


class InvalidParam(BaseModel):
    name: str = Field(description="The parameter, e.g. 'q' or 'k'")
    location: str = Field(description="'query', 'path', 'header' or 'body'")
    reason: str


class ValidationProblem(Problem):
    invalid_params: list[InvalidParam] = Field(default_factory=list)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for these error statuses."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model = ValidationProblem if status == 422 else Problem
        out[status] = {
            "model": model,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    return out


# -- domain errors -> statuses --------------------------------------------------------------------
# The services raise transport-free errors (services.errors); this is where each kind becomes an HTTP status.
# The names are re-exported so routers can raise them as ``api.errors.X``.

from services.errors import (  # noqa: E402
    Conflict,
    DocumentNotFound,
    Forbidden,
    InvalidParameter,
    NotFound,
    NotReady,
    PassageNotFound,
    PayloadTooLarge,
    ServiceError,
    ThingNotFound,
    Unauthorized,
    UnsupportedType,
)

_STATUS: tuple[tuple[type[ServiceError], int], ...] = (
    (NotFound, 404),
    (InvalidParameter, 422),
    (PayloadTooLarge, 413),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (UnsupportedType, 415),
    (NotReady, 503),
)


def status_of(error: ServiceError) -> int:
    """The HTTP status of a domain error (500 for one no row names)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


# -- responses ----------------------------------------------------------------------------------


class ProblemResponse(JSONResponse):
    """A problem document as ``application/problem+json``; ``problem`` keeps it as given (the web pages show its
    detail without reading the body back)."""

    def __init__(self, problem: dict[str, Any], status_code: int, headers: dict[str, str] | None = None):
        super().__init__(problem, status_code=status_code, headers=headers, media_type=PROBLEM_MEDIA_TYPE)
        self.problem = problem


def problem_response(
    request: Request,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": _TYPE_PREFIX + slug if slug else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extra)
    return ProblemResponse(body, status, headers)


def _param_name(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    """('query', 'k') -> ('k', 'query'); nested body locations are joined with dots."""
    loc = list(loc)
    location = str(loc[0]) if loc else "request"
    name = ".".join(str(part) for part in loc[1:]) or location
    return name, location


# A 401 names the scheme that authenticates (RFC 9110 section 11.6.1): an API key as a Bearer token.
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kmh"'}


async def _on_service_error(request: Request, exc: ServiceError) -> JSONResponse:
    headers = {**_CHALLENGE, **(exc.headers or {})} if isinstance(exc, Unauthorized) else exc.headers
    return problem_response(
        request, status_of(exc), title=exc.title, detail=exc.detail, slug=exc.kind, headers=headers, **exc.extra
    )


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    params = []
    for err in exc.errors():
        name, location = _param_name(err.get("loc", ()))
        params.append({"name": name, "location": location, "reason": str(err.get("msg", "invalid value"))})
    detail = "; ".join(f"parameter '{p['name']}': {p['reason']}" for p in params) or "invalid request"
    return problem_response(
        request, 422, title="Invalid parameter", detail=detail, slug="invalid-parameter", invalid_params=params
    )


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"no route for {request.url.path}"
    return problem_response(request, exc.status_code, detail=detail, headers=getattr(exc, "headers", None))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    from kmh.diskspace import is_disk_failure

    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if is_disk_failure(exc):  # nothing of the request was saved; say so plainly, and be unready until there is room
        runtime = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            runtime.disk_write_failed(DISK_FAILED)
        return problem_response(request, 507, title="Insufficient Storage", detail=DISK_FAILED + "; nothing was "
                                "saved: retry once there is room", slug="insufficient-storage")
    return problem_response(
        request, 500, detail="an unexpected error occurred; it has been logged", slug="internal-error"
    )


# -- plain messages: services.errors.plain_error (re-exported for the routers) --------------------------

from services.errors import DISK_FAILED, plain_error, write_failure  # noqa: E402,F401


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


@contextmanager
def linked() -> Iterator[None]:
    """A Conflict names the document or job in the way: its problem document links to them too."""
    from api.urls import document_url, job_url

    try:
        yield
    except Conflict as exc:
        if "job_id" in exc.extra:
            exc.extra["job_url"] = job_url(exc.extra["job_id"])
        elif "doc_id" in exc.extra:
            exc.extra["document_url"] = document_url(exc.extra["doc_id"])
        raise
