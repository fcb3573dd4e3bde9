"""Hostile input: bombs, malformed and misnamed files, parser limits, the parse sandbox, upload file names.

Every file is generated here. Files go through ``ParseSandbox`` (the production path): each is refused
with a specific reason, and the test process (the "server") is unharmed: its memory does not grow and
the sandbox parses the next file.
"""

from __future__ import annotations

import gc
import io
import os
import signal
import struct
import threading
import time
import zipfile
import zlib
from pathlib import Path

import psutil
import pytest

from ingest.filenames import safe_filename
from ingest.model import IngestError
from ingest.parsers import parse_file
from ingest.sandbox import ParseSandbox
from tests.helpers import make_docx, make_pdf

MAX = 50 * 1024 * 1024
MEMORY_MB = 1024
MEMORY_REASON = f"parsing used more than {MEMORY_MB} MB of memory (the cap per parse, KMH_PARSE_MEMORY_MB)"
SECRET = "SECRET-8c1f2d-ne-doit-jamais-sortir"
PAGE_TEXT = b"BT /F1 12 Tf 72 420 Td (Rapport de mission sur la reintegration des migrants de retour.) Tj ET"

# --------------------------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------------------------


def build_pdf(pages: int, content: bytes, *, flate: bool = False) -> bytes:
    """A PDF written object by object: ``pages`` pages sharing one content stream (Helvetica as F1)."""
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d%s >>\nstream\n" % (len(content), b" /Filter /FlateDecode" if flate else b"")
        + content + b"\nendstream",
    ]
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>")
    objects += [page] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def zeros_deflate(mib: int) -> bytes:
    """A zlib stream that inflates to ``mib`` MiB of zeros (about 1 KB per MiB), built without inflating it."""
    c = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)  # after a full flush every MiB compresses the same
    end = c.flush()[:-4]
    adler = (((mib << 20) % 65521) << 16) | 1  # Adler-32 of n zero bytes: a = 1, b = n mod 65521
    return first + block * (mib - 1) + end + struct.pack(">I", adler)


def make_pptx(path: Path, slides: int = 2) -> Path:
    import pptx

    p = pptx.Presentation()
    for number in range(1, slides + 1):
        slide = p.slides.add_slide(p.slide_layouts[1])
        slide.shapes.title.text = f"Diapositive {number}"
        slide.placeholders[1].text_frame.text = "La réintégration durable nécessite la coordination des acteurs."
    p.save(str(path))
    return path


def rezip(src: bytes, replace: dict[str, bytes] | None = None, zeros: dict[str, int] | None = None) -> bytes:
    """The package ``src`` with parts replaced and members of ``zeros[name]`` MiB of zeros added (streamed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, (replace or {}).get(info.filename, zin.read(info.filename)))
        for name, mib in (zeros or {}).items():
            with zout.open(name, "w", force_zip64=True) as fh:
                for _ in range(mib):
                    fh.write(bytes(1 << 20))
    return out.getvalue()


def laughs(root: str, body: str, extra: str = "") -> str:
    """An XML document with the billion-laughs entities (10^9 "lol") and ``extra`` declarations."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!DOCTYPE {root} [{entities}{extra}]>{body}'


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def word_document(text: str) -> str:
    return f"<w:document {W}><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"


@pytest.fixture(scope="module")
def sandbox():
    box = ParseSandbox(max_memory_mb=MEMORY_MB, timeout_s=120, max_bytes=MAX, max_pages=2000)
    yield box
    box.close()


