"""Language editions: the documents that are editions of one publication, as readers list them and staff link and
unlink them (kmh.catalog.editions keeps them; a sidecar's ``edition_of`` links them at ingest, ingest.editions).

Linking two documents merges their publications. A publication has one edition per language: linking a second
edition in a language it has is a Conflict (409) naming the two documents; linking a document to itself is an
InvalidParameter (422). Both writes are in the audit log (``document.link_edition``, ``document.unlink_edition``).
Every function is keyword-only and raises ``services.errors``: DocumentNotFound names the unknown id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmh.catalog import STAFF, Audience, EditionRecord
from services.errors import Conflict, DocumentNotFound, InvalidParameter

if TYPE_CHECKING:
    from kmh.catalog import Catalog, KeyRecord


def other_editions(*, catalog: Catalog, doc_id: str, audience: Audience = STAFF) -> list[EditionRecord]:
    """The other editions of the document's publication that ``audience`` may see, by language (DocumentNotFound
    when it may not see the document itself)."""
    if catalog.visible(doc_id, audience) is None:
        raise DocumentNotFound(doc_id)
    return [e for e in catalog.editions(doc_id, audience) if e.id != doc_id]


def link_edition(*, catalog: Catalog, doc_id: str, edition_of: str, actor: KeyRecord | None) -> list[EditionRecord]:
    """Make ``doc_id`` and ``edition_of`` editions of one publication; returns the other editions of ``doc_id``."""
    from kmh.catalog import EditionConflict, NotFound

    edition_of = edition_of.strip()
    if edition_of == doc_id:
        raise InvalidParameter("edition_of", f"is the document itself ({doc_id}): name another edition", "body")
    try:
        catalog.link_editions(doc_id, edition_of, actor=actor)
    except NotFound as exc:
        missing = exc.args[0] if exc.args else doc_id
        raise DocumentNotFound(missing, None if missing == doc_id else
                               f"edition_of: no document with id {missing!r}") from None
    except EditionConflict as exc:
        raise Conflict(str(exc), doc_id=doc_id) from None
    return other_editions(catalog=catalog, doc_id=doc_id)


def unlink_edition(*, catalog: Catalog, doc_id: str, actor: KeyRecord | None) -> list[EditionRecord]:
    """Take the document out of its publication (nothing changes when it has no other edition); returns the editions
    left behind."""
    from kmh.catalog import NotFound

    try:
        return catalog.unlink_edition(doc_id, actor=actor)
    except NotFound:
        raise DocumentNotFound(doc_id) from None
