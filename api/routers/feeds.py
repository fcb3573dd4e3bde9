"""GET /api/feeds/search.atom: a search as an Atom 1.0 feed, to follow a question, a topic, a country or a seminar
in a feed reader."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query

from api.atom import ATOM_TYPE, AtomResponse, feed_language, render
from api.deps import CpuLimiterDep, MetricsDep, PublicBaseDep, SearcherDep
from api.errors import problem_responses
from api.params import SearchOptions
from services import feeds as service

router = APIRouter(prefix="/api/feeds", tags=["feeds"])

DESCRIPTION = """\
The parameters of `GET /api/search`, `q` optional.

**With `q`**: the search's `k` best passages (from `offset`) that clear the relevance floor (with `include_weak`, the
weak ones too), put in date order; nothing when nothing answers. **Without `q`**: the newest publications and
recording segments that the filters match (a topic, a country, a type, a seminar, years, a language): one entry per
document, cited by its first matching passage, and one per matching recording segment (one per recording with
`group_by_document`).

Entries come newest first: by their document's publication date (undated documents last), then its ingestion. Entry
ids are stable: `urn:kmh:document:ID` for a document (a new version moves its `updated`, the id stays),
`urn:kmh:passage:ID` for a passage or a segment. Each entry links the cited place (`rel="alternate"`: the original at
its page, the recording from its second), gives `published` and `updated`, a plain-text `summary` (the snippet), the
source as `author`, and the type (`urn:kmh:type`), confirmed topics (`urn:kmh:topic`) and countries
(`urn:kmh:country`) as categories. The feed's id is its canonical URL. Titles are in `reader_lang` (English or French),
else the `Accept-Language` header's, else English. Only published documents: a retracted one leaves the feed.
"""


@router.get(
    "/search.atom",
    response_class=AtomResponse,
    summary="Follow a search: an Atom feed",
    description=DESCRIPTION,
    responses={200: {"description": "An Atom 1.0 feed (RFC 4287)",
                     "content": {ATOM_TYPE: {"schema": {"type": "string"}}}},
               **problem_responses(422, 503)},
)
async def search_feed(
    base: PublicBaseDep,
    searcher: SearcherDep,
    metrics: MetricsDep,
    limiter: CpuLimiterDep,
    options: SearchOptions,
    q: Annotated[str | None, Query(max_length=500, description="The question, in French or English; without it, "
                                                              "the newest passages the filters match")] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> AtomResponse:
    query = replace(options, q=(q or "").strip())
    feed = await anyio.to_thread.run_sync(partial(service.search_feed, searcher=searcher, query=query),
                                          limiter=limiter)
    if feed.query.q:
        metrics.searches.labels(feed.query.mode).inc()
    lang = feed_language(options.reader_lang, accept_language)
    body = render(feed, base_url=base, lang=lang)
    return AtomResponse(body, media_type=f"{ATOM_TYPE}; charset=utf-8", headers={"Vary": "Accept-Language"})
