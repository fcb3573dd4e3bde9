"""The sample handbook's PDF (ingest.synth_pdf): typeset from its text in corpus-src/, read back by the PDF parser
with its headings, levels and pages, the same bytes every time."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from ingest.parsers import parse_file, pdf, text
from ingest.synth_pdf import SynthPdfError, render_handbook
from tests.conftest import CORPUS, ROOT

SOURCE = ROOT / "corpus-src" / "handbooks" / "manuel-reintegration-module-1-approche-integree.txt"
SIDECAR = CORPUS / "handbooks" / "manuel-reintegration-module-1-approche-integree.meta.yaml"
MAX = 50 * 1024 * 1024


@pytest.fixture
def handbook(tmp_path) -> Path:
    """The handbook typeset into a folder holding its sidecar, as `make setup` does in corpus/handbooks/."""
    shutil.copy(SIDECAR, tmp_path / SIDECAR.name)
    out = tmp_path / SOURCE.with_suffix(".pdf").name
    assert render_handbook(SOURCE, out) is True
    return out


def test_the_pdf_reads_back_as_the_text_with_a_section_per_page(handbook):
    data = handbook.read_bytes()
    assert data.startswith(b"%PDF") and pdf.page_count(handbook, data) == 3
    blocks = pdf.parse(handbook, data)
    source = text.parse(SOURCE, SOURCE.read_bytes())
    # the same blocks as the text, in the same order, headings with the same levels
    assert [(b.kind, b.level, b.text) for b in blocks] == [(b.kind, b.level, b.text) for b in source]
    titles = [(b.text, b.level, b.page) for b in blocks if b.kind == "title"]
    assert titles == [("Module 1: UNE APPROCHE INTÉGRÉE DE LA RÉINTÉGRATION", 1, 1), ("Introduction", 2, 1),
                      ("Principaux messages", 2, 1), ("Introduction", 2, 2), ("Public cible", 2, 3)]
    pages = {b.page for b in blocks}
    assert pages == {1, 2, 3}
    by_page = {n: [b for b in blocks if b.page == n and b.kind != "title"] for n in pages}
    assert [b.kind for b in by_page[1]] == ["list_item"] * 6  # the six key messages, each one item
    assert by_page[1][1].text.startswith("On peut considérer que la réintégration est durable")
    assert [b.kind for b in by_page[2]] == ["text"] and by_page[2][0].text.startswith("La migration de retour")
    assert [b.kind for b in by_page[3]] == ["list_item"] * 8 and by_page[3][-1].text == (
        "Responsables du suivi et de l’évaluation")
    # the running header and the numbered footer are on every page, and the parser drops them
    raw = [pdf._extract_lines(handbook, data)[n] for n in range(3)]
    for n, lines in enumerate(raw, start=1):
        assert any(line.text == "OIM, Manuel sur la réintégration" for line in lines)
        assert any(line.text == f"Page {n} sur 3" for line in lines)
    assert not any("Page " in b.text or b.text.startswith("OIM, Manuel") for b in blocks)


def test_the_pdf_carries_the_sidecar_title_and_a_fixed_date(handbook):
    from pypdf import PdfReader

    info = PdfReader(io.BytesIO(handbook.read_bytes())).metadata
    assert info.title == "Manuel sur la réintégration, module 1 : une approche intégrée de la réintégration"
    assert info.author == "OIM" and info["/CreationDate"] == "D:20190101000000Z"
    parsed = parse_file(handbook, max_bytes=MAX)
    assert parsed.format == "pdf" and parsed.mime == "application/pdf" and parsed.page_count == 3
    assert parsed.meta.title == info.title and parsed.meta.doc_type == "handbook"  # the sidecar's


def test_the_same_text_gives_the_same_bytes(handbook, tmp_path):
    first = handbook.read_bytes()
    assert render_handbook(SOURCE, handbook) is False and handbook.read_bytes() == first  # up to date: not written
    assert render_handbook(SOURCE, handbook, force=True) is True and handbook.read_bytes() == first
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(SIDECAR, other / SIDECAR.name)
    assert render_handbook(SOURCE, other / handbook.name) is True
    assert (other / handbook.name).read_bytes() == first  # another folder, another run: the same file
    edited = tmp_path / "edited.txt"
    edited.write_text(SOURCE.read_text(encoding="utf-8").replace("Donateurs", "Bailleurs"), encoding="utf-8")
    assert render_handbook(edited, handbook) is True and handbook.read_bytes() != first
    assert "Bailleurs" in [b.text for b in pdf.parse(handbook, handbook.read_bytes())]


def test_a_source_it_cannot_typeset_is_a_clear_error(tmp_path):
    with pytest.raises(SynthPdfError, match=r"nope\.txt: cannot read"):
        render_handbook(tmp_path / "nope.txt", tmp_path / "nope.pdf")
    empty = tmp_path / "vide.txt"
    empty.write_text("\n   \n", encoding="utf-8")
    with pytest.raises(SynthPdfError, match=r"vide\.txt: no text to typeset"):
        render_handbook(empty, tmp_path / "vide.pdf")
    assert not (tmp_path / "vide.pdf").exists()
    (tmp_path / "bad.meta.yaml").write_text("colour: blue\n", encoding="utf-8")
    with pytest.raises(SynthPdfError, match=r"bad\.meta\.yaml: .*colour"):
        render_handbook(SOURCE, tmp_path / "bad.pdf")


def test_the_corpus_holds_the_source_outside_what_is_ingested():
    """`kmh ingest corpus/` sees the handbook once, as the PDF: its text lives in corpus-src/, which it never reads."""
    from ingest.plan import expand

    files, missing = expand([CORPUS])
    assert not missing
    handbooks = [f.name for f in files if f.parent.name == "handbooks"]
    assert SOURCE.name not in handbooks and set(handbooks) <= {SOURCE.with_suffix(".pdf").name}
    assert SOURCE.is_file() and SIDECAR.is_file()
