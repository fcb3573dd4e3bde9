"""Search analytics through the real app (TestClient over the sample corpus): every search of the API and of the
search page is recorded with what was asked and found and nothing about who asked, the hit opened is reported with
the search's id, staff read the list, the CSV file and the weekly counts, readers are refused, old searches are
deleted, and a failure to record never fails a search. The catalog part also runs on PostgreSQL."""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from kmh.catalog import Catalog, SearchLogRecord
from kmh.catalog.models import SearchLog
from search.results import SearchQuery, SearchResults
from services.analytics import SearchRecorder
from tests.helpers import bearer, signed_in, web_site

ANSWERED = "When can reintegration be considered sustainable?"
NONSENSE = "What is the recipe for apple pie?"
# What the reader sends that must not be kept anywhere.
FORWARDED = "203.0.113.77"
AGENT = "Mozilla/5.0 (analytics-test-agent)"


@pytest.fixture(scope="module")
def site(web_template, tmp_path_factory):
    with web_site(web_template, tmp_path_factory.mktemp("analytics"), ("reader", "staff", "organiser", "admin")) as (
            client, keys, _):
        yield client, keys


def runtime(client):
    return client.app.state.runtime


def recorded(client, keys, **params) -> list[dict]:
    """The recorded searches (newest first), after writing those waiting."""
    runtime(client).analytics.flush()
    r = client.get("/api/analytics/searches", params={"limit": 1000, **params}, headers=bearer(keys["staff"]))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def search(client, q: str, **params) -> dict:
    r = client.get("/api/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_every_search_is_recorded_with_what_it_found_and_nothing_about_who_asked(site):
    client, keys = site
    session = signed_in(client, keys["staff"])  # signed in: a session cookie, and a key behind it
    headers = {**bearer(keys["reader"]), "X-Forwarded-For": FORWARDED, "User-Agent": AGENT}
    found = client.get("/api/search", params={"q": "  " + ANSWERED + " ", "type": "handbook", "lang": "EN"},
                       headers=headers, cookies={"kmh_lang": "fr"})
    assert found.status_code == 200, found.text
    answered = found.json()
    nothing = session.get("/api/search", params={"q": NONSENSE, "mode": "dense"}, headers=headers).json()
    page = session.get("/search", params={"q": "l'apiculture à Kindia", "country": "guinea", "year_from": "2023"},
                      headers={"X-Forwarded-For": FORWARDED, "User-Agent": AGENT})
    assert page.status_code == 200
    page_id = re.search(r'data-search="([0-9a-f]{16})"', page.text).group(1)
    assert '<script src="/static/analytics.js" defer></script>' in page.text
    assert re.search(r'<article class="hit" id="hit-1" data-passage="[0-9a-f-]+">', page.text)
    for body in (answered, nothing):
        assert re.fullmatch(r"[0-9a-f]{16}", body["search_id"])

    rows = {r["id"]: r for r in recorded(client, keys)}
    a, n, w = rows[answered["search_id"]], rows[nothing["search_id"]], rows[page_id]
    assert (a["query"], a["language"], a["channel"], a["mode"], a["offset"]) == (ANSWERED, "en", "api", "hybrid", 0)
    assert a["filters"] == {"type": "handbook", "lang": "en"}  # as searched (lang=EN is en)
    assert a["no_match"] is answered["no_match"] and a["result_count"] == answered["total"]
    assert a["hits"] == [h["passage_id"] for h in answered["hits"]]
    assert (n["no_match"], n["result_count"], n["hits"], n["mode"], n["language"]) == (True, 0, [], "dense", "en")
    assert (w["channel"], w["query"], w["language"]) == ("web", "l'apiculture à Kindia", "fr")
    assert w["filters"] == {"country": "guinea", "year_from": 2023} and w["result_count"] >= 1 and not w["no_match"]
    assert datetime.fromisoformat(w["at"]) > datetime.now(timezone.utc) - timedelta(minutes=5)
    assert w["week"] == "{}-W{:02d}".format(*datetime.now(timezone.utc).isocalendar()[:2])

    # the table has no column for the reader, and no row holds anything the requests carried about them
    columns = {c["name"] for c in inspect(runtime(client).catalog.engine).get_columns("search_log")}
    assert columns == {"id", "at", "week", "channel", "query", "query_norm", "language", "mode", "filters",
                       "page_offset", "result_count", "no_match", "hits", "opened_passage", "opened_at"}
    with runtime(client).catalog.engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(select(SearchLog)) for v in row)
    key_ids = [k.split("_")[1] for k in keys.values()]
    secrets_ = [*keys.values(), *key_ids, session.cookies["kmh_session"], FORWARDED, AGENT, "testclient", "127.0.0.1"]
    assert not [s for s in secrets_ if s in stored]


