"""The web pages through the real app (TestClient): every page in both languages, search without JavaScript,
text from documents shown as text, sign-in and the refusals of every form route. The browser tests are in
tests/browser/test_browser.py."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import (
    HANDBOOK,
    MARKUP_TEXT,
    MARKUP_TITLE,
    REPORT_PDF,
    app_routes,
    bearer,
    signed_in,
    signin_token,
    wait_for_job,
    web_site,
)
from web.i18n import accept_language
from web.messages import MESSAGES
from web.templating import highlight_segments

WEB = Path(__file__).resolve().parents[2] / "web"
SEMINAR_ID = "2021-12-reintegration-developpement"


@pytest.fixture(scope="module")
def site(web_template, tmp_path_factory):
    with web_site(web_template, tmp_path_factory.mktemp("web"), ("reader", "staff", "organiser", "admin")) as site:
        yield site


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Texts(HTMLParser):
    """The visible text of a page (script and template contents left out), and its <html lang>."""

    def __init__(self):
        super().__init__()
        self.parts, self.lang, self._skip = [], None, 0

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag in ("script", "template", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "template", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def texts(html: str) -> Texts:
    p = Texts()
    p.feed(html)
    return p


# -- translations ----------------------------------------------------------------------------------


def test_every_message_is_in_both_languages_and_every_id_used_exists():
    for mid, pair in MESSAGES.items():
        assert len(pair) == 2 and all(s.strip() for s in pair), mid
        assert pair[0].count("{") == pair[1].count("{"), f"{mid}: the two languages fill different fields"
    used = set()
    for path in (WEB / "templates").glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']\s*[,)]""", path.read_text(encoding="utf-8")))
    for path in WEB.rglob("*.py"):  # page.t("...") in the routers
        used |= set(re.findall(r"""\.t\(\s*["']([a-z0-9_.]+)["']\s*[,)]""", path.read_text(encoding="utf-8")))
    assert used, "no message id found: the pattern is wrong"
    missing = sorted(used - set(MESSAGES))
    assert not missing, missing
    # ids built from values: every value they can take is there
    from api.schemas import DocType

    for prefix, values in {"type.": DocType.__args__, "job.state.": ("queued", "running", "done", "failed"),
                           "status.": ("published", "retracted"), "link.": ("suggested", "confirmed", "rejected"),
                           "role.": ("reader", "staff", "organiser", "admin"), "rec.source.": ("captions", "whisper"),
                           "topics.group.": ("level", "dimension", "theme", "other"),
                           "job.stage.": ("queued", "starting", "parsing", "embedding", "committing", "done", "failed"),
                           "facet.": ("type", "lang", "country", "year", "topic", "seminar")}.items():
        assert not [v for v in values if prefix + v not in MESSAGES], prefix


@pytest.mark.parametrize("header, expected", [
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"), ("en-GB,en;q=0.9", "en"), ("de-DE,de;q=0.9,fr;q=0.5,en;q=0.4", "fr"),
    ("en;q=0.2, fr;q=0.8", "fr"), ("de", None), ("", None), ("fr;q=0", None), ("*", None)])
def test_accept_language(header, expected):
    assert accept_language(header) == expected


def page_urls(ids: dict, recording_id: str) -> list[str]:
    return ["/", "/search", "/search?q=r%C3%A9int%C3%A9gration", "/search?q=reintegration&type=news",
            "/seminars", f"/seminars/{SEMINAR_ID}", f"/recordings/{recording_id}?t=381",
            f"/documents/{ids[REPORT_PDF]}", "/topics", "/topics/community-level", "/signin"]


