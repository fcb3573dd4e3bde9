"""A feed (services.feeds) as an Atom 1.0 document (RFC 4287), in the reader's language, English or French.

Identifiers are stable: the feed's is its canonical URL (the search's parameters, sorted, defaults left out); an
entry's is ``urn:kmh:document:ID`` for a document (the same entry, its ``updated`` moved on, when the document gets a
new version) or ``urn:kmh:passage:ID`` for a passage or recording segment. Each entry links the cited place (the
original at its page, the recording from its second, the page on the website it was imported from), summarises the
passage as plain text and names its type, topics and countries as categories. Written with xml.etree, which escapes
text and attributes; every URL is absolute.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timezone
from xml.etree import ElementTree as ET

from starlette.responses import Response

from api.urls import citation_url, search_feed_url
from kmh.labels import DOC_TYPE_LABELS, LANGUAGE_LABELS
from kmh.language import accepted_language
from search.results import SearchQuery
from services.feeds import Feed, FeedEntry

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANGUAGES = ("en", "fr")
# Category schemes: what a category's term is.
TYPE_SCHEME = "urn:kmh:type"
TOPIC_SCHEME = "urn:kmh:topic"
COUNTRY_SCHEME = "urn:kmh:country"

# message id -> (English, French)
TEXTS: dict[str, tuple[str, str]] = {
    "site": ("KMH Search", "Recherche KMH"),
    "newest": ("newest publications and recording segments", "dernières publications et séquences enregistrées"),
    "subtitle.q": ("The passages that answer this question, newest publication first.",
                   "Les passages qui répondent à cette question, de la publication la plus récente à la plus "
                   "ancienne."),
    "subtitle.no_match": ("Nothing in the library answers this question yet: the passages that will are listed "
                          "here.",
                          "Rien dans la bibliothèque ne répond encore à cette question : les passages qui y "
                          "répondront apparaîtront ici."),
    "subtitle.filters": ("The newest publications and recording segments these filters match.",
                         "Les dernières publications et séquences enregistrées qui correspondent à ces filtres."),
    "topic": ("topic: {}", "thème : {}"),
    "seminar": ("seminar: {}", "séminaire : {}"),
    "type": ("type: {}", "type : {}"),
    "country": ("country: {}", "pays : {}"),
    "lang": ("language: {}", "langue : {}"),
    "years": ("years {}–{}", "années {}–{}"),
    "since": ("since {}", "depuis {}"),
    "until": ("until {}", "jusqu'en {}"),
    "page": ("page {}", "page {}"),
    "session": ("session {}", "session {}"),
    **{"type." + value: labels for value, labels in DOC_TYPE_LABELS.items()},
    # in a title, after "language:": lower case in French ("langue : français")
    **{"language." + code: (en, fr.lower()) for code, (en, fr) in LANGUAGE_LABELS.items()},
}


class AtomResponse(Response):
    media_type = ATOM_TYPE


def feed_language(reader_lang: str | None, accept_language: str | None) -> str:
    """The feed's language: ``reader_lang`` when it is English or French, else the one ``Accept-Language`` prefers
    most, else English."""
    if reader_lang and reader_lang.lower() in LANGUAGES:
        return reader_lang.lower()
    return accepted_language(accept_language, LANGUAGES) or "en"


def feed_params(query: SearchQuery) -> dict[str, object]:
    """The search parameters of a feed as searched, the defaults left out: its canonical URL's."""
    defaults = SearchQuery(q="")
    names = {"q": "q", "k": "k", "offset": "offset", "mode": "mode", "lang": "lang", "doc_type": "type",
             "country": "country", "year_from": "year_from", "year_to": "year_to", "topic": "topic",
             "seminar": "seminar", "group_by_document": "group_by_document", "include_weak": "include_weak",
             "reader_lang": "reader_lang"}
    return {param: getattr(query, name) for name, param in names.items()
            if getattr(query, name) != getattr(defaults, name)}


