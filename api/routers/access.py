"""Access: web sign-in (/api/session), API keys (/api/keys, admin) and the audit log (/api/audit, admin).

Thin adapters over ``services.access``; the cookies are ``api.auth``'s.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Query, Request, Response

from api.auth import AdminDep, clear_session_cookie, set_session_cookie, sign_in_key
from api.deps import SESSION_COOKIE, CatalogDep, KeyDep, ReadyDep
from api.errors import problem_responses
from api.schemas import AuditPage, KeyCreate, KeyCreated, KeyInfo, SessionInfo
from services import access

router = APIRouter(prefix="/api", tags=["access"])


# -- web session


@router.post("/session", response_model=SessionInfo, responses=problem_responses(401, 403, 413, 422, 503),
             summary="Sign in with an API key: sets an HttpOnly, SameSite=Strict session cookie",
             description="Send `{\"key\": \"kmh_...\"}` as JSON. A form (the web page's) must also carry the "
                         "`signin_token` field matching the `kmh_signin` cookie that the sign-in page set, or it is "
                         "a 403.")
async def sign_in(rt: ReadyDep, request: Request, response: Response) -> SessionInfo:
    secret = await sign_in_key(request)
    signed = await anyio.to_thread.run_sync(partial(
        access.sign_in, catalog=rt.catalog, secret=secret, lifetime=timedelta(hours=rt.settings.session_hours)))
    set_session_cookie(request, response, signed, rt.settings)
    return SessionInfo.of(signed.session.key, signed.session)


@router.get("/session", response_model=SessionInfo, responses=problem_responses(401, 503),
            summary="Who is signed in (session cookie) or whose key this is (Bearer)")
async def whoami(rt: ReadyDep, request: Request, key: KeyDep) -> SessionInfo:
    who, session = await anyio.to_thread.run_sync(partial(
        access.whoami, catalog=rt.catalog, key=key, token=request.cookies.get(SESSION_COOKIE)))
    return SessionInfo.of(who, session)


@router.delete("/session", status_code=204, response_class=Response, responses=problem_responses(401, 403, 503),
               summary="Sign out: the session ends on the server and the cookie is cleared")
async def sign_out(rt: ReadyDep, request: Request, key: KeyDep) -> Response:
    await anyio.to_thread.run_sync(partial(
        access.sign_out, catalog=rt.catalog, key=key, token=request.cookies.get(SESSION_COOKIE)))
    response = Response(status_code=204)
    clear_session_cookie(response, rt.settings)
    return response


# -- keys (admin)


@router.get("/keys", response_model=list[KeyInfo], responses=problem_responses(401, 403, 503),
            summary="API keys, revoked ones included (admin); the keys themselves are never shown again")
def list_keys(catalog: CatalogDep, _admin: AdminDep) -> list[KeyInfo]:
    return [KeyInfo.from_record(k) for k in access.list_keys(catalog=catalog)]


@router.post("/keys", status_code=201, response_model=KeyCreated, responses=problem_responses(401, 403, 422, 503),
             summary="Create an API key (admin); the answer is the only time the key is shown")
def create_key(catalog: CatalogDep, admin: AdminDep, body: KeyCreate) -> KeyCreated:
    return KeyCreated.from_new(access.create_key(catalog=catalog, name=body.name, role=body.role, actor=admin))


@router.delete("/keys/{key_id}", response_model=KeyInfo, responses=problem_responses(401, 403, 404, 503),
               summary="Revoke an API key (admin): it stops working at once, its web sessions end")
def revoke_key(catalog: CatalogDep, admin: AdminDep,
               key_id: Annotated[str, Path(max_length=12, description="The key's id (kmh_<id>_...)")]) -> KeyInfo:
    return KeyInfo.from_record(access.revoke_key(catalog=catalog, key_id=key_id, actor=admin))


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
    return AuditPage.from_page(access.audit_log(catalog=catalog, limit=limit, offset=offset, action=action,
                                                target=target))