def test_every_page_in_both_languages(site):
    client, keys, ids = site
    rec_id = ids["seminaire-2021-12-reintegration-developpement.mp3"]
    staff, organiser = signed_in(client, keys["staff"]), signed_in(client, keys["organiser"])
    pages = [(client, u) for u in page_urls(ids, rec_id)]
    pages += [(staff, u) for u in ("/staff", "/staff/upload", f"/staff/documents/{ids[REPORT_PDF]}",
                                   "/staff/analytics")]
    pages += [(organiser, u) for u in ("/review", f"/review/{rec_id}")]
    english_only = {"Search the knowledge base", "Sign in", "Narrow down", "Latest publications", "Transcript",
                    "Upload a publication", "Topic review", "Accept"}
    french_only = {"Chercher dans la base de connaissances", "Se connecter", "Affiner", "Dernières publications",
                   "Transcription", "Déposer une publication", "Revue des thèmes", "Accepter"}
    seen = {"en": set(), "fr": set()}
    for c, url in pages:
        for lang, header in (("en", "en-GB,en;q=0.9"), ("fr", "fr-FR,fr;q=0.9")):
            r = c.get(url, headers={"Accept-Language": header})
            assert r.status_code == 200, (url, lang, r.text[-500:])
            assert r.headers["content-type"].startswith("text/html")
            page = texts(r.text)
            assert page.lang == lang, url
            words = set(page.parts)
            seen[lang] |= words
            other = french_only if lang == "en" else english_only
            assert not words & other, (url, lang, words & other)
    # each language's interface strings were all met somewhere
    assert english_only <= seen["en"] | {"Sign in"}, english_only - seen["en"]
    assert french_only <= seen["fr"] | {"Se connecter"}, french_only - seen["fr"]


