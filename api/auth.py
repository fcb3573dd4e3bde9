"""What a route requires of the key behind a request, and how a browser signs in and out (the cookies).

Reading needs nothing. Writing needs a key whose role grants it (``Allow("staff")`` etc.): no or a bad key is a
401, a key of the wrong role a 403. Which key is asking (a Bearer key or the session cookie's, with the CSRF
check) is ``api.deps.current_key``; the keys and sessions themselves are ``services.access``.

Signing in (``POST /api/session``, the web's sign-in form) sets an HttpOnly, SameSite=Strict session cookie.
Login CSRF: a form that signs in must carry the token of the sign-in cookie (double submit). Another site can make
a browser post a form here, but it can neither read nor set this cookie, so it cannot sign the browser in to its
own key. JSON bodies need no token: a browser sends them cross-site only after a CORS check this API never passes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from api.deps import SESSION_COOKIE, KeyDep
from api.errors import Forbidden, InvalidParameter, Unauthorized
from api.schemas import SignIn
from kmh.catalog import KeyRecord
from kmh.settings import Settings
from services import access

# Only declares the scheme in the OpenAPI schema (the "Authorize" button of /docs); current_key reads the header.
_SCHEME = HTTPBearer(auto_error=False, scheme_name="apiKey",
                     description="An API key from `kmh keys create` (or a signed-in session cookie)")


class Allow:
    """A dependency admitting keys whose role grants ``role``, or one of ``others`` (admin is granted everything)."""

    def __init__(self, role: str, *others: str):
        self.role, self.roles = role, (role, *others)

    async def __call__(self, key: KeyDep,
                       _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(_SCHEME)] = None) -> KeyRecord:
        wanted = " or ".join(self.roles)
        if key is None:
            raise Unauthorized(f"this needs an API key with the {wanted} role: send 'Authorization: Bearer KEY'")
        granted = next((r for r in self.roles if key.may(r)), None)
        if granted is None and len(self.roles) > 1:
            raise Forbidden(f"the key {key.name!r} has the {key.role} role; this needs {wanted}", role=key.role,
                            needed=wanted)
        return access.authorize(key=key, role=granted or self.role)


StaffDep = Annotated[KeyRecord, Depends(Allow("staff"))]
OrganiserDep = Annotated[KeyRecord, Depends(Allow("organiser"))]
# Recordings: staff publish them, organisers bring their seminars' recordings and fix their captions.
StaffOrOrganiserDep = Annotated[KeyRecord, Depends(Allow("staff", "organiser"))]
AdminDep = Annotated[KeyRecord, Depends(Allow("admin"))]


# -- signing in and out

SIGNIN_COOKIE = "kmh_signin"
SIGNIN_FIELD = "signin_token"
SIGNIN_COOKIE_SECONDS = 12 * 3600


def signin_token(request: Request) -> str:
    """The browser's sign-in token (from its cookie), or a new one to set with ``set_signin_cookie``."""
    import secrets

    given = request.cookies.get(SIGNIN_COOKIE, "")
    return given if _well_formed(given) else secrets.token_urlsafe(32)


def _well_formed(token: str | None) -> bool:
    return token is not None and 32 <= len(token) <= 64 and token.isascii()


def set_signin_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(SIGNIN_COOKIE, token, max_age=SIGNIN_COOKIE_SECONDS, httponly=True, samesite="strict",
                        secure=secure, path="/")


def check_signin_token(request: Request, given: object) -> None:
    """A 403 unless the form's sign-in token is the one of the sign-in cookie."""
    import hmac

    expected = request.cookies.get(SIGNIN_COOKIE)
    if not _well_formed(expected) or not isinstance(given, str) or not hmac.compare_digest(given.encode(),
                                                                                           expected.encode()):
        raise Forbidden(f"missing or wrong sign-in token: sign in from the sign-in page (its form sends the "
                        f"{SIGNIN_FIELD} field and the {SIGNIN_COOKIE} cookie), or send the key as JSON: "
                        "{\"key\": \"kmh_...\"}")


async def sign_in_key(request: Request) -> str:
    """The key from a JSON body, or from a form (the web page's sign-in form, which must carry its sign-in token)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            return SignIn.model_validate_json(await request.body()).key
        except ValidationError:
            raise InvalidParameter("key", "send {\"key\": \"kmh_...\"}", "body") from None
    form = await request.form()
    check_signin_token(request, form.get(SIGNIN_FIELD))
    value = form.get("key")
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter("key", "send the API key in the 'key' field", "body")
    return SignIn(key=value[:200]).key


def set_session_cookie(request: Request, response: Response, signed: access.SignedIn, settings: Settings) -> None:
    """Give the browser the new session's cookie (it lives as long as the session), and drop its sign-in cookie."""
    response.set_cookie(SESSION_COOKIE, signed.token, max_age=int(settings.session_hours * 3600), httponly=True,
                        samesite="strict", secure=settings.cookie_secure, path="/")
    if SIGNIN_COOKIE in request.cookies:
        response.delete_cookie(SIGNIN_COOKIE, path="/", httponly=True, samesite="strict",
                               secure=settings.cookie_secure)


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=settings.cookie_secure)
