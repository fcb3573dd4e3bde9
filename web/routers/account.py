"""Signing in with an API key (a session cookie), signing out, and the language switch."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse

from api.auth import clear_session_cookie, set_session_cookie, set_signin_cookie, sign_in_key, signin_token
from api.deps import SESSION_COOKIE, KeyDep, ReadyDep
from api.errors import Unauthorized
from services import access
from web.deps import Page, PageDep
from web.i18n import LANG_COOKIE, LANGUAGES
from web.templating import render

router = APIRouter(include_in_schema=False)

Next = Annotated[str, Query(max_length=2000)]


def safe_next(url: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (another site, a scheme, //host) becomes ``default``."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url or any(ord(c) < 32 for c in url):
        return default
    return url


def signin_page(page: Page, next: str, error: str | None = None, status_code: int = 200):
    """The sign-in form, with the sign-in token of its cookie (set here when the browser has none)."""
    token = signin_token(page.request)
    response = render(page.request, page, "signin.html", status_code=status_code, next=safe_next(next), error=error,
                      signin_token=token)
    set_signin_cookie(response, token, page.request.app.state.runtime.settings.cookie_secure)
    return response


@router.get("/signin")
def signin_form(page: PageDep, next: Next = "/"):
    return signin_page(page, next)


@router.post("/signin")
async def signin(page: PageDep, rt: ReadyDep, request: Request,
                 next: Annotated[str, Form(max_length=2000)] = "/"):
    """Sign in from the form (a 403 without the sign-in token of its cookie, api.auth.check_signin_token)."""
    secret = await sign_in_key(request)
    try:
        signed = await anyio.to_thread.run_sync(partial(
            access.sign_in, catalog=rt.catalog, secret=secret, lifetime=timedelta(hours=rt.settings.session_hours)))
    except Unauthorized:
        return signin_page(page, next, page.t("signin.wrong"), status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, signed, rt.settings)
    return response


@router.post("/signout")
async def signout(rt: ReadyDep, request: Request, key: KeyDep):
    await anyio.to_thread.run_sync(partial(
        access.sign_out, catalog=rt.catalog, key=key, token=request.cookies.get(SESSION_COOKIE)))
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, rt.settings)
    return response


@router.get("/lang/{code}")
def switch_language(code: Annotated[str, Path(pattern="^(en|fr)$")], next: Next = "/"):
    assert code in LANGUAGES
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response