def render(feed: Feed, *, base_url: str, lang: str) -> bytes:
    """The feed as Atom 1.0, UTF-8; ``base_url`` makes links absolute (the request's, with its root path)."""
    t = _translator(lang)
    base = base_url.rstrip("/")
    url = base + search_feed_url(feed_params(feed.query))
    ET.register_namespace("", ATOM_NS)
    root = ET.Element(_a("feed"), {XML_LANG: lang})
    _text(root, "id", url)
    _text(root, "title", _title(feed, t, lang))
    if not feed.query.q:
        subtitle = "subtitle.filters"
    else:
        subtitle = "subtitle.no_match" if feed.no_match and not feed.entries else "subtitle.q"
    _text(root, "subtitle", t(subtitle))
    updated = max((e.updated for e in feed.entries if e.updated), default=None, key=_utc)
    _text(root, "updated", _stamp(updated or datetime.now(timezone.utc)))
    ET.SubElement(root, _a("link"), {"rel": "self", "type": ATOM_TYPE, "href": url})
    author = ET.SubElement(root, _a("author"))
    _text(author, "name", t("site"))
    _text(root, "generator", t("site"))
    for entry in feed.entries:
        _entry(root, entry, feed, base, t, lang)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _entry(root: ET.Element, entry: FeedEntry, feed: Feed, base: str, t, lang: str) -> None:
    hit, doc = entry.hit, entry.document
    cite = hit.citation
    attrs = {XML_LANG: hit.language} if hit.language else {}
    node = ET.SubElement(root, _a("entry"), attrs)
    _text(node, "id", f"urn:kmh:{entry.key}")
    title = doc.title
    if cite.kind == "recording" and cite.timestamp and not entry.whole_document:
        title += " – " + (t("session", cite.session) + ", " if cite.session else "") + cite.timestamp
    elif cite.page and not entry.whole_document:
        title += " – " + t("page", cite.page)
    _text(node, "title", title)
    href = citation_url(hit.doc_id, kind=cite.kind, page=cite.page, start=cite.start, web_url=cite.web_url)
    ET.SubElement(node, _a("link"), {"rel": "alternate", "href": _absolute(base, href)})
    _text(node, "updated", _stamp(entry.updated))
    if entry.published is not None:
        _text(node, "published", _stamp(entry.published))
    name = (cite.speaker if cite.kind == "recording" else None) or doc.source or doc.programme
    if name:
        author = ET.SubElement(node, _a("author"))
        _text(author, "name", name)
    if doc.doc_type:
        ET.SubElement(node, _a("category"), {"term": doc.doc_type, "scheme": TYPE_SCHEME,
                                             "label": t("type." + doc.doc_type)})
    for topic_id in entry.topics:
        topic = feed.topics.get(topic_id)
        ET.SubElement(node, _a("category"), {"term": topic_id, "scheme": TOPIC_SCHEME,
                                             "label": topic.label(lang) if topic else topic_id})
    for country in doc.countries:
        ET.SubElement(node, _a("category"), {"term": country, "scheme": COUNTRY_SCHEME, "label": country})
    summary = _plain(hit.snippet) or hit.text[:320]
    if summary:
        _text(node, "summary", summary)


def _title(feed: Feed, t, lang: str) -> str:
    """"KMH Search: “question”, topic: …, country: …", or the newest publications when nothing narrows it."""
    q = feed.query
    parts = [f"« {q.q} »" if lang == "fr" else f"“{q.q}”"] if q.q else []
    if q.topic:
        parts.append(t("topic", feed.topic.label(lang) if feed.topic else q.topic))
    if q.seminar:
        sem = feed.seminar
        parts.append(t("seminar", (sem.title_en if lang == "en" and sem.title_en else sem.title) if sem else q.seminar))
    if q.doc_type:
        parts.append(t("type", t("type." + q.doc_type).lower() if ("type." + q.doc_type) in TEXTS else q.doc_type))
    if q.country:
        parts.append(t("country", feed.country or q.country))
    if q.lang:
        parts.append(t("lang", t("language." + q.lang) if ("language." + q.lang) in TEXTS else q.lang))
    if q.year_from is not None and q.year_to is not None:
        parts.append(t("years", q.year_from, q.year_to))
    elif q.year_from is not None:
        parts.append(t("since", q.year_from))
    elif q.year_to is not None:
        parts.append(t("until", q.year_to))
    colon = " : " if lang == "fr" else ": "
    return t("site") + colon + (", ".join(parts) if parts else t("newest"))


def _translator(lang: str):
    index = LANGUAGES.index(lang)

    def t(message_id: str, *values: object) -> str:
        return TEXTS[message_id][index].format(*values)

    return t


def _a(tag: str) -> str:
    return f"{{{ATOM_NS}}}{tag}"


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    node = ET.SubElement(parent, _a(tag))
    node.text = _xml_chars(value)
    return node


# Characters XML 1.0 cannot carry (C0 controls but tab, newline and carriage return; lone surrogates; U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_chars(value: str) -> str:
    return _NOT_XML.sub("", value)


_TAGS = re.compile(r"</?(?:mark|b)>")


def _plain(snippet: str) -> str:
    """A search snippet (HTML-escaped text, <mark> and <b>) as plain text."""
    return " ".join(html.unescape(_TAGS.sub("", snippet or "")).split())


def _absolute(base: str, href: str) -> str:
    return base + href if href.startswith("/") else href


def _utc(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return datetime.combine(value, time(), tzinfo=timezone.utc)


def _stamp(value: date | datetime) -> str:
    """RFC 3339 in UTC, to the second; a date is its midnight."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
