"""Citations through the real app (API and pages) on a copy of the ingested web corpus: the text reference in French
and English with a link that opens, a PDF passage at its page, a recording segment at its second with its speaker
and session, RIS read back by rispy, BibTeX by bibtexparser, CSL-JSON, characters that are markup in these formats,
the errors, the OpenAPI schema, and the "Cite" control of hits, document and recording pages."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from html import unescape
from urllib.parse import urlsplit

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware

from kmh.dates import clock
from tests.helpers import HANDBOOK, MARKUP, RECORDING, REPORT_PDF, bearer, web_site

HANDBOOK_TITLE = "Manuel sur la réintégration, module 1 : une approche intégrée de la réintégration"
HANDBOOK_SOURCE = "OIM, Manuel sur la réintégration"
SEMINAR_FR = "Séminaire interrégional du KMH : réintégration et développement durable"
SEMINAR_EN = "KMH interregional seminar: reintegration and sustainable development"
REPORT_QUERY = "formation en apiculture et maraîchage, subvention pour les ruches"
# Markup in BibTeX, LaTeX, RIS or JSON, and accents: each must come back as written.
ODD_TITLE = 'Ateliers « Labé » {accolades} 100 % & "guillemets" – été'
ODD_SOURCE = "Coopérative Couture & Fils {Labé}"


@pytest.fixture(scope="module")
def site(web_template, tmp_path_factory):
    with web_site(web_template, tmp_path_factory.mktemp("citations"), ("staff", "organiser")) as site:
        yield site


def cite(client, path: str, fmt: str = "text", lang: str | None = "en", **headers):
    params = {"format": fmt} | ({"lang": lang} if lang else {})
    r = client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r


def opens(client, url: str) -> None:
    """The link of a reference opens: an absolute URL of this site that answers 200 (206 for a media range)."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver", url
    r = client.get(parts.path + (f"?{parts.query}" if parts.query else ""), headers={"Range": "bytes=0-99"})
    assert r.status_code in (200, 206), (url, r.status_code)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_a_document_in_english_and_french_with_a_link_that_opens(site):
    client, _, ids = site
    doc = ids[HANDBOOK]
    url = f"http://testserver/api/documents/{doc}/file"
    en = cite(client, f"/api/documents/{doc}/citation")
    assert en.headers["content-type"] == "text/plain; charset=utf-8"
    assert "content-disposition" not in en.headers and en.headers["content-language"] == "en"
    day = datetime.now(UTC).date()
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"]
    assert en.text == (f"{HANDBOOK_SOURCE} (2019). {HANDBOOK_TITLE}. {url} "
                       f"(accessed {day.day} {months[day.month - 1]} {day.year})")
    fr = cite(client, f"/api/documents/{doc}/citation", lang="fr")
    assert fr.text.startswith(f"{HANDBOOK_SOURCE} (2019). {HANDBOOK_TITLE}. {url} (consulté le ")
    # without lang=, the reader's language from Accept-Language
    assert "(consulté le " in cite(client, f"/api/documents/{doc}/citation", lang=None,
                                   **{"Accept-Language": "de, fr-CH;q=0.8, en;q=0.5"}).text
    assert "(accessed " in cite(client, f"/api/documents/{doc}/citation", lang=None).text
    opens(client, url)


def test_a_pdf_passage_cites_its_page_and_deep_link_with_its_topics(site):
    client, keys, ids = site
    hit = client.get("/api/search", params={"q": REPORT_QUERY, "type": "report"}).json()["hits"][0]
    assert hit["doc_id"] == ids[REPORT_PDF] and hit["citation"]["page"] == 3
    topic = client.get("/api/topics").json()[0]
    r = client.post(f"/api/passages/{hit['passage_id']}/topics", headers=bearer(keys["organiser"]),
                    json={"topic_id": topic["id"], "state": "confirmed"})
    assert r.status_code in (200, 201), r.text
    path = f"/api/passages/{hit['passage_id']}/citation"
    url = f"http://testserver/api/documents/{hit['doc_id']}/file#page=3"
    # no source: the reference starts with the title; the month of publication in the reader's language
    text = cite(client, path, lang="fr").text
    assert text.startswith(f"{hit['title']} (mai 2023). p. 3. {url} (consulté le "), text
    assert cite(client, path).text.startswith(f"{hit['title']} (May 2023). p. 3. {url} (accessed ")
    opens(client, url)
    r = client.get(path, params={"t": 1})  # a second names a moment of a recording, not of a document
    assert r.status_code == 422 and r.json()["invalid_params"][0]["name"] == "t", r.text

    ris = cite(client, path, "ris")
    assert ris.headers["content-type"].startswith("application/x-research-info-systems")
    assert re.fullmatch(r'attachment; filename="rapport-kindia-2023-microentreprises-et-appui-psychosocial-p3\.ris"',
                        ris.headers["content-disposition"])
    [entry] = rispy.loads(ris.text)
    assert entry["type_of_reference"] == "RPRT" and entry["title"] == hit["title"]
    assert (entry["year"], entry["date"], entry["start_page"]) == ("2023", "2023/05//", "3")
    assert entry["urls"] == [url] and entry["language"] == "fr"
    assert entry["keywords"] == [topic["label"]["en"]] and entry["access_date"] == today().replace("-", "/")
    assert "authors" not in entry and "publisher" not in entry

    bib = cite(client, path, "bibtex", lang="fr")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.headers["content-disposition"].endswith('-p3.bib"')
    [e] = bibtexparser.parse_string(bib.text, append_middleware=[LatexDecodingMiddleware()]).entries
    assert e.entry_type == "techreport" and e.key == f"rapport2023-{hit['doc_id']}-p3"
    assert (e["title"], e["year"], e["month"], e["pages"], e["url"]) == (hit["title"], "2023", "may", "3", url)
    assert (e["urldate"], e["language"], e["keywords"]) == (today(), "french", topic["label"]["fr"])


