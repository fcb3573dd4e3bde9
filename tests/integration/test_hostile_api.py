"""Hostile uploads through the API: each gets a 4xx or a failed job with a clear reason, the server's memory stays
bounded (parsing happens in the capped sandbox worker), it keeps answering, and nothing stored is lost.

The files are built by tests/integration/test_hostile.py's builders; that module checks the parsers' reasons in detail."""

from __future__ import annotations


import psutil
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kmh.settings import Settings
from tests.conftest import MODELS
from tests.helpers import api_key, bearer, make_pdf, wait_for_job
from tests.integration.test_hostile import PAGE_TEXT, build_pdf, laughs, make_pptx, rezip, word_document, zeros_deflate


@pytest.fixture(scope="module")
def env(tmp_path_factory, shared_embedders):
    root = tmp_path_factory.mktemp("hostile-api")
    settings = Settings(data_dir=root / "data", models_dir=MODELS, max_file_mb=8, parse_memory_mb=1024,
                        parse_timeout_s=120)
    key = api_key(settings, "staff")
    with TestClient(create_app(settings)) as client:
        yield client, key, root


def post(client, key, name: str, data: bytes):
    return client.post("/api/documents", headers=bearer(key), files={"file": (name, data)})


def asgi_get(app, path: str, query: bytes) -> tuple[int, bytes]:
    """One GET through the ASGI interface, with any query string."""
    import anyio

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1), "server": ("testserver", 80),
             "state": {}}
    anyio.run(app, scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def docx_bytes(root) -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("La réintégration durable à Tambacounda.")
    path = root / "base.docx"
    d.save(str(path))
    return path.read_bytes()


def test_hostile_uploads_fail_cleanly_and_the_service_keeps_what_it_had(env):
    client, key, root = env
    # a document published before the attack
    good = make_pdf(root / "good.pdf", [("Kolda poultry", "Returnees in Kolda raise poultry with a women's group.")])
    r = post(client, key, "good.pdf", good.read_bytes())
    assert r.status_code == 202 and wait_for_job(client, r.json(), key)["state"] == "done"
    question = "poultry farming returnees Kolda"
    before = client.get("/api/search", params={"q": question}).json()["hits"]
    assert before[0]["doc_id"] == r.json()["doc_id"]

    base_docx = docx_bytes(root)
    pptx = make_pptx(root / "base.pptx").read_bytes()
    secret = root / "secret.txt"
    secret.write_text("TOP-SECRET-LINE\n", encoding="utf-8")
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(make_pdf(root / "plain.pdf")))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    writer.write(root / "encrypted.pdf")

    # (name, content, expected: an HTTP status, or the start of the failed job's reason)
    cases = [
        ("bomb.docx", rezip(base_docx, zeros={"word/media/zeros.bin": 300}), "refused docx: possible zip bomb"),
        ("bomb.pptx", rezip(pptx, zeros={"ppt/media/zeros.bin": 300}), "refused pptx: possible zip bomb"),
        ("laughs.docx", rezip(base_docx, replace={"word/document.xml": laughs("w:document", word_document(
            "&lol9;")).encode()}), "refused docx: XML part word/document.xml declares a DTD"),
        ("xxe.docx", rezip(base_docx, replace={"word/document.xml": laughs("w:document", word_document("&xxe;"),
         f'<!ENTITY xxe SYSTEM "file://{secret}">').encode()}), "refused docx: XML part word/document.xml declares"),
        ("broken.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\ntrailer\n<< /Root 99 0 R >>\n%%EOF\n",
         "corrupt or truncated PDF"),
        ("encrypted.pdf", (root / "encrypted.pdf").read_bytes(), "encrypted PDF (a password is required)"),
        ("thousands.pdf", build_pdf(5000, PAGE_TEXT), "PDF has 5000 pages, over the limit of 2000 pages"),
        ("memory-bomb.pdf", build_pdf(1, zeros_deflate(3072), flate=True),
         "parsing used more than 1024 MB of memory"),
        ("empty.pdf", b"", 422),
        ("photo.pdf", b"\x89PNG\r\n\x1a\n" + bytes(200), 415),
        ("notes.txt", b"Rapport de mission\n\xff\xfe\xfa invalide", 415),
        ("big.pdf", b"%PDF-1.4\n" + bytes(9 * 2**20), 413),
    ]
    me = psutil.Process()
    rss_before = me.memory_info().rss
    peak = rss_before
    for name, data, expected in cases:
        r = post(client, key, name, data)
        if isinstance(expected, int):
            assert r.status_code == expected, (name, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"], name
            continue
        assert r.status_code == 202, (name, r.text)
        job = wait_for_job(client, r.json(), key)
        peak = max(peak, me.memory_info().rss)
        assert job["state"] == "failed", (name, job)
        assert job["error"].startswith(expected), (name, job["error"])
        assert "TOP-SECRET-LINE" not in job["error"]
        assert client.get(r.json()["document_url"]).status_code == 404
        assert client.get("/readyz").status_code == 200  # answering between hostile files

    # entities in HTML are left as text, never expanded, and no local file is read
    html = laughs("html", "<html><body><h1>Atelier</h1><p>Formation &lol9; &xxe; des conseillers.</p></body></html>",
                  f'<!ENTITY xxe SYSTEM "file://{secret}">').encode()
    r = post(client, key, "laughs.html", html)
    assert r.status_code == 202
    job = wait_for_job(client, r.json(), key)
    if job["state"] == "done":
        doc_hits = [h for h in client.get("/api/search", params={"q": "Formation des conseillers atelier"}).json()[
            "hits"] if h["doc_id"] == job["doc_id"]]
        assert doc_hits and all("lollol" not in h["text"] and "TOP-SECRET" not in h["text"] for h in doc_hits)
    else:
        assert job["error"] and "TOP-SECRET" not in job["error"]

    # a 100,000-character query is refused, not searched (sent straight to the ASGI app: HTTP clients refuse
    # such URLs themselves)
    status, body = asgi_get(client.app, "/api/search", b"q=" + b"r%C3%A9int%C3%A9gration+" * 7143)
    assert status == 422 and b"at most 500 characters" in body, (status, body[:300])

    # memory: the 3 GB decompression happened in the capped worker, not in the server
    assert (peak - rss_before) / 2**20 < 300, f"server grew by {(peak - rss_before) / 2**20:.0f} MB"
    # nothing stored was lost or changed
    after = client.get("/api/search", params={"q": question}).json()["hits"]
    kept = {h["doc_id"] for h in before}
    assert [(h["passage_id"], h["text"]) for h in after if h["doc_id"] in kept] == [
        (h["passage_id"], h["text"]) for h in before]
    docs = client.get("/api/documents").json()
    assert docs["total"] == 1 + (job["state"] == "done")
    assert not [p for p in client.app.state.runtime.settings.staging_dir.rglob("*") if p.is_file()]