def test_language_switch_wins_over_accept_language(site):
    client = TestClient(site[0].app)
    r = client.get("/lang/fr?next=/seminars", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/seminars"
    page = client.get("/seminars", headers={"Accept-Language": "en"})
    assert texts(page.text).lang == "fr" and "Séminaires" in page.text
    assert 'href="/lang/en?next=/seminars"' in page.text
    # a switch cannot send the reader to another site
    for bad in ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"):
        r = client.get("/lang/en", params={"next": bad}, follow_redirects=False)
        assert r.headers["location"] == "/", bad
    assert client.get("/lang/de", follow_redirects=False).status_code == 422


# -- search without JavaScript ---------------------------------------------------------------------


def test_search_page_with_filters_as_query_parameters(site):
    client, _, ids = site
    r = client.get("/search", params={"q": "community-based reintegration projects"},
                   headers={"Accept-Language": "en"})
    assert r.status_code == 200
    html = r.text
    # the French recording segment answers the English question, cited by seminar, session and timestamp: from the
    # second its best sentence is said (00:06:23), not its window's start (00:06:21)
    assert "00:06:23–00:06:42" in html
    rec_id = ids["seminaire-2021-12-reintegration-developpement.mp3"]
    assert f'href="/recordings/{rec_id}?t=383"' in html
    assert "Play from 00:06:23" in html
    # facets with counts of documents, each a link that adds its filter
    assert re.search(r'href="/search\?q=community-based\+reintegration\+projects&amp;type=recording">Recording</a> '
                     r'<span class="count">\(one document\)</span>', html)
    assert "The numbers count documents: one with several matching passages counts once." in html
    filtered = client.get("/search", params={"q": "community-based reintegration projects", "type": "news"},
                          headers={"Accept-Language": "en"}).text
    cites = re.findall(r'<p class="cite">\s*(.*?)\s*</p>', filtered, re.S)
    assert cites and all(c.startswith("News") for c in cites), cites[:3]
    assert "Session 3" not in filtered
    # an active filter is shown and removable
    assert 'class="chip"' in filtered and 'href="/search?q=community-based+reintegration+projects"' in filtered
    # year range and country filters
    years = client.get("/search", params={"q": "réintégration", "year_from": 2023, "year_to": 2024}).text
    assert re.findall(r"· (?:March 2024|May 2023)", years)
    assert "2019" not in re.sub(r"<aside.*?</aside>", "", years, flags=re.S)
    guinea = client.get("/search", params={"q": "apiculture", "country": "Guinea"}).text
    assert "Rapport Kindia 2023" in guinea and "Togo" not in re.sub(r"<aside.*?</aside>", "", guinea, flags=re.S)


def passages_of(html: str) -> list[str]:
    """The passages a results page cites, in order."""
    return re.findall(r'href="/documents/[0-9a-f]+#(p-[0-9a-f-]+)"', html)


def test_facet_counts_are_documents(site):
    client = site[0]
    html = client.get("/search", params={"q": "réintégration des migrants", "type": "handbook"},
                      headers={"Accept-Language": "fr"}).text
    assert len(set(passages_of(html))) > 1  # the handbook answers with several passages...
    assert re.search(r'aria-current="true" class="active">Manuel</a> <span class="count">\(un document\)</span>', html)
    assert "Les nombres comptent des documents" in html


def test_filter_values_are_taken_in_any_case_and_accents(site):
    client = site[0]
    q = "formation en apiculture et maraîchage"
    stored = client.get("/search", params={"q": q, "country": "Guinea"}, headers={"Accept-Language": "fr"}).text
    assert passages_of(stored)
    for typed in ("guinea", "GUINEA", "Guînea"):
        html = client.get("/search", params={"q": q, "country": typed}, headers={"Accept-Language": "fr"}).text
        assert passages_of(html) == passages_of(stored), typed
        # the chip and the facet name the country as the documents do, in the reader's language
        assert 'class="chip">Pays: Guinée <span' in html, typed
        assert re.search(r'aria-current="true" class="active">Guinée</a>', html), typed
    nowhere = client.get("/search", params={"q": q, "country": "Atlantis"}, headers={"Accept-Language": "en"})
    assert nowhere.status_code == 200 and passages_of(nowhere.text) == [] and "Nothing answers this question with these filters" in nowhere.text

    news = client.get("/search", params={"q": q, "type": "news"}, headers={"Accept-Language": "en"}).text
    upper = client.get("/search", params={"q": q, "type": "News", "lang": "FR"}, headers={"Accept-Language": "en"}).text
    assert passages_of(upper) == passages_of(news) and passages_of(news)
    assert re.search(r'aria-current="true" class="active">News</a>', upper)
    assert re.search(r'aria-current="true" class="active">French</a>', upper)


def test_unknown_language_or_type_names_the_allowed_values(site):
    client = site[0]
    r = client.get("/search", params={"q": "retour", "lang": "xx", "country": "Senegal"},
                   headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "The Language filter has no value “xx”. Choose one of these:" in html
    assert re.search(r'href="/search\?q=retour&amp;lang=fr&amp;country=Senegal">French <span lang="en">\(fr\)</span>',
                     html)
    assert len(re.findall(r'<a href="/search\?q=retour&amp;lang=[a-z]{2}&amp;country=Senegal">', html)) == 7
    assert 'href="/search?q=retour&amp;country=Senegal">Search without this filter</a>' in html
    assert 'name="q" type="search" value="retour"' in html and 'value="xx"' not in html  # the form drops it
    r = client.get("/search", params={"q": "retour", "type": "roman"}, headers={"Accept-Language": "fr"})
    assert r.status_code == 422
    assert "Le filtre Type n'a pas de valeur « roman ». Choisissez parmi celles-ci :" in texts(r.text).parts
    assert re.search(r'href="/search\?q=retour&amp;type=news">Actualité <span lang="en">\(news\)</span>', r.text)


def test_pdf_hit_opens_the_file_at_its_page(site):
    client, _, ids = site
    html = client.get("/search", params={"q": "formation en apiculture et maraîchage"},
                      headers={"Accept-Language": "fr"}).text
    doc = ids[REPORT_PDF]
    assert f'href="/api/documents/{doc}/file#page=3">Ouvrir à la page 3</a>' in html
    assert re.search(rf'href="/documents/{doc}#p-[0-9a-f-]+">Lire dans son contexte', html)
    page = client.get(f"/documents/{doc}").text
    anchor = re.search(rf'href="/documents/{doc}#(p-[^"]+)"', html).group(1)
    assert f'id="{anchor}"' in page  # the passage's anchor is on the document page


def test_handbook_hits_open_the_pdf_at_their_page(site):
    """The demo path: a hit on the sample handbook's PDF cites its page, "Open at page N" opens the original at
    #page=N, the document page links each passage and section to its page, and the file is served inline as a PDF."""
    from pypdf import PdfReader

    client, _, ids = site
    doc = ids[HANDBOOK]
    for q, n in [("Quand la réintégration est-elle considérée comme durable ?", 1),
                 ("public cible du manuel : chargés de dossier et fournisseurs de services", 3)]:
        html = client.get("/search", params={"q": q}, headers={"Accept-Language": "fr"}).text
        hit = next(a for a in html.split('<article class="hit')[1:] if f'href="/documents/{doc}#p-' in a)
        assert f"page {n}" in re.search(r'<p class="cite">(.*?)</p>', hit, re.S).group(1)  # the citation line
        link = re.search(r'<a href="(/api/documents/[^"]+)">Ouvrir à la page (\d)</a>', hit)
        assert link.groups() == (f"/api/documents/{doc}/file#page={n}", str(n))
    page = client.get(f"/documents/{doc}", headers={"Accept-Language": "fr"}).text
    assert f'<a href="/api/documents/{doc}/file#page=3">Public cible</a>' in page  # the outline
    assert [int(x) for x in re.findall(rf'<a href="/api/documents/{doc}/file#page=(\d)">page \1</a>', page)] == [1, 2, 3]
    assert f'<a href="/api/documents/{doc}/file">Ouvrir dans le navigateur</a>' in page
    r = client.get(f"/api/documents/{doc}/file")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'inline; filename="{HANDBOOK}"'
    assert len(PdfReader(io.BytesIO(r.content)).pages) == 3


def test_search_errors_are_pages(site):
    client = site[0]
    r = client.get("/search", params={"q": "x" * 5000}, headers={"Accept-Language": "fr"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Requête invalide" in r.text
    # the year fields of the form send "" when left empty: no filter, not an error
    assert client.get("/search", params={"q": "retour", "year_from": "2020", "year_to": ""}).status_code == 200
    assert client.get("/search", params={"q": "retour", "year_from": "20x0"}).status_code == 422
    r = client.get("/documents/000000000000", headers={"Accept-Language": "en"})
    assert r.status_code == 404 and "Page not found" in r.text
    assert client.get("/no/such/page").status_code == 404
    # the API keeps its problem documents
    r = client.get("/api/documents/000000000000")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


# -- text from documents is text ------------------------------------------------------------------


def test_country_names_follow_the_interface_language(site):
    client = site[0]
    fr = client.get("/search", params={"q": "apiculture"}, headers={"Accept-Language": "fr"}).text
    assert re.search(r'href="/search\?q=apiculture&amp;country=Guinea">Guinée</a>', fr)
    en = client.get("/search", params={"q": "apiculture"}, headers={"Accept-Language": "en"}).text
    assert re.search(r'href="/search\?q=apiculture&amp;country=Guinea">Guinea</a>', en)
    from web.countries import country_name

    assert country_name("Sénégal", "en") == "Senegal" and country_name("Atlantis", "fr") == "Atlantis"


def test_dates_keep_the_precision_they_were_given(site):
    client, _, ids = site
    doc = ids[REPORT_PDF]  # its sidecar says date: 2023-05
    assert client.get(f"/api/documents/{doc}").json()["published"] == "2023-05"
    hits = client.get("/api/search", params={"q": "apiculture", "country": "Guinea"}).json()["hits"]
    assert hits and {h["published"] for h in hits if h["doc_id"] == doc} == {"2023-05"}
    assert "<dd>May 2023</dd>" in client.get(f"/documents/{doc}", headers={"Accept-Language": "en"}).text
    assert "<dd>mai 2023</dd>" in client.get(f"/documents/{doc}", headers={"Accept-Language": "fr"}).text


def test_dates_in_both_languages():
    from web.templating import format_date

    assert format_date("2024-03-12", "en") == "12 March 2024" and format_date("2024-03-12", "fr") == "12 mars 2024"
    assert format_date("2024-03-01", "fr") == "1er mars 2024" and format_date("2019", "en") == "2019"
    assert format_date("2024-07", "en") == "July 2024" and format_date(None, "en") == ""


def test_highlight_segments_keep_only_mark_and_b():
    segs = highlight_segments("a &lt;script&gt; <b>b <mark>c&amp;d</mark></b> e")
    assert [(s.text, s.mark, s.best) for s in segs] == [
        ("a <script> ", False, False), ("b ", False, True), ("c&d", True, True), (" e", False, False)]


def test_section_trail_leaves_out_the_title_it_repeats():
    from web.templating import section_trail

    assert section_trail("L’OIM forme les acteurs › Objectifs", "l'OIM forme  les acteurs") == "Objectifs"
    assert section_trail("L'OIM forme les acteurs", "L'OIM forme les acteurs") == ""
    assert section_trail("Module 1 › Principaux messages", "Manuel, module 1") == "Module 1 › Principaux messages"
    assert section_trail(None, "Titre") == ""


def test_document_markup_is_shown_as_text(site):
    client, _, ids = site
    for url in ("/search?q=ateliers+de+couture+Lab%C3%A9", f"/documents/{ids['balises-html.txt']}",
                "/search?q=registre+des+coop%C3%A9ratives"):
        html = client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b onmouseover" not in html, url
        assert "&lt;script&gt;alert(" in html or "&lt;script&gt;" in html, url
        assert "&lt;b onmouseover=&#34;alert(3)&#34;&gt;Labé&lt;/b&gt;" in html, url
    assert MARKUP_TITLE and MARKUP_TEXT
    r = client.get("/")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "<script" not in r.text  # the home page has no script at all; others only /static ones
    for url in ("/search?q=test", f"/seminars/{SEMINAR_ID}"):
        assert all(src.startswith("/static/") for src in re.findall(r'<script src="([^"]+)"', client.get(url).text))


# -- sign-in and the form routes ------------------------------------------------------------------


def test_sign_in_sets_a_safe_cookie_and_a_wrong_key_is_refused(site):
    client, keys, _ = site
    c = TestClient(client.app)
    r = c.post("/signin", data={"key": keys["staff"], "next": "/staff", "signin_token": signin_token(c)},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff"
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("kmh_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Signed in as test staff" in c.get("/staff", headers={"Accept-Language": "en"}).text
    w = TestClient(client.app)
    r = w.post("/signin", data={"key": "kmh_nope_nope", "next": "/", "signin_token": signin_token(w)},
               headers={"Accept-Language": "en"})
    assert r.status_code == 401 and "This key is wrong or has been revoked." in r.text
    e = TestClient(client.app)
    r = e.post("/signin", data={"key": keys["staff"], "next": "https://evil.example/", "signin_token": signin_token(e)},
               follow_redirects=False)
    assert r.headers["location"] == "/"
    # sign out needs the session's CSRF token, then ends the session
    assert c.post("/signout", follow_redirects=False).status_code == 403
    token = csrf_of(c.get("/staff").text)
    assert c.post("/signout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert c.get("/staff", follow_redirects=False).status_code == 303


def form_routes(app) -> list[tuple[str, str]]:
    """Every POST route of the web pages (not the API), with sample path parameters."""
    from web.app import is_page

    out = []
    for route in app_routes(app):
        methods = getattr(route, "methods", None) or set()
        if "POST" in methods and is_page(route.path) and route.path not in ("/signin",):
            out.append(route.path)
    return sorted(out)


def test_every_form_route_refuses_without_the_right_session(site):
    client, keys, ids = site
    doc = ids[REPORT_PDF]
    rec = ids["seminaire-2021-12-reintegration-developpement.mp3"]
    routes = form_routes(client.app)
    assert set(routes) >= {"/signout", "/staff/upload", "/staff/documents/{doc_id}",
                           "/staff/documents/{doc_id}/retract", "/staff/documents/{doc_id}/restore",
                           "/staff/documents/{doc_id}/file", "/review/{recording_id}/decide"}
    # sign-out last: the reader's session may end it
    urls = sorted((r.replace("{doc_id}", doc).replace("{recording_id}", rec) for r in routes),
                  key=lambda u: u == "/signout")
    before = client.get(f"/api/documents/{doc}").json()
    staff, reader = signed_in(client, keys["staff"]), signed_in(client, keys["reader"])
    reader_token = csrf_of(reader.get("/").text)
    for url in urls:
        anonymous = TestClient(client.app).post(url, data={"title": "x"}, follow_redirects=False)
        assert anonymous.status_code in (303, 401), (url, anonymous.status_code)
        if anonymous.status_code == 303:
            assert anonymous.headers["location"].startswith("/signin?next=")
        # a session without its CSRF token
        assert staff.post(url, data={"title": "x"}, follow_redirects=False).status_code == 403, url
        # a reader's session, even with its token
        r = reader.post(url, data={"title": "x", "csrf_token": reader_token}, follow_redirects=False)
        assert r.status_code == 403 if url != "/signout" else r.status_code == 303, (url, r.status_code)
    after = client.get(f"/api/documents/{doc}").json()
    assert after == before


def test_staff_edit_and_retract_through_the_forms(site):
    client, keys, ids = site
    staff = signed_in(client, keys["staff"])
    doc = ids["balises-html.txt"]
    form = staff.get(f"/staff/documents/{doc}").text
    token = csrf_of(form)
    r = staff.post(f"/staff/documents/{doc}", data={
        "csrf_token": token, "title": "Ateliers de couture de Labé", "type": "report", "language": "fr",
        "date": "2022-06-01", "countries": "Guinea, Senegal", "programme": "", "source": "",
        "source_url": ""}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=edit")
    got = client.get(f"/api/documents/{doc}").json()
    assert got["title"] == "Ateliers de couture de Labé" and got["countries"] == ["Guinea", "Senegal"]
    hits = client.get("/api/search", params={"q": "ateliers de couture", "type": "report"}).json()["hits"]
    assert hits and hits[0]["doc_id"] == doc
    # a bad field is shown on the form, nothing changes
    r = staff.post(f"/staff/documents/{doc}", data={"csrf_token": token, "title": "x", "type": "report",
                                                     "source_url": "not a url"}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "The changes were not saved" in r.text and "source_url" in r.text
    r = staff.post(f"/staff/documents/{doc}", data={"csrf_token": token, "title": "x", "type": "report",
                                                     "date": "2024-02-30"}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "&#39;2024-02-30&#39; is not a valid date" in r.text
    assert client.get(f"/api/documents/{doc}").json()["title"] == "Ateliers de couture de Labé"
    # retract: gone from search, then restored
    r = staff.post(f"/staff/documents/{doc}/retract", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert doc not in [h["doc_id"] for h in client.get("/api/search", params={"q": "ateliers de couture"}).json()["hits"]]
    assert client.get(f"/documents/{doc}").status_code == 404
    staff.post(f"/staff/documents/{doc}/restore", data={"csrf_token": token})
    assert client.get(f"/documents/{doc}").status_code == 200
    actions = [e["action"] for e in client.get("/api/audit", headers={"Authorization": f"Bearer {keys['admin']}"},
                                               params={"target": doc}).json()["items"]]
    assert actions[:3] == ["document.restore", "document.retract", "document.edit"]


def test_inferred_fields_are_marked_for_staff_and_an_edit_confirms_one(site, tmp_path):
    client, keys, _ids = site
    path = tmp_path / "rapport-sans-fiche.txt"
    body = ("Les migrants maliens de retour au Mali reçoivent un appui à la réintégration économique, sociale et "
            "psychosociale ; les comités locaux du Mali suivent chaque dossier avec les services de l'emploi.")
    path.write_text(f"Rapport sur la réintégration des migrants de retour\n\nBamako, le 3 avril 2019\n\n{body}\n",
                    encoding="utf-8")
    with path.open("rb") as fh:  # no sidecar; the upload gives the language only
        r = client.post("/api/documents", headers=bearer(keys["staff"]), files={"file": (path.name, fh)},
                        data={"language": "fr"})
    assert r.status_code == 202, r.text
    job = wait_for_job(client, r.json(), keys["staff"])
    assert job["state"] == "done", job
    doc = client.get(job["document_url"]).json()
    assert (doc["title"], doc["doc_type"], doc["published"], doc["countries"], doc["language"]) == (
        "Rapport sur la réintégration des migrants de retour", "report", "2019-04-03", ["Mali"], "fr")
    assert doc["inferred"] == ["countries", "doc_type", "published", "title"]  # the language was given
    staff = signed_in(client, keys["staff"])
    url = f"/staff/documents/{doc['id']}"
    page = staff.get(url, headers={"Accept-Language": "fr"}).text
    assert page.count('class="inferred"') == 4 and ">déduit</span>" in page and "Déduit du fichier" in page
    assert staff.get(url, headers={"Accept-Language": "en"}).text.count(">inferred</span>") == 4
    # the form sends every field; only the changed title stops being inferred
    r = staff.post(url, data={"csrf_token": csrf_of(page), "title": "Réintégration au Mali : rapport 2019",
                              "type": "report", "language": "fr", "date": "2019-04-03", "countries": "Mali",
                              "programme": "", "source": "", "source_url": ""}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/api/documents/{doc['id']}").json()["inferred"] == ["countries", "doc_type", "published"]
    # through the API as well
    r = client.patch(f"/api/documents/{doc['id']}", headers=bearer(keys["staff"]), json={"countries": ["Mali", "Niger"]})
    assert r.status_code == 200 and r.json()["inferred"] == ["doc_type", "published"]
    page = staff.get(url).text
    assert page.count('class="inferred"') == 2
    # a new version of the file: what a person gave or confirmed stays, the rest is inferred from the new file
    path.write_text(path.read_text(encoding="utf-8").replace("Bamako, le 3 avril 2019", "Bamako, le 9 mai 2020")
                    + "Une section nouvelle décrit le suivi des dossiers à Kayes.\n", encoding="utf-8")
    with path.open("rb") as fh:
        r = client.put(f"/api/documents/{doc['id']}/file", headers=bearer(keys["staff"]),
                       files={"file": (path.name, fh)})
    assert r.status_code == 202, r.text
    assert wait_for_job(client, r.json(), keys["staff"])["state"] == "done"
    again = client.get(f"/api/documents/{doc['id']}").json()
    assert (again["version"], again["title"], again["countries"], again["language"]) == (
        2, "Réintégration au Mali : rapport 2019", ["Mali", "Niger"], "fr")
    assert again["published"] == "2020-05-09" and again["inferred"] == ["doc_type", "published"]


def test_upload_errors_are_shown_on_the_form(site):
    client, keys, ids = site
    staff = signed_in(client, keys["staff"])
    token = csrf_of(staff.get("/staff/upload").text)
    # the same content as a published document: 409 naming it, with a link
    original = client.get(f"/api/documents/{ids[REPORT_PDF]}/file").content
    r = staff.post("/staff/upload", data={"csrf_token": token, "title": "Encore"},
                   files={"file": ("copie.pdf", original, "application/pdf")},
                   headers={"Accept-Language": "fr"})
    assert r.status_code == 409, r.text[-400:]
    assert "Le fichier n&#39;a pas été accepté" in r.text and f'href="/documents/{ids[REPORT_PDF]}"' in r.text
    assert 'value="Encore"' in r.text  # the fields are kept
    r = staff.post("/staff/upload", data={"csrf_token": token},
                   files={"file": ("image.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "application/pdf")})
    assert r.status_code == 415
    r = staff.post("/staff/upload", data={"csrf_token": token, "date": "someday", "title": "Une note",
                                          "countries": "Mali, Niger"},
                   files={"file": ("note.txt", "Une note.".encode(), "text/plain")},
                   headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "The file was not accepted" in r.text and "someday" in r.text
    assert 'value="Une note"' in r.text and 'value="Mali, Niger"' in r.text
    r = staff.post("/staff/upload", data={"csrf_token": token, "type": "novel"},
                   files={"file": ("note.txt", "Une note.".encode(), "text/plain")})
    assert r.status_code == 422 and "type" in r.text


def test_a_question_nothing_answers_says_so_and_offers_the_closest_passages(site):
    client = site[0]
    page = client.get("/search", params={"q": "Who won the 1998 football world cup?"})
    assert page.status_code == 200 and passages_of(page.text) == []
    assert "Nothing in the library answers this question" in page.text and "other language" in page.text
    closest = re.search(r'href="([^"]*weak=1[^"]*)"', page.text).group(1).replace("&amp;", "&")
    shown = client.get(closest)
    assert shown.status_code == 200 and len(passages_of(shown.text)) > 0
    assert shown.text.count('class="weak-tag"') >= len(set(passages_of(shown.text))) > 0
    assert "none of which seems to answer" in shown.text
    fr = client.get("/search", params={"q": "Qui a gagné la coupe du monde de football en 1998 ?"},
                    headers={"Accept-Language": "fr"})
    assert "Rien dans la bibliothèque ne répond à cette question" in fr.text
    answered = client.get("/search", params={"q": "When can reintegration be considered sustainable?"})
    assert "Nothing in the library" not in answered.text and "Results 1–" in answered.text
