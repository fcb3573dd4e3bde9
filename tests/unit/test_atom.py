"""The Atom writer (api.atom) and the feed URL (api.urls.search_feed_url) on hand-made feeds: what any document text
becomes in the XML, dates, ids, titles in both languages. The feeds of a real index are in
tests/integration/test_feeds.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone

import feedparser

from api.atom import feed_language, feed_params, render
from api.urls import search_feed_url
from kmh.catalog import DocumentRecord, TopicRecord
from search.results import Citation, SearchHit, SearchQuery
from services.feeds import Feed, FeedEntry

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://kmh.example.org/"


def entry(doc_id: str, *, text: str = "Un passage.", snippet: str | None = None, whole: bool = True,
          published: date | None = date(2024, 3, 1), kind: str = "document", topics=(), **doc) -> FeedEntry:
    citation = (Citation(page=None, section=None, start=381.0, end=402.0, kind="recording", session=3,
                         timestamp="00:06:21–00:06:42") if kind == "recording"
                else Citation(page=2, section="Titre", start=0, end=len(text)))
    hit = SearchHit(passage_id=f"0000000{doc_id[-1]}-0000-5000-8000-000000000000", doc_id=doc_id,
                    title=doc.get("title", "Titre"), doc_type="report", language="fr", filename="f.pdf",
                    published=None, text=text, highlight="", snippet=text if snippet is None else snippet, score=1.0,
                    citation=citation)
    record = DocumentRecord(sha256="0" * 64, filename="f.pdf", source_key="k", title=doc.pop("title", "Titre"),
                            format="pdf", mime="application/pdf", original_path="o", id=doc_id, doc_type="report",
                            published=published, countries=["Sénégal"],
                            ingested_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                            updated_at=datetime(2025, 6, 7, 8, 9, 10, tzinfo=timezone.utc), **doc)
    return FeedEntry(hit, record, whole, list(topics))


TOPIC = TopicRecord("community-level", "Niveau communautaire", "Community level", "", "")


def parse(body: bytes):
    root = ET.fromstring(body)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return root, parsed


def test_document_text_is_text_in_the_xml_whatever_it_holds():
    text = 'Des <b>balises</b> & "guillemets" <script>alert(1)</script>\x0c saut de page\x00 et \ud800 fin'
    feed = Feed(query=SearchQuery(q='a "question" <b>'), entries=[entry("aaaaaaaaaaa1", text=text, snippet="",
                                                                      title="Titre <i>& co</i>")], topics={})
    root, parsed = parse(render(feed, base_url=BASE, lang="en"))
    (e,) = root.iter(ATOM + "entry")
    # the summary falls back to the text when there is no snippet; control characters XML cannot carry are dropped
    assert e.findtext(ATOM + "summary") == ('Des <b>balises</b> & "guillemets" <script>alert(1)</script> saut de '
                                            'page et  fin')
    assert e.findtext(ATOM + "title") == "Titre <i>& co</i>"
    assert parsed.feed.title == 'KMH Search: “a "question" <b>”'


def test_snippets_lose_their_marks_and_links_are_absolute():
    snippet = "Les <b>projets <mark>communautaires</mark></b> &amp; la <mark>réintégration</mark>."
    feed = Feed(query=SearchQuery(q="projets"), entries=[entry("aaaaaaaaaaa1", snippet=snippet, whole=False),
                                                          entry("aaaaaaaaaaa2", kind="recording", whole=False)],
                topics={})
    root, parsed = parse(render(feed, base_url=BASE, lang="fr"))
    first, second = parsed.entries
    assert first.summary == "Les projets communautaires & la réintégration."
    assert first.link == "https://kmh.example.org/api/documents/aaaaaaaaaaa1/file#page=2"
    assert first.title == "Titre – page 2" and first.id.startswith("urn:kmh:passage:")
    assert second.link == "https://kmh.example.org/api/recordings/aaaaaaaaaaa2/media#t=381"
    assert second.title == "Titre – session 3, 00:06:21–00:06:42"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    assert parsed.feed.id == "https://kmh.example.org/api/feeds/search.atom?q=projets"


def test_dates_ids_and_categories_of_a_document_entry():
    feed = Feed(query=SearchQuery(q="", topic="community-level", country="senegal", year_from=2020),
                entries=[entry("aaaaaaaaaaa1", topics=["community-level"], source="OIM Sénégal"),
                         entry("aaaaaaaaaaa2", published=None)],
                topics={TOPIC.id: TOPIC}, topic=TOPIC, country="Sénégal")
    root, parsed = parse(render(feed, base_url=BASE, lang="fr"))
    dated, undated = parsed.entries
    assert dated.id == "urn:kmh:document:aaaaaaaaaaa1" and dated.title == "Titre"  # a document: no page in its title
    assert dated.published == "2024-03-01T00:00:00Z" and dated.updated == "2025-06-07T08:09:10Z"
    assert undated.published == "2025-01-02T03:04:05Z"  # not published: its ingestion
    assert root.findtext(ATOM + "updated") == "2025-06-07T08:09:10Z"  # the newest entry's
    assert dated.author == "OIM Sénégal"
    assert {(t.scheme, t.term, t.label) for t in dated.tags} == {
        ("urn:kmh:type", "report", "Rapport"), ("urn:kmh:topic", "community-level", "Niveau communautaire"),
        ("urn:kmh:country", "Sénégal", "Sénégal")}
    assert parsed.feed.title == "Recherche KMH : thème : Niveau communautaire, pays : Sénégal, depuis 2020"
    assert parsed.feed.id == ("https://kmh.example.org/api/feeds/search.atom?country=senegal&topic=community-level"
                              "&year_from=2020")


def test_an_empty_feed_is_valid():
    root, parsed = parse(render(Feed(query=SearchQuery(q=""), entries=[], topics={}), base_url=BASE, lang="en"))
    assert parsed.entries == [] and parsed.feed.title == "KMH Search: newest publications and recording segments"
    assert root.findtext(ATOM + "updated") and root.find(ATOM + "author") is not None
    feed = Feed(query=SearchQuery(q="tarte aux pommes"), entries=[], topics={}, no_match=True)
    _, parsed = parse(render(feed, base_url=BASE, lang="fr"))
    assert parsed.feed.subtitle.startswith("Rien dans la bibliothèque ne répond encore à cette question")


def test_feed_language_and_parameters():
    assert feed_language("FR", "en") == "fr" and feed_language(None, "de-DE,fr;q=0.5,en;q=0.4") == "fr"
    assert feed_language("de", None) == "en" and feed_language(None, "*") == "en"
    query = SearchQuery(q="x", k=10, doc_type="news", group_by_document=True, reader_lang="fr")
    assert feed_params(query) == {"q": "x", "type": "news", "group_by_document": True, "reader_lang": "fr"}
    assert search_feed_url(feed_params(query)) == ("/api/feeds/search.atom?group_by_document=true&q=x&reader_lang=fr"
                                                   "&type=news")
    assert search_feed_url({"q": "", "topic": None}, reader_lang="en") == "/api/feeds/search.atom?reader_lang=en"
    assert search_feed_url() == "/api/feeds/search.atom"
