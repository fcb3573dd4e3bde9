"""Who is asking: an API key in ``Authorization: Bearer KEY``, or a web session cookie (signed in with a key).

Reading needs nothing. Writing needs a key whose role grants it (``Allow("staff")`` etc.): no or a bad key is a
401, a key of the wrong role a 403. A request authenticated by the session cookie that changes something must
also carry the session's CSRF token (``X-CSRF-Token`` header or a ``csrf_token`` form field), or it is a 403:
the cookie alone proves nothing, since a browser sends it with requests that other sites make.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import ReadyDep
from api.errors import Forbidden, Unauthorized
from kmh.catalog import KeyRecord

SESSION_COOKIE = "kmh_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Only declares the scheme in the OpenAPI schema (the "Authorize" button of /docs); current_key reads the header.
_SCHEME = HTTPBearer(auto_error=False, scheme_name="apiKey",
                     description="An API key from `kmh keys create` (or a signed-in session cookie)")


def bearer(request: Request) -> str | None:
    """The key of an ``Authorization: Bearer`` header; None without one; a 401 for another scheme."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("use 'Authorization: Bearer KEY' with an API key (kmh keys create)")
    return value.strip()


async def current_key(request: Request, rt: ReadyDep) -> KeyRecord | None:
    """The key behind this request, or None for an anonymous reader."""
    if hasattr(request.state, "key"):
        return request.state.key
    catalog = rt.catalog
    presented = bearer(request)
    key: KeyRecord | None = None
    if presented is not None:
        key = await anyio.to_thread.run_sync(catalog.authenticate, presented)
        if key is None:
            raise Unauthorized("the API key is wrong or revoked")
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            session = await anyio.to_thread.run_sync(catalog.web_session, token)
            if session is None:
                raise Unauthorized("the session has expired or was closed: sign in again")
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


class Allow:
    """A dependency admitting keys whose role grants ``role`` (admin is granted everything)."""

    def __init__(self, role: str):
        self.role = role

    async def __call__(self, key: Annotated[KeyRecord | None, Depends(current_key)],
                       _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(_SCHEME)] = None) -> KeyRecord:
        if key is None:
            raise Unauthorized(f"this needs an API key with the {self.role} role: send 'Authorization: Bearer KEY'")
        if not key.may(self.role):
            raise Forbidden(f"the key {key.name!r} has the {key.role} role; this needs {self.role}",
                            role=key.role, needed=self.role)
        return key


KeyDep = Annotated[KeyRecord | None, Depends(current_key)]
StaffDep = Annotated[KeyRecord, Depends(Allow("staff"))]
OrganiserDep = Annotated[KeyRecord, Depends(Allow("organiser"))]
AdminDep = Annotated[KeyRecord, Depends(Allow("admin"))]
