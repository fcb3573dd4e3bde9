"""Request limits and sign-in against a real server process (`kmh serve`): every route's body limit (a few KB, the
captions' own, KMH_MAX_FILE_MB for uploads, KMH_MAX_MEDIA_MB for recordings) refused with a 413 from Content-Length
and from a chunked body, the server's memory untouched by 48 MB bodies; the sign-in form's token (login CSRF);
backing up a running server."""

from __future__ import annotations

import re
import tarfile

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from api.uploads import CAPTIONS_MAX_BYTES, DECISIONS_MAX_BYTES
from api.uploads import LARGE_BODIES, MULTIPART_MARGIN, SMALL_BODY_BYTES
from cli.main import app as cli
from kmh.settings import Settings
from tests.conftest import MODELS
from tests.helpers import ServerProcess, api_key, app_routes, bearer, wait_for_job

MAX_FILE_MB = 1
# The routes whose bodies may be large; every other route, and any added later, takes SMALL_BODY_BYTES.
UPLOADS = {("POST", "/api/documents"), ("PUT", "/api/documents/{doc_id}/file"), ("POST", "/staff/upload"),
           ("POST", "/staff/documents/{doc_id}/file")}
CAPTIONS = {("PUT", "/api/recordings/{recording_id}/captions"), ("POST", "/staff/recordings/{recording_id}/captions")}
MAX_MEDIA_MB = 2
# Recordings: a media file of KMH_MAX_MEDIA_MB, its captions and the form around them.
MEDIA = {("POST", "/api/recordings"), ("PUT", "/api/recordings/{recording_id}/media"), ("POST", "/staff/recordings"),
         ("POST", "/staff/recordings/{recording_id}/media")}
# A batch of topic decisions (JSON).
DECISIONS = {("POST", "/api/topics/review/decisions")}
BIG = 48 * 2**20


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    settings = Settings(data_dir=root / "data", models_dir=MODELS, max_file_mb=MAX_FILE_MB, max_media_mb=MAX_MEDIA_MB)
    keys = {role: api_key(settings, role) for role in ("staff", "admin")}
    proc = ServerProcess({"KMH_DATA_DIR": str(settings.data_dir), "KMH_MODELS_DIR": str(MODELS),
                          "KMH_MAX_FILE_MB": str(MAX_FILE_MB), "KMH_MAX_MEDIA_MB": str(MAX_MEDIA_MB)},
                         root / "server.log").start()
    try:
        yield proc, keys, settings, root
    finally:
        proc.stop()


def expected_limit(method: str, path: str) -> int:
    if (method, path) in UPLOADS:
        return MAX_FILE_MB * 2**20 + MULTIPART_MARGIN
    if (method, path) in CAPTIONS:
        return CAPTIONS_MAX_BYTES
    if (method, path) in MEDIA:
        return MAX_MEDIA_MB * 2**20 + CAPTIONS_MAX_BYTES + MULTIPART_MARGIN
    if (method, path) in DECISIONS:
        return DECISIONS_MAX_BYTES
    return SMALL_BODY_BYTES


