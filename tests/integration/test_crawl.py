"""Website import against a site served by this test (http.server in a thread): the sitemap, robots.txt, a
redirect, a 404, a 503, a page that changes and one that goes between two crawls, a linked PDF; through the running
server's API (a job) and through `kmh crawl` (in the process, and handed over to the server that holds the index).
Real model, real embedded store, real HTTP both ways."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from kmh.settings import Settings
from tests.conftest import MODELS
from tests.helpers import api_key, bearer, make_pdf

LAST_MODIFIED = "Tue, 26 Mar 2024 09:00:00 GMT"
PDF_PAGES = [
    ("Rapport apiculture Tambacounda", "Les bénéficiaires de Tambacounda ont reçu quarante ruches kenyanes et une "
     "formation de six semaines à la récolte du miel, financée par le fonds de réintégration communautaire."),
    ("Résultats", "Après un an, trente-deux apiculteurs vendaient leur miel au marché de Tambacounda et deux "
     "coopératives achetaient la cire pour fabriquer des bougies."),
]


def _page(title: str, body: str, *, links: list[str] = (), lang: str = "fr", head: str = "") -> bytes:
    nav = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title} | Site test</title>'
            f'{head}</head><body><nav><ul>{nav}</ul></nav><main><article><h1>{title}</h1><p>{body}</p>'
            f'<p>{body}</p></article></main><footer>© Site test, tous droits réservés</footer></body></html>'
            ).encode()


@dataclass
class Resource:
    body: bytes
    ctype: str = "text/html; charset=utf-8"
    status: int = 200
    location: str | None = None
    validators: bool = True  # send ETag and Last-Modified

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


@dataclass
class WebSite:
    """A website served from a dict: path -> Resource; every request is logged with its conditional headers."""

    resources: dict[str, Resource] = field(default_factory=dict)
    log: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)  # path, INM, IMS, UA

    def start(self) -> WebSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                site.log.append((self.path, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"),
                                 self.headers.get("User-Agent", "")))
                res = site.resources.get(self.path)
                if isinstance(res, bytes):
                    res = site.resources[self.path] = Resource(res)
                if res is None:
                    self._send(404, b"<h1>Not found</h1>", "text/html")
                    return
                if res.location is not None:
                    self.send_response(res.status)
                    self.send_header("Location", res.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if res.status != 200:
                    self._send(res.status, b"error", "text/plain")
                    return
                if res.validators and self.headers.get("If-None-Match") == res.etag:
                    self.send_response(304)
                    self.send_header("ETag", res.etag)
                    self.end_headers()
                    return
                extra = {"ETag": res.etag, "Last-Modified": LAST_MODIFIED} if res.validators else {}
                self._send(200, res.body, res.ctype, extra)

            def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests(self, path: str) -> list[tuple[str, str | None, str | None, str]]:
        return [r for r in self.log if r[0] == path]


CHANGING_V1 = ("Le guichet unique de Kolda accueille les migrants de retour chaque mardi pour un premier entretien "
               "d'orientation sur les formations disponibles en mécanique et en couture.")
CHANGING_V2 = ("Le guichet unique de Kolda accueille désormais les migrants de retour chaque jeudi, et propose un "
               "atelier de soudure en plus des formations en mécanique et en couture.")


def sitemap_site(tmp: Path) -> WebSite:
    """Pages linking each other, a sitemap naming them (and a redirect, a 404, a 503 and a disallowed page),
    robots.txt, and a PDF linked from a news page (not in the sitemap)."""
    site = WebSite()
    pdf = make_pdf(tmp / "rapport.pdf", PDF_PAGES).read_bytes()
    everything = ["/", "/accueil", "/about", "/news/tambacounda", "/news/kolda", "/news/removed", "/old-news", "/missing",
                  "/private/staff-only", "/flaky"]

    def setup(url: str) -> None:
        locs = "".join(f"<url><loc>{url}{p}</loc></url>" for p in everything)
        site.resources.update({
            "/robots.txt": Resource(f"User-agent: *\nDisallow: /private/\nSitemap: {url}/sitemap.xml\n".encode(),
                                    "text/plain"),
            "/sitemap.xml": Resource(f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                                     f'sitemap/0.9">{locs}</urlset>'.encode(), "application/xml"),
            "/": _page("Accueil du site de test", "Bienvenue sur le site de test du programme de réintégration "
                       "durable : actualités, rapports et ressources pour les partenaires locaux.",
                       links=["/about", "/news/tambacounda", "/news/kolda", "/private/staff-only",
                              "https://elsewhere.example/", "/logo.png"]),
            "/accueil": b"",  # the home page again: filled below
            "/about": _page("À propos", "Le programme accompagne les personnes de retour avec des conseillers, "
                            "des formations professionnelles et un soutien psychosocial dans six régions.",
                            links=["/"]),
            "/news/tambacounda": _page(
                "Apiculture à Tambacounda", "Les apiculteurs de retour à Tambacounda présentent leur première récolte "
                "de miel ; le rapport complet détaille les ruches, la formation et les ventes au marché.",
                links=["/", "/files/rapport-apiculture.pdf"],
                head='<meta property="og:title" content="Miel de Tambacounda : une première récolte">'
                     '<meta property="og:type" content="article">'
                     '<meta property="article:published_time" content="2024-03-26T09:00:00Z">'),
            "/news/kolda": _page("Guichet de Kolda", CHANGING_V1, links=["/"]),
            "/news/removed": _page("Une page qui sera retirée", "Cette annonce de recrutement de conseillers à "
                                   "Ziguinchor sera retirée du site avant le prochain passage du robot.", links=["/"]),
            "/old-news": Resource(b"", status=301, location="/news/moved"),
            "/news/moved": _page("Page déplacée", "La foire de l'emploi de Saint-Louis réunit les entreprises "
                                 "locales et les jeunes de retour pour des entretiens d'embauche sur place.",
                                 links=["/"]),
            "/private/staff-only": _page("Privé", "Ne doit jamais être lu par le robot d'indexation du site."),
            "/flaky": Resource(b"", status=503),
            "/files/rapport-apiculture.pdf": Resource(pdf, "application/pdf"),
        })
        site.resources["/accueil"] = site.resources["/"]

    site.start()
    setup(site.url)
    return site


@pytest.fixture(scope="module")
def server(tmp_path_factory, shared_embedders):
    """The KMH server (uvicorn in a thread, real HTTP) on its own data folder, crawling without delay."""
    import uvicorn

    from api.server import write_server_info
    from web.app import create_app

    data = tmp_path_factory.mktemp("crawl-server") / "data"
    settings = Settings(data_dir=data, models_dir=MODELS, crawl_delay=0)
    keys = {role: api_key(settings, role) for role in ("reader", "staff")}
    app = create_app(settings)
    with socket_port() as port:
        pass
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    else:
        raise AssertionError("the server did not get ready")
    info = write_server_info(settings, url)
    yield url, keys, settings
    info.unlink(missing_ok=True)
    srv.should_exit = True
    thread.join(60)


class socket_port:
    """A free local port."""

    def __enter__(self) -> int:
        import socket

        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return self.s.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.s.close()


def wait_crawl(url: str, crawl: dict, key: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(url + crawl["url"], headers=bearer(key)).json()
        if body["state"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"crawl {crawl['id']} still {body['state']}: {body}")


def search(url: str, q: str, key: str | None = None) -> list[dict]:
    r = httpx.get(url + "/api/search", params={"q": q}, headers=bearer(key) if key else {})
    assert r.status_code == 200, r.text
    return r.json()["hits"]


def outcomes(summary: dict) -> dict[str, str]:
    return {p["url"]: p["outcome"] for p in summary["pages"]}


def test_crawl_job_imports_the_site_then_a_recrawl_costs_one_request_per_unchanged_page(server, tmp_path):
    url, keys, settings = server
    site = sitemap_site(tmp_path)
    try:
        s = site.url
        r = httpx.post(url + "/api/crawls", json={"url": s + "/"}, headers=bearer(keys["reader"]))
        assert r.status_code == 403
        r = httpx.post(url + "/api/crawls", json={"url": "ftp://x"}, headers=bearer(keys["staff"]))
        assert r.status_code == 422
        r = httpx.post(url + "/api/crawls", json={"url": s + "/", "exclude": ["re:("]}, headers=bearer(keys["staff"]))
        assert r.status_code == 422 and "exclude" in r.text

        started = time.perf_counter()
        r = httpx.post(url + "/api/crawls", json={"url": s + "/"}, headers=bearer(keys["staff"]))
        assert r.status_code == 202, r.text
        assert r.headers["location"] == r.json()["url"]
        crawl = wait_crawl(url, r.json(), keys["staff"])
        first_seconds = time.perf_counter() - started
        assert crawl["state"] == "done", crawl
        summary = crawl["summary"]
        got = outcomes(summary)
        assert got == {
            s + "/": "new", s + "/about": "new", s + "/news/tambacounda": "new", s + "/news/kolda": "new",
            s + "/news/removed": "new", s + "/news/moved": "new", s + "/missing": "failed", s + "/flaky": "failed",
            s + "/files/rapport-apiculture.pdf": "new"}, summary["failures"]
        assert (summary["new"], summary["failed"], summary["retracted"]) == (7, 2, 0)
        assert {f["url"]: f["reason"] for f in summary["failures"]} == {
            s + "/missing": "not found (HTTP 404)", s + "/flaky": "HTTP 503"}
        assert summary["skipped_by_reason"]["disallowed by robots.txt"] == 1
        assert summary["skipped_by_reason"]["same content as another document"] == 1  # /accueil is /
        assert summary["from_sitemap"] is True
        # robots.txt obeyed, named user agent, nothing off the site, the redirect followed to its target
        assert site.requests("/private/staff-only") == []
        assert all("KMH-Search-Crawler" in ua for *_, ua in site.log)
        assert site.requests("/logo.png") == []
        assert len(site.requests("/old-news")) == 1 and len(site.requests("/news/moved")) == 1
        first_requests = len(site.log)
        print(f"\nfirst crawl: {len(got) + 1} URLs, {first_requests} requests, {summary['pages_per_second']} pages/s "
              f"(crawl {summary['seconds']} s, job {first_seconds:.1f} s)")

        # the page's metadata became the document's; its URL is its source
        docs = httpx.get(url + "/api/documents", params={"limit": 50}).json()["items"]
        by_url = {d["source_url"]: d for d in docs}
        news = by_url[s + "/news/tambacounda"]
        assert news["title"] == "Miel de Tambacounda : une première récolte"
        assert (news["published"], news["doc_type"], news["language"]) == ("2024-03-26", "news", "fr")
        assert by_url[s + "/files/rapport-apiculture.pdf"]["format"] == "pdf"
        # the footer and the navigation are page chrome: not indexed
        assert all("droits réservés" not in h["text"] for h in search(url, "tous droits réservés Site test"))

        # the linked PDF is searchable, and its citation links to the PDF's URL at the page
        hits = search(url, "combien d'apiculteurs vendaient leur miel au marché de Tambacounda ?")
        pdf_hit = next(h for h in hits if h["doc_id"] == by_url[s + "/files/rapport-apiculture.pdf"]["id"])
        assert pdf_hit["citation"]["url"].startswith(f"{s}/files/rapport-apiculture.pdf#page=")
        hits = search(url, "guichet unique de Kolda entretien d'orientation")
        assert hits[0]["doc_id"] == by_url[s + "/news/kolda"]["id"]
        assert hits[0]["citation"]["url"] == s + "/news/kolda"
        assert hits[0]["citation"]["web_url"] == s + "/news/kolda"

        # between the crawls: one page changes, one is removed (and leaves the sitemap)
        site.resources["/news/kolda"] = Resource(_page("Guichet de Kolda", CHANGING_V2, links=["/"]))
        del site.resources["/news/removed"]
        site.resources["/sitemap.xml"].body = site.resources["/sitemap.xml"].body.replace(
            f"<url><loc>{s}/news/removed</loc></url>".encode(), b"")
        site.log.clear()
        r = httpx.post(url + "/api/crawls", json={"url": s + "/"}, headers=bearer(keys["staff"]))
        crawl = wait_crawl(url, r.json(), keys["staff"])
        summary = crawl["summary"]
        got = outcomes(summary)
        assert got[s + "/news/kolda"] == "updated" and got[s + "/news/removed"] == "retracted"
        for page in ("/", "/about", "/news/tambacounda", "/news/moved", "/files/rapport-apiculture.pdf"):
            assert got[s + page] == "unchanged", (page, got)
            asked = site.requests(page)
            assert len(asked) == 1, (page, asked)  # one request per unchanged page ...
            assert asked[0][1] is not None and asked[0][2] == LAST_MODIFIED  # ... a conditional one
        assert (summary["updated"], summary["retracted"], summary["unchanged"]) == (1, 1, 5)
        assert summary["skipped_by_reason"]["same content as another document"] == 1
        assert len(site.requests("/accueil")) == 1 and site.requests("/accueil")[0][1] is not None
        print(f"re-crawl: {len(site.log)} requests ({summary['requests']} counted), "
              f"{summary['pages_per_second']} pages/s")

        # the changed page is a new version of the same document; the removed one is retracted (audited)
        kolda = httpx.get(url + f"/api/documents/{by_url[s + '/news/kolda']['id']}").json()
        assert kolda["version"] == 2
        hits = search(url, "atelier de soudure guichet de Kolda jeudi")
        assert hits[0]["doc_id"] == kolda["id"] and "soudure" in hits[0]["text"]
        removed = by_url[s + "/news/removed"]["id"]
        assert httpx.get(url + f"/api/documents/{removed}").status_code == 404  # gone for readers
        assert all(h["doc_id"] != removed for h in search(url, "recrutement de conseillers à Ziguinchor"))
        staff_view = httpx.get(url + f"/api/documents/{removed}", headers=bearer(keys["staff"])).json()
        assert staff_view["status"] == "retracted"

        from kmh.runtime import open_catalog

        catalog = open_catalog(settings)
        try:
            actions = [e.action for e in catalog.audit_log(target=removed)[0]]
            assert "document.retract" in actions and "crawl.gone" in actions
            assert catalog.crawl_page(s + "/news/removed").status == "gone"
        finally:
            catalog.close()

        # the staff page lists the crawls with their counts
        listed = httpx.get(url + "/api/crawls", headers=bearer(keys["staff"])).json()
        assert [c["id"] for c in listed][:1] == [crawl["id"]]
        jobs = httpx.get(url + "/api/jobs", headers=bearer(keys["staff"])).json()["items"]
        assert jobs[0]["kind"] == "crawl" and jobs[0]["document_url"] is None
    finally:
        site.stop()


def test_staff_page_starts_a_crawl_and_shows_the_latest(server, tmp_path):
    url, keys, settings = server
    site = WebSite(resources={"/": Resource(_page("Une seule page", "Le centre de Matam organise des cours "
                                                   "d'alphabétisation pour les adultes de retour chaque soir."))})
    site.start()
    try:
        with httpx.Client(base_url=url) as client:
            from tests.helpers import signin_token

            r = client.post("/signin", data={"key": keys["staff"], "next": "/", "signin_token": signin_token(client)},
                            follow_redirects=False)
            assert r.status_code == 303, r.text
            page = client.get("/staff/crawls")
            assert page.status_code == 200 and 'action="/staff/crawls"' in page.text
            import re

            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            r = client.post("/staff/crawls", data={"url": "not a url", "csrf_token": csrf})
            assert r.status_code == 422 and "crawl-error" in r.text and 'value="not a url"' in r.text
            r = client.post("/staff/crawls", data={"url": site.url + "/", "depth": "1", "csrf_token": csrf},
                            follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/staff/crawls"
            latest = client.get("/api/crawls", headers=bearer(keys["staff"])).json()[0]
            assert latest["start_url"] == site.url + "/" and latest["depth"] == 1
            done = wait_crawl(url, latest, keys["staff"])
            assert done["summary"]["new"] == 1
            print(f"\none new page on the warm server: {done['summary']['seconds']} s")
            page = client.get("/staff/crawls")
            assert site.url in page.text and "1 new, 0 updated" in page.text
            r = client.get(f"/staff/jobs/{latest['id']}", follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == f"/staff/crawls#crawl-{latest['id']}"
    finally:
        site.stop()


def test_kmh_crawl_while_the_server_holds_the_index_hands_it_over(server, tmp_path, monkeypatch):
    url, keys, settings = server
    monkeypatch.setenv("KMH_DATA_DIR", str(settings.data_dir))
    site = WebSite(resources={"/": Resource(_page("Page pour la ligne de commande", "Le bureau de Sédhiou "
                                                   "distribue des kits de démarrage aux couturières de retour."))})
    site.start()
    try:
        runner = CliRunner()
        result = runner.invoke(cli, ["crawl", site.url + "/"], env={"KMH_API_KEY": ""})
        out = " ".join(result.output.split())
        assert result.exit_code == 3, result.output
        assert "the KMH server (pid" in out and f"{url}) holds the index" in out and "--key KEY" in out
        assert site.log == []  # nothing fetched
        result = runner.invoke(cli, ["crawl", site.url + "/", "--key", keys["staff"]])
        assert result.exit_code == 0, result.output
        assert "The server is crawling" in result.output
        job_id = result.output.split("(job ")[1].split(")")[0]
        done = wait_crawl(url, {"id": job_id, "url": f"/api/crawls/{job_id}"}, keys["staff"])
        assert done["summary"]["new"] == 1
        result = runner.invoke(cli, ["crawl", site.url + "/", "--key", keys["reader"]])
        assert result.exit_code == 2 and "403" in result.output
    finally:
        site.stop()


def linked_site() -> WebSite:
    """No sitemap: pages reachable only by links, a chain / -> /a -> /b -> /c, and a section left out by a pattern."""
    def body(n: str) -> str:
        return (f"La fiche {n} décrit le parcours d'un bénéficiaire de retour dans la région de Louga, de son accueil "
                f"à l'aéroport jusqu'à l'ouverture de son commerce de détail au marché central.")

    return WebSite(resources={
        "/robots.txt": Resource(b"User-agent: *\nDisallow:\n", "text/plain"),
        "/": _page("Fiches", body("zéro"), links=["/a", "/drafts/x"]),
        "/a": _page("Fiche A", body("alpha"), links=["/", "/b"]),
        "/b": _page("Fiche B", body("bravo"), links=["/c"]),
        "/c": _page("Fiche C", body("charlie")),
        "/drafts/x": _page("Brouillon", body("brouillon")),
    }).start()


def test_kmh_crawl_follows_links_to_the_depth_with_patterns_and_a_progress_bar(isolated_data):
    site = linked_site()
    try:
        runner = CliRunner()
        result = runner.invoke(cli, ["crawl", site.url + "/", "--depth", "2", "--exclude", "/drafts/*",
                                     "--delay", "0"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out = result.output
        assert "3 new, 0 updated, 0 unchanged, 0 retracted, 0 failed, 1 skipped" in out, out
        print("\nkmh crawl, first:", out.strip().splitlines()[-1])
        assert "excluded by the patterns" in out and "pages from its links" in out
        assert "crawl" in result.stderr and "pages/s" in result.stderr  # the progress bar
        assert site.requests("/c") == [] and site.requests("/drafts/x") == []
        assert site.requests("/sitemap.xml")  # looked for, not found

        site.log.clear()
        result = runner.invoke(cli, ["crawl", site.url + "/", "--depth", "2", "--exclude", "/drafts/*",
                                     "--delay", "0"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "0 new, 0 updated, 3 unchanged" in result.output
        print("kmh crawl, again:", result.output.strip().splitlines()[-1])
        # the links of unchanged pages come from the last crawl: / and /a answered 304, /b was still reached
        for page in ("/", "/a", "/b"):
            assert len(site.requests(page)) == 1 and site.requests(page)[0][1] is not None

        started = time.perf_counter()
        result = runner.invoke(cli, ["crawl", site.url + "/", "--delay", "0.3", "--depth", "0"],
                               catch_exceptions=False)
        took = time.perf_counter() - started
        assert result.exit_code == 0, result.output
        assert took >= 0.6  # robots.txt, sitemap.xml, / and the revisits of /a, /b: spaced by 0.3 s
    finally:
        site.stop()


def test_kmh_crawl_reports_a_site_that_cannot_be_crawled(isolated_data):
    site = WebSite(resources={"/robots.txt": Resource(b"", status=503)}).start()
    try:
        result = CliRunner().invoke(cli, ["crawl", site.url + "/", "--delay", "0"])
        assert result.exit_code == 1
        assert "robots.txt answered 503" in result.output
        assert [r[0] for r in site.log] == ["/robots.txt"]
        result = CliRunner().invoke(cli, ["crawl", "file:///etc/passwd"])
        assert result.exit_code == 2 and "option 'url'" in result.output
    finally:
        site.stop()


def test_crawler_reports_each_odd_answer_and_goes_on():
    """ingest.crawl.Crawler alone against the test site: a response over the size limit, a redirect off the site and
    a redirect loop, a type that is neither page nor document, a noindex page, robots.txt's
    Crawl-delay: each is reported with its reason and the crawl reaches the page after them."""
    from ingest.crawl import CrawlOptions, Crawler

    site = WebSite(resources={
        "/robots.txt": Resource(b"User-agent: *\nCrawl-delay: 1\n", "text/plain"),
        "/": _page("Départ", "Page de départ avec des liens vers des réponses étranges du serveur de test.",
                   links=["/big", "/away", "/loop", "/image", "/noindex", "/last"]),
        "/big": Resource(_page("Grande", "x " * 20_000)),
        "/away": Resource(b"", status=302, location="https://elsewhere.example/page"),
        "/loop": Resource(b"", status=302, location="/loop2"),
        "/loop2": Resource(b"", status=302, location="/loop"),
        "/image": Resource(b"\x89PNG\r\n\x1a\n", "image/png"),
        "/noindex": _page("Cachée", "Une page qui demande à ne pas être indexée par les robots.",
                          head='<meta name="robots" content="noindex">'),
        "/last": _page("Dernière", "La page atteinte après toutes les réponses étranges."),
    }).start()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    try:
        crawler = Crawler(CrawlOptions(site.url + "/", depth=1, delay=0, max_bytes=16_000), sleep=sleep)
        got = {f.requested.removeprefix(site.url): f for f in crawler.crawl()}
        crawler.close()
        assert got["/"].outcome == "ok" and got["/last"].outcome == "ok"
        assert (got["/big"].outcome, got["/big"].reason) == ("failed", "larger than the 0.0152588 MB limit")
        assert (got["/away"].outcome, got["/away"].reason) == ("skipped", "redirected off the site")
        assert (got["/loop"].outcome, got["/loop"].reason) == ("failed", "more than 5 redirects")
        assert (got["/image"].outcome, got["/image"].reason) == ("skipped", "not a page or document (image/png)")
        assert got["/noindex"].outcome == "skipped" and "noindex" in got["/noindex"].reason
        # robots.txt's Crawl-delay (whole seconds, as urllib.robotparser reads it) spaced the requests
        assert crawler.delay == 1 and max(waits) <= 1 and sum(waits) > 0.5 * (crawler.requests - 1)
        assert crawler.skipped["redirected off the site"] == 1
    finally:
        site.stop()
    # a site that does not answer at all: the crawl cannot start, and says why
    from ingest.crawl import CrawlError

    with pytest.raises(CrawlError, match="robots.txt could not be read"):
        list(Crawler(CrawlOptions(site.url + "/", delay=0, timeout=2)).crawl())
