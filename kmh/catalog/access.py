"""Who may write: API keys (kept as sha256 hashes), web sessions and the audit log.

``AccessMixin`` adds these methods to ``Catalog``. A key reads ``kmh_<id>_<secret>``: the id finds the row, the
hash of the whole key is compared in constant time. Keys carry 256 random bits, so a plain sha256 is enough
(a slow password hash protects guessable secrets, which these are not).
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from .models import ROLES, ApiKey, AuditEntry, WebSession, utcnow

KEY_RE = re.compile(r"kmh_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
# Which roles may act as which: admin may do everything; staff and organiser only their own part.
GRANTS = {
    "reader": {"reader"},
    "staff": {"reader", "staff"},
    "organiser": {"reader", "organiser"},
    "admin": {"reader", "staff", "organiser", "admin"},
}


class UnknownKey(KeyError):
    """No API key with this id."""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class KeyRecord:
    id: str
    name: str
    role: str
    created_at: datetime
    created_by: str | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may(self, role: str) -> bool:
        """Whether this key may do what ``role`` may."""
        return self.active and role in GRANTS[self.role]


@dataclass
class SessionRecord:
    key: KeyRecord
    csrf_token: str
    expires_at: datetime


@dataclass
class AuditRecord:
    id: int
    at: datetime
    actor_id: str | None
    actor: str
    role: str
    action: str
    target: str | None
    detail: dict[str, Any] = field(default_factory=dict)


_KEY_FIELDS = tuple(f.name for f in fields(KeyRecord))
_AUDIT_FIELDS = tuple(f.name for f in fields(AuditRecord))


def _key(row: ApiKey) -> KeyRecord:
    return KeyRecord(**{n: getattr(row, n) for n in _KEY_FIELDS})


class AccessMixin:
    """Catalog methods for keys, sessions and the audit log (mixed into ``Catalog``)."""

    # -- keys

    def create_key(self, name: str, role: str, *, created_by: str | None = None) -> tuple[KeyRecord, str]:
        """A new key for ``role``; returns its record and the key itself (shown once, never stored)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        name = name.strip()
        if not name or len(name) > 200:
            raise ValueError("a key needs a name of 1 to 200 characters")
        with self.session(write=True) as s:
            while True:
                key_id = secrets.token_hex(6)
                if s.get(ApiKey, key_id) is None:
                    break
            secret = f"kmh_{key_id}_{secrets.token_urlsafe(32)}"
            row = ApiKey(id=key_id, name=name, role=role, key_hash=sha256_text(secret), created_at=utcnow(),
                         created_by=created_by)
            s.add(row)
            s.flush()
            return _key(row), secret

    def keys(self, *, include_revoked: bool = True) -> builtins.list[KeyRecord]:
        with self.session() as s:
            q = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
            if not include_revoked:
                q = q.where(ApiKey.revoked_at.is_(None))
            return [_key(r) for r in s.scalars(q)]

    def key(self, key_id: str) -> KeyRecord | None:
        with self.session() as s:
            row = s.get(ApiKey, key_id)
            return _key(row) if row else None

    def revoke_key(self, key_id: str) -> KeyRecord:
        """Revoke a key (kept for the audit log); its web sessions end. Raises UnknownKey."""
        with self.session(write=True) as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise UnknownKey(key_id)
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            s.execute(delete(WebSession).where(WebSession.key_id == key_id))
            s.flush()
            return _key(row)

    def authenticate(self, presented: str, *, touch_after: timedelta = timedelta(minutes=1)) -> KeyRecord | None:
        """The active key ``presented`` is, or None (unknown, malformed or revoked)."""
        m = KEY_RE.fullmatch(presented.strip())
        if m is None:
            return None
        with self.session() as s:
            row = s.get(ApiKey, m.group(1))
            if row is None or not hmac.compare_digest(row.key_hash, sha256_text(m.group(0))):
                return None
            rec = _key(row)
        if rec.revoked_at is not None:
            return None
        now = utcnow()
        if rec.last_used_at is None or now - rec.last_used_at > touch_after:  # not a write on every request
            with self.session(write=True) as s:
                row = s.get(ApiKey, rec.id)
                if row is not None:
                    row.last_used_at = now
            rec.last_used_at = now
        return rec

    # -- web sessions

    def open_session(self, key_id: str, lifetime: timedelta) -> tuple[str, str]:
        """A new web session for a key: returns (cookie token, CSRF token); only the token's hash is stored."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = utcnow()
        with self.session(write=True) as s:
            s.execute(delete(WebSession).where(WebSession.expires_at < now))
            s.add(WebSession(token_hash=sha256_text(token), key_id=key_id, csrf_token=csrf, created_at=now,
                             expires_at=now + lifetime))
        return token, csrf

    def web_session(self, token: str) -> SessionRecord | None:
        """The live session of this cookie token, with its (active) key; None when unknown, expired or revoked."""
        with self.session() as s:
            row = s.get(WebSession, sha256_text(token))
            if row is None or row.expires_at < utcnow():
                return None
            key = s.get(ApiKey, row.key_id)
            if key is None or key.revoked_at is not None:
                return None
            return SessionRecord(_key(key), row.csrf_token, row.expires_at)

    def close_session(self, token: str) -> None:
        with self.session(write=True) as s:
            s.execute(delete(WebSession).where(WebSession.token_hash == sha256_text(token)))

    # -- audit log

    def audit(self, actor: KeyRecord | None, action: str, target: str | None = None, s=None, **detail: Any) -> None:
        """Record one write (``actor`` None: the command line). Inside ``s`` when given (the write's transaction)."""
        entry = AuditEntry(at=utcnow(), actor_id=actor.id if actor else None,
                           actor=actor.name if actor else "cli", role=actor.role if actor else "admin",
                           action=action, target=target, detail=_jsonable(detail))
        if s is not None:
            s.add(entry)
            return
        with self.session(write=True) as s2:
            s2.add(entry)

    def audit_log(self, *, limit: int = 100, offset: int = 0, action: str | None = None,
                  target: str | None = None) -> tuple[builtins.list[AuditRecord], int]:
        """Entries newest first, and how many match."""
        where = []
        if action:
            where.append(AuditEntry.action == action)
        if target:
            where.append(AuditEntry.target == target)
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
            rows = s.scalars(select(AuditEntry).where(*where).order_by(AuditEntry.id.desc())
                             .limit(max(0, limit)).offset(max(0, offset)))
            return [AuditRecord(**{n: getattr(r, n) for n in _AUDIT_FIELDS}) for r in rows], total


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # dates, paths
