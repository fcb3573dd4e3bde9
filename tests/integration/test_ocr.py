"""OCR of scanned PDF pages with the real tesseract (fra+eng): word accuracy on scans made here (text rendered with a
system font, turned 1-3 degrees, blurred, speckled), mixed PDFs keeping their page numbers, a garbage text layer
read again, poor pages reported and left out, the sandbox's time limit killing a stuck tesseract, and the OCR mark
through ingestion, search, the API job and `kmh ingest`."""

from __future__ import annotations

import html
import os
import time
from pathlib import Path

import psutil
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ingest.media.wer import word_error_rate
from ingest.model import IngestError
from ingest.parsers import parse_file
from ingest.parsers.ocr import OcrOptions
from ingest.sandbox import ParseSandbox
from ingest.scansynth import Degradation, image_pdf_page, new_pdf, noise_page, render_page, write_image_pdf
from kmh.settings import Settings
from tests.conftest import MODELS
from tests.helpers import api_key, bearer, signed_in, wait_for_job

MAX = 50 * 1024 * 1024

# (language, paragraphs): what the test scans say. Written for these tests; not figures of any programme.
SCANS = {
    "fr": [
        ("title", "Note de terrain sur le suivi de la réintégration"),
        ("text", "Les conseillers en réintégration rencontrent chaque personne de retour dans les deux semaines qui "
                 "suivent son arrivée. Ensemble, ils évaluent ses besoins économiques, sociaux et psychosociaux, puis "
                 "établissent un plan de réintégration personnalisé."),
        ("text", "L'approche intégrée associe les communautés d'origine, les autorités locales et les partenaires "
                 "techniques. Les projets collectifs, comme les coopératives agricoles ou les ateliers de couture, "
                 "renforcent la cohésion sociale et profitent aussi aux membres de la communauté."),
        ("text", "Un suivi régulier, à trois, six et douze mois, permet de vérifier si la réintégration est durable : "
                 "la personne dispose-t-elle d'un revenu stable, d'un logement, d'un accès aux soins et d'un réseau "
                 "de soutien ?"),
    ],
    "en": [
        ("title", "Field note on reintegration follow-up"),
        ("text", "Reintegration counsellors meet every returnee within two weeks of arrival. Together they assess "
                 "economic, social and psychosocial needs, and agree on a personalised reintegration plan."),
        ("text", "The integrated approach involves communities of origin, local authorities and technical partners. "
                 "Collective projects such as farming cooperatives or tailoring workshops strengthen social cohesion "
                 "and also benefit community members who never migrated."),
        ("text", "Regular follow-up at three, six and twelve months shows whether reintegration is sustainable: does "
                 "the person have a steady income, housing, access to health care and a support network?"),
    ],
}
# How the test scans are spoiled: a turn either way, blur, salt-and-pepper specks and grey noise.
DEGRADATIONS = [
    Degradation(skew=2.0, blur=1.0, salt_pepper=0.01, noise=20, seed=1),
    Degradation(skew=-3.0, blur=1.5, salt_pepper=0.02, noise=25, seed=2),
]


def _reference(language: str) -> str:
    return " ".join(text for _, text in SCANS[language])


def _scan(language: str, degradation: Degradation):
    return render_page(SCANS[language], degradation=degradation)


def _text_page(pdf, text: str) -> None:
    pdf.add_page(format="A4")
    pdf.set_font("Helvetica", "", 11)
    pdf.set_xy(50, 60)
    pdf.multi_cell(480, 14, text)


TEXT_ONE = ("Premier chapitre : la gouvernance de la réintégration. Les comités de coordination réunissent les "
            "ministères et les collectivités locales chaque trimestre pour suivre les dossiers des personnes de retour.")
TEXT_THREE = ("Third chapter: economic reintegration. Start-up grants finance equipment and training for small "
              "businesses, and counsellors visit the businesses during the first year.")


def _mixed_pdf(path: Path, middle) -> Path:
    """Text page, image-only page (``middle``), text page."""
    pdf = new_pdf()
    _text_page(pdf, TEXT_ONE)
    image_pdf_page(pdf, middle)
    _text_page(pdf, TEXT_THREE)
    pdf.output(str(path))
    return path


