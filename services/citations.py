"""References to cite a document, a passage or a recording moment: what GET /api/documents/{id}/citation, GET
/api/passages/{id}/citation and the pages' "Cite" control answer.

Who a reference names, from the catalog (documents name no people):

- **author and publisher** (``Reference.body``): the document's ``source`` when it is a name (the sidecar's
  publisher, "OIM Sénégal, communiqué"); when it is a URL, or missing on a page imported from a website, the host
  of that URL; else none, and the reference starts with the title;
- a **recording segment**'s author is its speaker, where known, with the source as publisher; a recording's
  seminar and session (the seminar's title in the reader's language) say where it was said;
- the **programme** is the series (RIS T3, BibTeX ``series``, CSL ``collection-title``);
- **keywords**: the topics organisers confirmed for the passage, or for the document's passages (most used first).

The link is left to the edge (``api.urls.reference_link``): a service builds no URL. The formats are kmh.citation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kmh.catalog import PUBLIC, Audience, Catalog, DocumentRecord, RecordingRecord, SeminarRecord
from kmh.citation import LANGUAGES, Reference
from services.errors import DocumentNotFound, InvalidParameter
from services.search import passage as read_passage

if TYPE_CHECKING:
    from search.results import SearchHit
    from search.searcher import Searcher

# A document imported from a website (kmh crawl) has this source key prefix (ingest.prepared.WEB_KEY_PREFIX).
_WEB_KEY_PREFIX = "url:"


@dataclass(frozen=True)
class Cited:
    """A reference and where its link goes: the document's file (at the page), the recording's media (from the
    second) or, for a document imported from a website, its URL there (``web_url``)."""

    reference: Reference
    web_url: str | None = None


def check_lang(lang: str) -> str:
    """``lang`` as a reference's language (fr or en); InvalidParameter naming ``lang`` otherwise."""
    if lang not in LANGUAGES:
        raise InvalidParameter("lang", f"must be one of: {', '.join(LANGUAGES)} (not {lang!r})")
    return lang


def document_reference(*, catalog: Catalog, doc_id: str, lang: str, audience: Audience = PUBLIC) -> Cited:
    """The reference of a whole document (or recording) ``audience`` may see; DocumentNotFound otherwise."""
    check_lang(lang)
    doc = catalog.visible(doc_id, audience)
    if doc is None:
        raise DocumentNotFound(doc_id)
    counts: Counter[str] = Counter(lk.topic_id for lk in catalog.links_of_document(doc_id)
                                   if lk.state == "confirmed" and lk.doc_version == doc.version)
    ref = _reference(_Source.of(catalog, doc), lang, keywords=_labels(catalog, [t for t, _ in counts.most_common()],
                                                                      lang))
    return Cited(ref, _web_url(doc))


def passage_reference(*, searcher: Searcher, passage_id: str, lang: str, audience: Audience = PUBLIC,
                      at: float | None = None) -> Cited:
    """The reference of one passage (its page) or recording segment (its second, speaker and session) that
    ``audience`` may see; PassageNotFound otherwise. ``at``: a recording segment cited from that second of it (the
    moment a search hit plays from); InvalidParameter naming ``t`` for a second outside the segment or a document
    passage."""
    check_lang(lang)
    found = read_passage(searcher=searcher, passage_id=passage_id, neighbours=0, audience=audience)
    if at is not None:
        c = found.hit.citation
        if c.kind != "recording" or c.start is None or c.end is None or not c.start <= at <= c.end:
            span = f"{c.start:g}–{c.end:g}" if c.kind == "recording" and c.start is not None and c.end is not None \
                else None
            raise InvalidParameter("t", f"must be a second of the segment ({span})" if span else
                                   "only a recording segment is cited at a second")
        found.hit.citation.window_start, found.hit.citation.window_end = c.start, c.end
        found.hit.citation.start = at
    catalog = searcher.catalog
    doc = catalog.visible(found.hit.doc_id, audience)
    if doc is None:
        raise DocumentNotFound(found.hit.doc_id)
    keywords = _labels(catalog, catalog.confirmed_topics(passage_id), lang)
    return _of_hit(_Source.of(catalog, doc), found.hit, lang, keywords)


