"""The HTTP API end to end: the real e5 model, the real embedded store, the sample corpus plus a generated PDF."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.indexer import Indexer
from kmh.runtime import open_catalog, open_vector_store
from kmh.settings import Settings
from tests.conftest import CORPUS, MODELS
from tests.helpers import HANDBOOK, SENEGAL, make_pdf
from tests.helpers import MOROCCO as MOROCCO_FILE

PROBLEM = "application/problem+json"
PDF_NAME = "rapport-terrain.pdf"


@pytest.fixture(scope="module")
def corpus_data(tmp_path_factory, shared_embedders):
    """A data folder holding the sample corpus and a 3-page PDF, ingested once; the store is closed after."""
    root = tmp_path_factory.mktemp("api")
    pdf = make_pdf(root / PDF_NAME)
    settings = Settings(data_dir=root / "data", models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        with Indexer(settings, catalog, store) as indexer:
            indexer.warm_up()
            results = indexer.run([CORPUS, pdf])
        assert [r.status for r in results] == ["new"] * 10, [(r.path.name, r.reason) for r in results]
        doc_ids = {r.path.name: r.doc_id for r in results}
    finally:
        store.close()
        catalog.close()
    return settings, doc_ids, pdf


@pytest.fixture(scope="module")
def client(corpus_data):
    settings, _, _ = corpus_data
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def doc_ids(corpus_data):
    return corpus_data[1]


def search(client, **params):
    r = client.get("/api/search", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json()


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == status and body["title"] and body["type"]
    assert body["instance"] == r.request.url.path
    return body


# -- search ---------------------------------------------------------------------------------------


def test_sustainable_reintegration_question_cites_the_handbook(client):
    body = search(client, q="When can reintegration be considered sustainable")
    found = [h for h in body["hits"][:5] if h["filename"] == HANDBOOK and "autosuffisance économique" in h["text"]]
    assert found, [(h["filename"], h["text"][:60]) for h in body["hits"]]
    hit = found[0]
    assert hit["doc_type"] == "handbook" and hit["language"] == "fr"
    assert hit["citation"]["section"]
    assert hit["citation"]["url"].startswith(f"/api/documents/{hit['doc_id']}/")
    assert 0 <= hit["citation"]["start"] < hit["citation"]["end"]
    assert "<mark>" in hit["highlight"]
    assert body["query"]["q"] == "When can reintegration be considered sustainable"
    assert body["query"]["k"] == 10 and body["query"]["mode"] == "hybrid"
    assert len(body["hits"]) <= 10 and body["total"] >= len(body["hits"])


def test_sustainable_reintegration_question_cites_the_handbook_first(client):
    """Acceptance criterion of the search-service issue; the sentence ranking decides it (docs/evaluation.md)."""
    body = search(client, q="When can reintegration be considered sustainable")
    top = body["hits"][0]
    assert top["filename"] == HANDBOOK, [(h["filename"], h["text"][:60]) for h in body["hits"][:5]]
    assert "autosuffisance économique" in top["text"] and "bien-être psychosocial" in top["text"]
    assert "Principaux messages" in top["citation"]["section"]
    # the snippet: the defining sentence in bold, not the headings the passage starts with
    assert "<b>On peut considérer que la <mark>réintégration</mark> est durable" in top["snippet"]
    assert "Principaux messages" not in top["snippet"] and "bien-être psychosocial" in top["snippet"]
    assert top["highlight"].index("<b>") == top["highlight"].index("<b>On peut considérer")
    assert top["citation"]["page"] == 1
    assert top["citation"]["url"] == f"/api/documents/{top['doc_id']}/file#page=1"  # the PDF, at the passage's page
    assert client.get(top["citation"]["url"]).status_code == 200


def test_french_question_finds_its_passage(client):
    body = search(client, q="Combien d'acteurs nationaux ont participé à l'atelier de Saly ?", k=5)
    top = body["hits"][0]
    assert top["filename"] == SENEGAL
    assert "36" in top["text"] and "Saly" in top["text"]


def test_english_question_finds_a_french_passage(client):
    body = search(client, q="How many migrants in Morocco have benefited from assisted voluntary return since 2005?", k=3)
    assert any(h["filename"] == MOROCCO_FILE and "11.300" in h["text"] for h in body["hits"]), [
        (h["filename"], h["text"][:80]) for h in body["hits"]
    ]
    assert all(h["language"] == "fr" for h in body["hits"])


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_every_mode_answers(client, mode):
    body = search(client, q="approche intégrée de la réintégration", mode=mode, k=5)
    assert body["query"]["mode"] == mode
    assert 0 < len(body["hits"]) <= 5
    assert all(h["doc_id"] and h["title"] and h["text"] for h in body["hits"])


def test_facets_are_present_and_add_up(client):
    body = search(client, q="réintégration des migrants de retour")
    facets = body["facets"]
    assert set(facets) == {"type", "language", "country", "year", "topic"}
    # facets count documents: every document has one type and one language; countries and years are optional
    documents = search(client, q="réintégration des migrants de retour", group_by_document=True)["total"]
    assert sum(facets["type"].values()) == documents == sum(facets["language"].values()) < body["total"]
    assert sum(facets["year"].values()) <= documents and sum(facets["country"].values()) <= documents
    assert set(facets["type"]) >= {"news", "handbook"}
    assert facets["language"] == {"fr": documents}
    assert {name: facets["country"].get(name) for name in ("Senegal", "Morocco", "Togo")} == {
        "Senegal": 1, "Morocco": 1, "Togo": 1}
    assert "2024" in facets["year"]


def test_filters_narrow_the_results(client):
    q = "réintégration des migrants de retour"
    everything = search(client, q=q, k=50)
    news = search(client, q=q, k=50, type="news")
    assert 0 < news["total"] < everything["total"]
    assert len({h["doc_id"] for h in news["hits"]}) == everything["facets"]["type"]["news"] == 3
    assert {h["doc_type"] for h in news["hits"]} == {"news"}
    assert news["query"]["type"] == "news"

    french = search(client, q=q, k=50, lang="fr")
    assert french["total"] == everything["total"]
    assert search(client, q=q, lang="en")["total"] == 0

    senegal = search(client, q=q, k=50, country="Senegal")
    assert 0 < senegal["total"] and everything["facets"]["country"]["Senegal"] == 1
    assert {h["filename"] for h in senegal["hits"]} == {SENEGAL}

    recent = search(client, q=q, k=50, year_from=2024)
    # 2024 and later: the PDF without sidecar is dated by its creation date (the day the test made it)
    assert recent["hits"] and all(int(h["published"][:4]) >= 2024 for h in recent["hits"])
    assert {h["published"][:4] for h in recent["hits"]} >= {"2024"}
    old = search(client, q=q, k=50, year_from=2019, year_to=2019)
    assert old["hits"] and all(h["published"].startswith("2019") for h in old["hits"])
    assert len({h["doc_id"] for h in old["hits"]}) == everything["facets"]["year"]["2019"]
    assert search(client, q=q, year_to=1999)["total"] == 0


def test_filter_values_match_in_any_case_and_accents(client):
    q = "réintégration des migrants de retour"
    senegal = search(client, q=q, k=50, country="Senegal")
    assert senegal["hits"] and {h["filename"] for h in senegal["hits"]} == {SENEGAL}
    for typed in ("senegal", "Sénégal", "SENEGAL"):
        body = search(client, q=q, k=50, country=typed)
        assert [h["passage_id"] for h in body["hits"]] == [h["passage_id"] for h in senegal["hits"]], typed
        assert body["facets"] == senegal["facets"] and body["query"]["country"] == typed
    nowhere = search(client, q=q, country="Atlantis")  # no document names it: nothing, not an error
    assert nowhere["total"] == 0 and nowhere["hits"] == []

    news = search(client, q=q, k=50, type="news")
    upper = search(client, q=q, k=50, type="News", lang="FR")
    assert [h["passage_id"] for h in upper["hits"]] == [h["passage_id"] for h in news["hits"]]
    assert upper["query"]["type"] == "news" and upper["query"]["lang"] == "fr"  # echoed as the facets name them


@pytest.mark.parametrize("params, name, allowed", [
    ({"lang": "xx"}, "lang", "ar, de, en, es, fr, it, pt"),
    ({"lang": "french"}, "lang", "ar, de, en, es, fr, it, pt"),
    ({"type": "novel"}, "type", "handbook, knowledge_paper, news, other, recording, report, seminar_page"),
])
def test_unknown_language_or_type_is_a_422_naming_the_allowed_values(client, params, name, allowed):
    body = assert_problem(client.get("/api/search", params={"q": "retour", **params}), 422)
    value = params[name]
    assert body["detail"] == f"parameter '{name}': must be one of: {allowed} (not '{value}')"
    assert body["invalid_params"] == [{"name": name, "location": "query",
                                       "reason": f"must be one of: {allowed} (not '{value}')"}]
    # the document list takes the same values
    listed = {"language" if name == "lang" else name: value}
    body = assert_problem(client.get("/api/documents", params=listed), 422)
    assert f"must be one of: {allowed}" in body["detail"] and f"'{next(iter(listed))}'" in body["detail"]


def test_paging_and_grouping(client):
    q = "réintégration durable"
    first = search(client, q=q, k=3)
    second = search(client, q=q, k=3, offset=3)
    assert first["total"] == second["total"]
    ids = [h["passage_id"] for h in first["hits"] + second["hits"]]
    assert len(ids) == len(set(ids)) == 6
    grouped = search(client, q=q, k=50, group_by_document=True)
    docs = [h["doc_id"] for h in grouped["hits"]]
    assert len(docs) == len(set(docs)) == grouped["total"] == 8  # seven documents and the recording


@pytest.mark.parametrize(
    "params, name",
    [
        ({"q": ""}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "retour", "k": 0}, "k"),
        ({"q": "retour", "k": 51}, "k"),
        ({"q": "retour", "k": "ten"}, "k"),
        ({"q": "retour", "offset": -1}, "offset"),
        ({"q": "retour", "mode": "bogus"}, "mode"),
        ({"q": "retour", "type": "novel"}, "type"),
        ({"q": "retour", "lang": "french"}, "lang"),
        ({"q": "retour", "year_from": 2024, "year_to": 2019}, "year_from"),
        ({}, "q"),
    ],
)
def test_bad_search_parameters_are_422_problems(client, params, name):
    body = assert_problem(client.get("/api/search", params=params), 422)
    assert f"'{name}'" in body["detail"]
    assert name in [p["name"] for p in body["invalid_params"]]


# -- passages -------------------------------------------------------------------------------------


def test_passage_comes_with_its_neighbours(client, doc_ids):
    # the generated PDF has one passage per page: the page-2 passage has one neighbour on each side
    hit = search(client, q="groupes de parole et soutien psychologique", k=1)["hits"][0]
    assert hit["doc_id"] == doc_ids[PDF_NAME] and hit["citation"]["page"] == 2
    r = client.get(f"/api/passages/{hit['passage_id']}", params={"neighbours": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["passage_id"] == hit["passage_id"] and body["text"] == hit["text"]
    assert body["citation"] == hit["citation"]
    assert [n["citation"]["page"] for n in body["before"]] == [1]
    assert [n["citation"]["page"] for n in body["after"]] == [3]
    assert "Gouvernance" in body["before"][0]["citation"]["section"]
    assert body["after"][0]["citation"]["url"] == f"/api/documents/{hit['doc_id']}/file#page=3"
    for n in body["before"] + body["after"]:
        assert n["doc_id"] == hit["doc_id"] and n["passage_id"] != hit["passage_id"]

    wide = client.get(f"/api/passages/{hit['passage_id']}", params={"neighbours": 5}).json()
    assert (len(wide["before"]), len(wide["after"])) == (1, 1)  # the document has no more
    alone = client.get(f"/api/passages/{hit['passage_id']}", params={"neighbours": 0}).json()
    assert alone["before"] == [] and alone["after"] == []
    assert_problem(client.get(f"/api/passages/{hit['passage_id']}", params={"neighbours": 11}), 422)


@pytest.mark.parametrize("passage_id", [str(uuid.uuid4()), "not-a-passage-id"])
def test_unknown_passage_is_a_404_problem(client, passage_id):
    body = assert_problem(client.get(f"/api/passages/{passage_id}"), 404)
    assert passage_id in body["detail"]


# -- documents ------------------------------------------------------------------------------------


def test_documents_are_paged_and_filtered(client, doc_ids):
    page = client.get("/api/documents", params={"limit": 2}).json()
    assert page["total"] == 8 and page["limit"] == 2 and page["offset"] == 0 and len(page["items"]) == 2
    seen = []
    for offset in range(0, 8, 2):
        seen += [d["id"] for d in client.get("/api/documents", params={"limit": 2, "offset": offset}).json()["items"]]
    assert sorted(seen) == sorted(i for i in doc_ids.values() if i)
    assert client.get("/api/documents", params={"offset": 8}).json()["items"] == []
    news = client.get("/api/documents", params={"type": "news"}).json()
    assert news["total"] == 3 and {d["doc_type"] for d in news["items"]} == {"news"}
    assert client.get("/api/documents", params={"type": "NEWS", "language": "Fr"}).json() == news
    assert client.get("/api/documents", params={"language": "en"}).json()["total"] == 0
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"type": "novel"}):
        body = assert_problem(client.get("/api/documents", params=bad), 422)
        assert f"'{next(iter(bad))}'" in body["detail"]


def test_document_detail_has_outline_and_history(client, doc_ids):
    doc_id = doc_ids[PDF_NAME]
    r = client.get(f"/api/documents/{doc_id}")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["id"] == doc_id and doc["filename"] == PDF_NAME and doc["format"] == "pdf"
    assert doc["page_count"] == 3 and doc["passage_count"] > 0 and doc["version"] == 1
    assert doc["file_url"] == f"/api/documents/{doc_id}/file"
    sections = {(o["section"], o["page"]) for o in doc["outline"]}
    assert {("Appui psychosocial", 2), ("Microentreprises agricoles", 3)} <= sections
    assert [v["version"] for v in doc["history"]] == [1]
    assert doc["history"][0]["passage_count"] == doc["passage_count"]
    assert "original_path" not in doc and "source_key" not in doc

    handbook = client.get(f"/api/documents/{doc_ids[HANDBOOK]}").json()
    assert handbook["doc_type"] == "handbook" and handbook["outline"]
    assert all(o["section"] for o in handbook["outline"])


def test_unknown_document_is_a_404_problem(client):
    for path in ("/api/documents/000000000000", "/api/documents/000000000000/file", "/api/documents/nope/file"):
        body = assert_problem(client.get(path), 404)
        assert "no document" in body["detail"]


def test_original_files_come_back_byte_for_byte(client, doc_ids, corpus_data):
    _, _, pdf = corpus_data
    r = client.get(f"/api/documents/{doc_ids[SENEGAL]}/file")
    assert r.status_code == 200
    assert r.content == (CORPUS / "news" / SENEGAL).read_bytes()
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-disposition"] == f'inline; filename="{SENEGAL}"'
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "sandbox"  # no script of an original runs on our origin

    r = client.get(f"/api/documents/{doc_ids[PDF_NAME]}/file")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert "content-security-policy" not in r.headers  # a sandbox policy keeps browsers' PDF viewers out
    assert r.content == pdf.read_bytes() and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"] == f'inline; filename="{PDF_NAME}"'


def test_the_sample_handbook_is_a_pdf_cited_at_its_pages(client, doc_ids):
    """The demo's handbook (typeset at setup from corpus-src/): each section on its page, each hit opening the
    original PDF at its page, served as itself for the browser's viewer."""
    doc = client.get(f"/api/documents/{doc_ids[HANDBOOK]}").json()
    assert (doc["format"], doc["mime"], doc["page_count"], doc["doc_type"]) == ("pdf", "application/pdf", 3, "handbook")
    assert doc["passage_count"] == 3
    outline = [(o["section"], o["level"], o["page"]) for o in doc["outline"]]
    assert ("Module 1: UNE APPROCHE INTÉGRÉE DE LA RÉINTÉGRATION", 1, 1) in outline
    assert {("Principaux messages", 2, 1), ("Public cible", 2, 3)} <= set(outline)
    for q, page, section in [
        ("Quand la réintégration est-elle considérée comme durable ?", 1, "Principaux messages"),
        ("Why are AVRR programmes increasingly supported by stakeholders?", 2, "Introduction"),
        ("public cible du manuel : chargés de dossier et fournisseurs de services", 3, "Public cible"),
    ]:
        top = search(client, q=q, k=1)["hits"][0]
        assert top["filename"] == HANDBOOK, (q, top["filename"])
        c = top["citation"]
        assert c["page"] == page and c["section"].endswith(section), (q, c)
        assert c["url"] == f"/api/documents/{doc_ids[HANDBOOK]}/file#page={page}"
    r = client.get(f"/api/documents/{doc_ids[HANDBOOK]}/file")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'inline; filename="{HANDBOOK}"'
    assert "content-security-policy" not in r.headers
    assert r.content == (CORPUS / "handbooks" / HANDBOOK).read_bytes()


