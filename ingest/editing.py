"""Changing a published document without a new file: its metadata, or its status (retract, restore).

The passages' payloads (what search filters on) are changed first, then the catalog and its audit entry in one
transaction. Search reads titles and statuses from the catalog, so a crash in between shows the old values until
the change is made again; it never shows a retracted document.
"""

from __future__ import annotations

from typing import Any

from kmh.store import Filter, VectorStore

# Catalog fields copied into each passage's payload, and how.
_PAYLOAD = {
    "title": lambda d: {"title": d.title},
    "doc_type": lambda d: {"doc_type": d.doc_type},
    "language": lambda d: {"language": d.language},
    "published": lambda d: {"published": d.published_text,
                            "year": d.published.year if d.published else None},
    "countries": lambda d: {"countries": list(d.countries)},
    "programme": lambda d: {"programme": d.programme},
    "source_url": lambda d: {"source_url": d.source_url},
    "status": lambda d: {"status": d.status},
}


def passage_ids(store: VectorStore, doc_id: str, version: int) -> list[str]:
    """Ids of the passages of one version of a document."""
    return store.ids(Filter(equals={"doc_id": doc_id, "doc_version": version}))


def edit_document(catalog: Any, store: VectorStore, doc_id: str, changes: dict[str, Any], *, actor: Any = None,
                  action: str = "document.edit"):
    """Apply ``changes`` (catalog field names) to the document and its passages; returns the new record.

    Raises kmh.catalog.NotFound, ValueError (a bad value, or EditionConflict: a language another edition of its
    publication has; nothing is changed)."""
    from dataclasses import replace

    from kmh.catalog import NotFound, check_record

    doc = catalog.get(doc_id)
    if doc is None:
        raise NotFound(doc_id)
    planned = replace(doc, **changes)
    payload: dict[str, Any] = {}
    for name in changes:
        if name in _PAYLOAD:
            payload |= _PAYLOAD[name](planned)
    if "language" in changes:
        catalog.check_edition_language(doc_id, planned.language)  # EditionConflict before touching the store
    if payload:
        check_record(planned)  # refuse bad values before touching the store
        store.set_payload(passage_ids(store, doc.id, doc.version), payload)
    return catalog.update_document(doc_id, changes, actor=actor, action=action)
