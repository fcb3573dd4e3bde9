"""Where things open in this service: the links a citation carries and those of documents and jobs, built at the
edge (the API's answers, the web pages and the CLI's output), never below it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    from kmh.citation import Reference


def document_file_url(doc_id: str, page: int | None = None) -> str:
    """Where a cited passage opens: the original file, at the page for PDFs."""
    base = f"/api/documents/{doc_id}/file"
    return f"{base}#page={page}" if page else base


def recording_media_url(doc_id: str, start: float | None = None) -> str:
    """Where a recording segment plays: the media, from its first second (a media fragment)."""
    base = f"/api/recordings/{doc_id}/media"
    return f"{base}#t={int(start)}" if start else base


def citation_url(doc_id: str, *, kind: str = "document", page: int | None = None, start: float | None = None,
                 web_url: str | None = None) -> str:
    """The link of a citation: a recording's media at its second, a page or document imported from a website at its
    URL there (a PDF at its page, #page=), or a document's file at its page."""
    if kind == "recording":
        return recording_media_url(doc_id, start)
    if web_url:
        return f"{web_url}#page={page}" if page else web_url
    return document_file_url(doc_id, page)


def absolute_url(base: str, link: str) -> str:
    """``link`` as it opens from anywhere (a citation copied into a report): a path of this site joined to its
    address ``base`` (KMH_PUBLIC_URL, else the request's); a URL elsewhere (a crawled page) as it is."""
    if "://" in link:
        return link
    return base.rstrip("/") + link


def linked_reference(ref: Reference, web_url: str | None, base: str) -> Reference:
    """A reference (kmh.citation) with its absolute link: a passage's page or second, the document's file or
    media, or its URL on the website it was imported from (``web_url``)."""
    link = citation_url(ref.doc_id, kind=ref.kind, page=ref.page, start=ref.start if ref.passage_id else None,
                        web_url=web_url)
    return replace(ref, url=absolute_url(base, link))


def citation_api_url(*, doc_id: str | None = None, passage_id: str | None = None) -> str:
    """The citation route of a document or a passage (GET .../citation?format=...&lang=...)."""
    return f"/api/passages/{passage_id}/citation" if passage_id else f"/api/documents/{doc_id}/citation"


def document_url(doc_id: str) -> str:
    """A document in the API: its metadata, outline and history."""
    return f"/api/documents/{doc_id}"


def crawl_url(job_id: str) -> str:
    """A website crawl in the API: its state, progress and summary."""
    return f"/api/crawls/{job_id}"


def job_url(job_id: str) -> str:
    """An ingestion job in the API: its state and progress."""
    return f"/api/jobs/{job_id}"


FEED_PATH = "/api/feeds/search.atom"


def search_feed_url(params: Mapping[str, object] | None = None, /, **more: object) -> str:
    """The Atom feed of a search (GET /api/feeds/search.atom) with these search parameters (``q``, ``type``,
    ``topic``, ``reader_lang``...); empty ones are left out, the others sorted, so one search has one feed URL."""
    merged = {k: str(v).lower() if isinstance(v, bool) else v for k, v in {**(params or {}), **more}.items()
              if v is not None and v != ""}
    return FEED_PATH + ("?" + urlencode(sorted(merged.items())) if merged else "")