@pytest.fixture
def secret_file(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(f"{SECRET}\n", encoding="utf-8")
    return path


def refused(box: ParseSandbox, path: Path) -> str:
    """The reason ``box`` gives for refusing ``path`` (the error names the file)."""
    with pytest.raises(IngestError) as info:
        box.parse(path)
    assert info.value.path == path
    assert str(info.value) == f"{path}: {info.value.reason}"
    return info.value.reason


class RssWatch:
    """Samples this process's resident memory in a thread; ``growth_mb`` is the peak over the start."""

    def __enter__(self) -> "RssWatch":
        self._me = psutil.Process()
        self.start_mb = self.peak_mb = self._me.memory_info().rss / 1048576
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak_mb = max(self.peak_mb, self._me.memory_info().rss / 1048576)

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.start_mb


def alive(pid: int | None) -> bool:
    if pid is None or not psutil.pid_exists(pid):
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# --------------------------------------------------------------------------------------------
# the sandbox parses like the parsers
# --------------------------------------------------------------------------------------------


def test_sandbox_gives_the_same_documents_as_parsing_in_process(sandbox, tmp_path):
    html = tmp_path / "page.html"
    html.write_text("<html><head><title>Atelier</title></head><body><h1>Atelier de Saly</h1><p>Trente-six "
                    "acteurs nationaux ont participé à l'atelier de Saly en mars 2024.</p></body></html>",
                    encoding="utf-8")
    md = tmp_path / "notes.md"
    md.write_text("# Manuel\n\nCe manuel présente l'approche intégrée de la réintégration.\n\n- premier point\n",
                  encoding="utf-8")
    sidecar_doc = make_docx(tmp_path / "rapport.docx")
    (tmp_path / "rapport.meta.yaml").write_text("type: report\ndate: 2022-05-01\ncountry: Mali\nlanguage: fr\n")
    for path in (make_pdf(tmp_path / "rapport.pdf"), sidecar_doc, make_pptx(tmp_path / "atelier.pptx"), html, md):
        isolated = sandbox.parse(path)
        direct = parse_file(path, max_bytes=MAX)
        assert isolated == direct, path
        assert isolated.path == path and isolated.blocks
    meta = sandbox.parse(sidecar_doc).meta
    assert meta.doc_type == "report" and meta.published.isoformat() == "2022-05-01" and "doc_type" in meta.from_sidecar
    assert sandbox.pid is not None and sandbox.pid != os.getpid()


# --------------------------------------------------------------------------------------------
# zip bombs and XML entities
# --------------------------------------------------------------------------------------------


def test_zip_bomb_docx_and_pptx_are_refused(sandbox, tmp_path):
    docx = tmp_path / "bombe.docx"  # 300 MB of zeros deflate to about 300 KB
    docx.write_bytes(rezip(make_docx(tmp_path / "base.docx").read_bytes(), zeros={"word/media/zeros.bin": 300}))
    pptx = tmp_path / "bombe.pptx"
    pptx.write_bytes(rezip(make_pptx(tmp_path / "base.pptx").read_bytes(), zeros={"ppt/media/zeros.bin": 30}))
    assert docx.stat().st_size < 1024 * 1024 and pptx.stat().st_size < 1024 * 1024
    with RssWatch() as watch:
        reason = refused(sandbox, docx)
        assert reason.startswith("refused docx: possible zip bomb, 3") and reason.endswith("(limit 200 MB)"), reason
        reason = refused(sandbox, pptx)
    assert reason.startswith("refused pptx: possible zip bomb, member ppt/media/zeros.bin inflates"), reason
    assert reason.endswith("(limit 100x)")
    assert watch.growth_mb < 50


def test_billion_laughs_docx_and_pptx_are_refused(sandbox, tmp_path):
    base = make_docx(tmp_path / "base.docx").read_bytes()
    path = tmp_path / "rires.docx"
    path.write_bytes(rezip(base, replace={"word/document.xml": laughs("w:document", word_document("&lol9;")).encode()}))
    started = time.monotonic()
    assert refused(sandbox, path) == (
        "refused docx: XML part word/document.xml declares a DTD/entities (possible entity-expansion attack)"
    )
    assert time.monotonic() - started < 10
    # the check covers every XML part, of presentations too
    slides = make_pptx(tmp_path / "base.pptx").read_bytes()
    slide = zipfile.ZipFile(io.BytesIO(slides)).read("ppt/slides/slide1.xml").decode()
    bomb = slide.replace("<p:sld ", '<!DOCTYPE p:sld [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;">]><p:sld ', 1)
    assert bomb != slide
    pptx = tmp_path / "rires.pptx"
    pptx.write_bytes(rezip(slides, replace={"ppt/slides/slide1.xml": bomb.encode()}))
    assert refused(sandbox, pptx) == (
        "refused pptx: XML part ppt/slides/slide1.xml declares a DTD/entities (possible entity-expansion attack)"
    )


def test_entity_declarations_hidden_by_another_encoding_are_refused(sandbox, tmp_path):
    base = make_docx(tmp_path / "base.docx").read_bytes()
    document = laughs("w:document", word_document("&lol9;")).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    utf16 = tmp_path / "utf16.docx"
    utf16.write_bytes(rezip(base, replace={"word/document.xml": document.encode("utf-16")}))
    assert "word/document.xml declares a DTD/entities" in refused(sandbox, utf16)
    utf7 = tmp_path / "utf7.docx"
    doctype = '+ADw-!DOCTYPE w:document +AFs-+ADw-!ENTITY lol +ACI-lol+ACI-+AD4-+AF0-+AD4-'
    utf7.write_bytes(rezip(base, replace={"word/document.xml": (
        f'<?xml version="1.0" encoding="UTF-7"?>{doctype}{word_document("&lol;")}').encode()}))
    assert refused(sandbox, utf7) == (
        "refused docx: XML part word/document.xml is not encoded in UTF-8 or UTF-16 as OOXML requires"
    )
    # a legitimate UTF-16 part still parses
    plain = tmp_path / "utf16-ok.docx"
    text = "Les conseillers accompagnent les personnes de retour pendant six mois."
    xml = f'<?xml version="1.0" encoding="UTF-16" standalone="yes"?>{word_document(text)}'
    plain.write_bytes(rezip(base, replace={"word/document.xml": xml.encode("utf-16")}))
    assert [b.text for b in sandbox.parse(plain).blocks] == [text]


def test_external_entity_in_docx_is_refused(sandbox, tmp_path, secret_file):
    base = make_docx(tmp_path / "base.docx").read_bytes()
    for target in (secret_file.as_uri(), "file:///etc/passwd"):
        xml = (f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "{target}">]>'
               + word_document("Texte &xxe; fin"))
        path = tmp_path / "xxe.docx"
        path.write_bytes(rezip(base, replace={"word/document.xml": xml.encode()}))
        reason = refused(sandbox, path)
        assert "declares a DTD/entities" in reason and SECRET not in reason and "root:" not in reason