def test_pdf_hit_opens_the_file_at_its_page(client, doc_ids):
    top = search(client, q="groupes de parole et soutien psychologique", k=1)["hits"][0]
    assert top["filename"] == PDF_NAME and top["doc_id"] == doc_ids[PDF_NAME]
    assert top["citation"]["page"] == 2 and top["citation"]["section"] == "Appui psychosocial"
    url = top["citation"]["url"]
    assert url == f"/api/documents/{doc_ids[PDF_NAME]}/file#page=2"
    r = client.get(url.split("#")[0])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"


# -- health, metrics, logs, schema ----------------------------------------------------------------


def test_health_and_readiness_once_started(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_not_ready_before_the_lifespan_has_run(corpus_data):
    settings, _, _ = corpus_data
    app = create_app(settings)
    c = TestClient(app)  # not entered: the lifespan has not run, nothing is loaded
    assert c.get("/healthz").status_code == 200
    body = assert_problem(c.get("/readyz"), 503)
    assert "not loaded" in body["detail"] and c.get("/readyz").headers["retry-after"] == "5"
    assert_problem(c.get("/api/search", params={"q": "retour"}), 503)
    assert_problem(c.get("/api/documents"), 503)
    assert_problem(c.get("/api/passages/x"), 503)


def test_missing_model_keeps_the_app_up_but_not_ready(tmp_path):
    models = tmp_path / "no-models"
    settings = Settings(data_dir=tmp_path / "data", models_dir=models)
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").status_code == 200
        body = assert_problem(c.get("/readyz"), 503)
        assert str(models / "multilingual-e5-small") in body["detail"]
        assert body["phase"] == "failed" and "retry-after" not in c.get("/readyz").headers
        assert_problem(c.get("/api/search", params={"q": "retour"}), 503)
        assert_problem(c.get("/api/documents/000000000000"), 503)
    # the failed load released the store: the folder can be opened again
    open_vector_store(settings).close()


def test_background_load_becomes_ready_and_searches_an_empty_index(tmp_path, shared_embedders):
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    with TestClient(create_app(settings, background_load=True)) as c:
        assert c.get("/healthz").status_code == 200
        deadline = time.monotonic() + 120
        while (r := c.get("/readyz")).status_code == 503 and time.monotonic() < deadline:
            assert r.json()["phase"] in ("starting", "loading"), r.text
            time.sleep(0.1)
        assert r.status_code == 200, r.text
        body = search(c, q="réintégration")
        assert body["total"] == 0 and body["hits"] == []
        assert set(body["facets"]) == {"type", "language", "country", "year", "topic"}
        assert c.get("/api/documents").json() == {"total": 0, "limit": 50, "offset": 0, "items": []}
    open_vector_store(settings).close()  # shutdown closed the store and released its lock


def test_metrics_after_a_search(client):
    search(client, q="approche intégrée", mode="keyword", k=2)
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "# TYPE kmh_http_request_duration_seconds histogram" in text
    assert 'kmh_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/search",status="200"}' in text
    counts = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line.startswith("kmh_")}
    assert counts['kmh_searches_total{mode="keyword"}'] >= 1
    assert counts["kmh_passages_indexed"] > 0
    # unmatched paths share one label value: no unbounded label sets
    client.get("/no/such/path/123")
    assert 'route="<unmatched>",status="404"' in client.get("/metrics").text
    assert "/no/such/path/123" not in client.get("/metrics").text


