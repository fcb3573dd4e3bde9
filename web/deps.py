"""What every page needs: its language and translator, and who is signed in (from the session cookie)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated
from urllib.parse import quote

import anyio
from fastapi import Depends, Request

from api.deps import SESSION_COOKIE, CatalogDep
from api.errors import Forbidden, Unauthorized
from services import access
from web.i18n import choose_language, translator


@dataclass(frozen=True)
class Viewer:
    """A signed-in web user: the key's name and role, and the session's CSRF token for the forms."""

    key_id: str
    name: str
    role: str
    csrf: str

    def may(self, role: str) -> bool:
        return self.role == "admin" or self.role == role


@dataclass(frozen=True)
class Page:
    request: Request
    lang: str
    t: Callable[..., str]
    viewer: Viewer | None

    @property
    def here(self) -> str:
        """This page's path and query (where to come back after signing in or switching language)."""
        url = self.request.url
        return url.path + (f"?{url.query}" if url.query else "")

    def signin_url(self) -> str:
        return "/signin?next=" + quote(self.here, safe="")


async def viewer_of(request: Request) -> Viewer | None:
    """Who is signed in with the session cookie; None without one, or when it has ended (pages show as public)."""
    token = request.cookies.get(SESSION_COOKIE)
    rt = request.app.state.runtime
    if not token or not rt.ready:
        return None
    try:
        session = await anyio.to_thread.run_sync(partial(access.web_session, catalog=rt.catalog, token=token))
    except Unauthorized:
        return None
    k = session.key
    return Viewer(key_id=k.id, name=k.name, role=k.role, csrf=session.csrf_token)


async def get_page(request: Request) -> Page:
    lang = choose_language(request)
    return Page(request=request, lang=lang, t=translator(lang), viewer=await viewer_of(request))


PageDep = Annotated[Page, Depends(get_page)]


class SignInRequired(Exception):
    """A page for signed-in users was asked for without a session: redirect to the sign-in page."""

    def __init__(self, next_url: str, role: str):
        self.next_url, self.role = next_url, role


class Need:
    """A page dependency: the page, with a signed-in viewer whose role grants ``role`` (or one of ``others``).

    No session: redirect to sign in. A session of another role: 403 page.
    """

    def __init__(self, role: str, *others: str):
        self.role, self.roles = role, (role, *others)

    async def __call__(self, page: PageDep, _catalog: CatalogDep) -> Page:
        if page.viewer is None:
            raise SignInRequired(page.here, self.role)
        if not any(page.viewer.may(r) for r in self.roles):
            raise Forbidden(page.t("error.role", name=page.viewer.name, role=page.t("role." + page.viewer.role),
                                   needed=" / ".join(page.t("role." + r) for r in self.roles)), lang=page.lang)
        return page


StaffPage = Annotated[Page, Depends(Need("staff"))]
OrganiserPage = Annotated[Page, Depends(Need("organiser"))]
# Recordings and the jobs that publish them: staff and organisers alike.
StaffOrOrganiserPage = Annotated[Page, Depends(Need("staff", "organiser"))]