def test_a_recording_segment_cites_its_second_speaker_and_session(site):
    client, _, ids = site
    rec = ids[RECORDING]
    segment = next(s for s in client.get(f"/api/recordings/{rec}").json()["segments"]
                   if s["speaker"] and s["session"] == 2 and s["start"] > 0)
    sessions = {s["number"]: s["title"] for s in client.get(
        "/api/seminars/2021-12-reintegration-developpement").json()["sessions"]}
    path = f"/api/passages/{segment['passage_id']}/citation"
    second = int(segment["start"])
    url = f"http://testserver/api/recordings/{rec}/media#t={second}"
    fr = cite(client, path, lang="fr").text
    title = client.get(f"/api/recordings/{rec}").json()["title"]
    assert fr.startswith(f"{segment['speaker']} (1er décembre 2021). {title} [enregistrement audio]. "
                         f"Dans {SEMINAR_FR}, session 2 « {sessions[2]} », à {clock(second)}. {url} (consulté le "), fr
    en = cite(client, path).text
    assert f"[Audio recording]. In {SEMINAR_EN}, session 2 “{sessions[2]}”, at {clock(second)}. {url} " in en
    opens(client, url)

    [entry] = rispy.loads(cite(client, path, "ris", lang="fr").text)
    assert entry["type_of_reference"] == "SOUND" and entry["authors"] == [segment["speaker"]]
    assert entry["secondary_title"] == SEMINAR_FR and entry["urls"] == [url]
    assert entry["notes"] == [f"Session 2 « {sessions[2]} »", f"Segment {segment['timestamp']}"]

    bib = cite(client, path, "bibtex")
    [e] = bibtexparser.parse_string(bib.text, append_middleware=[LatexDecodingMiddleware()]).entries
    assert e.entry_type == "misc" and e.key.endswith(f"2021-{rec}-t{second}")
    assert (e["author"], e["howpublished"], e["eventtitle"]) == (segment["speaker"], "Audio recording", SEMINAR_EN)
    assert e["note"] == f"Session 2 “{sessions[2]}”. Segment {segment['timestamp']}"

    csl = cite(client, path, "csl-json")
    assert csl.headers["content-type"] == "application/vnd.citationstyles.csl+json"
    [item] = json.loads(csl.text)
    assert item["type"] == "speech" and item["author"] == [{"literal": segment["speaker"]}]
    assert item["issued"] == {"date-parts": [[2021, 12, 1]]} and item["event-title"] == SEMINAR_EN
    assert item["URL"] == url

    # cited from a moment inside the segment (where a search hit plays from): that second, the segment in the notes
    moment = second + 5
    at = client.get(path, params={"format": "json", "lang": "en", "t": moment}).json()
    assert at["url"] == f"http://testserver/api/recordings/{rec}/media#t={moment}"
    assert f", at {clock(moment)}. " in at["text"] and at["files"]["ris"].endswith(f"&t={moment}")
    assert at["csl-json"][0]["note"].endswith(f"Segment {segment['timestamp']}")
    r = client.get(path, params={"t": segment["end"] + 1})
    assert r.status_code == 422 and r.json()["invalid_params"][0]["name"] == "t", r.text

    # the whole recording: no speaker, no second
    whole = cite(client, f"/api/documents/{rec}/citation").text
    assert whole.startswith(f"{title} [Audio recording] (1 December 2021). In {SEMINAR_EN}. "
                            f"http://testserver/api/recordings/{rec}/media (accessed ")