def test_each_request_logs_one_json_access_line(client, doc_ids, caplog):
    caplog.set_level(logging.INFO, logger="kmh.access")
    doc_id = doc_ids[HANDBOOK]
    assert client.get(f"/api/documents/{doc_id}").status_code == 200
    client.get("/api/search", params={"q": ""})
    lines = [json.loads(rec.getMessage()) for rec in caplog.records if rec.name == "kmh.access"]
    assert len(lines) == 2
    ok, bad = lines
    assert ok["method"] == "GET" and ok["path"] == f"/api/documents/{doc_id}"
    assert ok["route"] == "/api/documents/{doc_id}" and ok["status"] == 200
    assert isinstance(ok["duration_ms"], float) and ok["duration_ms"] >= 0 and ok["client"]
    assert bad["route"] == "/api/search" and bad["status"] == 422


def test_unexpected_errors_are_500_problems_without_tracebacks(corpus_data):
    settings, _, _ = corpus_data
    app = create_app(settings)

    def explode():
        raise RuntimeError("secret internals at /srv/kmh/thing.py")

    app.add_api_route("/boom", explode)
    c = TestClient(app, raise_server_exceptions=False)
    r = c.get("/boom")
    body = assert_problem(r, 500)
    assert body["type"].endswith(":internal-error") and body["detail"].startswith("an unexpected error")
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text


