"""The "Cite" control of hits, document pages and recording pages: the text reference in the page's language, and
where its RIS, BibTeX and CSL-JSON files download (GET .../citation). The template is web/templates/_cite.html."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from api.deps import public_base
from api.urls import citation_api_url, linked_reference
from kmh.citation import render
from services import citations

if TYPE_CHECKING:
    from kmh.catalog import Audience, Catalog
    from search.results import SearchHit
    from services.citations import Cited
    from web.deps import Page

FILES = (("ris", "RIS"), ("bibtex", "BibTeX"), ("csl-json", "CSL-JSON"))


@dataclass(frozen=True)
class CiteBox:
    text: str
    # (label, url) of each file
    files: tuple[tuple[str, str], ...]


def for_hits(*, page: Page, catalog: Catalog, hits: list[SearchHit]) -> dict[str, CiteBox]:
    """The Cite control of each hit, by passage id (its documents read once each)."""
    found = citations.hit_references(catalog=catalog, hits=hits, lang=page.lang)
    return {pid: _box(page, cited, citation_api_url(passage_id=pid), _moment(cited)) for pid, cited in found.items()}


def for_document(*, page: Page, catalog: Catalog, doc_id: str, audience: Audience) -> CiteBox:
    """The Cite control of a document's or a recording's page."""
    cited = citations.document_reference(catalog=catalog, doc_id=doc_id, lang=page.lang, audience=audience)
    return _box(page, cited, citation_api_url(doc_id=doc_id))


def _moment(cited: Cited) -> str:
    """A recording hit is cited at its moment, the second it plays from, in the files too."""
    ref = cited.reference
    return f"&t={ref.start:g}" if ref.window is not None and ref.start is not None else ""


def _box(page: Page, cited: Cited, route: str, more: str = "") -> CiteBox:
    request = page.request
    ref = linked_reference(cited.reference, cited.web_url, public_base(request, request.app.state.runtime.settings))
    text = render(ref, "text", page.lang, datetime.now(UTC).date())
    return CiteBox(text, tuple((label, f"{route}?format={fmt}&lang={page.lang}{more}") for fmt, label in FILES))