def test_csl_json_of_a_document_honours_the_date_precision(site):
    client, _, ids = site
    r = cite(client, f"/api/documents/{ids[HANDBOOK]}/citation", "csl-json", lang="fr")
    assert r.headers["content-disposition"].startswith('attachment; filename="manuel-sur-la-reintegration-module-1')
    [item] = r.json()
    assert {"id", "type", "title", "issued", "accessed", "URL"} <= set(item)
    assert item["type"] == "book" and item["title"] == HANDBOOK_TITLE
    assert item["author"] == [{"literal": HANDBOOK_SOURCE}] and item["publisher"] == HANDBOOK_SOURCE
    assert item["issued"] == {"date-parts": [[2019]]} and item["language"] == "fr"
    [entry] = rispy.loads(cite(client, f"/api/documents/{ids[HANDBOOK]}/citation", "ris").text)
    assert (entry["type_of_reference"], entry["authors"], entry["publisher"]) == ("BOOK", [HANDBOOK_SOURCE],
                                                                                  HANDBOOK_SOURCE)
    assert entry["date"] == "2019///"


def test_characters_that_are_markup_in_these_formats_come_back_as_written(site):
    client, keys, ids = site
    doc = ids[MARKUP]
    r = client.patch(f"/api/documents/{doc}", headers=bearer(keys["staff"]),
                     json={"title": ODD_TITLE, "source": ODD_SOURCE, "published": "2022-03-08"})
    assert r.status_code == 200, r.text
    path = f"/api/documents/{doc}/citation"
    assert cite(client, path, lang="fr").text.startswith(f"{ODD_SOURCE} (8 mars 2022). {ODD_TITLE}. http://")
    [entry] = rispy.loads(cite(client, path, "ris").text)
    assert (entry["title"], entry["authors"], entry["date"]) == (ODD_TITLE, [ODD_SOURCE], "2022/03/08/")
    bib = cite(client, path, "bibtex").text
    assert r"\{accolades\} 100 \% \&" in bib
    library = bibtexparser.parse_string(bib, append_middleware=[LatexDecodingMiddleware()])
    assert not library.failed_blocks
    [e] = library.entries
    assert (e["title"], e["author"], e["institution"], e["date"]) == (ODD_TITLE, ODD_SOURCE, ODD_SOURCE, "2022-03-08")
    [item] = cite(client, path, "csl-json").json()
    assert (item["title"], item["publisher"]) == (ODD_TITLE, ODD_SOURCE)
    assert item["issued"] == {"date-parts": [[2022, 3, 8]]}
    assert cite(client, path, "csl-json").headers["content-disposition"] == \
        'attachment; filename="ateliers-labe-accolades-100-guillemets-ete.json"'


def test_json_gives_every_format_and_the_openapi_schema_documents_them(site):
    client, _, ids = site
    doc = ids[HANDBOOK]
    body = cite(client, f"/api/documents/{doc}/citation", "json", lang="fr").json()
    assert body["lang"] == "fr" and body["url"] == f"http://testserver/api/documents/{doc}/file"
    assert body["text"].startswith(HANDBOOK_SOURCE) and body["ris"].startswith("TY  - BOOK")
    assert body["bibtex"].startswith(f"@book{{{body['key']},") and body["csl-json"][0]["id"] == body["key"]
    assert body["files"]["ris"] == f"/api/documents/{doc}/citation?format=ris&lang=fr"
    schema = client.get("/openapi.json").json()
    for path in ("/api/documents/{doc_id}/citation", "/api/passages/{passage_id}/citation"):
        op = schema["paths"][path]["get"]
        assert set(op["responses"]["200"]["content"]) == {
            "application/json", "text/plain", "application/x-research-info-systems", "application/x-bibtex",
            "application/vnd.citationstyles.csl+json"}
        assert {p["name"] for p in op["parameters"]} >= {"format", "lang"}
        assert set(op["responses"]) >= {"200", "404", "422"}
    assert {"CslItem", "CitationFormats"} <= set(schema["components"]["schemas"])


