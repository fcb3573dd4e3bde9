"""`kmh check`: a damaged index or catalog is found (exit status 1 naming it, /readyz 503 with the reason) and
`kmh check --repair` brings search back; a killed `kmh ingest` leaves no orphan once it runs again.

Real files, the real embedder, the embedded store on a temporary folder, real server and CLI processes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app
from kmh.settings import Settings
from tests.conftest import CORPUS, MODELS
from tests.helpers import ServerProcess, make_pdf

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
QUERIES = ["Combien de migrants ont bénéficié de l'aide au retour au Maroc ?",
           "atelier de Saly sur l'approche intégrée",
           "gouvernance de la réintégration au Togo",
           "soutien psychologique des personnes de retour"]


def kmh(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def top_hits(settings: Settings) -> dict[str, list[tuple[str, str]]]:
    """The best three (doc id, text) of each query, searched in this process (the store must be free)."""
    from kmh.runtime import open_catalog, open_vector_store
    from search.searcher import Searcher, SearchQuery

    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        searcher = Searcher(settings, catalog, store)
        searcher.warm_up()
        return {q: [(h.doc_id, h.text) for h in searcher.search(SearchQuery(q=q, k=3)).hits] for q in QUERIES}
    finally:
        store.close()
        catalog.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory, shared_embedders):
    """A data folder with the news pages and a PDF ingested, and what the queries find there."""
    from ingest.indexer import Indexer
    from kmh.runtime import open_catalog, open_vector_store

    root = tmp_path_factory.mktemp("check")
    settings = Settings(data_dir=root / "data", models_dir=MODELS)
    pdf = make_pdf(root / "appui.pdf")
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        with Indexer(settings, catalog, store) as indexer:
            indexer.warm_up()
            results = indexer.run([CORPUS / "news", pdf])
        assert [r.status for r in results] == ["new"] * 4
    finally:
        store.close()
        catalog.close()
    hits = top_hits(settings)
    assert all(hits[q] for q in QUERIES)
    return root / "data", hits


@pytest.fixture
def data(base, isolated_data) -> Path:
    """A copy of the base data folder where KMH_DATA_DIR points."""
    shutil.copytree(base[0], isolated_data)
    return isolated_data


def _segments(data: Path) -> list[Path]:
    found = sorted((data / "index" / "segments").iterdir())
    assert found, "the embedded store has no segment folder"
    return found


def random_vectors(data: Path) -> None:
    """Random bytes over the dense vector file(s) of the embedded store."""
    files = [f for seg in _segments(data) for f in (seg / "vector_storage-dense").rglob("chunk_*.mmap")]
    assert files, "no dense vector file found"
    for f in files:
        f.write_bytes(os.urandom(f.stat().st_size))


def truncated_id_tracker(data: Path) -> None:
    trackers = [seg / "mutable_id_tracker.mappings" for seg in _segments(data)]
    trackers = [t for t in trackers if t.exists()]
    assert trackers, "no id tracker found"
    for t in trackers:
        os.truncate(t, t.stat().st_size // 3)


def deleted_segments(data: Path) -> None:
    shutil.rmtree(data / "index" / "segments")


def deleted_catalog(data: Path) -> None:
    files = list(data.glob("catalog.sqlite3*"))
    assert data / "catalog.sqlite3" in files
    for f in files:
        f.unlink()


# damage -> what `kmh check` and /readyz say about it (any one of the words)
DAMAGES = {
    "random bytes over the dense vectors": (random_vectors, ("no longer have the vector", "cannot be opened",
                                                              "failed to load")),
    "truncated id tracker": (truncated_id_tracker, ("missing from the index",)),
    "deleted segments": (deleted_segments, ("missing from the index", "holds no passage")),
    "deleted catalog": (deleted_catalog, ("the catalog lists no document",)),
}


def served_readiness(data: Path, tmp_path: Path) -> tuple[httpx.Response, str]:
    server = ServerProcess({"KMH_DATA_DIR": str(data), "KMH_MODELS_DIR": str(MODELS)}, tmp_path / "server.log")
    try:
        server.start(loaded=True)
    finally:
        server.stop()
    return server.readyz, (tmp_path / "server.log").read_text()


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damage_is_reported_and_repaired(damage, base, data, tmp_path):
    harm, words = DAMAGES[damage]
    harm(data)

    readyz, log = served_readiness(data, tmp_path)
    assert readyz.status_code == 503, readyz.text
    detail = readyz.json()["detail"]
    assert any(w in detail for w in words), detail
    # the start-up check (or the failed load of a damaged index) names the command that repairs it, in the log too
    assert "kmh check --repair" in detail and "kmh check --repair" in log

    code, out = kmh("check")
    assert code == 1, out
    assert any(w in " ".join(out.split()) for w in words), out

    code, out = kmh("check", "--repair")
    assert code == 0, out
    code, out = kmh("check", "--full")
    assert code == 0 and "ok" in out and "unverified" not in out, out
    assert top_hits(Settings(data_dir=data, models_dir=MODELS)) == base[1]

    readyz, _ = served_readiness(data, tmp_path)
    assert readyz.status_code == 200, readyz.text


def test_a_clean_store_passes_the_full_check(data):
    code, out = kmh("check", "--full")
    assert code == 0, out
    assert "4 documents" in out and "ok" in out and "unverified" not in out


def test_damage_names_the_document_and_version(base, data):
    """Passages deleted behind the catalog's back, and orphans added: each named by title, id and version."""
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.store import Filter, StoredPassage

    settings = Settings(data_dir=data, models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        docs, _ = catalog.list(limit=10)
        gone, other = docs[0], docs[1]
        store.delete(Filter(equals={"doc_id": gone.id}))
        (page,) = list(store.export(batch=1000))
        copy = [p for p in page if p.payload["doc_id"] == other.id][0]
        store.upsert([StoredPassage("00000000-0000-4000-8000-000000000001", copy.dense, copy.sparse,
                                    {**copy.payload, "doc_version": other.version + 1}, copy.sentences)])
    finally:
        store.close()
        catalog.close()
    code, out = kmh("check", "--full")
    out = " ".join(out.split())
    assert code == 1
    assert f"{gone.title} ({gone.id}), version {gone.version}: {gone.passage_count} of {gone.passage_count} " \
           "passages missing" in out
    assert f"{other.title} ({other.id}), version {other.version}: orphan passages of version " \
           f"{other.version + 1} (1 passages)" in out
    code, out = kmh("check", "--repair")
    assert code == 0, out
    assert top_hits(settings) == base[1]


def test_stores_without_checks_are_unverified_not_unready(data):
    """A store catalogued before the checks existed: reported as unverified, the start-up check passes, and
    --repair records the checks from the vectors present."""
    import sqlalchemy as sa

    from kmh.check import quick_check
    from kmh.runtime import open_catalog, open_vector_store

    settings = Settings(data_dir=data, models_dir=MODELS)
    catalog = open_catalog(settings)
    with catalog.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM passage_checks"))
    store = open_vector_store(settings)
    try:
        assert quick_check(catalog, store) is None
    finally:
        store.close()
        catalog.close()
    code, out = kmh("check")
    assert code == 0 and "unverified" in out and "4 documents unverified" in " ".join(out.split()), out
    code, out = kmh("check", "--repair")
    assert code == 0 and "recorded the checks" in out, out
    code, out = kmh("check", "--full")
    assert code == 0 and "unverified" not in out, out


def test_backup_and_restore_carry_the_checks(data, tmp_path, monkeypatch):
    code, out = kmh("backup", str(tmp_path / "kmh.tar"))
    assert code == 0, out
    monkeypatch.setenv("KMH_DATA_DIR", str(tmp_path / "restored"))
    code, out = kmh("restore", str(tmp_path / "kmh.tar"))
    assert code == 0, out
    code, out = kmh("check", "--full")
    assert code == 0 and "4 documents" in out and "unverified" not in out, out


# -- a killed `kmh ingest` -----------------------------------------------------------------------------------

# Runs `kmh ingest`, SIGKILLed by itself when it first commits to the catalog (every file's passages written).
KILLED_AT_COMMIT = ("import os, signal\n"
                    "from kmh.catalog import Catalog\n"
                    "Catalog.add = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
                    "from cli.main import app\n"
                    "app()\n")


def _files(folder: Path, n: int = 12) -> Path:
    folder.mkdir()
    towns = ["Kayes", "Mopti", "Ségou", "Sikasso", "Gao", "Tombouctou", "Koulikoro", "Dakar", "Thiès", "Lomé",
             "Kpalimé", "Rabat"]
    for i in range(n):
        town = towns[i % len(towns)]
        (folder / f"note-{i:02d}.txt").write_text(
            f"Note {i} sur {town}\n\nÀ {town}, {i + 5} personnes de retour ont suivi une formation en {town.lower()} "
            f"et ouvert un atelier. Le comité local de {town} s'est réuni {i + 2} fois pour suivre leurs projets.\n",
            encoding="utf-8")
    return folder


@pytest.mark.parametrize("then", ["ingest", "check --repair"])
def test_killed_ingest_leaves_no_orphans_after_a_rerun(then, isolated_data, tmp_path):
    """SIGKILL at the first catalog commit, then `kmh ingest` again (or `kmh check --repair` first): exactly the
    catalogued passages are in the index, none twice."""
    from collections import Counter

    from kmh.runtime import open_catalog, open_vector_store

    folder = _files(tmp_path / "notes")
    env = {**os.environ, "KMH_DATA_DIR": str(isolated_data), "KMH_MODELS_DIR": str(MODELS), "PYTHONPATH": str(ROOT)}
    killed = subprocess.run([sys.executable, "-c", KILLED_AT_COMMIT, "ingest", str(folder)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    settings = Settings(data_dir=isolated_data, models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        assert catalog.list()[1] == 0 and store.count() == 12  # written, never catalogued
    finally:
        store.close()
        catalog.close()

    assert len(list((isolated_data / "pending").glob("*.json"))) == 1  # what the killed run was writing

    code, out = kmh("check")
    assert code == 1 and "uncatalogued document" in out, out
    if then == "check --repair":
        code, out = kmh("check", "--repair")
        assert code == 0 and " ".join(out.split()).count("never catalogued: 1 passages removed") == 12, out
        catalog, store = open_catalog(settings), open_vector_store(settings)
        try:  # removed, not restored as documents: the catalog never had them
            assert catalog.list()[1] == 0 and store.count() == 0
        finally:
            store.close()
            catalog.close()

    rerun = subprocess.run([sys.executable, "-c", "from cli.main import app; app()", "ingest", str(folder)], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    said = " ".join(rerun.stderr.split())
    expected = 12 if then == "ingest" else 0
    assert said.count("never catalogued: 1 passages removed (an earlier kmh ingest stopped") == expected, said
    assert not list((isolated_data / "pending").glob("*.json"))
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        docs, total = catalog.list(limit=100)
        assert total == 12
        hits, _ = store.scroll(None, limit=1000)
        found = Counter((h.payload["doc_id"], h.payload["doc_version"]) for h in hits)
        assert found == Counter({(d.id, d.version): d.passage_count for d in docs})
        texts = [h.payload["text"] for h in hits]
        assert len(texts) == len(set(texts)) == sum(d.passage_count for d in docs)
    finally:
        store.close()
        catalog.close()
    code, out = kmh("check", "--full")
    assert code == 0, out


def test_sketches_survive_float_rounding_and_tell_vectors_apart():
    """What makes a check stable across backends and backup/restore, yet sensitive to a changed vector."""
    import numpy as np

    from kmh.catalog import sketches_match, vector_sketch

    rng = np.random.default_rng(7)
    v = rng.standard_normal(384)
    v /= np.linalg.norm(v)
    stored = vector_sketch(v.astype(np.float32))
    renormalised = (v * 3.0).astype(np.float32)  # an engine normalising in its own float arithmetic
    assert sketches_match(stored, vector_sketch(renormalised))
    assert sketches_match(stored, vector_sketch(v.astype(np.float16)))  # even half precision
    for other in (rng.standard_normal(384), np.roll(v, 1), v + rng.standard_normal(384) * 0.05):
        assert not sketches_match(stored, vector_sketch(other))
    assert vector_sketch([float("nan")] * 384) == "nan" and vector_sketch([0.0] * 384) == "nan"
    assert not sketches_match(stored, "nan")


def test_a_recording_is_embedded_again_from_its_transcript(isolated_data):
    """A seminar recording's passages lost from the index come back from its kept transcript: same ids, texts,
    sessions and seconds, with its organisers' confirmed topics still in their payload."""
    from ingest.indexer import Indexer
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.store import Filter

    settings = Settings(data_dir=isolated_data, models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    fields = ("text", "start", "end", "session", "section", "seminar_id", "topics", "kind")
    try:
        with Indexer(settings, catalog, store) as indexer:
            indexer.warm_up()
            results = indexer.run([CORPUS / "topics.yaml", CORPUS / "seminars"])
        (rec,) = [r for r in results if r.path.suffix == ".mp3"]
        assert rec.status == "new" and rec.passages > 3
        doc = catalog.get(rec.doc_id)
        ids = store.ids(Filter(equals={"doc_id": doc.id}))
        first = next(h for h in store.retrieve(ids) if h.payload.get("session") == 1)
        catalog.decide_link(first.id, catalog.topics()[0].id, "confirmed", doc_id=doc.id, doc_version=doc.version,
                            by="test")
        store.set_payload([first.id], {"topics": catalog.confirmed_topics(first.id)})
        before = {h.id: {k: h.payload.get(k) for k in fields} for h in store.retrieve(ids)}
        store.delete(Filter(equals={"doc_id": doc.id, "session": [1, 2]}))
        assert store.count(Filter(equals={"doc_id": doc.id})) < len(ids)
    finally:
        store.close()
        catalog.close()
    code, out = kmh("check")
    assert code == 1 and f"({doc.id}), version 1:" in out, out
    code, out = kmh("check", "--repair")
    assert code == 0, out
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        after = {h.id: {k: h.payload.get(k) for k in fields} for h in store.retrieve(ids)}
        assert after == before and before[first.id]["topics"] == [catalog.topics()[0].id]
    finally:
        store.close()
        catalog.close()


def test_a_pending_log_is_a_dead_run_unless_its_process_still_runs():
    """A log named after this very process is an earlier run's that had the same pid (containers start every run
    with the same pids): recovery, which runs before this process writes its own, settles it."""
    import socket

    from ingest.pending import _alive

    host = socket.gethostname()
    assert not _alive(f"{host}-{os.getpid()}")
    assert _alive(f"{host}-{os.getppid()}")  # the process that started this one runs
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert not _alive(f"{host}-{int(gone.stdout)}")
    assert _alive(f"other-host-{os.getpid()}")  # another host's: left to it