@pytest.mark.parametrize("name", ["rires.html", "rires.xhtml", "rires.md", "rires.txt"])
def test_html_does_not_expand_entities(sandbox, tmp_path, secret_file, name):
    """The HTML parser ignores the internal subset: no expansion, no file read, a normal document."""
    extra = f'<!ENTITY xxe SYSTEM "{secret_file.as_uri()}"><!ENTITY pwd SYSTEM "file:///etc/passwd">'
    body = ("<html><head><title>Rapport</title></head><body><h1>Rapport de mission</h1>"
            "<p>Les conseillers accompagnent les personnes de retour. &lol9; &xxe; &pwd; Fin du rapport.</p>"
            "</body></html>")
    path = tmp_path / name
    path.write_text(laughs("html", body, extra), encoding="utf-8")
    started = time.monotonic()
    doc = sandbox.parse(path)
    assert time.monotonic() - started < 10
    assert doc.format == "html"
    text = "\n".join(b.text for b in doc.blocks)
    assert "Les conseillers accompagnent les personnes de retour." in text and "Fin du rapport." in text
    assert "lollol" not in text and SECRET not in text and "root:" not in text
    assert len(text) < 2000


# --------------------------------------------------------------------------------------------
# PDFs
# --------------------------------------------------------------------------------------------


