"""The newest passages that match search filters, without a question: what the feed of a topic, a country, a type or a
seminar lists (services.feeds).

The filter is the search's own (``SearchQuery.to_filter`` with the searcher's ``FilterValues``: values in any case and
accents, published passages only), so a listing holds what a search with the same filters can find. Documents come
newest first (``Catalog.newest_published``: publication date, undated ones last, then ingestion). A document is one
item, cited by its first matching passage in reading order; a recording gives one item per matching segment, in time
order (only its first with ``group_by_document``). One edition per publication, as search shows it: the one in the
reader's language when it matches, else the newest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kmh.catalog.visibility import PUBLIC
from kmh.store import Filter, Hit, VectorStore

if TYPE_CHECKING:
    from kmh.catalog import Catalog, DocumentRecord

# The most documents one listing considers: the distinct documents of the matching passages are counted at once.
MAX_DOCUMENTS = 1_000_000
SCROLL_PAGE = 256


@dataclass(frozen=True)
class Listed:
    """One item: the passage that cites it, of the current version of ``doc_id``; ``whole_document`` when the item
    stands for its document (a document, or a recording with ``group_by_document``), else for one recording
    segment."""

    passage_id: str
    doc_id: str
    whole_document: bool


def newest(*, catalog: Catalog, store: VectorStore, flt: Filter, limit: int, offset: int = 0,
           group_by_document: bool = False, preferred_language: str | None = None) -> list[Listed]:
    """The items ``offset`` to ``offset + limit`` of the documents and recording segments matching ``flt``, newest
    first (see the module)."""
    if limit < 1 or offset < 0:
        raise ValueError("limit must be at least 1 and offset at least 0")
    matching = store.facet("doc_id", flt, limit=MAX_DOCUMENTS)  # documents with a matching passage (any version)
    if not matching:
        return []
    wanted = offset + limit
    out: list[Listed] = []
    listed: set[str] = set()  # publications already listed
    for doc_id in catalog.newest_published():
        if len(out) >= wanted:
            break
        if doc_id not in matching:
            continue
        doc = catalog.visible(doc_id, PUBLIC)
        if doc is None:
            continue
        if doc.publication_id is not None:
            if doc.publication_id in listed:
                continue
            listed.add(doc.publication_id)
        passages: list[Hit] = []
        for edition in _editions(catalog, doc, matching, preferred_language):
            passages = _passages(store, flt, edition)
            if passages:  # else only passages of an older version match
                doc = edition
                break
        if not passages:
            continue
        if passages[0].payload.get("kind") == "recording" and not group_by_document:
            out += [Listed(h.id, doc.id, False) for h in passages]
        else:
            out.append(Listed(passages[0].id, doc.id, True))
    return out[offset:wanted]


def _editions(catalog: Catalog, doc: DocumentRecord, matching: dict, preferred: str | None) -> list[DocumentRecord]:
    """The editions of ``doc``'s publication to try, in order: the one in ``preferred`` language if it matches, then
    ``doc`` (the newest edition that matches)."""
    if doc.publication_id is None or preferred is None or doc.language == preferred:
        return [doc]
    editions = catalog.publications([doc.publication_id], PUBLIC).get(doc.publication_id, [])
    for edition in editions:
        if edition.language == preferred and edition.id in matching:
            found = catalog.visible(edition.id, PUBLIC)
            return [found, doc] if found is not None else [doc]
    return [doc]


def _passages(store: VectorStore, flt: Filter, doc: DocumentRecord) -> list[Hit]:
    """The passages of ``doc``'s current version that match ``flt``, in reading order (recordings: by time)."""
    own = Filter(equals={**flt.equals, "doc_id": doc.id, "doc_version": doc.version}, ranges=flt.ranges,
                 not_equals=flt.not_equals)
    hits: list[Hit] = []
    offset = None
    while True:
        page, offset = store.scroll(own, limit=SCROLL_PAGE, offset=offset)
        hits += page
        if offset is None:
            break
    return sorted(hits, key=_reading_order)


def _reading_order(h: Hit) -> tuple[float, float, str]:
    p = h.payload
    if p.get("kind") == "recording":
        return (float(p.get("start") or 0.0), 0.0, h.id)
    return (float(p.get("index") if p.get("index") is not None else 0), float(p.get("start") or 0.0), h.id)
