"""GET /api/feeds/search.atom through a real `kmh serve` over the web pages' corpus (the sample corpus, a 3-page PDF
report and a text, both on Guinea): every feed is parsed by feedparser (``bozo`` false: valid Atom 1.0) and by
xml.etree (well-formed, in the Atom namespace). Feeds of filters alone and of questions, stable ids, newest first,
deep links that open, titles in the reader's language, an edit that updates an entry and a retraction that removes
it, empty feeds and 422s."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from calendar import timegm

import feedparser
import httpx
import pytest

from tests.helpers import HANDBOOK, MARKUP, RECORDING, REPORT_PDF, SCAN, bearer, served_site

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED = "/api/feeds/search.atom"
SEMINAR_ID = "2021-12-reintegration-developpement"
QUESTION = "projets communautaires de réintégration"


@pytest.fixture(scope="module")
def server(web_template, tmp_path_factory):
    with served_site(web_template, tmp_path_factory.mktemp("feeds"), ("staff", "organiser")) as proc:
        yield proc


def fetch(server, params=None, headers=None):
    """The feed parsed by feedparser, and its XML root; fails unless it is valid Atom 1.0, served as such."""
    r = httpx.get(server.url + FEED, params=params, headers=headers, timeout=120)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(r.content)  # well-formed, or it raises
    assert root.tag == ATOM + "feed"
    assert all(e.tag.startswith(ATOM) for e in root.iter())  # every element in the Atom namespace
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    for entry in parsed.entries:  # what RFC 4287 requires of each entry, and what this service promises
        assert entry.id and entry.title and entry.updated_parsed and entry.published_parsed, entry
        assert entry.link.startswith(server.url + "/api/"), entry.link
    return parsed, root


def ids(parsed) -> list[str]:
    return [e.id for e in parsed.entries]


def newest_first(parsed) -> bool:
    dates = [timegm(e.published_parsed) for e in parsed.entries]
    return dates == sorted(dates, reverse=True)


def opens(server, url: str) -> bool:
    """The cited place answers: the file (at its page: the fragment stays in the browser) or the media."""
    r = httpx.get(url, headers={"Range": "bytes=0-1023"}, timeout=60)
    return r.status_code in (200, 206) and len(r.content) > 0


def doc_entry(server, filename: str) -> str:
    return f"urn:kmh:document:{server.ids[filename]}"


def test_filters_alone_list_the_newest_documents_and_segments(server):
    parsed, root = fetch(server)
    assert len(parsed.entries) == 10 and len(set(ids(parsed))) == 10  # k=10 by default
    assert parsed.feed.title == "KMH Search: newest publications and recording segments"
    assert root.get(XML_LANG) == "en"
    assert newest_first(parsed)
    # the scanned note (2026), then the Saly communiqué (March 2024), the Kindia report (May 2023), the text (2022),
    # then the December 2021 seminar: its recording's segments one entry each, in time order
    assert ids(parsed)[0] == doc_entry(server, SCAN)
    order = ids(parsed)
    assert order.index(doc_entry(server, REPORT_PDF)) < order.index(doc_entry(server, MARKUP))
    segments = [e for e in parsed.entries if e.id.startswith("urn:kmh:passage:")]
    assert segments and all(f"/api/recordings/{server.ids[RECORDING]}/media#t=" in e.link for e in segments)
    starts = [int(e.link.rsplit("#t=", 1)[1]) for e in segments]
    assert starts == sorted(starts) and starts[0] == 0
    assert all(" – session " in e.title and "00:" in e.title for e in segments)
    documents = [e for e in parsed.entries if e.id.startswith("urn:kmh:document:")]
    assert len({e.id for e in documents}) == len(documents) >= 4
    # the same feed again: the same ids in the same order, the same dates
    again, _ = fetch(server)
    assert ids(again) == ids(parsed) and parsed.feed.id == again.feed.id
    assert [e.updated for e in again.entries] == [e.updated for e in parsed.entries]
    # every entry opens the cited place: a file at its page, the recording from its second
    for entry in parsed.entries:
        assert opens(server, entry.link), entry.link
    # summaries are plain text: the snippet without its marks; a document's markup is text, escaped in the XML
    summaries = {e.findtext(ATOM + "id"): e.findtext(ATOM + "summary") for e in root.iter(ATOM + "entry")}
    assert all(summaries.values()) and not any("<b>" in s or "<mark>" in s for s in summaries.values())
    assert '<script>alert("xss")</script>' in summaries[doc_entry(server, MARKUP)]
    # paging: offset and k as in /api/search
    page2, _ = fetch(server, {"k": 4, "offset": 4})
    assert ids(page2) == ids(parsed)[4:8]


def test_a_country_type_or_seminar_feed_lists_what_the_same_search_filters_find(server):
    parsed, root = fetch(server, {"country": "GUINEA"})  # in any case, as search's filters
    assert ids(parsed) == [doc_entry(server, REPORT_PDF), doc_entry(server, MARKUP)]
    assert parsed.feed.title == "KMH Search: country: Guinea"
    report = parsed.entries[0]
    assert report.title == "Rapport Kindia 2023 : microentreprises et appui psychosocial"
    assert report.link == f"{server.url}/api/documents/{server.ids[REPORT_PDF]}/file#page=1"
    assert {(t.term, t.scheme) for t in report.tags} >= {("Guinea", "urn:kmh:country"), ("report", "urn:kmh:type")}
    assert report.published.startswith("2023-05-01") and root.find(ATOM + "entry").get(XML_LANG) == "fr"
    # the feed's id is its canonical URL: the same parameters in another order, another spelling of a default
    one, _ = fetch(server, [("type", "report"), ("country", "Guinea"), ("k", "10")])
    other, _ = fetch(server, [("country", "Guinea"), ("type", "report")])
    assert one.feed.id == other.feed.id == f"{server.url}{FEED}?country=Guinea&type=report"
    assert ids(one) == [doc_entry(server, REPORT_PDF)]
    # a seminar: its recording's segments, in time order
    parsed, _ = fetch(server, {"seminar": SEMINAR_ID.upper(), "type": "recording", "k": 50})
    assert len(parsed.entries) == 12 and all(e.id.startswith("urn:kmh:passage:") for e in parsed.entries)
    assert "seminar: KMH interregional seminar" in parsed.feed.title
    # one entry per recording with group_by_document
    parsed, _ = fetch(server, {"seminar": SEMINAR_ID, "type": "recording", "group_by_document": "true"})
    assert ids(parsed) == [doc_entry(server, RECORDING)]


def test_a_topic_feed_lists_its_confirmed_publications_and_segments(server):
    organiser = bearer(server.keys["organiser"])
    handbook = httpx.get(server.url + "/api/search", params={"q": "approche intégrée de la réintégration",
                                                             "type": "handbook", "k": 1}).json()["hits"][0]
    segment = httpx.get(server.url + "/api/search", params={"q": QUESTION, "type": "recording", "k": 1}
                        ).json()["hits"][0]
    for hit in (handbook, segment):
        r = httpx.post(f"{server.url}/api/passages/{hit['passage_id']}/topics", headers=organiser,
                       json={"topic_id": "community-level", "state": "confirmed"})
        assert r.status_code in (200, 201), r.text
    parsed, root = fetch(server, {"topic": "Community-Level", "reader_lang": "fr"})
    assert sorted(ids(parsed)) == sorted([doc_entry(server, HANDBOOK), f"urn:kmh:passage:{segment['passage_id']}"])
    assert newest_first(parsed) and root.get(XML_LANG) == "fr"
    assert parsed.feed.title.startswith("Recherche KMH : thème : ")
    by_id = {e.id: e for e in parsed.entries}
    # the handbook's entry cites its confirmed passage, at its page; the segment plays from the start of its window
    # (without a question there is no best sentence: the search hit plays from the moment its sentence is said)
    assert by_id[doc_entry(server, HANDBOOK)].link == server.url + handbook["citation"]["url"]
    window = segment["citation"]["window_start"]
    assert int(window) < segment["citation"]["start"]
    assert by_id[f"urn:kmh:passage:{segment['passage_id']}"].link == (
        server.url + segment["citation"]["url"].split("#t=")[0] + f"#t={int(window)}")
    for entry in parsed.entries:
        topic = [t for t in entry.tags if t.scheme == "urn:kmh:topic"]
        assert [t.term for t in topic] == ["community-level"] and topic[0].label.startswith("Niveau communautaire")
        assert opens(server, entry.link)


def test_a_question_feed_lists_the_passages_that_answer_newest_first(server):
    params = {"q": QUESTION, "k": 5}
    hits = httpx.get(server.url + "/api/search", params=params).json()["hits"]
    answering = [h for h in hits if not h["weak"]]
    assert len(answering) >= 3
    parsed, _ = fetch(server, params)
    assert sorted(ids(parsed)) == sorted(f"urn:kmh:passage:{h['passage_id']}" for h in answering)
    assert newest_first(parsed)
    assert parsed.feed.title == f"KMH Search: “{QUESTION}”"
    links = {f"urn:kmh:passage:{h['passage_id']}": server.url + h["citation"]["url"] for h in answering}
    for entry in parsed.entries:
        assert entry.link == links[entry.id]
        assert opens(server, entry.link), entry.link
        assert entry.summary and "<mark>" not in entry.summary and "&lt;" not in entry.summary
    again, _ = fetch(server, {"k": 5, "q": f"  {QUESTION} "})
    assert ids(again) == ids(parsed) and again.feed.id == parsed.feed.id


def test_titles_follow_the_readers_language(server):
    parsed, root = fetch(server, {"type": "report", "reader_lang": "fr"})
    assert root.get(XML_LANG) == "fr" and parsed.feed.title == "Recherche KMH : type : rapport"
    assert {t.label for e in parsed.entries for t in e.tags if t.scheme == "urn:kmh:type"} == {"Rapport"}
    parsed, root = fetch(server, {"type": "report"}, headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert root.get(XML_LANG) == "fr" and parsed.feed.title == "Recherche KMH : type : rapport"
    parsed, root = fetch(server, {"type": "report", "reader_lang": "en"}, headers={"Accept-Language": "fr"})
    assert root.get(XML_LANG) == "en" and parsed.feed.title == "KMH Search: type: report"


def test_empty_feeds_are_valid_and_bad_parameters_are_422(server):
    for params in ({"q": "What is the recipe for apple pie?"}, {"country": "Atlantis"},
                   {"topic": "community-level", "year_from": 1990, "year_to": 1991}):
        parsed, root = fetch(server, params)
        assert parsed.entries == [] and root.find(ATOM + "updated") is not None and parsed.feed.id, params
    for params, name in (({"type": "nope"}, "type"), ({"lang": "xx"}, "lang"), ({"k": 0}, "k"), ({"k": 51}, "k"),
                         ({"year_from": 2025, "year_to": 2020}, "year_from"), ({"reader_lang": "fra"}, "reader_lang"),
                         ({"mode": "fuzzy"}, "mode"), ({"q": "x" * 501}, "q")):
        r = httpx.get(server.url + FEED, params=params)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (params, r.text)
        assert name in {p["name"] for p in r.json()["invalid_params"]}, (params, r.json())
    schema = httpx.get(server.url + "/openapi.json").json()["paths"]
    feed = schema[FEED]["get"]
    assert ({p["name"] for p in feed["parameters"]} == {p["name"] for p in schema["/api/search"]["get"]["parameters"]})
    assert "application/atom+xml" in feed["responses"]["200"]["content"]
    assert "application/problem+json" in feed["responses"]["422"]["content"]


def test_an_edit_updates_its_entry_and_a_retracted_document_leaves_every_feed(server):
    staff = bearer(server.keys["staff"])
    report = doc_entry(server, REPORT_PDF)
    before, _ = fetch(server, {"country": "Guinea"})
    time.sleep(1.1)  # updated is given to the second
    r = httpx.patch(f"{server.url}/api/documents/{server.ids[REPORT_PDF]}", headers=staff,
                    json={"title": "Rapport Kindia 2023 (édition révisée)"})
    assert r.status_code == 200, r.text
    after, _ = fetch(server, {"country": "Guinea"})
    assert ids(after) == ids(before)  # the same entry
    old, new = before.entries[0], after.entries[0]
    assert new.id == old.id == report and new.title == "Rapport Kindia 2023 (édition révisée)"
    assert timegm(new.updated_parsed) > timegm(old.updated_parsed) and new.published == old.published
    question = {"q": "microentreprises apiculture Kindia", "k": 10}
    assert any(server.ids[REPORT_PDF] in e.link for e in fetch(server, question)[0].entries)

    r = httpx.delete(f"{server.url}/api/documents/{server.ids[REPORT_PDF]}", headers=staff)
    assert r.status_code in (200, 204), r.text
    assert ids(fetch(server, {"country": "Guinea"})[0]) == [doc_entry(server, MARKUP)]
    assert not any(server.ids[REPORT_PDF] in e.link for e in fetch(server, question)[0].entries)
    assert report not in ids(fetch(server, {"k": 50})[0])