def hit_references(*, catalog: Catalog, hits: Iterable[SearchHit], lang: str) -> dict[str, Cited]:
    """The references of a page of search hits, by passage id (the documents read once each; no keywords: the text
    reference does not show them). Hits whose document has gone in the meantime are left out."""
    check_lang(lang)
    sources: dict[str, _Source | None] = {}
    out = {}
    for hit in hits:
        if hit.doc_id not in sources:
            doc = catalog.visible(hit.doc_id, PUBLIC)
            sources[hit.doc_id] = _Source.of(catalog, doc) if doc is not None else None
        source = sources[hit.doc_id]
        if source is not None:
            out[hit.passage_id] = _of_hit(source, hit, lang, ())
    return out


@dataclass(frozen=True)
class _Source:
    """A document with its recording row and seminar, if it is a recording: read once per document."""

    doc: DocumentRecord
    recording: RecordingRecord | None
    seminar: SeminarRecord | None

    @classmethod
    def of(cls, catalog: Catalog, doc: DocumentRecord) -> _Source:
        rec = catalog.recording(doc.id)
        return cls(doc, rec, catalog.seminar(rec.seminar_id) if rec is not None and rec.seminar_id else None)


def _of_hit(source: _Source, hit: SearchHit, lang: str, keywords: tuple[str, ...]) -> Cited:
    c = hit.citation
    recording = c.kind == "recording"
    window = (c.window_start, c.window_end) if recording and None not in (c.window_start, c.window_end) else None
    ref = _reference(source, lang, keywords=keywords, passage_id=hit.passage_id,
                     page=None if recording else c.page, start=c.start if recording else None,
                     end=c.end if recording else None, session=c.session if recording else None,
                     speaker=c.speaker if recording else None, window=window)
    return Cited(ref, c.web_url)


def _reference(source: _Source, lang: str, *, keywords: tuple[str, ...], passage_id: str | None = None,
               page: int | None = None, start: float | None = None, end: float | None = None,
               session: int | None = None, speaker: str | None = None,
               window: tuple[float, float] | None = None) -> Reference:
    doc, rec, seminar = source.doc, source.recording, source.seminar
    seminar_title = session_title = None
    if seminar is not None:
        seminar_title = seminar.title_en if lang == "en" and seminar.title_en else seminar.title
        session_title = next((s.title for s in seminar.sessions if s.number == session), None)
    return Reference(
        doc_id=doc.id, title=doc.title, doc_type=doc.doc_type, kind="recording" if rec is not None else "document",
        language=doc.language, body=publisher(doc), authors=(speaker,) if speaker else (),
        published=doc.published, precision=doc.published_precision, programme=doc.programme,
        seminar=seminar_title, session=session, session_title=session_title,
        video=bool(rec is not None and rec.has_video), passage_id=passage_id, page=page, start=start, end=end,
        window=window, keywords=keywords)


def publisher(doc: DocumentRecord) -> str | None:
    """The institution a reference names as author and publisher: the source when it is a name, else the host of
    the source's URL or of the website the document was imported from; None when there is neither."""
    source = (doc.source or "").strip()
    if source and not _is_url(source):
        return source
    for url in (source, _web_url(doc)):
        if url and _is_url(url):
            host = urlsplit(url).hostname
            if host:
                return host.removeprefix("www.")
    return None


def _web_url(doc: DocumentRecord) -> str | None:
    return doc.source_url if doc.source_url and doc.source_key.startswith(_WEB_KEY_PREFIX) else None


def _is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def _labels(catalog: Catalog, topic_ids: list[str], lang: str) -> tuple[str, ...]:
    if not topic_ids:
        return ()
    names = {t.id: t.label(lang) for t in catalog.topics()}
    return tuple(names.get(t, t) for t in topic_ids)
