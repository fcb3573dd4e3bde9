"""Who may see a document: the one rule every read applies.

A published document is public. A retracted one is gone for everyone but staff and admins: reads by id answer
"not found" for anyone else, as if it had never existed. Listings (search, facets, topic and seminar pages, the
home page) show published documents only, whoever asks; staff find retracted ones by id or on their own pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .models import STATUSES


class _Who(Protocol):
    def may(self, role: str) -> bool: ...


@dataclass(frozen=True)
class Audience:
    """The document statuses a reader may see."""

    name: str
    statuses: frozenset[str]

    def sees(self, status: str | None) -> bool:
        return status in self.statuses

    def filter(self, doc: Any) -> Any:
        """``doc`` (anything with a ``status``) when this audience may see it, else None."""
        return doc if doc is not None and self.sees(doc.status) else None


PUBLIC = Audience("public", frozenset({"published"}))
STAFF = Audience("staff", frozenset(STATUSES))


def audience_of(who: _Who | None) -> Audience:
    """The audience of a key or signed-in viewer (anything with ``may(role)``); None is an anonymous reader.

    Staff and admins see retracted documents; readers, organisers and anonymous readers do not.
    """
    return STAFF if who is not None and who.may("staff") else PUBLIC
