"""The query parameters of a search, declared once for every route that takes them: GET /api/search and its Atom feed
(GET /api/feeds/search.atom). Each route declares its own ``q`` (required by the search, optional for the feed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from api.schemas import Mode
from kmh.catalog.models import DOC_TYPES
from kmh.language import LANGUAGES
from search.results import SearchQuery


def search_options(
    k: Annotated[int, Query(ge=1, le=50, description="Hits per page (in a feed: entries)")] = 10,
    offset: Annotated[int, Query(ge=0, description="Hits to skip (paging)")] = 0,
    mode: Annotated[Mode, Query(description="hybrid (dense + BM25, fused), dense or keyword")] = "hybrid",
    lang: Annotated[str | None, Query(max_length=20, description=f"Passage language, ISO 639-1, in any case: "
                                      f"{', '.join(LANGUAGES)} or any other a document was given")] = None,
    doc_type: Annotated[str | None, Query(alias="type", max_length=40, description=f"Document type, in any case: "
                                          f"{', '.join(DOC_TYPES)}")] = None,
    country: Annotated[str | None, Query(max_length=100, description="Country, e.g. Senegal (any case and accents: "
                                         "senegal, Sénégal and SENEGAL are the same)")] = None,
    year_from: Annotated[int | None, Query(ge=1000, le=9999, description="Published in or after")] = None,
    year_to: Annotated[int | None, Query(ge=1000, le=9999, description="Published in or before")] = None,
    topic: Annotated[str | None, Query(max_length=100, description="Topic id (any case)")] = None,
    seminar: Annotated[str | None, Query(max_length=100, description="Seminar id (any case)")] = None,
    group_by_document: Annotated[bool, Query(description="At most one hit (the best) per document")] = False,
    include_weak: Annotated[bool, Query(description="Also return the passages below the relevance floor, flagged "
                                                    "weak (the closest passages when nothing matches)")] = False,
    reader_lang: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$", description="The reader's language, ISO "
                                             "639-1: when several language editions of a publication match, the "
                                             "hit shows the one in it (else the question's language), and links the "
                                             "others (other_editions)")] = None,
) -> SearchQuery:
    """The search's options as a query without its question (``q`` is ""): the route adds its own."""
    return SearchQuery(q="", k=k, offset=offset, mode=mode, lang=lang, doc_type=doc_type, country=country,
                       year_from=year_from, year_to=year_to, topic=topic, seminar=seminar,
                       group_by_document=group_by_document, include_weak=include_weak,
                       reader_lang=reader_lang.lower() if reader_lang else None)


SearchOptions = Annotated[SearchQuery, Depends(search_options)]
