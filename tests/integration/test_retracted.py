"""A retracted document is gone for everyone without a staff or admin key: every route that takes a document,
passage or recording id answers 404 (walked from the app's own routes, so a route added later is checked too),
listings and search leave it out, and staff still see it, marked retracted, and can restore it.

The real app (API and web pages) on a copy of the ingested web corpus: the sample corpus with its seminar recording
and a generated 3-page PDF report."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.helpers import RECORDING, REPORT_PDF, app_routes, bearer, signed_in, web_site

SEMINAR_ID = "2021-12-reintegration-developpement"
REPORT_TITLE = "Rapport Kindia 2023 : microentreprises et appui psychosocial"
REPORT_QUERY = "formation en apiculture et maraîchage, subvention pour les ruches"
# Path parameters that name a document, or something of one (a passage, a recording).
DOCUMENT_PARAMS = ("doc_id", "recording_id", "passage_id")
# Path parameters that name nothing of a document.
OTHER_PARAMS = ("job_id", "seminar_id", "topic_id", "key_id", "code", "crawl_id")
ROLES = ("reader", "organiser", "staff", "admin")
SEE_RETRACTED = ("staff", "admin")


@pytest.fixture(scope="module")
def site(web_template, tmp_path_factory):
    with web_site(web_template, tmp_path_factory.mktemp("retracted"), ROLES) as site:
        yield site


def gate(route) -> tuple[str, ...] | None:
    """The roles a route admits (api.auth.Allow or web.deps.Need among its dependencies: any one of them), or None."""
    from api.auth import Allow
    from web.deps import Need

    todo = [route.dependant]
    while todo:
        dep = todo.pop()
        if isinstance(dep.call, (Allow, Need)):
            return dep.call.roles
        todo.extend(dep.dependencies)
    return None


def id_routes(app) -> list:
    """GET routes with a path parameter naming a document, a passage or a recording; an unknown path parameter
    fails, so that a route added later is sorted into one kind or the other here."""
    out = []
    for route in app_routes(app):
        if "GET" not in (getattr(route, "methods", None) or ()):
            continue
        params = re.findall(r"{(\w+)(?::\w+)?}", route.path)
        unknown = [p for p in params if p not in DOCUMENT_PARAMS + OTHER_PARAMS]
        assert not unknown, f"{route.path}: does {unknown} name a document? add it to DOCUMENT_PARAMS or OTHER_PARAMS"
        if any(p in DOCUMENT_PARAMS for p in params):
            out.append(route)
    return out


@pytest.fixture(scope="module")
def retracted(site):
    """The PDF report and the seminar recording, each with a confirmed topic on one passage, then retracted.

    Returns the ids and what the public saw before (topic counts, the search facets)."""
    client, keys, ids = site
    report, recording = ids[REPORT_PDF], ids[RECORDING]
    hit = client.get("/api/search", params={"q": REPORT_QUERY, "type": "report"}).json()["hits"][0]
    assert hit["doc_id"] == report
    segment = client.get(f"/api/recordings/{recording}").json()["segments"][0]["passage_id"]
    topic = client.get("/api/topics").json()[0]["id"]
    for passage in (hit["passage_id"], segment):
        r = client.post(f"/api/passages/{passage}/topics", headers=bearer(keys["organiser"]),
                        json={"topic_id": topic, "state": "confirmed"})
        assert r.status_code == 200, r.text
    before = {
        "counts": {t["id"]: t["confirmed_links"] for t in client.get("/api/topics").json()},
        "facets": client.get("/api/search", params={"q": REPORT_QUERY, "country": "Guinea"}).json()["facets"],
        "topic": client.get(f"/api/topics/{topic}").json(),
    }
    for doc in (report, recording):
        assert client.delete(f"/api/documents/{doc}", headers=bearer(keys["staff"])).status_code == 204
    return {"report": report, "recording": recording, "passage": hit["passage_id"], "segment": segment,
            "topic": topic, "before": before, "recording_title": client.get(
                f"/api/documents/{recording}", headers=bearer(keys["staff"])).json()["title"]}


def targets(path: str, r: dict) -> list[str]:
    """The URLs of a route for each retracted thing its parameters can name."""
    values = {"doc_id": [r["report"], r["recording"]], "recording_id": [r["recording"]],
              "passage_id": [r["passage"], r["segment"]]}
    (param,) = [p for p in DOCUMENT_PARAMS if "{" + p + "}" in path]
    return [path.replace("{" + param + "}", v) for v in values[param]]


def seen(response) -> bool:
    """The caller was given the thing: a page or file, or the document page's redirect to its recording page."""
    if response.status_code == 303:
        return response.headers["location"].startswith("/recordings/")
    return response.status_code == 200