def report(client, search_id: str, passage_id: str):
    return client.post("/api/analytics/opened", params={"search_id": search_id, "passage_id": passage_id})


def test_the_hit_opened_is_reported_once_with_the_search_id(site, caplog):
    client, keys = site
    anonymous = TestClient(client.app)  # no key, no cookie: the search's id is enough
    waiting = search(client, "réintégration communautaire")  # still in memory when reported
    second = waiting["hits"][1]["passage_id"]
    with caplog.at_level(logging.INFO, logger="kmh.access"):
        assert report(anonymous, waiting["search_id"], second).status_code == 204
    access = [r.getMessage() for r in caplog.records if r.name == "kmh.access"]
    assert access and not [line for line in access if waiting["search_id"] in line]  # no search tied to a client
    assert report(anonymous, waiting["search_id"], waiting["hits"][0]["passage_id"]).status_code == 204  # kept
    written = search(client, "appui psychosocial aux migrants de retour")
    runtime(client).analytics.flush()  # in the catalog when reported
    first = written["hits"][0]["passage_id"]
    wrong = report(anonymous, written["search_id"], "not-one-of-its-hits")
    assert wrong.status_code == 422 and wrong.json()["invalid_params"][0]["name"] == "passage_id"
    assert report(anonymous, written["search_id"], first).status_code == 204
    for unknown in ("0123456789abcdef", "not-an-id"):
        r = report(anonymous, unknown, first)
        assert r.status_code == 404 and r.json()["search_id"] == unknown
    rows = {r["id"]: r for r in recorded(client, keys)}
    assert (rows[waiting["search_id"]]["opened_passage"], rows[waiting["search_id"]]["opened_rank"]) == (second, 2)
    assert (rows[written["search_id"]]["opened_passage"], rows[written["search_id"]]["opened_rank"]) == (first, 1)
    assert rows[written["search_id"]]["opened_at"] >= rows[written["search_id"]]["at"]


