"""Searching cited passages, and reading one passage with its neighbours: what GET /api/search, GET
/api/passages/{id}, the search page and ``kmh search`` answer.

Synchronous (the searcher is CPU-bound; the API runs these in its worker threads, under its CPU limiter), and
transport-free: they return the search layer's records (search.results) and raise services.errors. The API turns
the records into its schemas at its edge (api.schemas), where the links citations open are built (api.urls).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from kmh.catalog import PUBLIC, Audience
from search.filters import UnknownFilterValue
from search.results import MODES, SearchHit, SearchQuery, SearchResults
from services.errors import InvalidParameter, PassageNotFound

if TYPE_CHECKING:
    from search.searcher import Searcher


class UnknownFilter(InvalidParameter):
    """A language or document type search does not know; ``value`` as given, ``allowed`` the values it knows
    (the search page links each of them)."""

    def __init__(self, name: str, value: str, allowed: Sequence[str], reason: str):
        super().__init__(name, reason)
        self.value, self.allowed = value, list(allowed)


@dataclass
class Passage:
    """A passage of a document's current version, read without a question, with the passages around it."""

    hit: SearchHit
    before: list[SearchHit]
    after: list[SearchHit]
    # Its document's status: "published", or "retracted" (seen by staff only).
    status: str


def closed_filters(*, searcher: Searcher, lang: str | None, doc_type: str | None) -> tuple[str | None, str | None]:
    """The language and document type as search knows them (``FR`` is ``fr``, ``News`` is ``news``); UnknownFilter
    (a 422, naming ``lang`` or ``type``) for one it does not know."""
    try:
        return searcher.filters.language(lang), searcher.filters.doc_type(doc_type)
    except UnknownFilterValue as exc:
        raise UnknownFilter(exc.param, exc.value, exc.allowed, exc.reason) from None


def search(*, searcher: Searcher, query: SearchQuery) -> SearchResults:
    """One page of cited passages for ``query``, with the facets of its whole candidate pool.

    The question is stripped, the language and type taken in any case: ``results.query`` is the query as searched.
    InvalidParameter for an empty question, an unknown mode, k below 1, a negative offset or year_from after year_to;
    UnknownFilter for a language or type search does not know.
    """
    return searcher.search(checked(searcher=searcher, query=query))


def checked(*, searcher: Searcher, query: SearchQuery, question: bool = True) -> SearchQuery:
    """``query`` as search takes it: the question stripped, the language and type as search knows them. Raises what
    ``search`` raises; with ``question`` False, a query without a question (``q`` "") is allowed (a feed of filters
    alone, services.feeds)."""
    q = (query.q or "").strip()
    if not q and question:
        raise InvalidParameter("q", "must contain more than whitespace")
    if query.mode not in MODES:
        raise InvalidParameter("mode", f"must be one of: {', '.join(MODES)} (not {query.mode!r})")
    if query.k < 1:
        raise InvalidParameter("k", "must be at least 1")
    if query.offset < 0:
        raise InvalidParameter("offset", "must be at least 0")
    if query.year_from is not None and query.year_to is not None and query.year_from > query.year_to:
        raise InvalidParameter("year_from", f"must not be after year_to ({query.year_from} > {query.year_to})")
    lang, doc_type = closed_filters(searcher=searcher, lang=query.lang, doc_type=query.doc_type)
    return replace(query, q=q, lang=lang, doc_type=doc_type)


def passage(*, searcher: Searcher, passage_id: str, neighbours: int = 1, audience: Audience = PUBLIC) -> Passage:
    """The passage and up to ``neighbours`` passages before and after it, in document order; PassageNotFound when
    the id is unknown, belongs to an old version or to a document ``audience`` may not see."""
    found = searcher.passage(passage_id, neighbours, audience)
    if found is None:
        raise PassageNotFound(passage_id)
    hit, before, after = found
    doc = searcher.catalog.visible(hit.doc_id, audience)
    if doc is None:  # retracted in the meantime
        raise PassageNotFound(passage_id)
    return Passage(hit=hit, before=before, after=after, status=doc.status)
