"""The whole service: the API of ``api.app.create_app`` plus the web pages and their static files.

Errors on page paths (not /api, /docs, probes or metrics) are HTML pages in the reader's language; on API paths
they stay RFC 9457 problem documents.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kmh.settings import Settings

STATIC = Path(__file__).parent / "static"
API_PREFIXES = ("/api/", "/api", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics", "/static/")


def create_app(settings: Settings | None = None, *, background_load: bool = False) -> FastAPI:
    from api.app import create_app as create_api
    from web.routers import account, analytics, crawls, documents, recordings, review, search, seminars, staff, topics

    app = create_api(settings, background_load=background_load)
    for module in (search, documents, seminars, topics, account, staff, recordings, crawls, review, analytics):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _html_errors(app)
    return app


def is_page(path: str) -> bool:
    return not any(path == p.rstrip("/") or path.startswith(p) for p in API_PREFIXES)


def _html_errors(app: FastAPI) -> None:
    """Wrap the API's exception handlers: page paths get an HTML error page, API paths the problem document."""
    from web.deps import SignInRequired

    for exc_class, handler in list(app.exception_handlers.items()):
        app.add_exception_handler(exc_class, _wrap(handler))

    async def on_sign_in_required(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse("/signin?next=" + quote(exc.next_url, safe=""), status_code=303)

    app.add_exception_handler(SignInRequired, on_sign_in_required)


def _wrap(api_handler):
    async def handler(request: Request, exc: Exception) -> Response:
        response = await api_handler(request, exc)
        if not is_page(request.url.path):
            return response
        return await error_page(request, exc, response)

    return handler


async def error_page(request: Request, error: Exception, answer: Response) -> Response:
    """``error`` as an HTML page in the reader's language, with the status and headers of the API's ``answer``.

    A domain error (services.errors) says what went wrong in its detail, in its ``lang`` (a page's own errors are
    in the reader's language; the API's are English); any other error (a malformed request, no such route, a
    failure) shows the detail of the API's problem document.
    """
    from api.errors import ProblemResponse, ServiceError, status_of
    from web.deps import get_page
    from web.messages import MESSAGES
    from web.templating import render

    if isinstance(error, ServiceError):
        status, detail, lang = status_of(error), error.detail, error.extra.get("lang", "en")
    else:
        problem = answer.problem if isinstance(answer, ProblemResponse) else {}
        status, detail, lang = answer.status_code, problem.get("detail"), "en"
    page = await get_page(request)
    headers = {k: v for k, v in answer.headers.items() if k.lower() in ("retry-after", "www-authenticate")}
    return render(request, page, "error.html", status_code=status, headers=headers, status=status,
                  detail=detail, detail_lang=lang, known_errors=MESSAGES)