def test_every_route_naming_a_retracted_document_is_404_without_a_staff_key(site, retracted):
    from web.app import is_page

    client, keys, _ids = site
    app = client.app
    found = id_routes(app)
    paths = {r.path for r in found}
    # the API's routes come from its OpenAPI schema as well: none is left out of the walk
    schema = {p for p, ops in app.openapi()["paths"].items() if "get" in ops
              and any("{" + name + "}" in p for name in DOCUMENT_PARAMS)}
    assert schema <= paths, schema - paths
    assert {"/api/documents/{doc_id}", "/api/documents/{doc_id}/file", "/api/passages/{passage_id}",
            "/api/passages/{passage_id}/topics", "/api/recordings/{recording_id}",
            "/api/recordings/{recording_id}/media", "/documents/{doc_id}", "/recordings/{recording_id}",
            "/review/{recording_id}", "/staff/documents/{doc_id}"} <= paths
    sessions = {role: signed_in(client, keys[role]) for role in ROLES}
    anonymous = TestClient(app)
    titles = (REPORT_TITLE, retracted["recording_title"])
    checked = 0
    for route in found:
        role_needed = gate(route)
        page = is_page(route.path)
        for url in targets(route.path, retracted):
            # (caller, its role or None, its client, its headers); pages are read with the web session only
            callers = [("anonymous", None, anonymous, {})]
            callers += [(f"{role} session", role, sessions[role], {}) for role in ROLES]
            if not page:
                callers += [(f"{role} key", role, anonymous, bearer(keys[role])) for role in ROLES]
            for name, role, http, headers in callers:
                r = http.get(url, headers=headers, follow_redirects=False)
                checked += 1
                where = (route.path, url, name, r.status_code, r.text[:300])
                if role_needed is not None and role is None:
                    assert r.status_code in (303, 401), where  # sign in first
                    if r.status_code == 303:
                        assert r.headers["location"].startswith("/signin"), where
                elif role_needed is not None and not any(_grants(role, needed) for needed in role_needed):
                    assert r.status_code == 403, where
                elif role in SEE_RETRACTED:
                    assert seen(r), where
                else:
                    assert r.status_code == 404, where
                if not seen(r):
                    assert not any(t in r.text for t in titles), where
    assert checked > 100


def _grants(role: str, needed: str) -> bool:
    from kmh.catalog import GRANTS

    return needed in GRANTS[role]


def test_a_retracted_document_answers_like_one_that_never_existed(site, retracted):
    client, keys, _ids = site
    unknown = "0123456789ab"
    for path in ("/api/documents/{}", "/api/documents/{}/file", "/api/recordings/{}", "/api/recordings/{}/media"):
        doc = retracted["recording"] if "recordings" in path else retracted["report"]
        for headers in ({}, bearer(keys["reader"]), bearer(keys["organiser"])):
            gone, never = client.get(path.format(doc), headers=headers), client.get(path.format(unknown), headers=headers)
            assert gone.status_code == never.status_code == 404
            assert gone.headers["content-type"] == never.headers["content-type"] == "application/problem+json"
            assert gone.text.replace(doc, "ID") == never.text.replace(unknown, "ID"), (path, gone.text, never.text)
    page = client.get(f"/documents/{retracted['report']}", headers={"Accept-Language": "en"})
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert REPORT_TITLE not in page.text and "Kindia" not in page.text


def test_listings_search_and_facets_leave_it_out(site, retracted):
    client, keys, _ids = site
    report, recording, topic = retracted["report"], retracted["recording"], retracted["topic"]
    gone = (report, recording)

    # the catalog: not listed, not even when asked for retracted documents
    for params in ({"limit": 200}, {"limit": 200, "status": "retracted"}, {"limit": 200, "status": "any"}):
        items = client.get("/api/documents", params=params).json()["items"]
        assert not {d["id"] for d in items} & set(gone), params
    # search: no hit, and the facets count what is left (the report was Guinea's only report)
    q = client.get("/api/search", params={"q": REPORT_QUERY, "country": "Guinea"}).json()
    assert retracted["before"]["facets"]["type"].get("report", 0) > 0
    assert "report" not in q["facets"]["type"] and "2023" not in q["facets"]["year"]
    assert all(h["doc_id"] not in gone for h in q["hits"])
    for query in (REPORT_QUERY, "réintégration et développement séminaire"):
        for mode in ("hybrid", "dense", "keyword"):
            hits = client.get("/api/search", params={"q": query, "mode": mode, "k": 50}).json()["hits"]
            assert all(h["doc_id"] not in gone for h in hits), (query, mode)
    # the seminar: the recording is gone from its recordings and sessions
    sem = client.get(f"/api/seminars/{SEMINAR_ID}").json()
    assert recording not in str(sem)
    assert all(s["recording_id"] is None and s["url"] is None for s in sem["sessions"])
    # the topic: neither passage listed, and the counts follow
    before = retracted["before"]
    assert {p["doc_id"] for p in before["topic"]["publications"] + before["topic"]["segments"]} >= set(gone)
    now = client.get(f"/api/topics/{topic}").json()
    assert not {p["doc_id"] for p in now["publications"] + now["segments"]} & set(gone)
    assert now["confirmed_links"] == before["counts"][topic] - 2
    counts = {t["id"]: t["confirmed_links"] for t in client.get("/api/topics").json()}
    assert counts[topic] == before["counts"][topic] - 2
    # the pages that list: home, search, the seminar, the topic and the topics
    pages = ["/", f"/search?q={REPORT_QUERY}", f"/search?q={REPORT_QUERY}&country=Guinea", f"/seminars/{SEMINAR_ID}",
             f"/topics/{topic}", "/topics", "/seminars", f"/search?q=séminaire&seminar={SEMINAR_ID}"]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, url
        assert REPORT_TITLE not in r.text and report not in r.text and recording not in r.text, url
    # staff get the same listings (they find retracted documents by id and on their own pages)
    staff = bearer(keys["staff"])
    hits = client.get("/api/search", params={"q": REPORT_QUERY, "k": 50}, headers=staff).json()["hits"]
    assert all(h["doc_id"] not in gone for h in hits)


