"""Ingestion's stages overlap: the parse worker reads ahead, a thread embeds and writes, the caller commits."""

from __future__ import annotations

import threading

import pytest

from ingest.indexer import Indexer
from kmh.runtime import open_catalog, open_vector_store
from kmh.settings import Settings
from tests.conftest import MODELS

WORDS = ("retour", "réintégration", "communauté", "appui", "conseiller", "formation", "emploi", "santé")


def page(i: int) -> str:
    body = " ".join(f"Le {WORDS[(i + k) % len(WORDS)]} numéro {i}-{k} est suivi par l'équipe locale." for k in range(30))
    return f"Fiche {i}\n\n{body}\n"


@pytest.fixture
def indexer(tmp_path, shared_embedders):
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    ix = Indexer(settings, catalog, store, encoder=shared_embedders[0].encoder, batch_passages=2)
    ix.warm_up()
    yield ix
    ix.close()
    store.close()
    catalog.close()


def test_files_are_parsed_ahead_and_written_by_their_own_threads_in_order(indexer, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(7):
        (folder / f"fiche-{i}.txt").write_text(page(i), encoding="utf-8")
    (folder / "fiche-3a.txt").write_text(page(3), encoding="utf-8")  # a twin, in flight when it is prepared
    (folder / "casse.pdf").write_bytes(b"%PDF-1.4 this is not a PDF at all")
    threads = {"parse": set(), "write": set()}
    parse, write = indexer.parse, indexer.versions.write

    def parse_spy(path):
        threads["parse"].add(threading.current_thread().name.split("_")[0])
        return parse(path)

    def write_spy(batch, progress=None):
        threads["write"].add(threading.current_thread().name.split("_")[0])
        return write(batch, progress)

    indexer.parse, indexer.versions.write = parse_spy, write_spy
    results = indexer.run([folder])
    assert threads == {"parse": {"kmh-parse"}, "write": {"kmh-embed"}}
    by_name = {r.path.name: r for r in results}
    assert len(results) == len(by_name) == 9
    assert by_name["casse.pdf"].status == "failed" and by_name["casse.pdf"].reason  # a parse error, reported
    assert by_name["fiche-3a.txt"].status == "unchanged"
    assert by_name["fiche-3a.txt"].reason == "same content as fiche-3.txt"
    assert all(by_name[f"fiche-{i}.txt"].status == "new" for i in range(7))
    catalog, store = indexer.catalog, indexer.store
    assert len(list(catalog.every())) == 7
    ids = {by_name[f"fiche-{i}.txt"].doc_id for i in range(7)}
    stored = {h.payload["doc_id"] for h in store.scroll(limit=1000)[0]}
    assert stored == ids
    assert sum(by_name[f"fiche-{i}.txt"].passages for i in range(7)) == len(store.scroll(limit=1000)[0])


def test_a_batch_that_fails_to_embed_fails_its_files_only(indexer, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(4):
        (folder / f"fiche-{i}.txt").write_text(page(i), encoding="utf-8")
    write, calls = indexer.versions.write, []

    def flaky(batch, progress=None):
        calls.append({p.path.name for p in batch})
        if len(calls) == 2:
            raise RuntimeError("encoder out of memory")
        return write(batch, progress)

    indexer.versions.write = flaky
    results = indexer.run([folder])
    failed = [r for r in results if r.status == "failed"]
    assert failed and all("encoder out of memory" in r.reason for r in failed)
    assert {r.path.name for r in failed} == calls[1]
    assert len([r for r in results if r.status == "new"]) == 4 - len(failed) >= 2
    assert len(list(indexer.catalog.every())) == 4 - len(failed)
    again = indexer.run([folder])  # nothing half-written stays behind: the failed files go in on the next run
    assert sorted(r.status for r in again) == sorted(["new"] * len(failed) + ["unchanged"] * (4 - len(failed)))