def test_malformed_pdfs_are_refused(sandbox, tmp_path):
    garbage = tmp_path / "casse.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\ntrailer\n<< /Root 99 0 R >>\n%%EOF\n")
    assert refused(sandbox, garbage).startswith("corrupt or truncated PDF (")
    full = build_pdf(3, PAGE_TEXT)
    truncated = tmp_path / "tronque.pdf"
    truncated.write_bytes(full[: len(full) // 2])
    assert refused(sandbox, truncated) == "corrupt or truncated PDF (no end-of-file marker)"
    header_only = tmp_path / "entete.pdf"
    header_only.write_bytes(b"%PDF-1.4\n%%EOF\n")
    assert refused(sandbox, header_only).startswith("corrupt or truncated PDF (")


def test_encrypted_pdf_is_refused(sandbox, tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(make_pdf(tmp_path / "clair.pdf")))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    path = tmp_path / "chiffre.pdf"
    writer.write(path)
    assert refused(sandbox, path) == "encrypted PDF (a password is required)"


def test_pdf_with_thousands_of_pages_is_refused_before_extraction(sandbox, tmp_path):
    path = tmp_path / "cinq-mille-pages.pdf"
    path.write_bytes(build_pdf(5000, PAGE_TEXT))
    assert path.stat().st_size < 1024 * 1024
    started = time.monotonic()
    assert refused(sandbox, path) == "PDF has 5000 pages, over the limit of 2000 pages (KMH_MAX_PAGES)"
    assert time.monotonic() - started < 15  # counting pages only (about 0.6 s); extracting them takes ~10x more
    pptx = make_pptx(tmp_path / "diapos.pptx", slides=25)
    assert parse_file(pptx, max_bytes=MAX).page_count == 25
    with pytest.raises(IngestError) as info:
        parse_file(pptx, max_bytes=MAX, max_pages=20)
    assert info.value.reason == "PPTX has 25 slides, over the limit of 20 slides (KMH_MAX_PAGES)"


def test_memory_bomb_pdf_hits_the_cap_and_the_sandbox_goes_on(sandbox, tmp_path):
    """A 3 MB PDF whose only content stream inflates to 3 GB: the worker, not this process, runs out."""
    bomb = tmp_path / "bombe.pdf"
    bomb.write_bytes(build_pdf(1, zeros_deflate(3072), flate=True))
    assert bomb.stat().st_size < 4 * 1024 * 1024
    good = make_pdf(tmp_path / "rapport.pdf")
    sandbox.parse(good)
    starts = sandbox.starts
    with RssWatch() as watch:
        assert refused(sandbox, bomb) == MEMORY_REASON
    assert watch.growth_mb < 50  # in-process, this parse takes over 1 GB
    assert sandbox.parse(good).page_count == 3  # a new worker
    assert sandbox.starts == starts + 1


# --------------------------------------------------------------------------------------------
# time limit and crashes
# --------------------------------------------------------------------------------------------


def test_parse_over_the_time_limit_is_stopped(tmp_path):
    big = tmp_path / "cinq-mille-pages.pdf"
    big.write_bytes(build_pdf(5000, PAGE_TEXT))  # legitimate, about 10 s to extract
    junk = tmp_path / "lent.pdf"
    junk.write_bytes(build_pdf(1, zeros_deflate(32), flate=True))  # 33 KB: 32 MiB of content to tokenize, ~45 s
    small = make_pdf(tmp_path / "rapport.pdf")
    with ParseSandbox(MEMORY_MB, timeout_s=1.5, max_bytes=MAX, max_pages=10_000) as box:
        assert box.parse(small).page_count == 3
        for slow in (big, junk):
            pid = box.pid
            started = time.monotonic()
            assert refused(box, slow) == "parsing took longer than 1.5 s (KMH_PARSE_TIMEOUT_S)"
            assert time.monotonic() - started < 10
            assert not alive(pid)
            assert box.parse(small).page_count == 3
        assert box.starts == 3


def test_worker_crash_is_reported_and_the_next_file_parses(tmp_path):
    big = tmp_path / "cinq-mille-pages.pdf"
    big.write_bytes(build_pdf(5000, PAGE_TEXT))
    small = make_pdf(tmp_path / "rapport.pdf")
    with ParseSandbox(MEMORY_MB, timeout_s=120, max_bytes=MAX, max_pages=10_000) as box:
        box.parse(small)
        timer = threading.Timer(1.0, os.kill, (box.pid, signal.SIGSEGV))
        timer.start()
        try:
            assert refused(box, big) == "the parser crashed (signal 11, SIGSEGV)"
        finally:
            timer.cancel()
        assert box.parse(small).page_count == 3


def test_worker_stops_with_close_and_with_the_sandbox(tmp_path):
    small = make_pdf(tmp_path / "rapport.pdf")
    box = ParseSandbox(MEMORY_MB, timeout_s=60, max_bytes=MAX)
    box.parse(small)
    pid = box.pid
    assert alive(pid)
    box.close()
    box.close()
    assert not alive(pid) and box.pid is None
    box.parse(small)  # a closed sandbox starts a new worker when used again
    pid = box.pid
    assert alive(pid)
    del box
    gc.collect()
    assert not alive(pid)


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo owned",))


def test_parent_loads_only_document_classes_from_the_worker(tmp_path):
    import pickle

    from ingest.sandbox import _AnswerUnpickler

    doc = parse_file(_write(tmp_path / "note.txt", "Une note.\n\nDu texte ici."), max_bytes=MAX)
    answer = ("ok", doc)
    assert _AnswerUnpickler(io.BytesIO(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))).load() == answer
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system"):
        _AnswerUnpickler(io.BytesIO(pickle.dumps(("ok", _Payload())))).load()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_worker_that_cannot_load_the_parsers_is_reported(tmp_path):
    small = make_pdf(tmp_path / "rapport.pdf")
    with ParseSandbox(200, timeout_s=60, max_bytes=MAX) as box:
        reason = refused(box, small)
    assert reason == ("the parse worker could not start: loading the parsers needs more than the 200 MB memory cap "
                      "(KMH_PARSE_MEMORY_MB)")


# --------------------------------------------------------------------------------------------
# small files, misnamed files, bad text
# --------------------------------------------------------------------------------------------


def test_empty_file(sandbox, tmp_path):
    for name in ("vide.pdf", "vide.docx", "vide.txt", "vide"):
        path = tmp_path / name
        path.write_bytes(b"")
        assert refused(sandbox, path) == "empty file"


def test_type_comes_from_the_content_not_the_extension(sandbox, tmp_path):
    pdf_as_docx = tmp_path / "rapport.docx"
    pdf_as_docx.write_bytes(make_pdf(tmp_path / "rapport.pdf").read_bytes())
    doc = sandbox.parse(pdf_as_docx)
    assert doc.format == "pdf" and doc.page_count == 3
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
    for name, reason in (
        ("photo.pdf", "not a PDF file: the content is a PNG image"),
        ("photo.docx", "not a docx file: the content is a PNG image"),
        ("photo.png", "unsupported file type .png"),
    ):
        path = tmp_path / name
        path.write_bytes(png)
        assert refused(sandbox, path) == reason
    exe = tmp_path / "facture.pdf"
    exe.write_bytes(b"MZ\x90\x00" + bytes(100))
    assert refused(sandbox, exe) == "not a PDF file: the content is a Windows executable"
    unknown = tmp_path / "inconnu.pdf"
    unknown.write_bytes(b"ceci n'est pas un PDF")
    assert refused(sandbox, unknown) == "corrupt or truncated PDF (no %PDF- header)"


@pytest.mark.parametrize("name", ["notes.txt", "notes.md", "page.html"])
def test_invalid_utf8_is_refused_with_the_offset(sandbox, tmp_path, name):
    good = "Rapport de mission à Kayes.\n\nLes conseillers accompagnent les personnes de retour.\n".encode()
    path = tmp_path / name
    path.write_bytes(good + b"Un octet isol\xe9 ici.\n")
    offset = len(good) + len(b"Un octet isol")
    assert refused(sandbox, path) == f"text is not valid UTF-8 (invalid byte at offset {offset}; re-save it as UTF-8)"
    path.write_bytes(good + b"\xff\xfe\x00\x01" * 200)
    assert refused(sandbox, path) == "binary content, not text"


def test_sandbox_keeps_the_size_limit(sandbox, tmp_path):
    path = tmp_path / "gros.txt"
    path.write_text("Un texte assez long. " * 100, encoding="utf-8")
    sandbox.max_bytes = 1000
    try:
        reason = refused(sandbox, path)
    finally:
        sandbox.max_bytes = MAX
    assert reason == f"file too large: {path.stat().st_size} bytes, over the limit of 1000 bytes (0.0 MB)"


# --------------------------------------------------------------------------------------------
# the indexer: failed files, nothing lost
# --------------------------------------------------------------------------------------------


def test_indexer_fails_hostile_files_and_keeps_what_is_stored(tmp_path, isolated_data, shared_embedders):
    from ingest.indexer import Indexer
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings
    from tests.conftest import MODELS

    settings = Settings(data_dir=isolated_data, models_dir=MODELS, sentence_ranking=False, parse_memory_mb=MEMORY_MB)
    assert settings.parse_isolation
    good = make_pdf(tmp_path / "rapport.pdf")
    bomb = tmp_path / "bombe.pdf"
    bomb.write_bytes(build_pdf(1, zeros_deflate(3072), flate=True))
    pages = tmp_path / "cinq-mille-pages.pdf"
    pages.write_bytes(build_pdf(5000, PAGE_TEXT))
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"")
    later = tmp_path / "notes.txt"
    later.write_text("Rapport de mission à Kayes\n\nLes conseillers accompagnent les personnes de retour "
                     "pendant six mois et suivent leurs microentreprises agricoles.\n", encoding="utf-8")
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        with Indexer(settings, catalog, store) as indexer:  # the model behind it is loaded once (shared_embedders)
            indexer.warm_up()
            (first,) = indexer.run([good])
            assert first.status == "new"
            stored = store.count()
            with RssWatch() as watch:
                results = indexer.run([bomb, pages, empty, later])
            assert watch.growth_mb < 300  # the embedder works on notes.txt; the bomb alone would take over 1 GB
            worker = indexer.documents.sandbox.pid
            assert alive(worker)
        assert not alive(worker)  # the indexer stopped its parse worker
        assert [(r.path.name, r.status, r.reason) for r in results] == [
            ("bombe.pdf", "failed", MEMORY_REASON),
            ("cinq-mille-pages.pdf", "failed", "PDF has 5000 pages, over the limit of 2000 pages (KMH_MAX_PAGES)"),
            ("vide.txt", "failed", "empty file"),
            ("notes.txt", "new", None),
        ]
        docs, total = catalog.list(limit=10, offset=0, status=None)
        assert total == 2 and {d.filename for d in docs} == {"rapport.pdf", "notes.txt"}
        assert catalog.get(first.doc_id).passage_count == first.passages
        assert store.count() == stored + results[-1].passages
    finally:
        store.close()
        catalog.close()