def test_links_start_with_the_public_url_when_set(site):
    client, _, ids = site
    settings = client.app.state.runtime.settings
    settings.public_url = "https://kmh.example.org/search-app"
    try:
        body = cite(client, f"/api/documents/{ids[HANDBOOK]}/citation", "json").json()
        page = client.get(f"/documents/{ids[HANDBOOK]}").text
        feed = client.get("/api/feeds/search.atom", params={"type": "handbook"}).text
    finally:
        settings.public_url = None
    assert body["url"] == f"https://kmh.example.org/search-app/api/documents/{ids[HANDBOOK]}/file"
    assert f"{HANDBOOK_TITLE}. {body['url']} (accessed " in unescape(page)
    # the Atom feeds' ids and links start with it too
    assert "<id>https://kmh.example.org/search-app/api/feeds/search.atom?type=handbook</id>" in feed
    assert f'href="https://kmh.example.org/search-app/api/documents/{ids[HANDBOOK]}/file#page=' in feed


def test_unknown_ids_are_404_and_bad_format_or_lang_422_naming_it(site):
    client, _, ids = site
    for path in ("/api/documents/0123456789ab/citation", "/api/passages/00000000-0000-0000-0000-000000000000/citation",
                 "/api/passages/not-a-passage/citation"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", path
    doc = ids[HANDBOOK]
    for params, name in (({"format": "endnote"}, "format"), ({"lang": "de"}, "lang")):
        r = client.get(f"/api/documents/{doc}/citation", params=params)
        assert r.status_code == 422 and [p["name"] for p in r.json()["invalid_params"]] == [name]


def test_the_cite_control_on_hits_document_and_recording_pages(site):
    client, _, ids = site
    client.cookies.set("kmh_lang", "fr")
    try:
        page = client.get("/search", params={"q": REPORT_QUERY}).text
    finally:
        client.cookies.clear()
    boxes = re.findall(r'<details class="cite-box">.*?</details>', page, re.S)
    assert boxes and "<summary>Citer</summary>" in boxes[0]
    first = re.search(r'<article class="hit[^"]*" id="hit-1"[^>]*>.*?</article>', page, re.S).group()
    pid = re.search(r'href="/documents/\w+#p-([^"]+)"', first).group(1)
    reference = unescape(re.search(r'<p class="reference" id="ref-1">(.*?)</p>', first, re.S).group(1))
    assert reference == cite(client, f"/api/passages/{pid}/citation", lang="fr").text
    assert f'href="/api/passages/{pid}/citation?format=ris&amp;lang=fr" download' in first
    assert '<script src="/static/cite.js" defer></script>' in page

    # a recording hit is cited at its moment, the second it plays from, in the text and in the files
    q = "projets communautaires de réintégration"
    hit = client.get("/api/search", params={"q": q, "k": 1}).json()["hits"][0]
    assert hit["citation"]["seminar_id"] and hit["citation"]["start"] > hit["citation"]["window_start"], hit["citation"]
    first = re.search(r'<article class="hit[^"]*" id="hit-1"[^>]*>.*?</article>', client.get(
        "/search", params={"q": q}, headers={"Accept-Language": "en"}).text, re.S).group()
    moment = f"{hit['citation']['start']:g}"
    assert f", at {clock(hit['citation']['start'])}. " in unescape(first)
    assert f"/api/recordings/{hit['doc_id']}/media#t={int(hit['citation']['start'])} (accessed " in first
    assert f'href="/api/passages/{hit["passage_id"]}/citation?format=ris&amp;lang=en&amp;t={moment}" download' in first

    doc_page = client.get(f"/documents/{ids[HANDBOOK]}", headers={"Accept-Language": "en"}).text
    assert f'<p class="reference" id="ref-doc">{HANDBOOK_SOURCE} (2019).' in unescape(doc_page)
    assert f'href="/api/documents/{ids[HANDBOOK]}/citation?format=bibtex&amp;lang=en" download' in doc_page
    rec_page = client.get(f"/recordings/{ids[RECORDING]}", headers={"Accept-Language": "fr"}).text
    assert re.search(r'<p class="reference" id="ref-rec">[^<]*\[enregistrement audio\] \(1er décembre 2021\)\. Dans ', unescape(rec_page))
    assert client.get("/static/cite.js").status_code == 200


def test_references_of_a_page_of_hits_cost_little(site):
    """The search page's references: one catalog read per document, a few milliseconds for a page of hits."""
    from services import search
    from services.citations import hit_references
    from search.results import SearchQuery

    client, _, _ = site
    rt = client.app.state.runtime
    hits = search.search(searcher=rt.searcher, query=SearchQuery(q="réintégration communautaire", k=10)).hits
    assert len(hits) == 10
    hit_references(catalog=rt.catalog, hits=hits, lang="fr")  # warm
    best = min(_timed(lambda: hit_references(catalog=rt.catalog, hits=hits, lang="fr")) for _ in range(5))
    print(f"references of 10 hits: {best * 1000:.1f} ms")
    assert best < 0.25, best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