@pytest.mark.parametrize("language", ["fr", "en"])
def test_word_accuracy_on_degraded_scans_is_at_least_95_percent(language, tmp_path):
    errors = words = 0.0
    for n, degradation in enumerate(DEGRADATIONS):
        path = write_image_pdf(tmp_path / f"scan-{n}.pdf", [_scan(language, degradation)])
        started = time.perf_counter()
        doc = parse_file(path, max_bytes=MAX)
        seconds = time.perf_counter() - started
        assert doc.notes == [] and {b.page for b in doc.blocks} == {1}
        assert all(b.ocr is not None and b.ocr >= 80 for b in doc.blocks), [b.ocr for b in doc.blocks]
        hypothesis = " ".join(b.text for b in doc.blocks)
        reference = _reference(language)
        n_words = len(reference.split())
        errors += word_error_rate(reference, hypothesis) * n_words
        words += n_words
        assert seconds < 60, seconds
    accuracy = 1 - errors / words
    assert accuracy >= 0.95, accuracy
    # the heading is told from the paragraphs by the height of its letters
    assert doc.blocks[0].kind == "title" and doc.blocks[0].text == SCANS[language][0][1]


def test_a_turned_page_is_read_upright(tmp_path):
    upside_down = _scan("en", Degradation(skew=1.0, blur=0.8, seed=3)).rotate(180)
    sideways = _scan("fr", Degradation(skew=-1.0, blur=0.8, seed=4)).rotate(90, expand=True)
    path = write_image_pdf(tmp_path / "turned.pdf", [upside_down, sideways])
    doc = parse_file(path, max_bytes=MAX)
    for page, language in ((1, "en"), (2, "fr")):
        text = " ".join(b.text for b in doc.blocks if b.page == page)
        assert word_error_rate(_reference(language), text) <= 0.05, (page, text[:200])


def test_mixed_pdf_keeps_its_page_numbers_in_the_sandbox(tmp_path):
    path = _mixed_pdf(tmp_path / "mixte.pdf", _scan("fr", DEGRADATIONS[0]))
    with ParseSandbox(1536, 120, MAX, ocr=OcrOptions()) as sandbox:
        doc = sandbox.parse(path)
    assert doc.notes == []
    pages = {n: [b for b in doc.blocks if b.page == n] for n in (1, 2, 3)}
    assert all(pages.values())
    assert "Premier chapitre" in pages[1][0].text and all(b.ocr is None for b in pages[1] + pages[3])
    assert "Third chapter" in pages[3][0].text
    assert all(b.ocr is not None and b.ocr >= 80 for b in pages[2])
    assert word_error_rate(_reference("fr"), " ".join(b.text for b in pages[2])) <= 0.05


def test_a_garbage_text_layer_is_read_by_ocr(tmp_path):
    """A page whose text layer is a broken font encoding (glyph ids read as characters, "3UpVHQWDWLRQ") over its
    image: the layer is ignored and the image read."""
    from fpdf.enums import TextMode

    def shifted(text: str) -> str:
        return "".join(chr(ord(c) - 29) if c.isascii() and c.isalpha() else c for c in text)

    pdf = new_pdf()
    _text_page(pdf, TEXT_ONE)
    image_pdf_page(pdf, _scan("en", DEGRADATIONS[0]))
    pdf.set_font("Helvetica", "", 11)
    pdf.text_mode = TextMode.INVISIBLE
    pdf.set_xy(60, 60)
    pdf.multi_cell(460, 14, shifted(_reference("en")))
    path = tmp_path / "encodage.pdf"
    pdf.output(str(path))
    from ingest.parsers.pdf import _extract_lines

    assert "VXVWDLQDEOH" in " ".join(line.text for line in _extract_lines(path, path.read_bytes())[1])  # the garbage
    doc = parse_file(path, max_bytes=MAX)
    page2 = [b for b in doc.blocks if b.page == 2]
    assert page2 and all(b.ocr is not None for b in page2)
    assert word_error_rate(_reference("en"), " ".join(b.text for b in page2)) <= 0.05
    assert [b.ocr for b in doc.blocks if b.page == 1] == [None]


def test_a_noise_only_page_is_reported_not_indexed(tmp_path):
    path = _mixed_pdf(tmp_path / "tache.pdf", noise_page(seed=5))
    doc = parse_file(path, max_bytes=MAX)
    assert {b.page for b in doc.blocks} == {1, 3}
    (note,) = doc.notes
    assert note.startswith("page 2: OCR ") and note.endswith(", not indexed"), note

    # a page read too poorly for the confidence asked: reported with its confidence
    strict = OcrOptions(min_confidence=99)
    doc = parse_file(_mixed_pdf(tmp_path / "strict.pdf", _scan("fr", DEGRADATIONS[1])), max_bytes=MAX, ocr=strict)
    assert {b.page for b in doc.blocks} == {1, 3}
    (note,) = doc.notes
    assert note.startswith("page 2: OCR confidence ") and note.endswith("% < 99%, not indexed"), note

    # every page unreadable: refused as a scan whose OCR failed
    blank = write_image_pdf(tmp_path / "blanc.pdf", [noise_page(seed=6), noise_page(seed=7)])
    with pytest.raises(IngestError) as info:
        parse_file(blank, max_bytes=MAX)
    assert info.value.reason.startswith("a scanned PDF, and its OCR failed: page 1: OCR "), info.value.reason
    assert "page 2: OCR" in info.value.reason and "no text could be extracted" not in info.value.reason