def test_staff_see_it_marked_retracted_and_restore_it(site, retracted):
    client, keys, _ids = site
    report, recording = retracted["report"], retracted["recording"]
    staff, admin = bearer(keys["staff"]), bearer(keys["admin"])
    assert client.get(f"/api/documents/{report}", headers=staff).json()["status"] == "retracted"
    assert client.get(f"/api/documents/{report}/file", headers=admin).content[:5] == b"%PDF-"
    assert client.get(f"/api/passages/{retracted['passage']}", headers=staff).json()["status"] == "retracted"
    assert client.get(f"/api/recordings/{recording}", headers=admin).json()["status"] == "retracted"
    listed = client.get("/api/documents", params={"status": "retracted"}, headers=staff).json()["items"]
    assert {d["id"]: d["status"] for d in listed} == {report: "retracted", recording: "retracted"}
    # the web pages, signed in: marked retracted; the file the page links to opens with the same session
    session = signed_in(client, keys["staff"])
    r = session.get(f"/documents/{report}", headers={"Accept-Language": "en"})
    assert r.status_code == 200 and REPORT_TITLE in r.text and "Retracted: only staff and admins see this page" in r.text
    assert session.get(f"/api/documents/{report}/file").status_code == 200
    r = session.get(f"/recordings/{recording}", headers={"Accept-Language": "fr"})
    assert r.status_code == 200 and "Retiré : seuls le personnel et les administrateurs" in r.text
    # a published document's page has no such mark
    other = client.get("/api/documents", params={"limit": 1}).json()["items"][0]["id"]
    assert "Retracted: only staff" not in session.get(f"/documents/{other}", headers={"Accept-Language": "en"}).text

    # restored: public again, everywhere
    for doc in (report, recording):
        r = client.patch(f"/api/documents/{doc}", headers=staff, json={"status": "published"})
        assert r.status_code == 200 and r.json()["status"] == "published"
    try:
        assert client.get(f"/api/documents/{report}").status_code == 200
        assert client.get(f"/documents/{report}").status_code == 200
        assert client.get(f"/recordings/{recording}").status_code == 200
        assert client.get(f"/api/passages/{retracted['segment']}").json()["status"] == "published"
        hits = client.get("/api/search", params={"q": REPORT_QUERY}).json()["hits"]
        assert hits[0]["doc_id"] == report
        topic = client.get(f"/api/topics/{retracted['topic']}").json()
        assert topic["confirmed_links"] == retracted["before"]["counts"][retracted["topic"]]
    finally:
        for doc in (report, recording):
            client.delete(f"/api/documents/{doc}", headers=staff)


def test_credentials_on_reads(site, retracted):
    client, keys, ids = site
    public = ids["maroc-avrr-foras-11300-migrants.txt"]
    # a stale web session reads as the public; a wrong Bearer key is refused
    stale = TestClient(client.app, cookies={"kmh_session": "expired-or-made-up"})
    assert stale.get(f"/api/documents/{public}").status_code == 200
    assert stale.get(f"/api/documents/{retracted['report']}").status_code == 404
    assert stale.get(f"/documents/{public}").status_code == 200
    wrong = client.get(f"/api/documents/{retracted['report']}", headers=bearer(keys["staff"][:-4] + "AAAA"))
    assert wrong.status_code == 401
    # another scheme (a proxy's Basic credentials) is no key at all
    basic = client.get(f"/api/documents/{public}", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 200
