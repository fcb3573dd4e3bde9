"""Language editions end to end: sidecars naming another edition (either order, one run or two), the catalog's
publications, the API (GET editions, staff link and unlink, audited), search showing one edition per publication in the
reader's language with the other linked, retraction, and the pages. Real model, real embedded store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from kmh.settings import Settings
from tests.conftest import MODELS
from tests.helpers import api_key, bearer, signed_in

FR = ("Guide de la réintégration économique à Kindia",
      "Les personnes de retour en Guinée ont suivi une formation professionnelle en apiculture à Kindia. Les "
      "conseillers ont aidé chaque participant à ouvrir un rucher et à vendre le miel sur les marchés locaux. Après "
      "un an, la plupart des ruchers produisaient assez de miel pour couvrir les besoins du ménage.")
EN = ("Guide to economic reintegration in Kindia",
      "Returnees in Guinea followed vocational training in beekeeping in Kindia. Counsellors helped each participant "
      "set up an apiary and sell the honey on local markets. After a year, most apiaries produced enough honey to "
      "cover the needs of the household.")
SOLO = ("Note sur les coopératives de pêche à Mbour",
        "Les coopératives de pêche de Mbour au Sénégal accueillent des migrants de retour comme mareyeurs et "
        "réparateurs de filets; la coopérative partage les revenus de la criée.")
QUESTION_FR = "formation en apiculture des personnes de retour à Kindia"
QUESTION_EN = "beekeeping training for returnees in Kindia"


def write(folder: Path, name: str, doc: tuple[str, str], language: str, edition_of: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(doc[1] + "\n", encoding="utf-8")
    meta = {"title": doc[0], "type": "knowledge_paper", "date": "2023-05", "country": "Guinea", "language": language}
    if edition_of:
        meta["edition_of"] = edition_of
    (folder / (path.stem + ".meta.yaml")).write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    return path


def ingest(settings: Settings, encoder, *paths: Path):
    from ingest.indexer import Indexer
    from kmh.runtime import open_catalog, open_vector_store

    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        with Indexer(settings, catalog, store, encoder=encoder) as indexer:
            indexer.warm_up()
            return indexer.run(list(paths))
    finally:
        store.close()
        catalog.close()


def editions_in(settings: Settings, doc_id: str) -> list[tuple[str | None, str]]:
    from kmh.runtime import open_catalog

    catalog = open_catalog(settings)
    try:
        return [(e.language, e.filename) for e in catalog.editions(doc_id)]
    finally:
        catalog.close()


@pytest.mark.parametrize("first", ["fr", "en"])
def test_a_sidecar_links_the_editions_whichever_is_ingested_first(tmp_path, shared_embedders, first):
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    fr = write(tmp_path / "fr", "guide-fr.txt", FR, "fr", edition_of="guide-en.txt")
    en = write(tmp_path / "en", "guide-en.txt", EN, "en")
    one, two = (fr, en) if first == "fr" else (en, fr)
    (r1,) = ingest(settings, shared_embedders[0].encoder, one)
    assert r1.status == "new", r1
    if first == "fr":  # the other edition is not there yet: said in the summary, the document ingested all the same
        assert r1.notes == ["edition_of: no document named 'guide-en.txt' yet; linked when it is ingested"]
    else:
        assert r1.notes == []
    assert editions_in(settings, r1.doc_id) == [("fr" if first == "fr" else "en", one.name)]
    (r2,) = ingest(settings, shared_embedders[0].encoder, two)
    assert r2.status == "new" and r2.notes == [], r2
    assert editions_in(settings, r1.doc_id) == editions_in(settings, r2.doc_id) == [
        ("en", "guide-en.txt"), ("fr", "guide-fr.txt")]
    # ingesting the unchanged files again changes nothing; the link survives a new version of either edition
    again = ingest(settings, shared_embedders[0].encoder, fr, en)
    assert [r.status for r in again] == ["unchanged", "unchanged"]
    en.write_text(EN[1] + " The guide was revised in 2024.\n", encoding="utf-8")
    (updated,) = ingest(settings, shared_embedders[0].encoder, en)
    assert updated.status == "updated"
    assert editions_in(settings, updated.doc_id) == [("en", "guide-en.txt"), ("fr", "guide-fr.txt")]


def test_an_unknown_edition_is_noted_in_the_cli_summary(tmp_path, shared_embedders, monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app

    monkeypatch.setenv("KMH_DATA_DIR", str(tmp_path / "data"))
    doc = write(tmp_path / "lib", "guide-fr.txt", FR, "fr", edition_of="guide-pt.txt")
    out = CliRunner().invoke(app, ["ingest", str(doc)], env={"COLUMNS": "400"})
    assert out.exit_code == 0, out.output  # not a failure of the document
    assert "no document named 'guide-pt.txt'" in out.output and "1 new" in out.output


# -- one library, through the API and the pages ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory, shared_embedders):
    """Both editions and a lone note, ingested in one run (the French one named first, naming the English one)."""
    root = tmp_path_factory.mktemp("editions")
    settings = Settings(data_dir=root / "data", models_dir=MODELS)
    lib = root / "lib"
    paths = [write(lib, "a-guide-fr.txt", FR, "fr", edition_of="b-guide-en.txt"),
             write(lib, "b-guide-en.txt", EN, "en"), write(lib, "c-note.txt", SOLO, "fr")]
    results = ingest(settings, shared_embedders[0].encoder, *paths)
    assert [(r.status, r.notes) for r in results] == [("new", [])] * 3, results
    ids = {"fr": results[0].doc_id, "en": results[1].doc_id, "solo": results[2].doc_id}
    keys = {role: api_key(settings, role) for role in ("reader", "staff", "admin")}
    from web.app import create_app

    with TestClient(create_app(settings)) as client:
        yield client, ids, keys


def search(client, q: str, **params) -> list[dict]:
    r = client.get("/api/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()["hits"]


def test_get_document_lists_its_editions(library):
    client, ids, _ = library
    body = client.get(f"/api/documents/{ids['fr']}").json()
    assert body["editions"] == [{"id": ids["en"], "language": "en", "title": EN[0],
                                 "url": f"/api/documents/{ids['en']}"}]
    assert client.get(f"/api/documents/{ids['en']}").json()["editions"][0]["id"] == ids["fr"]
    assert client.get(f"/api/documents/{ids['solo']}").json()["editions"] == []


def test_search_shows_one_edition_in_the_readers_language_and_links_the_other(library):
    client, ids, _ = library
    for question in (QUESTION_FR, QUESTION_EN):
        for reader, shown, other in (("fr", "fr", "en"), ("en", "en", "fr")):
            hits = search(client, question, reader_lang=reader)
            docs = [h["doc_id"] for h in hits]
            assert ids[shown] in docs and ids[other] not in docs, (question, reader, docs)
            first = next(h for h in hits if h["doc_id"] == ids[shown])
            assert hits[0]["doc_id"] == ids[shown]  # the publication answers best, in the reader's language
            assert [(e["id"], e["language"]) for e in first["other_editions"]] == [(ids[other], other)]
    # without a reader's language, the question's
    assert search(client, QUESTION_EN)[0]["doc_id"] == ids["en"]
    assert search(client, QUESTION_FR)[0]["doc_id"] == ids["fr"]
    # a filter on the language searches that edition only, still linking the other
    hits = search(client, QUESTION_FR, lang="en", reader_lang="fr")
    assert {h["doc_id"] for h in hits} == {ids["en"]} and hits[0]["other_editions"][0]["id"] == ids["fr"]


def test_the_search_page_links_the_other_edition_in_both_interface_languages(library):
    client, ids, _ = library
    for ui, shown, other, label in (("fr", "fr", "en", "Aussi en anglais"), ("en", "en", "fr", "Also in French")):
        page = client.get("/search", params={"q": QUESTION_FR}, headers={"Accept-Language": ui}).text
        assert f'href="/documents/{ids[shown]}#p-' in page and f"/documents/{ids[other]}#p-" not in page
        link = re.search(rf'<a href="/documents/{ids[other]}" hreflang="{other}" title="[^"]+">([^<]+)</a>', page)
        assert link and link.group(1) == label, page[page.find('class="editions"') - 200:][:800]


def test_the_document_page_links_its_editions(library):
    client, ids, _ = library
    page = client.get(f"/documents/{ids['fr']}", headers={"Accept-Language": "en"}).text
    assert "Other language editions" in page
    assert f'<a href="/documents/{ids["en"]}" hreflang="en">Also in English</a>' in page and EN[0] in page
    page = client.get(f"/documents/{ids['solo']}", headers={"Accept-Language": "fr"}).text
    assert "Autres éditions linguistiques" not in page


def test_staff_link_and_unlink_through_the_api_audited(library):
    client, ids, keys = library
    staff, url = bearer(keys["staff"]), f"/api/documents/{ids['solo']}/editions"
    # a reader may not; an unknown id is a 404 naming it; a document is no edition of itself
    assert client.put(url, json={"edition_of": ids["en"]}, headers=bearer(keys["reader"])).status_code == 403
    r = client.put(url, json={"edition_of": "ffffffffffff"}, headers=staff)
    assert r.status_code == 404 and r.json()["doc_id"] == "ffffffffffff" and "ffffffffffff" in r.json()["detail"]
    r = client.put("/api/documents/eeeeeeeeeeee/editions", json={"edition_of": ids["en"]}, headers=staff)
    assert r.status_code == 404 and r.json()["doc_id"] == "eeeeeeeeeeee"
    r = client.put(url, json={"edition_of": ids["solo"]}, headers=staff)
    assert r.status_code == 422 and r.json()["invalid_params"][0]["name"] == "edition_of"
    # the lone note is French, and the publication has its French edition: refused
    r = client.put(url, json={"edition_of": ids["en"]}, headers=staff)
    assert r.status_code == 409 and ids["fr"] in r.json()["detail"] and "one edition per language" in r.json()["detail"]
    # the French edition leaves, the note comes in its place; then back as it was
    assert client.delete(f"/api/documents/{ids['fr']}/editions", headers=staff).status_code == 204
    assert client.get(f"/api/documents/{ids['en']}").json()["editions"] == []
    assert [h["other_editions"] for h in search(client, QUESTION_FR, reader_lang="fr")][:1] == [[]]
    r = client.put(url, json={"edition_of": ids["en"]}, headers=staff)
    assert r.status_code == 200 and r.json() == {"doc_id": ids["solo"], "editions": [
        {"id": ids["en"], "language": "en", "title": EN[0], "url": f"/api/documents/{ids['en']}"}]}
    assert [e["id"] for e in client.get(f"/api/documents/{ids['en']}").json()["editions"]] == [ids["solo"]]
    assert client.delete(url, headers=staff).status_code == 204
    r = client.put(f"/api/documents/{ids['fr']}/editions", json={"edition_of": ids["en"]}, headers=staff)
    assert r.status_code == 200 and [e["id"] for e in r.json()["editions"]] == [ids["en"]]
    log = client.get("/api/audit", headers=bearer(keys["admin"]), params={"target": ids["solo"]}).json()["items"]
    assert [(e["action"], e["actor"]) for e in reversed(log)] == [
        ("document.link_edition", "test staff"), ("document.unlink_edition", "test staff")]
    assert log[1]["detail"]["edition_of"] == ids["en"]
    log = client.get("/api/audit", headers=bearer(keys["admin"]), params={"target": ids["fr"]}).json()["items"]
    assert [e["action"] for e in reversed(log)][-2:] == ["document.unlink_edition", "document.link_edition"]
    # the sidecar's link at ingest was audited too, by the command line
    log = client.get("/api/audit", headers=bearer(keys["admin"]),
                     params={"action": "document.link_edition"}).json()["items"]
    assert log[-1]["actor"] == "cli" and log[-1]["detail"]["source"] == "sidecar"
    # an edition's language cannot become one the publication has: refused before the passages change
    r = client.patch(f"/api/documents/{ids['en']}", json={"language": "fr"}, headers=staff)
    assert r.status_code == 409 and "one edition per language" in r.json()["detail"]
    assert client.get(f"/api/documents/{ids['en']}").json()["language"] == "en"
    assert ids["en"] in {h["doc_id"] for h in search(client, QUESTION_EN, lang="en")}


def test_staff_page_links_and_unlinks_an_edition(library):
    client, ids, keys = library
    staff = signed_in(client, keys["staff"])
    page = staff.get(f"/staff/documents/{ids['solo']}", headers={"Accept-Language": "en"}).text
    assert "This document has no other language edition." in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = staff.post(f"/staff/documents/{ids['solo']}/editions", data={"edition_of": ids["en"], "csrf_token": csrf},
                   headers={"Accept-Language": "en"}, follow_redirects=False)
    assert r.status_code == 409 and "one edition per language" in r.text  # shown on the form
    r = staff.post(f"/staff/documents/{ids['en']}/editions/unlink", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=unlink")
    r = staff.post(f"/staff/documents/{ids['solo']}/editions", data={"edition_of": ids["en"], "csrf_token": csrf},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=link")
    page = staff.get(r.headers["location"], headers={"Accept-Language": "en"}).text
    assert f'<a href="/staff/documents/{ids["en"]}">{EN[0]}</a>' in page and "Linked:" in page
    # back as it was: the note out, the English edition with the French one
    assert staff.post(f"/staff/documents/{ids['solo']}/editions/unlink", data={"csrf_token": csrf},
                      follow_redirects=False).status_code == 303
    assert staff.post(f"/staff/documents/{ids['en']}/editions", data={"edition_of": ids["fr"], "csrf_token": csrf},
                      follow_redirects=False).status_code == 303
    assert client.get(f"/api/documents/{ids['fr']}").json()["editions"][0]["id"] == ids["en"]


def test_retracting_one_edition_leaves_the_other_searchable(library):
    client, ids, keys = library
    staff = bearer(keys["staff"])
    assert client.delete(f"/api/documents/{ids['fr']}", headers=staff).status_code == 204
    try:
        hits = search(client, QUESTION_FR, reader_lang="fr")
        english = [h for h in hits if h["doc_id"] == ids["en"]]
        assert english and all(h["other_editions"] == [] for h in english)  # not linked to what is gone
        assert ids["fr"] not in {h["doc_id"] for h in hits}
        assert search(client, QUESTION_EN, reader_lang="fr")[0]["doc_id"] == ids["en"]
        assert client.get(f"/api/documents/{ids['en']}").json()["editions"] == []
        assert [e["id"] for e in client.get(f"/api/documents/{ids['en']}", headers=staff).json()["editions"]] == [
            ids["fr"]]  # staff still see it
        assert ids["fr"] not in client.get(f"/documents/{ids['en']}").text
    finally:
        assert client.patch(f"/api/documents/{ids['fr']}", json={"status": "published"},
                            headers=staff).status_code == 200
    assert search(client, QUESTION_FR, reader_lang="fr")[0]["doc_id"] == ids["fr"]
