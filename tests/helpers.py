"""Builders for real test files (PDF, DOCX) and small helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

# File names of the sample corpus documents, as search hits cite them.
HANDBOOK = "manuel-reintegration-module-1-approche-integree.pdf"
MOROCCO = "maroc-avrr-foras-11300-migrants.txt"
SENEGAL = "senegal-saly-atelier-approche-integree-2024.txt"
TOGO = "togo-kpalime-atelier-gouvernance-reintegration.txt"
SEMINAR = "page-seminaire.txt"
RECORDING = "seminaire-2021-12-reintegration-developpement.mp3"  # the sample seminar's synthetic recording
SCAN = "note-de-terrain-suivi-reintegration-scan.pdf"  # the sample scanned note (kmh synth-scan): read by OCR

PDF_PAGES = [
    (
        "Gouvernance de la réintégration",
        "Les comités de coordination réunissent les ministères, les collectivités locales et les "
        "organisations de la société civile. Ils se réunissent chaque trimestre pour suivre les dossiers "
        "des migrants de retour et orienter les cas complexes vers les services compétents.",
    ),
    (
        "Appui psychosocial",
        "Les conseillers psychosociaux organisent des groupes de parole pour les personnes de retour. "
        "Le soutien psychologique individuel est proposé pendant six mois aux personnes qui ont vécu "
        "des violences pendant leur parcours migratoire.",
    ),
    (
        "Microentreprises agricoles",
        "Les bénéficiaires reçoivent une formation en apiculture et en maraîchage avant de lancer leur "
        "microentreprise. Une subvention de démarrage finance les ruches, les semences et le petit matériel.",
    ),
]


def make_pdf(path: Path, pages=PDF_PAGES) -> Path:
    """A real multi-page PDF: one heading (large bold) and two paragraphs per page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=False)
    for title, body in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 20)
        pdf.multi_cell(0, 12, title)
        pdf.ln(4)
        pdf.set_font("Helvetica", "", 11)
        for _ in range(2):
            pdf.multi_cell(0, 6, body)
            pdf.ln(3)
    pdf.output(str(path))
    return path


DOCX_SECTIONS = [
    ("Rapport annuel", 1, None),
    ("Réintégration économique", 2,
     "Les formations professionnelles en mécanique automobile ont permis à quarante personnes de retour "
     "de trouver un emploi stable dans les garages de la région de Kayes."),
    ("Réintégration sociale", 2,
     "Les familles d'accueil et les associations de quartier facilitent l'accès au logement et à "
     "l'école pour les enfants des migrants revenus de Libye."),
]


def make_docx(path: Path, sections=DOCX_SECTIONS) -> Path:
    """A real DOCX with Heading 1 / Heading 2 styles and paragraphs under each heading."""
    import docx

    d = docx.Document()
    for title, level, body in sections:
        d.add_heading(title, level=level)
        if body:
            d.add_paragraph(body)
            d.add_paragraph(body.replace("Les ", "Ces ", 1))
    d.save(str(path))
    return path


# -- audio ------------------------------------------------------------------------------------------

SR = 16000


def speak(text: str, voice: str, folder: Path, speed: int = 150):
    """``text`` spoken by espeak-ng (voice "en-us", "fr", ...), as 16 kHz mono float32 samples."""
    import subprocess

    from ingest.media.audio import load_audio

    wav = folder / f"{voice}-{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
    return load_audio(wav)


def silence(seconds: float):
    import numpy as np

    return np.zeros(int(seconds * SR), np.float32)


def write_wav(path: Path, samples) -> Path:
    """16-bit mono WAV at 16 kHz."""
    import wave

    import numpy as np

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


# -- recognised speech: what recognition varies on (case, punctuation, possessives, a word or two) ----------


def words_heard(expected: set[str], transcript: str) -> set[str]:
    """Which of ``expected`` the transcript contains (as words, possessives and plurals aside)."""
    from ingest.media.wer import spoken_words

    heard = set(spoken_words(transcript))
    heard |= {w[:-1] for w in heard if w.endswith("s")}
    return {w for w in expected if w in heard or w.rstrip("s") in heard}


def ffmpeg(*args: str) -> None:
    import subprocess

    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def api_key(settings, role: str, name: str | None = None) -> str:
    """A new API key with this role in the settings' catalog (created before or beside a running app)."""
    from kmh.runtime import open_catalog

    catalog = open_catalog(settings)
    try:
        return catalog.create_key(name or f"test {role}", role)[1]
    finally:
        catalog.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class ServerProcess:
    """`kmh serve` in a child process on a free port, with the environment's KMH_* settings plus ``env``."""

    def __init__(self, env: dict[str, str], log: Path):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env, self.log = env, log
        self.proc = None

    def start(self, timeout: float = 180.0, *, loaded: bool = False) -> "ServerProcess":
        """Start and wait until /readyz is 200; with ``loaded``, until it has loaded, ready or not (a 503 that is
        not "loading"), keeping that answer in ``self.readyz``."""
        import os
        import subprocess
        import sys
        import time

        import httpx

        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from cli.main import app; app()", "serve", "--port", str(self.port)],
            env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                r = httpx.get(self.url + "/readyz", timeout=2)
                if r.status_code == 200 or loaded and "loading" not in r.text and "not started" not in r.text:
                    self.readyz = r
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the server was not {'loaded' if loaded else 'ready'} in {timeout} s:\n"
                             f"{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        import signal

        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        import signal

        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except Exception:
                self.proc.kill()
                self.proc.wait(30)


