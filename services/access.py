"""Who may write: API keys, web sessions and the audit log, over the catalog's access tables.

No transport here: the API reads the ``Authorization: Bearer`` header and the cookies (``api.deps``, ``api.auth``)
and hands the secrets to these functions. A wrong, revoked or missing key is ``Unauthorized``, a key whose role
does not grant what it asks ``Forbidden``. Every change to the keys and every sign-in is written to the audit log.
The functions block on the catalog: async callers run them in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from kmh.catalog import ROLES, AuditRecord, Catalog, KeyRecord, UnknownKey
from kmh.catalog.access import SessionRecord
from services.errors import Forbidden, InvalidParameter, KeyNotFound, Unauthorized

WRONG_KEY = "the API key is wrong or revoked"
SESSION_ENDED = "the session has expired or was closed: sign in again"
NOT_SIGNED_IN = "not signed in"


@dataclass(frozen=True)
class NewKey:
    """A key just created: its record, and the key itself (shown this once; only its hash is kept)."""

    record: KeyRecord
    secret: str


@dataclass(frozen=True)
class SignedIn:
    """A new web session: the cookie's token (only its hash is kept) and the session, with its key."""

    token: str
    session: SessionRecord


@dataclass(frozen=True)
class AuditLogPage:
    """One page of the audit log, newest first, and how many entries match."""

    items: list[AuditRecord]
    total: int
    limit: int
    offset: int


# -- who is asking


def authenticate(*, catalog: Catalog, secret: str) -> KeyRecord:
    """The active key ``secret`` is (kmh_<id>_<secret>); Unauthorized when unknown, malformed or revoked."""
    key = catalog.authenticate(secret)
    if key is None:
        raise Unauthorized(WRONG_KEY)
    return key


def web_session(*, catalog: Catalog, token: str) -> SessionRecord:
    """The live web session of a cookie token, with its key; Unauthorized when expired, closed or revoked."""
    session = catalog.web_session(token)
    if session is None:
        raise Unauthorized(SESSION_ENDED)
    return session


def authorize(*, key: KeyRecord, role: str) -> KeyRecord:
    """``key`` when its role grants ``role`` (admin is granted everything); Forbidden otherwise."""
    if not key.may(role):
        raise Forbidden(f"the key {key.name!r} has the {key.role} role; this needs {role}", role=key.role,
                        needed=role)
    return key


# -- web sessions


def sign_in(*, catalog: Catalog, secret: str, lifetime: timedelta) -> SignedIn:
    """Open a web session for the key ``secret`` (Unauthorized when it is wrong or revoked), and audit it."""
    key = authenticate(catalog=catalog, secret=secret)
    token, _csrf = catalog.open_session(key.id, lifetime)
    catalog.audit(key, "session.sign_in", key.id)
    return SignedIn(token=token, session=web_session(catalog=catalog, token=token))


def whoami(*, catalog: Catalog, key: KeyRecord | None, token: str | None) -> tuple[KeyRecord, SessionRecord | None]:
    """The asking key, and the web session of ``token`` when it is live; Unauthorized without a key."""
    if key is None:
        raise Unauthorized(NOT_SIGNED_IN)
    return key, catalog.web_session(token) if token else None


def sign_out(*, catalog: Catalog, key: KeyRecord | None, token: str | None) -> None:
    """End the web session of ``token`` on the server; Unauthorized when not signed in."""
    if key is None or not token:
        raise Unauthorized(NOT_SIGNED_IN)
    catalog.close_session(token)


# -- keys


def list_keys(*, catalog: Catalog) -> list[KeyRecord]:
    """Every key, revoked ones included, oldest first (never the keys themselves)."""
    return catalog.keys()


def create_key(*, catalog: Catalog, name: str, role: str, actor: KeyRecord | None) -> NewKey:
    """A new key for ``role``, created by ``actor`` (None: the command line), and audited."""
    try:
        record, secret = catalog.create_key(name, role, created_by=actor.id if actor else "cli")
    except ValueError as exc:  # an unknown role, a blank or overlong name
        raise InvalidParameter("role" if role not in ROLES else "name", str(exc), "body") from None
    catalog.audit(actor, "key.create", record.id, name=record.name, role=record.role)
    return NewKey(record=record, secret=secret)


def revoke_key(*, catalog: Catalog, key_id: str, actor: KeyRecord | None) -> KeyRecord:
    """Revoke a key (it stops working at once, its web sessions end) and audit it; KeyNotFound for an unknown id."""
    try:
        record = catalog.revoke_key(key_id)
    except UnknownKey:
        raise KeyNotFound(key_id) from None
    catalog.audit(actor, "key.revoke", record.id, name=record.name, role=record.role)
    return record


# -- audit log


def audit_log(*, catalog: Catalog, limit: int = 100, offset: int = 0, action: str | None = None,
              target: str | None = None) -> AuditLogPage:
    """A page of the audit log, newest first, filtered by action (``document.retract``) and target id."""
    items, total = catalog.audit_log(limit=limit, offset=offset, action=action, target=target)
    return AuditLogPage(items=items, total=total, limit=limit, offset=offset)
