"""More like this, end to end: GET /api/passages/{id}/similar and GET /api/documents/{id}/similar and the sections of
the document and recording pages, through the real app (real e5 model, real embedded store) on a copy of the web
corpus (the sample corpus with its seminar recording, the 3-page Kindia PDF report) plus an English page on the
Kindia report's subject (beekeeping) and a publication in two language editions (fishing cooperatives)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from kmh.settings import Settings
from tests.conftest import MODELS
from tests.helpers import RECORDING, REPORT_PDF, api_key, bearer, copy_data

REPORT_QUERY = "formation en apiculture et maraîchage, subvention pour les ruches"
BEES_EN = ("Beekeeping for returnees in Kindia",
           "Returnees in Guinea followed vocational training in beekeeping in Kindia. Counsellors helped each "
           "participant set up an apiary and buy hives with a small grant, and sell the honey on local markets. After "
           "a year, most apiaries produced enough honey to cover the needs of the household.")
FISH_FR = ("Coopératives de pêche à Mbour",
           "Les coopératives de pêche de Mbour au Sénégal accueillent des migrants de retour comme mareyeurs et "
           "réparateurs de filets ; la coopérative partage les revenus de la criée et forme les nouveaux membres.")
FISH_EN = ("Fishing cooperatives in Mbour",
           "The fishing cooperatives of Mbour in Senegal take in returning migrants as fish traders and net menders; "
           "the cooperative shares the income of the fish auction and trains new members.")
SEMINAR_PAGE = "page-seminaire.txt"


def write(folder: Path, name: str, doc: tuple[str, str], language: str, edition_of: str | None = None) -> None:
    (folder / name).write_text(doc[1] + "\n", encoding="utf-8")
    meta = {"title": doc[0], "type": "knowledge_paper", "date": "2023-05", "country": "Guinea", "language": language}
    if edition_of:
        meta["edition_of"] = edition_of
    (folder / (Path(name).stem + ".meta.yaml")).write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def site(web_template, tmp_path_factory, shared_embedders):
    from ingest.indexer import Indexer
    from kmh.runtime import open_catalog, open_vector_store
    from web.app import create_app

    root = tmp_path_factory.mktemp("similar")
    settings = Settings(data_dir=copy_data(web_template, root / "data"), models_dir=MODELS)
    lib = root / "lib"
    lib.mkdir()
    write(lib, "bees-en.txt", BEES_EN, "en")
    write(lib, "fish-fr.txt", FISH_FR, "fr", edition_of="fish-en.txt")
    write(lib, "fish-en.txt", FISH_EN, "en")
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        with Indexer(settings, catalog, store, encoder=shared_embedders[0].encoder) as indexer:
            indexer.warm_up()
            assert [r.status for r in indexer.run([lib])] == ["new"] * 3
    finally:
        store.close()
        catalog.close()
    keys = {role: api_key(settings, role) for role in ("reader", "staff")}
    with TestClient(create_app(settings)) as client:
        docs = client.get("/api/documents", params={"limit": 50}).json()["items"]
        ids = {d["filename"]: d["id"] for d in docs}
        yield client, ids, keys


def similar(client, kind: str, id: str, status: int = 200, headers: dict | None = None, **params) -> dict:
    r = client.get(f"/api/{kind}/{id}/similar", params=params, headers=headers or {})
    assert r.status_code == status, r.text
    return r.json()


def report_passage(client) -> dict:
    hit = client.get("/api/search", params={"q": REPORT_QUERY, "type": "report"}).json()["hits"][0]
    assert hit["citation"]["page"] == 3 and "apiculture" in hit["text"]
    return hit


def test_a_french_passage_finds_the_english_passage_on_its_subject_and_back(site):
    client, ids, _ = site
    source = report_passage(client)
    body = similar(client, "passages", source["passage_id"])
    assert body["source"] == {"kind": "passage", "id": source["passage_id"], "doc_id": ids[REPORT_PDF],
                              "title": source["title"], "language": "fr", "passages": 1}
    hits = body["hits"]
    docs = [h["doc_id"] for h in hits]
    assert len(hits) == 5 and len(set(docs)) == 5 and ids[REPORT_PDF] not in docs  # one per document, never itself
    # the English page on beekeeping in Kindia: among the first three, though five French passages on other subjects
    # have a higher raw cosine (e5 rates two texts in one language closer); its score is raised, its relevance not
    bees = [h for h in hits[:3] if h["doc_id"] == ids["bees-en.txt"]]
    assert bees, [(h["title"], h["score"], h["relevance"]) for h in hits]
    assert bees[0]["language"] == "en" and bees[0]["score"] > bees[0]["relevance"]
    assert sum(h["relevance"] > bees[0]["relevance"] for h in hits) >= 2
    assert all(h["score"] == h["relevance"] for h in hits if h["language"] == "fr")
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert bees[0]["citation"]["url"] == f"/api/documents/{ids['bees-en.txt']}/file"
    assert "<b>" in bees[0]["snippet"] and bees[0]["text"].startswith("Returnees in Guinea")

    # and back: the English page's passage finds the report's page 3 first, cited at its page
    back = similar(client, "passages", bees[0]["passage_id"], k=3)["hits"]
    assert back[0]["doc_id"] == ids[REPORT_PDF] and back[0]["passage_id"] == source["passage_id"]
    assert back[0]["citation"]["url"] == f"/api/documents/{ids[REPORT_PDF]}/file#page=3"
    # the language filter keeps only what it names
    assert {h["language"] for h in similar(client, "passages", source["passage_id"], lang="EN", k=20)["hits"]} == {"en"}
    assert {h["doc_type"] for h in similar(client, "passages", source["passage_id"], type="news")["hits"]} == {"news"}


def test_other_editions_of_the_source_are_never_listed_and_another_publication_shows_one(site):
    client, ids, _ = site
    fr, en = ids["fish-fr.txt"], ids["fish-en.txt"]
    published = set(ids.values())
    for source, other in ((fr, en), (en, fr)):
        hits = similar(client, "documents", source, k=20)["hits"]
        # every other document once, its own publication never (the translation would be the closest of all)
        assert {h["doc_id"] for h in hits} == published - {fr, en}, source
    # from another document: one edition of the publication, in the reader's language, linking the other
    for lang, shown, other in (("en", en, fr), ("fr", fr, en)):
        hits = similar(client, "documents", ids[REPORT_PDF], k=20, reader_lang=lang)["hits"]
        found = [h for h in hits if h["doc_id"] in (fr, en)]
        assert [h["doc_id"] for h in found] == [shown], lang
        assert [e["id"] for e in found[0]["other_editions"]] == [other]


def test_a_document_finds_recording_segments_and_a_recording_finds_documents(site):
    client, ids, _ = site
    recording = ids[RECORDING]
    body = similar(client, "documents", ids[SEMINAR_PAGE])
    assert body["source"]["kind"] == "document" and body["source"]["passages"] >= 2
    top = body["hits"][0]  # the seminar's own page is most like its recording
    assert top["doc_id"] == recording and top["doc_type"] == "recording"
    c = top["citation"]
    assert re.fullmatch(r"\d\d:\d\d:\d\d–\d\d:\d\d:\d\d", c["timestamp"]) and c["seminar_id"] and c["session"]
    assert c["url"] in (f"/api/recordings/{recording}/media", f"/api/recordings/{recording}/media#t={int(c['start'])}")
    # it plays from the second its sentence closest to the page is said, within its segment (search.moments)
    assert c["window_start"] <= c["start"] < c["window_end"]
    body = similar(client, "documents", recording, k=3)
    assert body["source"]["passages"] > 5 and recording not in {h["doc_id"] for h in body["hits"]}
    assert body["hits"][0]["doc_id"] == ids[SEMINAR_PAGE]
    # a segment's own similar passages leave its recording out
    segment = client.get(f"/api/recordings/{recording}").json()["segments"][3]["passage_id"]
    assert recording not in {h["doc_id"] for h in similar(client, "passages", segment, k=20)["hits"]}


def test_k_bounds_unknown_ids_and_filters(site):
    client, ids, _ = site
    doc = ids[REPORT_PDF]
    assert len(similar(client, "documents", doc, k=20)["hits"]) == len(ids) - 2  # itself, one fishing edition
    assert len(similar(client, "documents", doc, k=1)["hits"]) == 1
    for kind in ("documents", "passages"):
        for k in (0, 21, "x"):
            r = client.get(f"/api/{kind}/{doc}/similar", params={"k": k})
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
            assert r.json()["invalid_params"][0]["name"] == "k"
        r = client.get(f"/api/{kind}/0123456789ab/similar")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.get(f"/api/documents/{doc}/similar", params={"type": "novel"})
    assert r.status_code == 422 and r.json()["invalid_params"][0]["name"] == "type"


def test_the_openapi_schema_describes_both_routes(site):
    client, _, _ = site
    schema = client.get("/openapi.json").json()
    for path in ("/api/passages/{passage_id}/similar", "/api/documents/{doc_id}/similar"):
        op = schema["paths"][path]["get"]
        assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SimilarResponse")
        assert {"404", "422"} <= set(op["responses"])
        params = {p["name"]: p for p in op["parameters"]}
        assert set(params) >= {"k", "lang", "type", "reader_lang"}
        assert params["k"]["schema"]["maximum"] == 20 and params["k"]["schema"]["default"] == 5
    response = schema["components"]["schemas"]["SimilarResponse"]["properties"]
    assert response["hits"]["items"]["$ref"].endswith("/Hit") and "source" in response


def test_the_document_and_recording_pages_list_similar_ones_in_both_languages(site):
    client, ids, _ = site
    report, bees, recording = ids[REPORT_PDF], ids["bees-en.txt"], ids[RECORDING]
    for lang, heading in (("en", "More like this"), ("fr", "Sur le même sujet")):
        start = time.perf_counter()
        page = client.get(f"/documents/{bees}", headers={"Accept-Language": lang})
        elapsed = time.perf_counter() - start
        assert page.status_code == 200 and heading in page.text
        section = page.text.split('id="similar-h"')[1].split("</section>")[0]
        # the report's page 3 passage, linked in its document and at its page
        assert f'href="/documents/{report}#p-' in section and f'href="/api/documents/{report}/file#page=3"' in section
        assert f"/documents/{bees}#" not in section
        assert elapsed < 2, elapsed
        page = client.get(f"/recordings/{recording}", headers={"Accept-Language": lang})
        assert page.status_code == 200 and heading in page.text
        section = page.text.split('id="similar-h"')[1].split("</section>")[0]
        assert f'href="/documents/{ids[SEMINAR_PAGE]}#p-' in section and f"/recordings/{recording}?" not in section
    # a recording segment found from a document links its page at its second
    page = client.get(f"/documents/{ids[SEMINAR_PAGE]}", headers={"Accept-Language": "en"})
    assert re.search(rf'href="/recordings/{recording}\?t=\d+"', page.text.split('id="similar-h"')[1])


def test_retracted_documents_are_never_listed_and_a_retracted_source_is_not_found(site):
    client, ids, keys = site
    bees, report = ids["bees-en.txt"], ids[REPORT_PDF]
    source = report_passage(client)
    bees_passage = [h for h in similar(client, "passages", source["passage_id"], k=20)["hits"]
                    if h["doc_id"] == bees][0]["passage_id"]
    assert client.delete(f"/api/documents/{bees}", headers=bearer(keys["staff"])).status_code == 204
    try:
        for kind, id in (("passages", source["passage_id"]), ("documents", report)):
            for headers in ({}, bearer(keys["staff"])):  # staff too: listings show published documents only
                hits = similar(client, kind, id, k=20, headers=headers)["hits"]
                assert bees not in {h["doc_id"] for h in hits} and len(hits) == len(ids) - 3, (kind, headers)
        # the retracted source: not found for readers, as if it had never existed; staff still read it
        for kind, id in (("passages", bees_passage), ("documents", bees)):
            for headers in ({}, bearer(keys["reader"])):
                r = client.get(f"/api/{kind}/{id}/similar", headers=headers)
                assert r.status_code == 404 and BEES_EN[0] not in r.text
            assert similar(client, kind, id, headers=bearer(keys["staff"]))["hits"][0]["doc_id"] == report
        assert f"/documents/{bees}" not in client.get(f"/documents/{report}").text
    finally:
        r = client.patch(f"/api/documents/{bees}", json={"status": "published"}, headers=bearer(keys["staff"]))
        assert r.status_code == 200, r.text
    assert bees in {h["doc_id"] for h in similar(client, "passages", source["passage_id"], k=20)["hits"]}
