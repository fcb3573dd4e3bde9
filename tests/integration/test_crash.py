"""Crash safety: a server killed with SIGKILL in the middle of ingesting a batch restarts into a consistent state.

After the restart every passage belongs to its document's current version, every document has all its passages,
each interrupted job is resumed (or failed with a reason), and what was searchable before is unchanged.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest

from services.runtime import Runtime
from kmh.settings import Settings
from tests.conftest import CORPUS, MODELS
from tests.helpers import ServerProcess, api_key, bearer, make_pdf

QUERIES = ["Combien de migrants ont bénéficié de l'aide au retour au Maroc ?",
           "atelier de Saly sur l'approche intégrée", "gouvernance de la réintégration au Togo"]


def big_report(path: Path, pages: int = 70) -> Path:
    """A report long enough (about 140 passages) that embedding it takes several progress steps."""
    towns = ["Kayes", "Mopti", "Ségou", "Sikasso", "Gao", "Tombouctou", "Koulikoro"]
    content = []
    for i in range(pages):
        town = towns[i % len(towns)]
        body = (f"In {town}, district {i}, returnees followed a case management plan agreed with their counsellor. "
                f"The plan covered housing for {i + 3} families, vocational training in welding and tailoring, and "
                f"referrals to health services. Community leaders in {town} reported that joint projects eased "
                f"tensions between returnees and residents, and that savings groups reached {10 + i} members. ")
        content.append((f"District {i} in {town}", body * 2))
    return make_pdf(path, content)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, shared_embedders):
    """A data folder with the news pages of the corpus ingested earlier, and the files of a batch to publish."""
    from ingest.indexer import Indexer
    from kmh.runtime import open_catalog, open_vector_store

    root = tmp_path_factory.mktemp("crash")
    settings = Settings(data_dir=root / "data", models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        with Indexer(settings, catalog, store) as indexer:
            indexer.warm_up()
            results = indexer.run([CORPUS / "news"])
        assert {r.status for r in results} == {"new"} and len(results) == 3
    finally:
        store.close()
        catalog.close()
    batch = [big_report(root / "districts.pdf"),
             # long enough (30 pages) that the kill "between jobs" lands while it runs, however fast embedding is
             make_pdf(root / "gao.pdf", [(f"Gao fisheries, site {i}", f"Returnees in Gao restarted fish drying "
                                          f"cooperatives at landing site {i}, where {12 + i} members dry and smoke "
                                          f"the catch of {3 + i % 5} boats before the market day.") for i in range(30)]),
             make_pdf(root / "segou.pdf", [("Ségou rice", "Rice cooperatives in Ségou hired forty returnees.")])]
    return root, batch


def results(get) -> dict[str, list[tuple[str, float]]]:
    """The hits of QUERIES as (text, score): comparable across runs (new documents get random ids)."""
    out = {}
    for q in QUERIES + ["savings groups members in Gao district"]:
        body = get("/api/search", params={"q": q, "k": 8}).json()
        out[q] = [(h["text"], round(h["score"], 4)) for h in body["hits"]]
    return out


@pytest.fixture(scope="module")
def reference(baseline, tmp_path_factory):
    """What searches return once the batch is published without any interruption (same worker code, in-process)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from services.jobs import JobWorker
    from kmh.catalog import sha256_file
    from kmh.runtime import open_catalog, open_vector_store

    root, batch = baseline
    data = tmp_path_factory.mktemp("reference") / "data"
    shutil.copytree(root / "data", data)
    settings = Settings(data_dir=data, models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        from ingest.indexer import Indexer

        indexer = Indexer(settings, catalog, store)
        indexer.warm_up()
        rt = Runtime(settings, catalog=catalog, store=store, _indexer=indexer)  # loaded here, not by load()
        for path in batch:
            staged = settings.staging_dir / path.name
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, staged)
            catalog.create_job("publish", filename=path.name, sha256=sha256_file(path), size=path.stat().st_size,
                               staged_path=str(staged.relative_to(data)), meta={}, actor=None)
            JobWorker(rt).run(catalog.claim_job())
        assert [j.state for j in catalog.jobs()[0]] == ["done"] * 3
        indexer.close()
    finally:
        store.close()
        catalog.close()
    with TestClient(create_app(settings)) as client:
        return results(client.get)


