"""Errors as RFC 9457 problem details (``application/problem+json``), mapped at the edge.

Endpoints raise the domain exceptions below, or the search layer's (``search.archive.ArchiveNotFound``
becomes a 404 naming what was not found), or let FastAPI's validation and Starlette's routing
raise theirs; the handlers installed by :func:`install_error_handlers` turn every one of them into
a problem document with ``type``, ``title``, ``status``, ``detail`` and ``instance``. An unexpected
exception becomes a generic 500 whose body says nothing about the code that failed (a 507 saying so plainly when
the data folder's disk is full or failing). ``plain_error`` gives the same care to the errors of ingestion jobs.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("kmh.api")

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


# -- domain exceptions --------------------------------------------------------------------------


class ApiError(Exception):
    """Base of the errors endpoints raise; each maps to one problem type and status."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal Server Error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.extra = extra


class NotFoundError(ApiError):
    status = 404
    slug = "not-found"
    title = "Not Found"


class DocumentNotFound(NotFoundError):
    slug = "document-not-found"
    title = "Document not found"

    def __init__(self, doc_id: str, detail: str | None = None):
        super().__init__(detail or f"no document with id {doc_id!r}", doc_id=doc_id)


class PassageNotFound(NotFoundError):
    slug = "passage-not-found"
    title = "Passage not found"

    def __init__(self, passage_id: str):
        super().__init__(f"no passage with id {passage_id!r}", passage_id=passage_id)


class InvalidParameter(ApiError):
    """A parameter that passed type validation but makes no sense (e.g. year_from > year_to)."""

    status = 422
    slug = "invalid-parameter"
    title = "Invalid parameter"

    def __init__(self, name: str, reason: str, location: str = "query"):
        super().__init__(
            f"parameter '{name}': {reason}",
            invalid_params=[{"name": name, "location": location, "reason": reason}],
        )


class PayloadTooLarge(ApiError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class Unauthorized(ApiError):
    """No credentials, or a key that is wrong, revoked or expired."""

    status = 401
    slug = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="kmh"'}, **extra)


class Forbidden(ApiError):
    """A valid key whose role may not do this, or a signed-in form without its CSRF token."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class Conflict(ApiError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class UnsupportedType(ApiError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported file type"


class NotReady(ApiError):
    status = 503
    slug = "not-ready"
    title = "Service not ready"


# -- responses ----------------------------------------------------------------------------------


def problem_response(
    request: Request,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _TYPE_PREFIX + slug if slug else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _param_name(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    """('query', 'k') -> ('k', 'query'); nested body locations are joined with dots."""
    loc = list(loc)
    location = str(loc[0]) if loc else "request"
    name = ".".join(str(part) for part in loc[1:]) or location
    return name, location


async def _on_api_error(request: Request, exc: ApiError) -> JSONResponse:
    return problem_response(
        request, exc.status, title=exc.title, detail=exc.detail, slug=exc.slug, headers=exc.headers, **exc.extra
    )


async def _on_archive_not_found(request: Request, exc: Exception) -> JSONResponse:
    what, key = exc.what, exc.key  # search.archive.ArchiveNotFound
    return problem_response(request, 404, title=what.capitalize() + " not found", detail=str(exc),
                            slug=what.replace(" ", "-") + "-not-found", **{what.replace(" ", "_"): key})


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


# -- plain messages ---------------------------------------------------------------------------------
# What the API says about an error that is not the client's (a job's ``error``, a 5xx detail): never SQL, a path
# of the server or a stack trace. The full error goes to the log.

DISK_FAILED = "a write to the data folder failed: its disk is full or failing"
CATALOG_FAILED = "the catalog could not be updated (a database error, logged)"
INDEX_FAILED = "the search index could not be written (a store error, logged)"
UNEXPECTED = "an unexpected error occurred while ingesting the file; it has been logged"
NOT_CHANGED = ("; nothing was published (an updated document keeps its current version): upload the file again "
               "once this is solved")

_DATABASE = re.compile(r"\[SQL:|\(sqlite3\.|\(psycopg|sqlalchemy|OperationalError|IntegrityError|ProgrammingError"
                       r"|DatabaseError|InterfaceError", re.IGNORECASE)
_STORE = re.compile(r"qdrant|StoreError", re.IGNORECASE)
_TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
# An absolute path of the server (not a URL, not "text/plain"): kept as its last part, the file's name.
_SERVER_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s'\"/:,;()\[\]]+/)+([^\s'\"/:,;()\[\]]*)")


def write_failure(error: BaseException | str) -> str | None:
    """The plain message for a failed write to the catalog, the index or the data folder's disk; None when
    ``error`` is none of these."""
    from kmh.diskspace import is_disk_failure
    from kmh.store import StoreError

    if is_disk_failure(error):
        return DISK_FAILED
    if isinstance(error, str):
        if _DATABASE.search(error):
            return CATALOG_FAILED
        return INDEX_FAILED if _STORE.search(error) else None
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, SQLAlchemyError):
        return CATALOG_FAILED
    if isinstance(error, StoreError):
        return INDEX_FAILED
    return write_failure(str(error))


def plain_error(error: BaseException | str) -> str:
    """``error`` (an exception or a failure reason) as an API answer may show it."""
    failed = write_failure(error)
    if failed is not None:
        return failed + NOT_CHANGED
    text = str(error)
    if not text or _TRACE.search(text):
        return UNEXPECTED
    return _SERVER_PATH.sub(lambda m: m.group(1) or "(a folder)", text)


def install_error_handlers(app: FastAPI) -> None:
    from search.archive import ArchiveNotFound

    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(ArchiveNotFound, _on_archive_not_found)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
