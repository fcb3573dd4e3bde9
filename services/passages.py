"""Passages as the document, recording and topic pages show them: read from the store, joined with their document,
and kept only where they belong to the current version of a document the reader may see.

Reads take the reader's ``audience`` (kmh.catalog.visibility; the public when not given): what it may not see is
ThingNotFound. No links here: the API and the pages build them (api.urls.citation_url).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kmh.catalog import PUBLIC, Audience, Catalog, DocumentRecord, EditionRecord, VersionRecord
from kmh.dates import clock
from kmh.store import Filter, VectorStore
from services.errors import ThingNotFound


@dataclass
class PassageRef:
    """A passage of a document's current version: a document passage, or a recording segment (``start`` and ``end``
    in seconds)."""

    passage_id: str
    doc_id: str
    doc_version: int
    title: str
    doc_type: str
    kind: Literal["document", "recording"]
    text: str
    section: str | None
    page: int | None
    start: float | None
    end: float | None
    session: int | None = None
    seminar_id: str | None = None
    score: float | None = None  # the topic link's score, on a topic's page
    speaker: str | None = None
    ocr: float | None = None  # read by OCR from a scanned page: its mean word confidence (0-100)

    @property
    def timestamp(self) -> str | None:
        """A recording segment's span, e.g. 00:12:34–00:13:20; None for a document passage."""
        if self.kind != "recording" or self.start is None or self.end is None:
            return None
        return f"{clock(self.start)}–{clock(self.end)}"


def passages(*, catalog: Catalog, store: VectorStore, ids: list[str], audience: Audience = PUBLIC,
             scores: dict[str, float | None] | None = None) -> list[PassageRef]:
    """The passages among ``ids`` that ``audience`` may see, in the store's order; ``scores`` by passage id."""
    if not ids:
        return []
    try:
        hits = store.retrieve(ids)
    except ValueError:  # an id that is not a passage id at all
        return []
    docs = catalog.refs(h.payload.get("doc_id") for h in hits)
    out = []
    for h in hits:
        p = h.payload
        doc = docs.get(p.get("doc_id"))
        if doc is None or not audience.sees(doc.status) or doc.version != p.get("doc_version"):
            continue
        out.append(PassageRef(
            passage_id=h.id, doc_id=doc.id, doc_version=doc.version, title=doc.title, doc_type=doc.doc_type,
            kind="recording" if p.get("kind") == "recording" else "document", text=p.get("text", ""),
            section=p.get("section"), page=p.get("page"), start=p.get("start"), end=p.get("end"),
            session=p.get("session"), seminar_id=p.get("seminar_id"), score=(scores or {}).get(h.id),
            speaker=p.get("speaker"), ocr=p.get("ocr")))
    return out


def passage(*, catalog: Catalog, store: VectorStore, passage_id: str, audience: Audience = PUBLIC) -> PassageRef:
    """A passage of the current version of a document ``audience`` may see. Raises ThingNotFound."""
    refs = passages(catalog=catalog, store=store, ids=[passage_id], audience=audience)
    if not refs:
        raise ThingNotFound("passage", passage_id)
    return refs[0]


def in_order(*, catalog: Catalog, store: VectorStore, doc: DocumentRecord,
             audience: Audience = PUBLIC) -> list[PassageRef]:
    """The passages of ``doc``'s current version, by start (character offset, or second for recordings)."""
    ids = store.ids(Filter(equals={"doc_id": doc.id, "doc_version": doc.version}))
    refs = passages(catalog=catalog, store=store, ids=ids, audience=audience)
    return sorted(refs, key=lambda r: (r.start or 0.0, r.passage_id))


@dataclass
class DocumentView:
    """What a document's page shows: the document, its current passages in reading order, its version history;
    ``recording`` when the document is a seminar recording (whose own page shows it)."""

    document: DocumentRecord
    passages: list[PassageRef]
    history: list[VersionRecord]
    recording: bool
    # The other language editions of its publication that the audience may see (kmh.catalog.editions).
    editions: list[EditionRecord] = field(default_factory=list)


def document_view(*, catalog: Catalog, store: VectorStore, doc_id: str, audience: Audience = PUBLIC) -> DocumentView:
    """A document ``audience`` may see, as its page shows it (a recording's passages are left to its own page).
    Raises ThingNotFound."""
    doc = catalog.visible(doc_id, audience)
    if doc is None:
        raise ThingNotFound("document", doc_id)
    if catalog.recording(doc_id) is not None:
        return DocumentView(doc, [], [], recording=True)
    return DocumentView(doc, in_order(catalog=catalog, store=store, doc=doc, audience=audience),
                        catalog.history(doc_id), recording=False,
                        editions=[e for e in catalog.editions(doc_id, audience) if e.id != doc_id])
