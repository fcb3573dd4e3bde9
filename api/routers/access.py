"""Access: web sign-in (/api/session), API keys (/api/keys, admin) and the audit log (/api/audit, admin)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Query, Request, Response

from api.auth import SESSION_COOKIE, AdminDep, KeyDep
from api.deps import CatalogDep, ReadyDep
from api.errors import NotFound, Unauthorized, problem_responses
from api.schemas import AuditEntry, AuditPage, KeyCreate, KeyCreated, KeyInfo, SessionInfo, SignIn

router = APIRouter(prefix="/api", tags=["access"])


class KeyNotFound(NotFound):
    kind = "key-not-found"
    title = "API key not found"


def _key_info(k) -> dict:
    return dict(id=k.id, name=k.name, role=k.role, created_at=k.created_at, created_by=k.created_by,
                last_used_at=k.last_used_at, revoked_at=k.revoked_at, active=k.active)


# -- web session

# Login CSRF: a form that signs in must carry the token of the sign-in cookie (double submit). Another site can make a
# browser post a form here, but it can neither read nor set this cookie, so it cannot sign the browser in to its
# own key. JSON bodies need no token: a browser sends them cross-site only after a CORS check this API never passes.
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

    from api.errors import Forbidden

    expected = request.cookies.get(SIGNIN_COOKIE)
    if not _well_formed(expected) or not isinstance(given, str) or not hmac.compare_digest(given.encode(),
                                                                                           expected.encode()):
        raise Forbidden(f"missing or wrong sign-in token: sign in from the sign-in page (its form sends the "
                        f"{SIGNIN_FIELD} field and the {SIGNIN_COOKIE} cookie), or send the key as JSON: "
                        "{\"key\": \"kmh_...\"}")


@router.post("/session", response_model=SessionInfo, responses=problem_responses(401, 403, 413, 422, 503),
             summary="Sign in with an API key: sets an HttpOnly, SameSite=Strict session cookie",
             description="Send `{\"key\": \"kmh_...\"}` as JSON. A form (the web page's) must also carry the "
                         "`signin_token` field matching the `kmh_signin` cookie that the sign-in page set, or it is "
                         "a 403.")
async def sign_in(rt: ReadyDep, request: Request, response: Response) -> SessionInfo:
    body = await _sign_in_body(request)
    key = await anyio.to_thread.run_sync(rt.catalog.authenticate, body.key)
    if key is None:
        raise Unauthorized("the API key is wrong or revoked")
    hours = rt.settings.session_hours
    token, csrf = await anyio.to_thread.run_sync(rt.catalog.open_session, key.id, timedelta(hours=hours))
    await anyio.to_thread.run_sync(lambda: rt.catalog.audit(key, "session.sign_in", key.id))
    response.set_cookie(SESSION_COOKIE, token, max_age=int(hours * 3600), httponly=True, samesite="strict",
                        secure=rt.settings.cookie_secure, path="/")
    if SIGNIN_COOKIE in request.cookies:
        response.delete_cookie(SIGNIN_COOKIE, path="/", httponly=True, samesite="strict",
                               secure=rt.settings.cookie_secure)
    session = await anyio.to_thread.run_sync(rt.catalog.web_session, token)
    return SessionInfo(name=key.name, role=key.role, csrf_token=csrf, expires_at=session.expires_at)


async def _sign_in_body(request: Request) -> SignIn:
    """The key from a JSON body or a form (the web page's sign-in form, which must carry its sign-in token)."""
    from pydantic import ValidationError

    from api.errors import InvalidParameter

    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            return SignIn.model_validate_json(await request.body())
        except ValidationError:
            raise InvalidParameter("key", "send {\"key\": \"kmh_...\"}", "body") from None
    form = await request.form()
    check_signin_token(request, form.get(SIGNIN_FIELD))
    value = form.get("key")
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter("key", "send the API key in the 'key' field", "body")
    return SignIn(key=value[:200])


@router.get("/session", response_model=SessionInfo, responses=problem_responses(401, 503),
            summary="Who is signed in (session cookie) or whose key this is (Bearer)")
async def whoami(rt: ReadyDep, request: Request, key: KeyDep) -> SessionInfo:
    if key is None:
        raise Unauthorized("not signed in")
    token = request.cookies.get(SESSION_COOKIE)
    session = await anyio.to_thread.run_sync(rt.catalog.web_session, token) if token else None
    return SessionInfo(name=key.name, role=key.role, csrf_token=session.csrf_token if session else None,
                       expires_at=session.expires_at if session else None)


@router.delete("/session", status_code=204, response_class=Response, responses=problem_responses(401, 403, 503),
               summary="Sign out: the session ends on the server and the cookie is cleared")
async def sign_out(rt: ReadyDep, request: Request, key: KeyDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if key is None or not token:
        raise Unauthorized("not signed in")
    await anyio.to_thread.run_sync(rt.catalog.close_session, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=rt.settings.cookie_secure)
    return response


# -- keys (admin)


@router.get("/keys", response_model=list[KeyInfo], responses=problem_responses(401, 403, 503),
            summary="API keys, revoked ones included (admin); the keys themselves are never shown again")
def list_keys(catalog: CatalogDep, _admin: AdminDep) -> list[KeyInfo]:
    return [KeyInfo(**_key_info(k)) for k in catalog.keys()]


@router.post("/keys", status_code=201, response_model=KeyCreated, responses=problem_responses(401, 403, 422, 503),
             summary="Create an API key (admin); the answer is the only time the key is shown")
def create_key(catalog: CatalogDep, admin: AdminDep, body: KeyCreate) -> KeyCreated:
    rec, secret = catalog.create_key(body.name, body.role, created_by=admin.id)
    catalog.audit(admin, "key.create", rec.id, name=rec.name, role=rec.role)
    return KeyCreated(**_key_info(rec), key=secret)


@router.delete("/keys/{key_id}", response_model=KeyInfo, responses=problem_responses(401, 403, 404, 503),
               summary="Revoke an API key (admin): it stops working at once, its web sessions end")
def revoke_key(catalog: CatalogDep, admin: AdminDep,
               key_id: Annotated[str, Path(max_length=12, description="The key's id (kmh_<id>_...)")]) -> KeyInfo:
    from kmh.catalog import UnknownKey

    try:
        rec = catalog.revoke_key(key_id)
    except UnknownKey:
        raise KeyNotFound(f"no API key with id {key_id!r}", key_id=key_id) from None
    catalog.audit(admin, "key.revoke", rec.id, name=rec.name, role=rec.role)
    return KeyInfo(**_key_info(rec))


# -- audit log (admin)


@router.get("/audit", response_model=AuditPage, responses=problem_responses(401, 403, 422, 503),
            summary="The audit log, newest first (admin): every write, who made it and when")
def audit_log(
    catalog: CatalogDep,
    _admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    action: Annotated[str | None, Query(max_length=48, description="e.g. document.retract")] = None,
    target: Annotated[str | None, Query(max_length=100, description="A document, job, key or passage id")] = None,
) -> AuditPage:
    rows, total = catalog.audit_log(limit=limit, offset=offset, action=action, target=target)
    return AuditPage(total=total, limit=limit, offset=offset,
                     items=[AuditEntry(**r.__dict__) for r in rows])