def wait_for_job(client, job: dict, key: str, timeout: float = 300) -> dict:
    """Poll a publishing job (TestClient or httpx.Client) until it is done or failed."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(job["url"], headers=bearer(key)).json()
        if body["state"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job['id']} still {body['state']} after {timeout} s: {body}")


# -- the web pages' corpus ----------------------------------------------------------------------------

REPORT_PDF = "rapport-kindia-2023.pdf"
MARKUP = "balises-html.txt"
# Text that would run in a page if a template showed document text as HTML.
MARKUP_TEXT = ('Note de terrain sur les ateliers de couture à Labé. Les participantes ont écrit <script>alert("xss")'
               '</script> et <img src=x onerror="alert(2)"> dans le formulaire du registre des coopératives de couture.')
MARKUP_TITLE = 'Ateliers de couture <b onmouseover="alert(3)">Labé</b>'


def build_web_corpus(root: Path) -> Path:
    """Ingest the sample corpus plus REPORT_PDF (PDF_PAGES, apiculture on page 3) and MARKUP into ``root``/data."""
    import shutil

    import yaml

    from ingest.indexer import Indexer
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings
    from tests.conftest import CORPUS, MODELS

    extra = root / "extra"
    extra.mkdir()
    make_pdf(extra / REPORT_PDF)
    (extra / (REPORT_PDF.removesuffix(".pdf") + ".meta.yaml")).write_text(yaml.safe_dump(
        {"title": "Rapport Kindia 2023 : microentreprises et appui psychosocial", "type": "report", "date": "2023-05",
         "country": "Guinea", "language": "fr"}, allow_unicode=True), encoding="utf-8")
    (extra / MARKUP).write_text(MARKUP_TEXT + "\n", encoding="utf-8")
    (extra / (MARKUP.removesuffix(".txt") + ".meta.yaml")).write_text(yaml.safe_dump(
        {"title": MARKUP_TITLE, "type": "knowledge_paper", "date": "2022", "country": "Guinea", "language": "fr"},
        allow_unicode=True), encoding="utf-8")
    settings = Settings(data_dir=root / "data", models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        with Indexer(settings, catalog, store) as indexer:
            indexer.warm_up()
            results = indexer.run([CORPUS, extra])
    finally:
        store.close()
        catalog.close()
    bad = [(r.path.name, r.status, r.reason) for r in results if r.status != "new"]
    assert not bad and len(results) == 11, bad
    shutil.rmtree(extra)
    return root / "data"


def copy_data(template: Path, dest: Path) -> Path:
    """A copy of a data folder that no process holds (catalog, index, originals)."""
    import shutil

    shutil.copytree(template, dest, symlinks=True)
    return dest


@contextmanager
def web_site(template: Path, root: Path, roles: Iterable[str], names: dict[str, str] | None = None):
    """The web test corpus copied into ``root`` and served in-process by the real app (its lifespan loads the model
    and the store, as `kmh serve` does): yields the client, a key per role (named from ``names`` where given) and
    the document ids by file name."""
    from fastapi.testclient import TestClient

    from kmh.settings import Settings
    from tests.conftest import MODELS
    from web.app import create_app

    settings = Settings(data_dir=copy_data(template, root / "data"), models_dir=MODELS)
    keys = {role: api_key(settings, role, (names or {}).get(role)) for role in roles}
    with TestClient(create_app(settings)) as client:
        docs = client.get("/api/documents", params={"limit": 50}).json()["items"]
        yield client, keys, {d["filename"]: d["id"] for d in docs}


@contextmanager
def served_site(template: Path, root: Path, roles: Iterable[str] = (), names: dict[str, str] | None = None):
    """The web test corpus copied into ``root`` and served by `kmh serve` in its own process: yields the
    ServerProcess with ``data`` (its data folder), ``keys`` (a key per role, named from ``names`` where given) and
    ``ids`` (the document ids by file name)."""
    import httpx

    from kmh.settings import Settings
    from tests.conftest import MODELS

    data = copy_data(template, root / "data")
    settings = Settings(data_dir=data, models_dir=MODELS)
    keys = {role: api_key(settings, role, (names or {}).get(role)) for role in roles}
    proc = ServerProcess({"KMH_DATA_DIR": str(data), "KMH_MODELS_DIR": str(MODELS)}, root / "server.log").start()
    try:
        docs = httpx.get(proc.url + "/api/documents", params={"limit": 50}).json()["items"]
        proc.data, proc.keys, proc.ids = data, keys, {d["filename"]: d["id"] for d in docs}
        yield proc
    finally:
        proc.stop()


# -- web sign-in ------------------------------------------------------------------------------------------


def signin_token(client) -> str:
    """The sign-in form's token (its cookie is now in the client's jar), as a browser gets it."""
    import re

    return re.search(r'name="signin_token" value="([^"]+)"', client.get("/signin").text).group(1)


def signed_in(client, key: str):
    """A client of the same app with its own cookie jar, signed in with ``key``."""
    from fastapi.testclient import TestClient

    other = TestClient(client.app)
    r = other.post("/signin", data={"key": key, "next": "/", "signin_token": signin_token(other)},
                   follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "kmh_session" in other.cookies
    return other


def app_routes(app) -> list:
    """Every route of an app (API and web pages), the routers FastAPI keeps as wrappers opened."""

    def walk(items):
        for route in items:
            inner = getattr(route, "original_router", None)
            yield from walk(inner.routes) if inner is not None else [route]

    return list(walk(app.routes))