@pytest.fixture
def stuck_tesseract(tmp_path, monkeypatch) -> Path:
    """A `tesseract` on PATH that never answers; the file it names holds its process id."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pid_file = tmp_path / "tesseract.pid"
    script = bin_dir / "tesseract"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return pid_file


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_the_sandbox_time_limit_kills_a_stuck_tesseract(tmp_path, stuck_tesseract):
    path = write_image_pdf(tmp_path / "scan.pdf", [_scan("fr", DEGRADATIONS[0])])
    with ParseSandbox(1536, 6, MAX, ocr=OcrOptions(timeout_s=300)) as sandbox:
        sandbox.start()
        with pytest.raises(IngestError) as info:
            sandbox.parse(path)
        assert "KMH_PARSE_TIMEOUT_S" in info.value.reason
        assert sandbox.pid is None  # the worker was stopped
    pid = int(stuck_tesseract.read_text())
    assert _gone(pid), "tesseract outlived the parse worker"

    # in-process, the document's own OCR deadline stops it
    stuck_tesseract.unlink()
    with pytest.raises(IngestError) as info:
        parse_file(path, max_bytes=MAX, ocr=OcrOptions(timeout_s=2))
    assert info.value.reason == ("parsing took longer than 2 s (KMH_PARSE_TIMEOUT_S): OCR of page 1 did not finish")
    assert _gone(int(stuck_tesseract.read_text()))


# -- through ingestion, search, the API and the command line ------------------------------------------------------


def test_scanned_pages_are_marked_in_search_and_poor_pages_reported_by_the_job(tmp_path, shared_embedders):
    from web.app import create_app

    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    key = api_key(settings, "staff")
    pdf = new_pdf()
    _text_page(pdf, TEXT_ONE)
    image_pdf_page(pdf, _scan("fr", DEGRADATIONS[0]))
    image_pdf_page(pdf, noise_page(seed=8))
    scanned = tmp_path / "annexe-scannee.pdf"
    pdf.output(str(scanned))
    blank = write_image_pdf(tmp_path / "blanc.pdf", [noise_page(seed=9)])
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/documents", headers=bearer(key), files={"file": (scanned.name, scanned.read_bytes())})
        assert r.status_code == 202
        job = wait_for_job(client, r.json(), key)
        assert job["state"] == "done", job
        (note,) = job["progress"]["notes"]
        assert note.startswith("page 3: OCR ") and note.endswith(", not indexed")
        staff = signed_in(client, key)
        assert html.escape(note, quote=False) in staff.get(f"/staff/jobs/{job['id']}").text

        hits = client.get("/api/search", params={"q": "coopératives agricoles ateliers de couture cohésion sociale",
                                                  "k": 3}).json()["hits"]
        assert hits[0]["doc_id"] == job["doc_id"] and hits[0]["citation"]["page"] == 2
        assert 80 <= hits[0]["ocr"] <= 100
        others = client.get("/api/search", params={"q": "comités de coordination ministères trimestre"}).json()["hits"]
        assert others[0]["citation"]["page"] == 1 and others[0]["ocr"] is None
        french = {"Accept-Language": "fr"}
        page = client.get("/search", params={"q": "coopératives agricoles ateliers de couture"}, headers=french).text
        assert f"Texte lu par OCR (confiance {round(hits[0]['ocr'])} %)" in page
        doc_page = client.get(f"/documents/{job['doc_id']}", headers={"Accept-Language": "en"}).text
        assert f"OCR text (confidence {round(hits[0]['ocr'])}%)" in doc_page

        r = client.post("/api/documents", headers=bearer(key), files={"file": (blank.name, blank.read_bytes())})
        failed = wait_for_job(client, r.json(), key)
        assert failed["state"] == "failed"
        assert failed["error"].startswith("a scanned PDF, and its OCR failed: page 1: OCR "), failed["error"]


def test_kmh_ingest_reports_pages_left_out(tmp_path, shared_embedders, monkeypatch):
    from cli.main import app

    monkeypatch.setenv("KMH_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "depot"
    folder.mkdir()
    _mixed_pdf(folder / "rapport-tache.pdf", noise_page(seed=10))
    result = CliRunner().invoke(app, ["ingest", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "1 page not indexed" in output and "rapport-tache.pdf: page 2: OCR " in output, output