def body_routes(url: str, settings: Settings) -> list[tuple[str, str]]:
    """Every POST, PUT, PATCH and DELETE route of the server's OpenAPI schema, and every POST route of the web
    pages (the forms, which the schema leaves out)."""
    from web.app import create_app, is_page

    routes = [(m.upper(), path) for path, ops in httpx.get(url + "/openapi.json").json()["paths"].items()
              for m in ops if m in ("post", "put", "patch", "delete")]

    for route in app_routes(create_app(settings)):  # built, not started: only its routes are read
        if "POST" in (getattr(route, "methods", None) or ()) and is_page(route.path):
            routes.append(("POST", route.path))
    return sorted(set(routes))


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def chunks(data: bytes, size: int = 64 * 1024):
    """The body as a generator: httpx sends it chunked, with no Content-Length."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


def multipart(size: int, name: str = "big.txt", text: bytes | None = None) -> tuple[bytes, str]:
    """A multipart form with one file: ``size`` bytes in all (mostly "a"), or the file ``text``."""
    boundary = "kmhlimitboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{name}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    content = text if text is not None else b"a" * (size - len(head) - len(tail))
    return head + content + tail, f"multipart/form-data; boundary={boundary}"


def is_problem(r: httpx.Response, path: str) -> bool:
    kind = r.headers.get("content-type", "")
    if path.startswith("/api/"):
        return kind.startswith("application/problem+json") and "over the limit" in r.json()["detail"]
    return kind.startswith("text/html")  # a web page's error page


def test_the_large_body_routes_are_exactly_the_uploads_the_recordings_and_the_captions(server):
    proc, _keys, settings, _root = server
    routes = body_routes(proc.url, settings)
    assert set(LARGE_BODIES) == UPLOADS | CAPTIONS | MEDIA | DECISIONS
    assert UPLOADS | CAPTIONS | MEDIA | DECISIONS <= set(routes)  # each still names a real route
    assert {("POST", "/api/session"), ("PATCH", "/api/documents/{doc_id}"), ("POST", "/api/keys"),
            ("POST", "/api/passages/{passage_id}/topics"), ("POST", "/signin")} <= set(routes)


def test_every_route_refuses_a_body_just_over_its_limit(server):
    proc, keys, settings, _root = server
    routes = body_routes(proc.url, settings)
    admin = bearer(keys["admin"])
    with httpx.Client(base_url=proc.url, timeout=60) as client:
        for method, path in routes:
            url, limit = concrete(path), expected_limit(method, path)
            # anonymous, Content-Length over the limit: refused before the body is read
            r = client.request(method, url, content=b"x" * (limit + 1), headers={"Content-Type": "application/json"})
            assert r.status_code == 413 and is_problem(r, path), (method, path, r.status_code, r.text[:300])
            assert r.headers["connection"] == "close"
            # at the limit: not refused for its size
            r = client.request(method, url, content=b"x" * limit, headers={"Content-Type": "application/json"})
            assert r.status_code != 413, (method, path, r.text[:300])
            # chunked, no Content-Length, with a key that may do anything: refused once the body passes the limit
            if (method, path) in UPLOADS | MEDIA or (method, path) in CAPTIONS and path.startswith("/staff/"):
                body, kind = multipart(limit + 1)  # a form: read only when it is one
            else:
                body, kind = b"x" * (limit + 1), "application/json"
            r = client.request(method, url, content=chunks(body), headers={**admin, "Content-Type": kind})
            assert "content-length" not in r.request.headers
            assert r.status_code == 413 and is_problem(r, path), (method, path, r.status_code, r.text[:300])
    assert httpx.get(proc.url + "/readyz").status_code == 200


def test_large_bodies_to_small_routes_leave_the_server_memory_as_it_was(server):
    proc, keys, _settings, _root = server
    me = psutil.Process(proc.proc.pid)
    big = b"{" + b"x" * (BIG - 1)
    targets = [("POST", "/api/session"), ("PATCH", "/api/documents/x"), ("POST", "/api/keys"), ("POST", "/signin")]
    with httpx.Client(base_url=proc.url, timeout=120) as client:
        for method, url in targets:  # warm: the first request of a route builds what it caches
            client.request(method, url, content=b"{}", headers={"Content-Type": "application/json"})
        before = me.memory_info().rss
        statuses = []
        for method, url in targets:
            for body in (big, chunks(big, 2**20)):  # with Content-Length, then chunked
                r = client.request(method, url, content=body, headers={"Content-Type": "application/json"})
                statuses.append(r.status_code)
        after = me.memory_info().rss
    assert statuses == [413] * 8
    # 8 bodies of 48 MB (384 MB sent): the server kept at most a small part of one
    assert after - before < 50 * 2**20, (before >> 20, after >> 20)


def test_a_chunked_upload_over_the_limit_is_413_and_one_under_it_is_published(server):
    proc, keys, settings, root = server
    staff = bearer(keys["staff"])
    limit = expected_limit("POST", "/api/documents")
    with httpx.Client(base_url=proc.url, timeout=120) as client:
        body, kind = multipart(limit + 1)
        r = client.post("/api/documents", content=chunks(body), headers={**staff, "Content-Type": kind})
        assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json", r.text
        assert "over the limit" in r.json()["detail"] and "KMH_MAX_FILE_MB" in r.json()["detail"]
        # a file just over KMH_MAX_FILE_MB in a body under the route's limit: the 413 names the file
        body, kind = multipart(MAX_FILE_MB * 2**20 + 4096)
        r = client.post("/api/documents", content=chunks(body), headers={**staff, "Content-Type": kind})
        assert r.status_code == 413 and "big.txt" in r.json()["detail"], r.text
        # the web form's upload, chunked: the error page
        body, kind = multipart(limit + 1)
        r = client.post("/staff/upload", content=chunks(body), headers={**staff, "Content-Type": kind})
        assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
        # a chunked upload under the limit is published
        text = "Les coopératives de Kolda accueillent les personnes de retour dans l'élevage de volailles.\n"
        body, kind = multipart(0, "kolda.txt", text.encode())
        r = client.post("/api/documents", content=chunks(body, 16), headers={**staff, "Content-Type": kind})
        assert "content-length" not in r.request.headers
        assert r.status_code == 202, r.text
        assert wait_for_job(client, r.json(), keys["staff"])["state"] == "done"
    assert not any(p.is_file() for p in settings.staging_dir.rglob("*"))  # nothing of the refused uploads left


# -- sign-in: the form's token (login CSRF) -----------------------------------------------------------------------


def form_token(client: httpx.Client) -> str:
    r = client.get("/signin")
    assert r.status_code == 200
    return re.search(r'name="signin_token" value="([^"]+)"', r.text).group(1)


def session_cookie_set(r: httpx.Response) -> bool:
    return any(v.startswith("kmh_session=") for v in r.headers.get_list("set-cookie"))


def test_the_sign_in_form_needs_its_token(server):
    proc, keys, _settings, _root = server
    key = keys["staff"]
    with httpx.Client(base_url=proc.url) as browser:
        token = form_token(browser)
        cookie = next(v for v in browser.get("/signin").headers.get_list("set-cookie") if v.startswith("kmh_signin="))
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
        assert browser.cookies["kmh_signin"] == token and form_token(browser) == token  # kept while it lives
        # no token, a wrong one, a token without its cookie: refused, no session
        for data, jar in (({"key": key}, None), ({"key": key, "signin_token": "x" * 43}, None),
                          ({"key": key, "signin_token": token}, {})):
            with httpx.Client(base_url=proc.url, cookies=browser.cookies if jar is None else jar) as other:
                for url in ("/signin", "/api/session"):
                    r = other.post(url, data=data, follow_redirects=False)
                    assert r.status_code == 403 and not session_cookie_set(r), (url, data, r.status_code)
                    assert "kmh_session" not in other.cookies and other.get("/api/session").status_code == 401
        # what another site's form can send as text: JSON in a text/plain body is a form without the token
        r = httpx.post(proc.url + "/api/session", content=f'{{"key": "{key}"}}', headers={"Content-Type": "text/plain"})
        assert r.status_code == 403 and not session_cookie_set(r)
        # the real form signs in, and its token is then spent
        r = browser.post("/signin", data={"key": key, "next": "/staff", "signin_token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/staff" and session_cookie_set(r)
        assert "kmh_signin" not in browser.cookies
        assert browser.get("/api/session").json()["role"] == "staff"
    # API clients: JSON sign-in and Bearer keys need no token
    with httpx.Client(base_url=proc.url) as api:
        r = api.post("/api/session", json={"key": key})
        assert r.status_code == 200 and session_cookie_set(r)
    assert httpx.get(proc.url + "/api/session", headers=bearer(key)).json()["role"] == "staff"


# -- backing up a running server ------------------------------------------------------------------------------------


def test_a_running_server_is_backed_up_through_its_api(server, monkeypatch, tmp_path):
    proc, keys, settings, root = server
    staff = bearer(keys["staff"])
    r = httpx.post(proc.url + "/api/documents", headers=staff, timeout=60,
                   files={"file": ("tambacounda.txt", "Mission à Tambacounda : l'apiculture.\n".encode())},
                   data={"title": "Tambacounda", "type": "report"})
    assert r.status_code == 202, r.text
    assert wait_for_job(httpx.Client(base_url=proc.url), r.json(), keys["staff"])["state"] == "done"
    documents = httpx.get(proc.url + "/api/documents", params={"limit": 50}).json()["total"]
    runner = CliRunner()
    monkeypatch.setenv("KMH_DATA_DIR", str(settings.data_dir))

    # the data folder is held: the local backup says how to back up the running server
    held = runner.invoke(cli, ["backup", str(tmp_path / "local.tar")])
    assert held.exit_code == 3
    said = " ".join(held.stderr.split())
    assert f"kmh backup --server {proc.url} --key KEY {tmp_path / 'local.tar'}" in said, said
    assert "stop the server" in said and "curl" not in said
    assert not (tmp_path / "local.tar").exists()

    # the route: admins only
    assert httpx.get(proc.url + "/api/backup").status_code == 401
    assert httpx.get(proc.url + "/api/backup", headers=staff).status_code == 403
    with httpx.stream("GET", proc.url + "/api/backup", headers=bearer(keys["admin"]), timeout=120) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "application/x-tar"
        (tmp_path / "route.tar").write_bytes(r.read())
    with tarfile.open(tmp_path / "route.tar") as tar:
        names = tar.getnames()
    assert names[0] == "kmh-backup.txt" and names[-2:] == ["manifest.json", "manifest.sha256"]

    # the command, through the server: a checked archive that restores into an empty folder
    file = tmp_path / "server.tar.gz"
    result = runner.invoke(cli, ["backup", "--server", proc.url, "--key", keys["admin"], str(file)])
    assert result.exit_code == 0, result.output
    assert f"backed up {documents} documents" in result.stdout and file.is_file()
    target = tmp_path / "restored"
    monkeypatch.setenv("KMH_DATA_DIR", str(target))
    result = runner.invoke(cli, ["restore", str(file)])
    assert result.exit_code == 0, result.output
    assert f"restored {documents} documents" in result.stdout
    kept = {f.relative_to(settings.originals_dir): f.read_bytes() for f in settings.originals_dir.rglob("*")
            if f.is_file()}
    assert kept and {f.relative_to(target / "originals"): f.read_bytes() for f in (target / "originals").rglob("*")
                     if f.is_file()} == kept

    # refused keys say why, and leave no file
    for key, why in ((keys["staff"], "admin key"), ("kmh_000000000000_" + "x" * 43, "401")):
        result = runner.invoke(cli, ["backup", "--server", proc.url, "--key", key, str(tmp_path / "no.tar")])
        assert result.exit_code == 1 and why in result.stderr, result.output
    assert not (tmp_path / "no.tar").exists() and not list(tmp_path.glob(".no.tar.*"))
    assert httpx.get(proc.url + "/readyz").status_code == 200


def test_a_client_leaving_a_backup_midway_does_not_hold_up_the_server(server):
    """The archive is larger than what the server buffers; the client reads one chunk and leaves. The backup's
    write lock comes free: the next backup (which takes it too) is served whole."""
    import os

    proc, keys, settings, _root = server
    filler = settings.originals_dir / "zz"
    filler.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        (filler / f"filler-{i}.bin").write_bytes(os.urandom(10 * 2**20))
    admin = bearer(keys["admin"])
    try:
        with httpx.stream("GET", proc.url + "/api/backup", headers=admin, timeout=60) as r:
            assert r.status_code == 200 and next(r.iter_bytes())
        r = httpx.get(proc.url + "/api/backup", headers=admin, timeout=120)
        assert r.status_code == 200 and len(r.content) > 30 * 2**20
        assert r.content.endswith(b"\0" * 512)  # the tar's end: the archive is whole
    finally:
        for f in filler.iterdir():
            f.unlink()
        filler.rmdir()
