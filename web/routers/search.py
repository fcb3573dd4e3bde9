"""The home page (search box, latest publications, seminars) and the results page, GET /search?q=...

Results are plain links and forms: they work without JavaScript, every filter is a query parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Query

from api.deps import CatalogDep, CpuLimiterDep, MetricsDep, ReadyDep, SearcherDep
from api.errors import InvalidParameter
from api.schemas import SearchResponse
from search.filters import fold
from search.results import SearchQuery
from kmh.catalog import PUBLIC, Catalog
from services import analytics
from services import search as service
from services.publishing import list_documents
from services.seminars import list_seminars
from services.search import UnknownFilter
from services.topics import taxonomy
from web import citations
from web.deps import PageDep
from web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 10
FILTERS = ("type", "lang", "country", "year_from", "year_to", "topic", "seminar")


@router.get("/")
def home(page: PageDep, catalog: CatalogDep):
    latest, total = list_documents(catalog=catalog, audience=PUBLIC, limit=6)
    topics = taxonomy(catalog=catalog)
    return render(page.request, page, "home.html", latest=latest, total=total,
                  seminars=list_seminars(catalog=catalog),
                  topics=[tp for tp in topics.topics if topics.counts.get(tp.id)], counts=topics.counts)


@dataclass
class Facet:
    name: str  # the query parameter
    values: list[tuple[str, str, int, bool, str]]  # (value, label, count, active, url)


@router.get("/search")
async def search_page(
    page: PageDep,
    rt: ReadyDep,
    searcher: SearcherDep,
    catalog: CatalogDep,
    metrics: MetricsDep,
    limiter: CpuLimiterDep,
    q: Annotated[str, Query(max_length=500)] = "",
    doc_type: Annotated[str | None, Query(alias="type", max_length=40)] = None,
    lang: Annotated[str | None, Query(max_length=20)] = None,
    country: Annotated[str | None, Query(max_length=100)] = None,
    year_from: Annotated[str | None, Query(max_length=8)] = None,
    year_to: Annotated[str | None, Query(max_length=8)] = None,
    topic: Annotated[str | None, Query(max_length=100)] = None,
    seminar: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
    weak: Annotated[bool, Query(description="Show the closest passages even below the relevance floor")] = False,
):
    # the year fields of the form send "" when left empty
    year_from, year_to = _year("year_from", year_from), _year("year_to", year_to)
    params = {"q": q.strip(), "type": doc_type, "lang": lang, "country": country, "year_from": year_from,
              "year_to": year_to, "topic": topic, "seminar": seminar}
    params = {k: v for k, v in params.items() if v not in (None, "")}
    labels = await anyio.to_thread.run_sync(_labels, catalog, page.lang)
    try:  # type=News is news, lang=FR is fr (search.filters)
        lang, doc_type = await anyio.to_thread.run_sync(
            partial(service.closed_filters, searcher=searcher, lang=lang, doc_type=doc_type))
    except UnknownFilter as exc:
        bad = BadFilter(exc.name, exc.value, [(v, url_for(params, **{exc.name: v})) for v in exc.allowed],
                        url_for(params, **{exc.name: None}))
        kept = {k: v for k, v in params.items() if k != exc.name}  # the form searches without it
        return render(page.request, page, "search.html", status_code=422, q=params.get("q", ""), params=kept,
                      results=None, facets=[], active=[], labels=labels, pages=None, bad_filter=bad)
    params.update({k: v for k, v in (("type", doc_type), ("lang", lang)) if v})
    if not params.get("q"):
        return render(page.request, page, "search.html", q="", params=params, results=None, facets=[],
                      active=[], labels=labels, pages=None, bad_filter=None)
    query = SearchQuery(q=params["q"], k=PAGE_SIZE, offset=offset, lang=lang, doc_type=doc_type, country=country,
                        year_from=year_from, year_to=year_to, topic=topic, seminar=seminar, include_weak=weak,
                        reader_lang=page.lang)  # one edition of a publication: the one in the page's language first
    found = await anyio.to_thread.run_sync(partial(service.search, searcher=searcher, query=query), limiter=limiter)
    metrics.searches.labels(query.mode).inc()
    search_id = analytics.record_search(recorder=rt.analytics, query=found.query, results=found, channel="web")
    results = SearchResponse.from_results(found)  # hits with the links their citations open (api.urls)
    cites = await anyio.to_thread.run_sync(partial(citations.for_hits, page=page, catalog=catalog, hits=found.hits))
    raw_facets = results.facets.model_dump()
    labels["country"] = {v: v for v in raw_facets["country"]}  # country=senegal is shown as the documents spell it
    facets = _facets(raw_facets, params, labels)
    active = [(name, _label(labels, name, str(params[name])), url_for(params, **{name: None}))
              for name in FILTERS if name in params]
    pages = {
        "first": offset + 1, "last": offset + len(results.hits), "total": results.available, "strong": results.total,
        "prev": url_for(params, offset=max(0, offset - PAGE_SIZE)) if offset > 0 else None,
        "next": url_for(params, offset=offset + PAGE_SIZE) if offset + PAGE_SIZE < results.available else None,
    }
    no_match = {"without_filters": url_for({"q": params["q"]}), "closest": url_for(params, weak=1)}
    return render(page.request, page, "search.html", q=params["q"], params=params, results=results,
                  facets=facets, active=active, labels=labels, pages=pages, bad_filter=None, no_match=no_match,
                  weak=weak, search_id=search_id, cites=cites)


@dataclass
class BadFilter:
    """A language or type the search does not know: the page names it and links each allowed value."""

    name: str  # the query parameter: lang or type
    value: str
    choices: list[tuple[str, str]]  # (allowed value, url of the search with it)
    without: str  # url of the search without this filter


def _year(name: str, value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit() or not 1000 <= int(value) <= 9999:
        raise InvalidParameter(name, f"{value!r} is not a year")
    return int(value)


def url_for(params: dict, **changes) -> str:
    """/search with ``params`` changed by ``changes`` (None removes); any filter change restarts at offset 0."""
    merged = {k: v for k, v in {**params, **changes}.items() if v is not None and v != ""}
    if "offset" not in changes:
        merged.pop("offset", None)
    if merged.get("offset") == 0:
        merged.pop("offset")
    return "/search?" + urlencode(merged)


def _labels(catalog: Catalog, lang: str) -> dict[str, dict[str, str]]:
    """Display labels of facet values that are ids: topics and seminars."""
    topics = {tp.id: tp.label(lang) for tp in taxonomy(catalog=catalog).topics}
    seminars, sessions = {}, {}
    for sem in list_seminars(catalog=catalog):
        seminars[sem.id] = sem.title_en if lang == "en" and sem.title_en else sem.title
        for session in sem.sessions:
            sessions[f"{sem.id}/{session.number}"] = session.title
    return {"topic": topics, "seminar": seminars, "session": sessions}


def _label(labels: dict, name: str, value: str) -> str:
    """The display label of a facet value that is an id (topics, seminars) or of a country as the documents spell
    it, in any case and accents; types and languages are translated in the template."""
    known = labels.get(name, {})
    if value in known:
        return known[value]
    return next((label for key, label in known.items() if fold(key) == fold(value)), value)


# facet name in the API -> query parameter of the page
_FACET_PARAMS = {"type": "type", "language": "lang", "country": "country", "year": "year", "topic": "topic"}


def _facets(raw: dict[str, dict[str, int]], params: dict, labels: dict) -> list[Facet]:
    out = []
    for name, param in _FACET_PARAMS.items():
        counts = raw.get(name) or {}
        values = []
        for value, count in list(counts.items())[:12]:
            if param == "year":
                active = params.get("year_from") == int(value) and params.get("year_to") == int(value)
                url = url_for(params, year_from=None, year_to=None) if active else url_for(
                    params, year_from=int(value), year_to=int(value))
            else:  # country=senegal is the facet value Senegal
                active = param in params and fold(str(params[param])) == fold(value)
                url = url_for(params, **{param: None if active else value})
            values.append((value, _label(labels, param, value), count, active, url))
        if param == "year":
            values.sort(key=lambda v: v[0], reverse=True)
        if values:
            out.append(Facet(param, values))
    return out
