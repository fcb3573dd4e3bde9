"""A full disk: jobs fail with a plain reason, search keeps answering, /readyz says why, and everything works again
once there is room, without a restart. A server on a volume too small for its index refuses to start, saying so
(the index's memory-mapped files would otherwise kill it with SIGBUS).

The volumes are small tmpfs mounts made by the tests themselves (they run as root, as in CI).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kmh.diskspace import NEW_INDEX_BYTES, index_need, reserved_bytes
from kmh.settings import Settings
from kmh.store import Filter
from tests.conftest import MODELS
from tests.helpers import ServerProcess, api_key, bearer, make_pdf, wait_for_job

MB = 2**20
VOLUME_MB = 600  # room for a new index (240 MB by kmh.diskspace's estimate) plus KMH_MIN_FREE_MB (200) and a bit
SMALL_MB = 64  # a first start takes 57 MB of a new index's files: a server here used to die of SIGBUS


@contextlib.contextmanager
def tmpfs(folder: Path, size_mb: int):
    """A tmpfs of ``size_mb`` MB mounted on ``folder`` for the block."""
    if os.geteuid() != 0:
        pytest.fail("tests/integration/test_disk_full.py mounts small tmpfs volumes and must run as root (as CI does)",
                    pytrace=False)
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}M", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"could not mount a {size_mb} MB tmpfs on {folder}: {done.stderr.strip()}", pytrace=False)
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(volume: Path, leave_mb: float) -> Path:
    """A filler file that leaves ``leave_mb`` MB free on the volume."""
    import shutil

    filler = volume / "filler"
    size = shutil.disk_usage(volume).free - int(leave_mb * MB)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)
    return filler


def plain(text: str, server_path: Path) -> None:
    """No SQL, stack trace or path of the server in an API answer."""
    assert not re.search(r"SQL|sqlite|Traceback|OperationalError", text), text
    assert str(server_path) not in text and "/tmp/" not in text, text


def upload(url: str, key: str, path: Path) -> httpx.Response:
    with path.open("rb") as fh:
        return httpx.post(url + "/api/documents", headers=bearer(key), files={"file": (path.name, fh)}, timeout=60)


def staged_files(data: Path) -> list[Path]:
    return [p for p in (data / "staging").rglob("*") if p.is_file()]


def test_a_full_disk_fails_the_job_plainly_and_the_server_recovers_once_there_is_room(tmp_path):
    volume = tmp_path / "volume"
    log = tmp_path / "server.log"
    with tmpfs(volume, VOLUME_MB):
        data = volume / "data"
        settings = Settings(data_dir=data, models_dir=MODELS)
        key = api_key(settings, "staff")
        env = {"KMH_DATA_DIR": str(data), "KMH_MODELS_DIR": str(MODELS)}
        server = ServerProcess(env, log).start()
        try:
            client = httpx.Client(base_url=server.url, timeout=60)
            first = make_pdf(tmp_path / "kolda.pdf",
                             [("Kolda", "Returnees in Kolda raise poultry with a women's group.")])
            r = upload(server.url, key, first)
            assert r.status_code == 202, r.text
            assert wait_for_job(client, r.json(), key)["state"] == "done"

            # the volume full but for 8 MB: the job is refused before it writes anything
            filler = fill(volume, 8)
            second = make_pdf(tmp_path / "gao.pdf", [("Gao", "Returnees in Gao restarted fish drying cooperatives.")])
            r = upload(server.url, key, second)
            assert r.status_code == 202, r.text
            job = wait_for_job(client, r.json(), key)
            assert job["state"] == "failed", job
            assert job["error"].startswith("not enough free disk space in the data folder: "), job["error"]
            assert "MB free, KMH_MIN_FREE_MB is 200" in job["error"], job["error"]
            plain(job["error"], volume)
            assert client.get(r.json()["document_url"]).status_code == 404

            # an upload bigger than the room left: a plain 507, nothing staged
            big = tmp_path / "big.txt"
            big.write_bytes(b"Returnees in Mopti. " * (12 * MB // 20))
            r = upload(server.url, key, big)
            assert r.status_code == 507, r.text
            plain(r.text, volume)

            # search and the job list keep answering; /readyz says why the service cannot write
            hits = client.get("/api/search", params={"q": "poultry farming in Kolda"})
            assert hits.status_code == 200 and hits.json()["hits"], hits.text
            jobs = client.get("/api/jobs", headers=bearer(key))
            assert jobs.status_code == 200, jobs.text
            plain(jobs.text, volume)
            ready = client.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.json()["detail"].startswith("not enough free disk space in the data folder"), ready.text
            plain(ready.text, volume)
            assert staged_files(data) == []

            # room again: ready at once, and the same upload goes through, in the same process
            filler.unlink()
            assert client.get("/readyz").status_code == 200
            r = upload(server.url, key, second)
            assert r.status_code == 202, r.text
            assert wait_for_job(client, r.json(), key)["state"] == "done"
            hits = client.get("/api/search", params={"q": "fish drying cooperatives in Gao"}).json()["hits"]
            assert hits[0]["doc_id"] == r.json()["doc_id"]
            assert server.proc.poll() is None and staged_files(data) == []
        finally:
            server.stop()

        # a restart on the full volume: the existing index could not be mapped; a clear refusal, no SIGBUS
        need = index_need(settings)
        filler = fill(volume, 8)
        refused = subprocess.run([sys.executable, "-c", "from cli.main import app; app()", "serve", "--port", "1"],
                                 env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
        assert refused.returncode == 1, (refused.returncode, refused.stderr[-2000:])
        assert "not enough free disk space for the search index: the index needs " \
               f"{need // MB} MB more" in refused.stderr, refused.stderr
        filler.unlink()


def test_a_server_on_a_volume_too_small_for_the_index_refuses_to_start(tmp_path):
    volume = tmp_path / "small"
    with tmpfs(volume, SMALL_MB):
        env = {"KMH_DATA_DIR": str(volume / "data"), "KMH_MODELS_DIR": str(MODELS)}
        done = subprocess.run([sys.executable, "-c", "from cli.main import app; app()", "serve", "--port", "1"],
                              env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, (done.returncode, done.stderr[-2000:])  # not -7 (SIGBUS)
        assert "not enough free disk space for the search index: a new index needs " \
               f"{NEW_INDEX_BYTES // MB} MB" in done.stderr, done.stderr
        assert str(volume / "data") in done.stderr
        assert not (volume / "data" / "index").exists()


def test_the_estimate_covers_a_new_index(tmp_path):
    """kmh.diskspace's figure for a new index is at least what qdrant-edge creates (the sum of its files' sizes)."""
    from kmh.runtime import open_vector_store

    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    assert index_need(settings) == NEW_INDEX_BYTES
    open_vector_store(settings).close()
    full = sum(p.stat().st_size for p in settings.index_path.rglob("*") if p.is_file())
    assert 0 < full <= NEW_INDEX_BYTES
    assert index_need(settings) == reserved_bytes(settings.index_path) <= full


def test_a_catalog_write_failing_fails_the_job_plainly_and_the_next_job_works(tmp_path, shared_embedders):
    """The catalog's commit of a new document fails as on a failing disk (SQLite 'disk I/O error')."""
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    key = api_key(settings, "staff")
    with TestClient(create_app(settings)) as client:
        rt = client.app.state.runtime
        engine = rt.catalog.engine
        armed = {"on": True, "conn": None}

        def note_insert(conn, cursor, statement, params, context, executemany):
            if armed["on"] and statement.lstrip().upper().startswith("INSERT INTO DOCUMENTS"):
                armed["conn"] = conn.connection.dbapi_connection

        real_commit = engine.dialect.do_commit

        def do_commit(connection):
            if armed["conn"] is not None and getattr(connection, "dbapi_connection", connection) is armed["conn"]:
                armed.update(on=False, conn=None)
                raise sqlite3.OperationalError("disk I/O error")
            real_commit(connection)

        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", note_insert)
        engine.dialect.do_commit = do_commit
        try:
            doc = make_pdf(tmp_path / "kayes.pdf", [("Kayes", "Returnees in Kayes trained as car mechanics.")])
            r = client.post("/api/documents", headers=bearer(key), files={"file": (doc.name, doc.read_bytes())})
            assert r.status_code == 202, r.text
            job = wait_for_job(client, r.json(), key)
            assert job["state"] == "failed" and not armed["on"], job
            assert job["error"].startswith("a write to the data folder failed: its disk is full or failing; nothing "
                                           "was published"), job["error"]
            plain(job["error"], tmp_path)
            assert "disk" in rt.problems  # unready until the data folder takes a write again
            # nothing of the failed version is left: no document, no passages, no staged file
            assert client.get(r.json()["document_url"]).status_code == 404
            assert rt.store.count(Filter(equals={"doc_id": job["doc_id"]})) == 0
            assert staged_files(settings.data_dir) == []
            assert not list(settings.originals_dir.rglob("*.pdf"))  # nor its kept original

            # search and the job list answer; the probe write succeeds, so /readyz is 200 again
            assert client.get("/api/search", params={"q": "car mechanics"}).status_code == 200
            jobs = client.get("/api/jobs", headers=bearer(key))
            assert jobs.status_code == 200 and jobs.json()["items"][0]["state"] == "failed"
            assert client.get("/readyz").status_code == 200 and "disk" not in rt.problems

            # the next job works, on the same catalog
            r = client.post("/api/documents", headers=bearer(key), files={"file": (doc.name, doc.read_bytes())})
            assert r.status_code == 202, r.text
            assert wait_for_job(client, r.json(), key)["state"] == "done"
            hits = client.get("/api/search", params={"q": "car mechanics in Kayes"}).json()["hits"]
            assert hits and hits[0]["doc_id"] == r.json()["doc_id"]
        finally:
            event.remove(engine, "before_cursor_execute", note_insert)
            engine.dialect.do_commit = real_commit
