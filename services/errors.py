"""Domain errors the services raise, with no transport: the API maps each kind to a status at its edge
(``api.errors``), the web pages to an error page, the CLI to a message and an exit code.

Each error has a ``kind`` (a stable slug: ``document-not-found``, ``invalid-parameter``), a ``title`` and a
``detail`` fit to show, and ``extra`` fields that name what it is about (``doc_id``, ``invalid_params``).
``plain_error`` says what an ingestion job's failure may show: never SQL, a server path or a stack trace.
"""

from __future__ import annotations

import re
from typing import Any


class ServiceError(Exception):
    """Base of the domain errors; ``kind`` and ``title`` name the problem, ``detail`` says this occurrence."""

    kind: str = "internal-error"
    title: str = "Internal Server Error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.extra = extra


class NotFound(ServiceError):
    """Something named by id does not exist, or is not visible to this audience (the same answer either way)."""

    kind = "not-found"
    title = "Not Found"


class ThingNotFound(NotFound):
    """``what`` (document, passage, recording, seminar, topic, ...) with ``key`` does not exist; ``field`` names the
    key in ``extra`` (``what`` itself by default: ``{"seminar": id}``)."""

    def __init__(self, what: str, key: str, detail: str | None = None, *, field: str | None = None):
        super().__init__(detail or f"no {what} with id {key!r}", **{field or what.replace(" ", "_"): key})
        self.what, self.key = what, key
        self.kind = what.replace(" ", "-") + "-not-found"
        self.title = what.capitalize() + " not found"


class DocumentNotFound(ThingNotFound):
    def __init__(self, doc_id: str, detail: str | None = None):
        super().__init__("document", doc_id, detail, field="doc_id")


class PassageNotFound(ThingNotFound):
    def __init__(self, passage_id: str):
        super().__init__("passage", passage_id, field="passage_id")


class JobNotFound(ThingNotFound):
    def __init__(self, job_id: str):
        super().__init__("job", job_id, field="job_id")


class KeyNotFound(NotFound):
    """No API key with this id (revoked keys are still found: they stay for the audit log)."""

    kind = "key-not-found"
    title = "API key not found"

    def __init__(self, key_id: str):
        super().__init__(f"no API key with id {key_id!r}", key_id=key_id)
        self.key_id = key_id


class InvalidParameter(ServiceError):
    """A value that passed type checks but makes no sense (e.g. year_from > year_to); ``name`` is the parameter."""

    kind = "invalid-parameter"
    title = "Invalid parameter"

    def __init__(self, name: str, reason: str, location: str = "query"):
        super().__init__(
            f"parameter '{name}': {reason}",
            invalid_params=[{"name": name, "location": location, "reason": reason}],
        )
        self.name, self.reason, self.location = name, reason, location


class PayloadTooLarge(ServiceError):
    kind = "payload-too-large"
    title = "Payload too large"


class Unauthorized(ServiceError):
    """No credentials, or a key that is wrong, revoked or expired (the API adds its WWW-Authenticate challenge)."""

    kind = "unauthorized"
    title = "Unauthorized"


class Forbidden(ServiceError):
    """A valid key whose role may not do this, or a signed-in form without its CSRF token."""

    kind = "forbidden"
    title = "Forbidden"


class Conflict(ServiceError):
    kind = "conflict"
    title = "Conflict"


class UnsupportedType(ServiceError):
    kind = "unsupported-media-type"
    title = "Unsupported file type"


class NotReady(ServiceError):
    kind = "not-ready"
    title = "Service not ready"


# -- plain messages ---------------------------------------------------------------------------------
# What an answer says about an error that is not the client's (a job's ``error``, a 5xx detail): never SQL, a path
# of the server or a stack trace. The full error goes to the log.

DISK_FAILED = "a write to the data folder failed: its disk is full or failing"
CATALOG_FAILED = "the catalog could not be updated (a database error, logged)"
INDEX_FAILED = "the search index could not be written (a store error, logged)"
UNEXPECTED = "an unexpected error occurred while ingesting the file; it has been logged"
NOT_CHANGED = ("; nothing was published (an updated document keeps its current version): upload the file again "
               "once this is solved")

_DATABASE = re.compile(r"\[SQL:|\(sqlite3\.|\(psycopg|sqlalchemy|OperationalError|IntegrityError|ProgrammingError"
                       r"|DatabaseError|InterfaceError", re.IGNORECASE)
_STORE = re.compile(r"qdrant|StoreError", re.IGNORECASE)
_TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
# An absolute path of the server (not a URL, not "text/plain"): kept as its last part, the file's name.
_SERVER_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s'\"/:,;()\[\]]+/)+([^\s'\"/:,;()\[\]]*)")


def write_failure(error: BaseException | str) -> str | None:
    """The plain message for a failed write to the catalog, the index or the data folder's disk; None when
    ``error`` is none of these."""
    from kmh.diskspace import is_disk_failure
    from kmh.store import StoreError

    if is_disk_failure(error):
        return DISK_FAILED
    if isinstance(error, str):
        if _DATABASE.search(error):
            return CATALOG_FAILED
        return INDEX_FAILED if _STORE.search(error) else None
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, SQLAlchemyError):
        return CATALOG_FAILED
    if isinstance(error, StoreError):
        return INDEX_FAILED
    return write_failure(str(error))


def plain_error(error: BaseException | str) -> str:
    """``error`` (an exception or a failure reason) as an answer may show it."""
    failed = write_failure(error)
    if failed is not None:
        return failed + NOT_CHANGED
    text = str(error)
    if not text or _TRACE.search(text):
        return UNEXPECTED
    return _SERVER_PATH.sub(lambda m: m.group(1) or "(a folder)", text)