def test_openapi_lists_every_route(client):
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "KMH Search API" and schema["info"]["description"]
    assert set(schema["paths"]) >= {
        "/api/search", "/api/passages/{passage_id}", "/api/documents", "/api/documents/{doc_id}",
        "/api/documents/{doc_id}/file", "/healthz", "/readyz", "/metrics",
    }
    params = {p["name"] for p in schema["paths"]["/api/search"]["get"]["parameters"]}
    assert params == {"q", "k", "offset", "mode", "lang", "type", "country", "year_from", "year_to", "topic",
                      "seminar", "group_by_document", "include_weak", "reader_lang"}
    assert "application/problem+json" in schema["paths"]["/api/search"]["get"]["responses"]["422"]["content"]
    facets = schema["components"]["schemas"]["SearchResponse"]["properties"]["facets"]
    assert "documents (not passages)" in facets["description"]
    assert client.get("/docs").status_code == 200


def test_no_match_is_said_and_the_closest_passages_come_on_request(client):
    body = client.get("/api/search", params={"q": "What is the recipe for apple pie?"}).json()
    assert body["no_match"] is True and body["hits"] == [] and body["total"] == 0
    body = client.get("/api/search", params={"q": "What is the recipe for apple pie?", "include_weak": "true"}).json()
    assert body["no_match"] is True and body["total"] == 0 and body["available"] >= len(body["hits"]) > 0
    assert all(h["weak"] and h["relevance"] < 0.9 for h in body["hits"]) and body["query"]["include_weak"] is True
    body = client.get("/api/search", params={"q": "When can reintegration be considered sustainable?"}).json()
    assert body["no_match"] is False and 1 <= body["total"] <= body["available"]
    assert body["hits"][0]["weak"] is False and body["hits"][0]["relevance"] > 0.8