def test_staff_read_the_list_the_csv_and_the_weekly_counts_and_readers_are_refused(site):
    client, keys = site
    for q in ("Réintégration durable ?", "réintégration   DURABLE", "=HYPERLINK(\"http://evil.example\")",
              "apiculture"):
        search(client, q)
    opened = search(client, "réintégration durable", offset=1)  # a further page: not another search
    assert report(client, opened["search_id"], opened["hits"][0]["passage_id"]).status_code == 204
    search(client, NONSENSE)
    runtime(client).analytics.flush()
    staff = bearer(keys["staff"])

    r = client.get("/api/analytics/summary", params={"weeks": 1}, headers=staff)
    assert r.status_code == 200, r.text
    body = r.json()
    top = {q["query"]: q for q in body["top"]}
    assert (top["réintégration durable"]["searches"], top["réintégration durable"]["opened"]) == (2, 1)
    assert NONSENSE.casefold().rstrip("?").strip() in {q["query"] for q in body["no_match_queries"]}
    unopened = {q["query"] for q in body["no_click_queries"]}
    assert "réintégration durable" not in unopened and "apiculture" in unopened
    (week,) = body["weeks"]
    assert week["searches"] == body["searches"] == sum(q["searches"] for q in body["top"]) >= 5
    assert week["no_match"] == body["no_match"] >= 1 and body["opened"] >= 1 and body["retention_days"] == 180

    r = client.get("/api/analytics/searches", params={"format": "csv"}, headers=staff)
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="kmh-searches.csv"'
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert len(table) == len(recorded(client, keys)) and table[0]["at"] >= table[-1]["at"]  # newest first
    assert "'=HYPERLINK(\"http://evil.example\")" in [row["query"] for row in table]  # never runs as a formula
    assert not [row for row in table for cell in row.values() if cell[:1] in ("=", "+", "-", "@")]
    only = list(csv.DictReader(io.StringIO(client.get("/api/analytics/searches", headers=staff, params={
        "format": "csv", "no_match": "true"}).text)))
    assert only and {row["no_match"] for row in only} == {"true"} and {row["results"] for row in only} == {"0"}
    tomorrow = (datetime.now(timezone.utc).date() + timedelta(days=1)).isoformat()
    assert client.get("/api/analytics/searches", params={"since": tomorrow}, headers=staff).json()["total"] == 0
    bad = client.get("/api/analytics/searches", params={"since": tomorrow, "until": "2020-01-01"}, headers=staff)
    assert bad.status_code == 422 and bad.json()["invalid_params"][0]["name"] == "since"

    # the staff page: the four views in both languages, with the CSV links, linked from the staff page
    session = signed_in(client, keys["staff"])
    assert 'href="/staff/analytics"' in session.get("/staff").text
    en = session.get("/staff/analytics", headers={"Accept-Language": "en"}).text
    fr = session.get("/staff/analytics", cookies={"kmh_lang": "fr"}).text
    for html, words in ((en, ("Most searched", "Found nothing", "Results nobody opened", "By week")),
                        (fr, ("Les plus recherchées", "Sans résultat", "Résultats que personne n'a ouverts",
                              "Par semaine"))):
        assert all(w in unescape(html) for w in words) and ">réintégration durable</a>" in html
        assert 'href="/api/analytics/searches?format=csv&amp;since=' in html
    csv_link = re.search(r'href="(/api/analytics/searches\?format=csv[^"]*)"', en).group(1).replace("&amp;", "&")
    assert session.get(csv_link).text.startswith("id,at,week,channel,query")  # the session cookie is enough

    # readers and organisers are refused, with a key or a session
    for path in ("/api/analytics/searches", "/api/analytics/summary"):
        assert client.get(path).status_code == 401
        for role in ("reader", "organiser"):
            assert client.get(path, headers=bearer(keys[role])).status_code == 403
        assert client.get(path, headers=bearer(keys["admin"])).status_code == 200
    assert client.delete("/api/analytics/searches", params={"all": "true"}).status_code == 401
    assert client.delete("/api/analytics/searches", params={"all": "true"},
                         headers=bearer(keys["reader"])).status_code == 403
    assert signed_in(client, keys["reader"]).get("/staff/analytics").status_code == 403
    assert TestClient(client.app).get("/staff/analytics", follow_redirects=False).status_code == 303


def test_old_searches_are_deleted_and_staff_may_delete_them(site):
    client, keys = site
    catalog, recorder = runtime(client).catalog, runtime(client).analytics
    now = datetime.now(timezone.utc)
    old = [SearchLogRecord(id=f"{n:016x}", at=now - timedelta(days=days), channel="api", query="ancienne question",
                           mode="hybrid", filters={}, page_offset=0, result_count=1, no_match=False, hits=["p"],
                           week="2020-W01", query_norm="ancienne question")
           for n, days in ((1, 181), (2, 179), (3, 40))]
    catalog.add_searches(old)
    assert recorder.days == 180 and recorder.purge() == 1  # at start and daily in the server's analytics thread
    kept = {r["id"] for r in recorded(client, keys)}
    assert {old[1].id, old[2].id} <= kept and old[0].id not in kept

    staff = bearer(keys["staff"])
    before = (now - timedelta(days=100)).date()
    r = client.delete("/api/analytics/searches", params={"before": before.isoformat()}, headers=staff)
    assert r.status_code == 200 and r.json() == {"deleted": 1, "before": before.isoformat()}
    assert client.delete("/api/analytics/searches", headers=staff).status_code == 422  # a day or all=true
    entry = client.get("/api/audit", params={"action": "analytics.delete"}, headers=bearer(keys["admin"])).json()
    assert entry["items"][0]["detail"]["deleted"] == 1 and entry["items"][0]["actor"] == "test staff"
    search(client, "retour volontaire assisté")
    r = client.delete("/api/analytics/searches", params={"all": "true"}, headers=staff)
    assert r.status_code == 200 and r.json()["deleted"] >= 2 and r.json()["before"] is None
    assert recorded(client, keys) == []