def consistency(settings: Settings) -> dict:
    """Passages grouped by document and version against the catalog (the server must be stopped)."""
    from collections import Counter

    from kmh.runtime import open_catalog, open_vector_store

    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        found: Counter = Counter()
        page = None
        while True:
            hits, page = store.scroll(None, limit=512, offset=page)
            found.update((h.payload["doc_id"], h.payload["doc_version"]) for h in hits)
            if page is None:
                break
        docs, _ = catalog.list(limit=1000, status=None)
        expected = Counter({(d.id, d.version): d.passage_count for d in docs})
        return {"orphans": sorted(k for k in found if k not in expected),
                "missing": sorted(k for k, n in expected.items() if found[k] != n),
                "documents": len(docs)}
    finally:
        store.close()
        catalog.close()


def job_states(url: str, key: str) -> dict[str, dict]:
    return {j["id"]: j for j in httpx.get(url + "/api/jobs", headers=bearer(key), timeout=30).json()["items"]}


def kill_when(server: ServerProcess, key: str, jobs: list[dict], point: str, timeout: float = 300) -> str:
    """Poll the jobs and SIGKILL the server once ``point`` is reached; returns what was seen at the kill."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = job_states(server.url, key)
        first, second = states[jobs[0]["id"]], states[jobs[1]["id"]]
        stage, done = first["progress"]["stage"], first["progress"]["done"] or 0
        if point == "parsing" and first["state"] == "running" and stage == "parsing":
            seen = "parsing the first file, the others queued"
            break
        if point == "embedding" and stage == "embedding" and done >= 64:
            seen = f"embedding the first file: {done} of {first['progress']['total']} passages written"
            break
        if point == "between jobs" and first["state"] == "done" and second["state"] == "running":
            seen = f"first job done, second {second['progress']['stage']}"
            break
        if first["state"] in ("done", "failed") and point != "between jobs":
            raise AssertionError(f"the kill point '{point}' passed unseen: {first}")
        time.sleep(0.02)
    else:
        raise AssertionError(f"kill point '{point}' not reached in {timeout} s")
    server.kill()
    return seen


def test_sigkill_at_three_points_of_a_batch_then_restart(baseline, reference, tmp_path):
    """One batch, three kills (while parsing, while writing passages, between two jobs), a restart after each."""
    root, batch = baseline
    data = tmp_path / "data"
    shutil.copytree(root / "data", data)
    settings = Settings(data_dir=data, models_dir=MODELS)
    key = api_key(settings, "staff")
    env = {"KMH_DATA_DIR": str(data), "KMH_MODELS_DIR": str(MODELS)}
    log = tmp_path / "server.log"
    server = ServerProcess(env, log).start()
    seen = []
    try:
        before = results(lambda p, **kw: httpx.get(server.url + p, timeout=60, **kw))
        documents = httpx.get(server.url + "/api/documents", timeout=30).json()["items"]
        jobs = []
        for path in batch:
            with path.open("rb") as fh:
                r = httpx.post(server.url + "/api/documents", headers=bearer(key), files={"file": (path.name, fh)},
                               timeout=60)
            assert r.status_code == 202, r.text
            jobs.append(r.json())
        for point in ("parsing", "embedding", "between jobs"):
            seen.append(kill_when(server, key, jobs, point))
            server = ServerProcess(env, log).start()
            # after each restart, the documents there before the batch are unchanged and still answer first
            now = results(lambda p, **kw: httpx.get(server.url + p, timeout=60, **kw))
            assert [now[q][0][0] for q in QUERIES] == [before[q][0][0] for q in QUERIES], seen
            for doc in documents:
                again = httpx.get(server.url + f"/api/documents/{doc['id']}", timeout=30).json()
                assert {k: again[k] for k in doc} == doc, seen
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states = job_states(server.url, key)
            if all(states[j["id"]]["state"] in ("done", "failed") for j in jobs):
                break
            time.sleep(0.5)
        assert [states[j["id"]]["state"] for j in jobs] == ["done"] * 3, (seen, states)
        # the first job was interrupted twice (parsing, embedding), the second once
        assert [states[j["id"]]["attempts"] for j in jobs] == [3, 2, 1], (seen, states)
        # the index is what an uninterrupted run makes: the same passages in the same order. Scores may differ in
        # the third digit: the sentence vectors' int8 quantisation is calibrated on the vectors present when a
        # segment is built, and the killed runs had written (then removed) passages the reference never had.
        final = results(lambda p, **kw: httpx.get(server.url + p, timeout=60, **kw))
        for q, expected in reference.items():
            assert [t for t, _ in final[q]] == [t for t, _ in expected], (seen, q)
            assert [score for _, score in final[q]] == pytest.approx([score for _, score in expected], rel=0.02), q
    finally:
        server.stop()
    assert consistency(settings) == {"orphans": [], "missing": [], "documents": 6}, seen


# -- the kill points between two writes, set up exactly --------------------------------------------


@pytest.fixture
def runtime(shared_embedders, tmp_path):
    from ingest.indexer import Indexer
    from kmh.runtime import open_catalog, open_vector_store

    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    indexer = Indexer(settings, catalog, store)
    indexer.warm_up()
    rt = Runtime(settings, catalog=catalog, store=store, _indexer=indexer)  # loaded here, not by load()
    yield rt
    indexer.close()
    store.close()
    catalog.close()


def _queue_version(rt, tmp_path: Path, pages) -> tuple:
    """Version 1 of a document published by a job, and a claimed job for version 2."""
    from services.jobs import JobWorker

    worker = JobWorker(rt)
    staging = rt.settings.staging_dir
    staging.mkdir(parents=True, exist_ok=True)
    first = make_pdf(staging / "v1.pdf", [("Gao fisheries", "Returnees in Gao restarted fish drying cooperatives.")])
    job = rt.catalog.create_job("publish", filename="v1.pdf", sha256=_sha(first), size=first.stat().st_size,
                                staged_path="staging/v1.pdf", meta={}, actor=None)
    worker.run(rt.catalog.claim_job())
    assert rt.catalog.job(job.id).state == "done"
    second = make_pdf(staging / "v2.pdf", pages)
    job2 = rt.catalog.create_job("new_version", filename="v2.pdf", sha256=_sha(second), size=second.stat().st_size,
                                 staged_path="staging/v2.pdf", meta={}, actor=None, doc_id=job.doc_id)
    return worker, job.doc_id, rt.catalog.claim_job(), job2


def _sha(path: Path) -> str:
    from kmh.catalog import sha256_file

    return sha256_file(path)


def _versions(rt, doc_id: str) -> dict[int, int]:
    from collections import Counter

    from kmh.store import Filter

    hits, _ = rt.store.scroll(Filter(equals={"doc_id": doc_id}), limit=1000)
    return dict(Counter(h.payload["doc_version"] for h in hits))


V2 = [("Gao fisheries", "Returnees in Gao now run three fish markets and a cold store.")]


def test_killed_after_the_catalog_switch_before_old_passages_were_deleted(runtime, tmp_path, monkeypatch):
    worker, doc_id, claimed, job2 = _queue_version(runtime, tmp_path, V2)
    real_delete = runtime.store.delete
    monkeypatch.setattr(runtime.store, "delete", lambda flt: None)  # the process dies right after the switch
    worker.run(claimed)
    monkeypatch.setattr(runtime.store, "delete", real_delete)
    runtime.catalog.update_job(claimed.id, state="running")  # as the dead process left it
    assert runtime.catalog.get(doc_id).version == 2 and set(_versions(runtime, doc_id)) == {1, 2}

    assert worker.recover() == [(claimed.id, "its new version was already catalogued: done")]
    assert set(_versions(runtime, doc_id)) == {2}
    assert runtime.catalog.job(claimed.id).state == "done"


def test_killed_after_writing_passages_before_the_catalog_switch(runtime, tmp_path, monkeypatch):
    from ingest.versions import VersionWriter

    worker, doc_id, claimed, job2 = _queue_version(runtime, tmp_path, V2)

    def die(self, p, indexed):
        raise KeyboardInterrupt  # stands for SIGKILL: nothing after this point runs

    monkeypatch.setattr(VersionWriter, "commit", die)
    with pytest.raises(KeyboardInterrupt):
        worker.run(claimed)
    monkeypatch.undo()
    assert runtime.catalog.get(doc_id).version == 1 and set(_versions(runtime, doc_id)) == {1, 2}

    assert worker.recover() == [(claimed.id, "queued again")]
    assert set(_versions(runtime, doc_id)) == {1}
    again = runtime.catalog.claim_job()
    assert again.id == claimed.id and again.attempts == 2
    worker.run(again)
    assert runtime.catalog.job(claimed.id).state == "done"
    assert runtime.catalog.get(doc_id).version == 2 and set(_versions(runtime, doc_id)) == {2}


def test_a_job_interrupted_too_often_fails_with_a_reason(runtime, tmp_path):
    worker, doc_id, claimed, job2 = _queue_version(runtime, tmp_path, V2)
    for _ in range(runtime.settings.job_max_attempts - 1):
        worker.recover()
        runtime.catalog.claim_job()
    assert worker.recover() == [(claimed.id, "failed")]
    job = runtime.catalog.job(claimed.id)
    assert job.state == "failed" and "interrupted 3 times" in job.error
    assert runtime.catalog.get(doc_id).version == 1 and set(_versions(runtime, doc_id)) == {1}
