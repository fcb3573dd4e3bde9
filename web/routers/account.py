"""Signing in with an API key (a session cookie), signing out, and the language switch."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse

from api.auth import SESSION_COOKIE, KeyDep
from api.deps import ReadyDep
from api.errors import Unauthorized
from web.deps import PageDep
from web.i18n import LANG_COOKIE, LANGUAGES
from web.templating import render

router = APIRouter(include_in_schema=False)

Next = Annotated[str, Query(max_length=2000)]


def safe_next(url: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (another site, a scheme, //host) becomes ``default``."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url or any(ord(c) < 32 for c in url):
        return default
    return url


@router.get("/signin")
def signin_form(page: PageDep, next: Next = "/"):
    return render(page.request, page, "signin.html", next=safe_next(next), error=None)


@router.post("/signin")
async def signin(page: PageDep, rt: ReadyDep, request: Request,
                 next: Annotated[str, Form(max_length=2000)] = "/"):
    from api.routers.access import sign_in

    response = RedirectResponse(safe_next(next), status_code=303)
    try:
        await sign_in(rt, request, response)
    except Unauthorized:
        return render(request, page, "signin.html", status_code=401, next=safe_next(next),
                      error=page.t("signin.wrong"))
    return response


@router.post("/signout")
async def signout(rt: ReadyDep, request: Request, key: KeyDep):
    token = request.cookies.get(SESSION_COOKIE)
    if key is None or not token:
        raise Unauthorized("not signed in")
    await anyio.to_thread.run_sync(rt.catalog.close_session, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=rt.settings.cookie_secure)
    return response


@router.get("/lang/{code}")
def switch_language(code: Annotated[str, Path(pattern="^(en|fr)$")], next: Next = "/"):
    assert code in LANGUAGES
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response