def test_a_failure_to_record_never_fails_a_search(site, monkeypatch, caplog):
    client, keys = site
    recorder = runtime(client).analytics

    def broken(*args, **kwargs):
        raise RuntimeError("the recorder is broken")

    monkeypatch.setattr(recorder, "record", broken)
    with caplog.at_level(logging.ERROR, logger="kmh.analytics"):
        body = search(client, ANSWERED)
        assert client.get("/search", params={"q": ANSWERED}).status_code == 200
    assert body["search_id"] is None and body["hits"]
    assert "a search could not be recorded" in caplog.text
    monkeypatch.undo()

    # the catalog refusing the write: the searches answered, the failure logged, the searches after it recorded
    caplog.clear()
    monkeypatch.setattr(recorder.catalog, "add_searches", broken)
    lost = search(client, "gouvernance de la réintégration")
    with caplog.at_level(logging.ERROR, logger="kmh.analytics"):
        assert recorder.flush() == 0
    assert "1 searches could not be written" in caplog.text and lost["hits"]
    monkeypatch.undo()
    later = search(client, "gouvernance de la réintégration au Togo")
    ids = {r["id"] for r in recorded(client, keys)}
    assert later["search_id"] in ids and lost["search_id"] not in ids

    # KMH_ANALYTICS_DAYS=0: nothing recorded, no id given
    monkeypatch.setattr(runtime(client), "analytics", SearchRecorder(recorder.catalog, days=0))
    assert search(client, ANSWERED)["search_id"] is None
    assert 'data-search' not in client.get("/search", params={"q": ANSWERED}).text


# -- the catalog's part, on SQLite and PostgreSQL ------------------------------------------------------------------


def test_search_log_in_the_catalog(new_catalog_url):
    catalog = Catalog(new_catalog_url())
    try:
        recorder = SearchRecorder(catalog, days=30)
        now = datetime.now(timezone.utc)
        query = SearchQuery(q="Projets communautaires ?", lang="fr", year_from=2020)
        answer = SearchResults(hits=[], facets={}, total=3, query=query, no_match=False)
        ids = [recorder.record(query, answer, "web") for _ in range(5)]
        recorder.close()  # writes what waits
        rows, total = catalog.searches()
        assert total == 5 and {r.id for r in rows} == set(ids)
        assert {(r.query_norm, r.language, r.week, str(r.filters)) for r in rows} == {(
            "projets communautaires", "fr", "{}-W{:02d}".format(*now.isocalendar()[:2]),
            "{'lang': 'fr', 'year_from': 2020}")}
        catalog.add_searches([SearchLogRecord(id="f" * 16, at=now - timedelta(days=8), channel="api", query="X",
                                              mode="keyword", filters={}, page_offset=0, result_count=0,
                                              no_match=True, hits=["p1", "p2"], week="2000-W01", query_norm="x")])
        assert catalog.search_opened("f" * 16, "p3") == "not_a_hit"
        assert [catalog.search_opened("f" * 16, p) for p in ("p2", "p1")] == ["set", "already"]
        assert catalog.search_opened("e" * 16, "p1") == "unknown"
        assert [r.id for r in catalog.iter_searches(batch=2)] == [*[r.id for r in rows], "f" * 16]  # newest first
        assert [r.opened_rank for r in catalog.iter_searches(no_match=True)] == [2]
        summary = catalog.search_summary(since=now - timedelta(days=30), until=now + timedelta(seconds=1))
        assert [(q.query, q.searches, q.no_match, q.opened) for q in summary.top] == [
            ("projets communautaires", 5, 0, 0), ("x", 1, 1, 1)]
        assert [q.query for q in summary.no_match_queries] == ["x"]
        assert [q.query for q in summary.no_click_queries] == ["projets communautaires"]
        assert summary.top[0].last_at.tzinfo is not None
        assert [(w.week, w.searches, w.queries) for w in summary.weeks] == [
            ("2000-W01", 1, 1), ("{}-W{:02d}".format(*now.isocalendar()[:2]), 5, 1)]
        assert recorder.purge() == 0 and SearchRecorder(catalog, days=7).purge() == 1
        assert catalog.delete_searches(before=None, actor=None) == 5
        assert catalog.audit_log(action="analytics.delete")[0][0].detail == {"before": None, "deleted": 5}
    finally:
        catalog.close()