def test_indexer_parses_in_process_when_isolation_is_off(tmp_path, isolated_data, monkeypatch):
    from ingest.indexer import Indexer
    from kmh.settings import Settings

    monkeypatch.setenv("KMH_PARSE_ISOLATION", "false")
    settings = Settings()
    assert not settings.parse_isolation
    indexer = Indexer(settings, catalog=None, store=_NoSentences())
    doc = indexer.parse(make_pdf(tmp_path / "rapport.pdf"))
    assert doc.page_count == 3 and indexer.documents.sandbox is None
    indexer.close()


class _NoSentences:
    """Just enough of a vector store for building an Indexer that only parses."""

    has_sentences = False


# --------------------------------------------------------------------------------------------
# upload file names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("/abs/path.pdf", "path.pdf"),
        ("C:\\Users\\moi\\rapport final.docx", "rapport final.docx"),
        ("..", "upload"),
        ("dossier/", "upload"),
        ("", "upload"),
        (".pdf", "upload.pdf"),
        (".htaccess", "upload.htaccess"),
        ("...rapport.pdf", "rapport.pdf"),
        ("rapport\x00.pdf", "rapport.pdf"),
        ("rap\x1b[31mport\x07\x7f\x85\x9b.pdf", "rap[31mport.pdf"),
        ("ligne\nnouvelle\r\tligne.txt", "lignenouvelleligne.txt"),
        ("report\u202efdp.exe", "reportfdp.exe"),
        ("\u2066facture\u2069\u200f.pdf", "facture.pdf"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("com1.tar.gz", "_com1.tar.gz"),
        ("LPT9 .pdf", "_LPT9.pdf"),
        ('a<b>c:d|e?f*"g.md', "a_b_c_d_e_f__g.md"),
        ("  rapport   final .  .pdf", "rapport final.pdf"),
        ("Cafe\u0301.pdf", "Caf\u00e9.pdf"),
    ],
)
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe


def test_safe_filename_trims_long_names_and_keeps_the_extension():
    long = safe_filename("r" * 500 + ".pdf")
    assert long == "r" * 196 + ".pdf" and len(long.encode()) == 200
    accented = safe_filename("é" * 300 + ".docx")
    assert accented.endswith(".docx") and len(accented.encode()) <= 200
    assert accented[:-5] == "é" * 97  # whole characters only: 97 x 2 bytes + 5
    assert safe_filename("x" * 300) == "x" * 200
    dotted = safe_filename("a" * 199 + ". .pdf")
    assert dotted == "a" * 196 + ".pdf"
