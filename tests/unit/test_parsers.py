"""Parsers on real files generated here (fpdf2, python-docx, python-pptx) and on the seed pages."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ingest.model import Block, IngestError
from ingest.parsers import parse_bytes, parse_file, sniff
from ingest.parsers.boilerplate import is_boilerplate_line, is_section_stop

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
MAX = 10 * 1024 * 1024

# --------------------------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------------------------

PDF_PAGES = [
    (
        "Gouvernance de la reintegration",
        "Les comites de coordination reunissent les ministeres et les collectivites locales. "
        "Ils se reunissent chaque trimestre pour suivre les dossiers des migrants de retour.",
        "Role des communes",
    ),
    (
        "Appui psychosocial",
        "Les conseillers organisent des groupes de parole pour les personnes de retour. "
        "Le soutien individuel est propose pendant six mois apres le retour au pays.",
        "Groupes de parole",
    ),
    (
        "Microentreprises agricoles",
        "Les beneficiaires recoivent une formation en apiculture et en maraichage. "
        "Une subvention de demarrage finance les ruches, les semences et le petit materiel.",
        "Suivi des entreprises",
    ),
]


def make_pdf(path: Path, pages=PDF_PAGES) -> Path:
    """Three pages; per page a 20 pt bold heading, a paragraph, a 14 pt bold sub-heading, a list."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=False)
    for number, (title, body, subtitle) in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 20)
        pdf.multi_cell(0, 12, title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, body + f" Marqueur de la page {number}.", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 8, subtitle, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, "- premier point\n- second point", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("Rapport annuel sur la réintégration", level=1)
    d.add_paragraph("Ce rapport présente les résultats du programme de réintégration au Sénégal en 2024.")
    d.add_heading("Réintégration économique", level=2)
    d.add_paragraph("Les formations professionnelles ont permis à quarante personnes de trouver un emploi.")
    d.add_paragraph("Formation en mécanique", style="List Bullet")
    d.add_paragraph("Appui à la microentreprise", style="List Bullet")
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([["Pays", "Participants", "Année"], ["Sénégal", "36", "2024"], ["Togo", "14", "2023"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_heading("Réintégration sociale", level=2)
    d.add_paragraph("Les associations de quartier facilitent l'accès au logement des familles.")
    d.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    import pptx

    p = pptx.Presentation()
    s1 = p.slides.add_slide(p.slide_layouts[1])
    s1.shapes.title.text = "Approche intégrée de la réintégration"
    body = s1.placeholders[1].text_frame
    body.text = "Niveau individuel"
    body.add_paragraph().text = "Niveau communautaire"
    body.add_paragraph().text = "Niveau structurel"
    s2 = p.slides.add_slide(p.slide_layouts[1])
    s2.shapes.title.text = "Conclusion"
    s2.placeholders[1].text_frame.text = "La réintégration durable nécessite la coordination de tous les acteurs."
    p.save(str(path))
    return path


HTML_PAGE = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Atelier de Saly | OIM Sénégal</title>
<script>window.analytics = "tracking-code";</script><style>.x{color:red}</style></head>
<body>
<a class="skip-link screen-reader-text" href="#main">Aller au contenu principal</a>
<header class="site-header"><div class="logo">OIM Sénégal</div>
  <nav><ul><li><a href="/">Accueil</a></li><li><a href="/actualites">Actualités</a></li></ul></nav></header>
<div id="cookie-notice">Nous utilisons des cookies pour améliorer votre expérience. <button>Accepter</button></div>
<main id="main"><article>
<h1>Renforcer la durabilité de la réintégration</h1>
<p>Du 26 au 28 Mars 2024, le bureau de l'OIM au Sénégal a organisé à Saly un atelier de renforcement
des capacités de 36 acteurs nationaux.</p>
<h2>Objectifs de l'atelier</h2>
<p>Cet atelier a eu pour objectif de renforcer la gouvernance de la réintégration au niveau territorial.</p>
<ul><li>Partager les expériences</li><li>Élaborer des plans d'action</li></ul>
<table><tr><th>Région</th><th>Participants</th></tr><tr><td>Dakar</td><td>20</td></tr></table>
<div class="share-buttons">Partager sur Facebook</div>
<h3>Articles similaires</h3>
<ul><li><a href="/b">Un autre atelier au Mali</a></li></ul>
<p>Résumé d'un article similaire qui ne doit pas être indexé.</p>
</article>
<div id="comments" class="comments-area"><h3>Laissez un commentaire</h3>
<form><label>Nom</label><input name="author"><textarea></textarea><button>Publier</button></form>
<p>Votre adresse de messagerie ne sera pas publiée. Les champs obligatoires sont indiqués avec *</p></div>
<section><h2>Contexte</h2><p>Le programme est financé par l'Union européenne.</p>
<p><strong>À lire aussi</strong></p><p>Titre d'un autre article à ignorer</p></section>
</main>
<aside class="sidebar"><h3>Catégories</h3><ul><li>Migration</li></ul></aside>
<footer><p>© 2024 OIM. Tous droits réservés.</p><p>Contact : info@example.org</p></footer>
</body></html>
"""

MARKDOWN = """---
layout: post
---
# Manuel de réintégration

Ce manuel présente l'approche intégrée de la réintégration durable.

## Niveau individuel

- Évaluation des besoins
- Plan de réintégration
  personnalisé

1. Accueil
2. Orientation

## Articles similaires

- [Autre manuel](https://example.org)

## Niveau communautaire

| Pays | Projets |
|------|---------|
| Mali | 12 |
| Niger | 8 |

### Détails

Les projets communautaires bénéficient aussi aux non-migrants.
"""


def _kinds(blocks: list[Block], kind: str) -> list[Block]:
    return [b for b in blocks if b.kind == kind]


def _all_text(blocks: list[Block]) -> str:
    return "\n".join(b.text for b in blocks)


def _rezip(src: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = (replace or {}).get(info.filename, zin.read(info.filename))
            zout.writestr(info.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# formats
# --------------------------------------------------------------------------------------------


def test_pdf_pages_and_headings(tmp_path):
    doc = parse_file(make_pdf(tmp_path / "rapport.pdf"), max_bytes=MAX)
    assert doc.format == "pdf" and doc.mime == "application/pdf"
    assert doc.page_count == 3
    assert all(b.page in (1, 2, 3) for b in doc.blocks)
    for number, (title, body, subtitle) in enumerate(PDF_PAGES, start=1):
        on_page = [b for b in doc.blocks if b.page == number]
        titles = [(b.text, b.level) for b in on_page if b.kind == "title"]
        assert titles == [(title, 1), (subtitle, 2)], titles
        texts = _kinds(on_page, "text")
        assert any(f"Marqueur de la page {number}." in b.text for b in texts)
        assert any(body.split(".")[0] in b.text for b in texts)
        assert [b.text for b in _kinds(on_page, "list_item")] == ["premier point", "second point"]
        # nothing from another page leaks onto this one
        for other, (other_title, *_rest) in enumerate(PDF_PAGES, start=1):
            if other != number:
                assert f"Marqueur de la page {other}." not in _all_text(on_page)
                assert other_title not in _all_text(on_page)
    # reading order: the page 1 heading comes first
    assert doc.blocks[0].text == PDF_PAGES[0][0]
    assert doc.meta.title == PDF_PAGES[0][0]


def test_pdf_with_owner_password_only_is_readable(tmp_path):
    from pypdf import PdfReader, PdfWriter

    src = make_pdf(tmp_path / "src.pdf")
    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(user_password="", owner_password="owner-secret")
    path = tmp_path / "restricted.pdf"
    writer.write(path)
    doc = parse_file(path, max_bytes=MAX)
    assert doc.page_count == 3
    assert [b.page for b in _kinds(doc.blocks, "title") if b.level == 1] == [1, 2, 3]


def test_docx_headings_lists_tables(tmp_path):
    doc = parse_file(make_docx(tmp_path / "rapport.docx"), max_bytes=MAX)
    assert doc.format == "docx"
    assert doc.page_count is None and all(b.page is None for b in doc.blocks)
    titles = [(b.text, b.level) for b in _kinds(doc.blocks, "title")]
    assert titles == [
        ("Rapport annuel sur la réintégration", 1),
        ("Réintégration économique", 2),
        ("Réintégration sociale", 2),
    ]
    assert [b.text for b in _kinds(doc.blocks, "list_item")] == ["Formation en mécanique", "Appui à la microentreprise"]
    (table,) = _kinds(doc.blocks, "table")
    assert table.text.split("\n") == ["Pays | Participants | Année", "Sénégal | 36 | 2024", "Togo | 14 | 2023"]
    texts = [b.text for b in _kinds(doc.blocks, "text")]
    assert "Les formations professionnelles ont permis à quarante personnes de trouver un emploi." in texts
    # order is kept: heading, its paragraph, the list, the table, the next heading
    kinds = [b.kind for b in doc.blocks]
    assert kinds == ["title", "text", "title", "text", "list_item", "list_item", "table", "title", "text"]
    assert doc.meta.title == "Rapport annuel sur la réintégration"
    assert doc.meta.language == "fr"


def test_pptx_slides_are_pages(tmp_path):
    doc = parse_file(make_pptx(tmp_path / "atelier.pptx"), max_bytes=MAX)
    assert doc.format == "pptx" and doc.page_count == 2
    titles = [(b.text, b.page, b.level) for b in _kinds(doc.blocks, "title")]
    assert titles == [("Approche intégrée de la réintégration", 1, 1), ("Conclusion", 2, 1)]
    items = [(b.text, b.page) for b in _kinds(doc.blocks, "list_item")]
    assert items == [("Niveau individuel", 1), ("Niveau communautaire", 1), ("Niveau structurel", 1)]
    texts = [(b.text, b.page) for b in _kinds(doc.blocks, "text")]
    assert texts == [("La réintégration durable nécessite la coordination de tous les acteurs.", 2)]


def test_html_boilerplate_removed_article_kept(tmp_path):
    path = tmp_path / "article.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    doc = parse_file(path, max_bytes=MAX)
    assert doc.format == "html" and doc.mime == "text/html"
    text = _all_text(doc.blocks)
    for kept in (
        "Du 26 au 28 Mars 2024, le bureau de l'OIM au Sénégal a organisé à Saly",
        "renforcer la gouvernance de la réintégration",
        "Le programme est financé par l'Union européenne.",
    ):
        assert kept in text
    for gone in (
        "tracking-code",
        "Aller au contenu principal",
        "Accueil",
        "Actualités",
        "cookies",
        "Partager sur Facebook",
        "Articles similaires",
        "Un autre atelier au Mali",
        "article similaire",
        "Laissez un commentaire",
        "Publier",
        "Votre adresse de messagerie",
        "lire aussi",
        "autre article à ignorer",
        "Catégories",
        "Tous droits réservés",
        "info@example.org",
        ".x{color",
    ):
        assert gone not in text, gone
    titles = [(b.text, b.level) for b in _kinds(doc.blocks, "title")]
    assert titles == [
        ("Renforcer la durabilité de la réintégration", 1),
        ("Objectifs de l'atelier", 2),
        ("Contexte", 2),
    ]
    assert [b.text for b in _kinds(doc.blocks, "list_item")] == ["Partager les expériences", "Élaborer des plans d'action"]
    assert _kinds(doc.blocks, "table")[0].text == "Région | Participants\nDakar | 20"
    assert doc.meta.published.isoformat() == "2024-03-26"


def test_markdown_structure(tmp_path):
    path = tmp_path / "manuel.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = parse_file(path, max_bytes=MAX)
    assert doc.format == "md" and doc.mime == "text/markdown"
    titles = [(b.text, b.level) for b in _kinds(doc.blocks, "title")]
    assert titles == [
        ("Manuel de réintégration", 1),
        ("Niveau individuel", 2),
        ("Niveau communautaire", 2),
        ("Détails", 3),
    ]
    assert [b.text for b in _kinds(doc.blocks, "list_item")] == [
        "Évaluation des besoins",
        "Plan de réintégration personnalisé",
        "Accueil",
        "Orientation",
    ]
    assert _kinds(doc.blocks, "table")[0].text == "Pays | Projets\nMali | 12\nNiger | 8"
    text = _all_text(doc.blocks)
    assert "Autre manuel" not in text and "Articles similaires" not in text and "layout" not in text
    assert "Les projets communautaires bénéficient aussi aux non-migrants." in text


def test_plain_text_structure(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(
        "Aller au contenu principal\n\nRapport de mission à Kayes\n\nRapport de mission à Kayes\n\n"
        "Contexte\n\nLa mission\u00a0a rencontré   les autorités\tlocales et les\nassociations de migrants.\n\n"
        "Actions prévues\n\n  • Former les conseillers\n  • Ouvrir un guichet\n    unique à Kayes\n  2. Évaluer les résultats\n",
        encoding="utf-8",
    )
    doc = parse_file(path, max_bytes=MAX)
    assert doc.format == "txt" and doc.mime == "text/plain"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("title", "Rapport de mission à Kayes", 1),
        ("title", "Contexte", 2),
        ("text", "La mission a rencontré les autorités locales et les associations de migrants.", 1),
        ("title", "Actions prévues", 2),
        ("list_item", "Former les conseillers", 1),
        ("list_item", "Ouvrir un guichet unique à Kayes", 1),
        ("list_item", "2. Évaluer les résultats", 1),
    ]


def test_whitespace_is_normalised():
    blocks = parse_bytes(
        "x.txt", "Un\u00a0titre\u202fcourt\n\nUne  phrase\u200b avec\tdes\u00a0espaces.\r\n".encode()
    )
    assert [b.text for b in blocks] == ["Un titre court", "Une phrase avec des espaces."]


# --------------------------------------------------------------------------------------------
# seed pages
# --------------------------------------------------------------------------------------------

SEED_FILES = sorted(SEEDS.glob("*.txt"))
BOILERPLATE_SNIPPETS = (
    "Aller au contenu principal",
    "A lire aussi",
    "Articles similaires",
    "Laissez un commentaire",
    "Votre adresse de messagerie",
    "Les champs obligatoires",
    "veuillez contacter",
    "@iom.int",
    "SDG 17",
    "SDG 8",
    "***",
)


def test_seeds_are_present():
    assert len(SEED_FILES) >= 5, f"seed pages missing under {SEEDS}"


@pytest.mark.parametrize("seed", SEED_FILES, ids=lambda p: p.name)
def test_seed_pages_parse_clean(seed):
    doc = parse_file(seed, max_bytes=MAX)
    assert doc.format == "txt"
    assert doc.blocks and all(b.text.strip() for b in doc.blocks)
    assert sum(len(b.text) for b in doc.blocks) > 1000
    text = _all_text(doc.blocks)
    for snippet in BOILERPLATE_SNIPPETS:
        assert snippet not in text, snippet
    assert not any(is_boilerplate_line(b.text) for b in doc.blocks)
    assert "\u00a0" not in text and "  " not in text
    # a headline repeated as the first paragraph is kept once
    first_lines = [b.text for b in doc.blocks[:3]]
    assert len(first_lines) == len(set(first_lines))


def _seed(prefix: str) -> Path:
    (path,) = [p for p in SEED_FILES if p.name.startswith(prefix)]
    return path


def test_seed_002_headings_and_numbered_items():
    doc = parse_file(_seed("002_"), max_bytes=MAX)
    titles = [b.text for b in _kinds(doc.blocks, "title")]
    for heading in ("Dates", "Objectifs", "Format", "Contexte"):
        assert heading in titles
    assert "Du 1er au 2 décembre 2021" in [b.text for b in _kinds(doc.blocks, "text")]
    items = [b.text for b in _kinds(doc.blocks, "list_item")]
    assert len(items) == 4 and items[1] == "2. Politiques et réformes"
    # the paragraph under a numbered item is text, right after it
    index = next(i for i, b in enumerate(doc.blocks) if b.text == "2. Politiques et réformes")
    assert doc.blocks[index + 1].kind == "text"
    assert doc.blocks[index + 1].text.startswith("Cette deuxième session a exploré")
    # a heading is followed by its paragraph
    index = titles.index("Objectifs")
    objectifs = [i for i, b in enumerate(doc.blocks) if b.text == "Objectifs"][0]
    assert doc.blocks[objectifs + 1].text.startswith("Le Pôle de Gestion des Connaissances")


def test_seed_003_headings_and_bullets():
    doc = parse_file(_seed("003_"), max_bytes=MAX)
    titles = [(b.text, b.level) for b in _kinds(doc.blocks, "title")]
    assert titles[0] == ("Module 1: UNE APPROCHE INTÉGRÉE DE LA RÉINTÉGRATION", 1)
    assert ("Principaux messages", 2) in titles and ("Public cible", 2) in titles and ("Introduction", 2) in titles
    items = [b.text for b in _kinds(doc.blocks, "list_item")]
    assert items[0].startswith("La migration de retour peut s’effectuer")
    assert not any(item.startswith("•") for item in items)
    assert "Donateurs" in items and "Gouvernements locaux" in items


def test_seed_000_headline_kept_once_and_trailer_dropped():
    doc = parse_file(_seed("000_"), max_bytes=MAX)
    headline = doc.blocks[0]
    assert headline.kind == "title" and headline.text.startswith("Kloto/ réintégration des migrants")
    assert sum(b.text == headline.text for b in doc.blocks) == 1
    assert doc.blocks[1].text.startswith("Kpalimé, 24 nov. (ATOP)")


def test_seed_001_contact_and_sdg_lines_dropped():
    doc = parse_file(_seed("001_"), max_bytes=MAX)
    assert doc.blocks[-1].text.startswith("Cette initiative témoigne de la collaboration")


# --------------------------------------------------------------------------------------------
# sniffing and bad inputs
# --------------------------------------------------------------------------------------------


def test_sniff_uses_content(tmp_path):
    pdf = make_pdf(tmp_path / "a.pdf").read_bytes()
    docx_bytes = make_docx(tmp_path / "a.docx").read_bytes()
    pptx_bytes = make_pptx(tmp_path / "a.pptx").read_bytes()
    assert sniff(Path("download.bin"), pdf) == "pdf"
    assert sniff(Path("rapport.pdf"), pdf) == "pdf"
    assert sniff(Path("rapport.pptx"), docx_bytes) == "docx"
    assert sniff(Path("slides.docx"), pptx_bytes) == "pptx"
    assert sniff(Path("page.txt"), HTML_PAGE.encode()) == "html"
    assert sniff(Path("page"), HTML_PAGE.encode()) == "html"
    assert sniff(Path("notes.md"), b"# Titre\n\nTexte.") == "md"
    assert sniff(Path("notes.txt"), "Texte en français.".encode()) == "txt"
    # a .pdf named file that is really a docx is parsed as a docx
    renamed = tmp_path / "rapport.pdf"
    renamed.write_bytes(docx_bytes)
    assert parse_file(renamed, max_bytes=MAX).format == "docx"


def _refused(path: Path, max_bytes: int = MAX) -> str:
    with pytest.raises(IngestError) as info:
        parse_file(path, max_bytes=max_bytes)
    message = str(info.value)
    assert path.name in message, message
    assert info.value.path == path
    return info.value.reason


def test_empty_file(tmp_path):
    path = tmp_path / "vide.pdf"
    path.write_bytes(b"")
    assert _refused(path) == "empty file"


def test_whitespace_only_text_has_no_text(tmp_path):
    path = tmp_path / "blanc.txt"
    path.write_text(" \n\n\t\n", encoding="utf-8")
    assert _refused(path) == "no text could be extracted"


def test_truncated_pdf(tmp_path):
    data = make_pdf(tmp_path / "full.pdf").read_bytes()
    path = tmp_path / "tronque.pdf"
    path.write_bytes(data[: len(data) // 2])
    assert "corrupt or truncated PDF" in _refused(path)


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "casse.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\ntrailer\n<< /Root 99 0 R >>\n%%EOF\n")
    assert "corrupt or truncated PDF" in _refused(path)


def test_encrypted_pdf(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(make_pdf(tmp_path / "clair.pdf")))
    writer.encrypt(user_password="secret", owner_password="owner")
    path = tmp_path / "chiffre.pdf"
    writer.write(path)
    assert "encrypted PDF" in _refused(path)


def test_unsupported_extension(tmp_path):
    path = tmp_path / "donnees.xyz"
    path.write_text("du texte dans un format inconnu", encoding="utf-8")
    assert _refused(path) == "unsupported file type .xyz"
    xlsx_like = tmp_path / "tableur.xlsx"
    with zipfile.ZipFile(xlsx_like, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    assert _refused(xlsx_like) == "unsupported file type .xlsx"


def test_binary_content_named_txt(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    assert _refused(path) == "binary content, not text"


def test_latin1_text_is_refused_with_a_clear_reason(tmp_path):
    path = tmp_path / "ancien.txt"
    path.write_bytes("Réintégration des migrants à Dakar, été 2019.".encode("cp1252"))
    assert "not valid UTF-8" in _refused(path)


def test_file_over_size_limit(tmp_path):
    path = tmp_path / "gros.txt"
    path.write_text("Un texte assez long. " * 100, encoding="utf-8")
    reason = _refused(path, max_bytes=1000)
    assert "too large" in reason and "1000 bytes" in reason


def test_zip_bomb_docx_refused(tmp_path):
    base = make_docx(tmp_path / "base.docx").read_bytes()
    # 50 MB of zeros deflates ~1000x
    bomb = tmp_path / "bombe.docx"
    bomb.write_bytes(_rezip(base, add={"word/media/zeros.bin": bytes(50 * 1024 * 1024)}))
    assert bomb.stat().st_size < 1024 * 1024
    reason = _refused(bomb)
    assert "zip bomb" in reason
    # over 200 MB declared in total
    big = tmp_path / "enorme.docx"
    big.write_bytes(_rezip(base, add={f"word/media/z{i}.bin": bytes(70 * 1024 * 1024) for i in range(3)}))
    reason = _refused(big)
    assert "zip bomb" in reason and "200 MB" in reason


def test_billion_laughs_docx_refused(tmp_path):
    base = make_docx(tmp_path / "base.docx").read_bytes()
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"<!DOCTYPE lolz [{entities}]>"
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    path = tmp_path / "rires.docx"
    path.write_bytes(_rezip(base, replace={"word/document.xml": document}))
    reason = _refused(path)
    assert "entity" in reason


def test_truncated_docx(tmp_path):
    data = make_docx(tmp_path / "base.docx").read_bytes()
    path = tmp_path / "coupe.docx"
    path.write_bytes(data[: len(data) // 2])
    assert "corrupt or truncated docx" in _refused(path)


def test_boilerplate_rules():
    assert is_section_stop("À lire aussi :") and is_section_stop("A LIRE AUSSI") and is_section_stop("Related articles")
    assert is_section_stop("Leave a comment") and not is_section_stop("Lire le rapport complet")
    assert is_boilerplate_line("SDG 8 - TRAVAIL DÉCENT ET CROISSANCE ÉCONOMIQUE")
    assert is_boilerplate_line("Marceline Coumba FAYE, mfaye@iom.int")
    assert is_boilerplate_line("Pour toute information complémentaire, veuillez contacter par e-mail :")
    assert not is_boilerplate_line("Le KMH a été créé en septembre 2017 dans le cadre de l'Action Pilote.")
    # report headings survive outside web pages
    assert is_boilerplate_line("Accueil") and not is_boilerplate_line("Accueil", web=False)


# --------------------------------------------------------------------------------------------
# no network
# --------------------------------------------------------------------------------------------


def _all_format_files(folder: Path) -> list[Path]:
    html = folder / "page.html"
    html.write_text(HTML_PAGE, encoding="utf-8")
    md = folder / "manuel.md"
    md.write_text(MARKDOWN, encoding="utf-8")
    return [
        make_pdf(folder / "rapport.pdf"),
        make_docx(folder / "rapport.docx"),
        make_pptx(folder / "atelier.pptx"),
        html,
        md,
        SEED_FILES[0],
    ]


def test_parsing_does_not_touch_the_network(tmp_path, monkeypatch):
    attempts: list[str] = []
    real_socket = socket.socket

    class NoNetworkSocket(real_socket):
        """Creating a socket is harmless (urllib3 probes IPv6 support on import); reaching out is not."""

        def connect(self, *args):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append(f"connect {args[:1]}")
                raise OSError("network access attempted during parsing")
            return real_socket.connect(self, *args)

        connect_ex = connect

        def sendto(self, *args):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append("sendto")
                raise OSError("network access attempted during parsing")
            return real_socket.sendto(self, *args)

    def no_dns(host, *args, **kwargs):
        attempts.append(f"getaddrinfo({host})")
        raise OSError("network access attempted during parsing")

    monkeypatch.setattr(socket, "socket", NoNetworkSocket)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket, "create_connection", no_dns)
    for path in _all_format_files(tmp_path):
        doc = parse_file(path, max_bytes=MAX)
        assert doc.blocks and all(b.text for b in doc.blocks), path
    assert attempts == []
    # unstructured's text classifier ran on the installed French spaCy model, not a download
    from unstructured.nlp.tokenize import _get_nlp

    assert _get_nlp().lang == "fr"


_PROBE = r"""
import json, os, socket, sys
from pathlib import Path
# without our opt-outs unstructured pings its telemetry endpoint on import
for key in ("DO_NOT_TRACK", "SCARF_NO_ANALYTICS", "UNSTRUCTURED_DISABLE_NOTICE"):
    os.environ.pop(key, None)
attempts = []
real = socket.socket
class NoNetworkSocket(real):
    # creating a socket is harmless (urllib3 probes IPv6 support on import); reaching out is not
    def connect(self, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(f"connect {args[:1]}")
            raise OSError("network disabled")
        return real.connect(self, *args)
    connect_ex = connect
    def sendto(self, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append("sendto")
            raise OSError("network disabled")
        return real.sendto(self, *args)
def no_dns(host, *a, **k):
    attempts.append(f"getaddrinfo {host}")
    raise OSError("network disabled")
socket.socket = NoNetworkSocket
socket.getaddrinfo = no_dns
socket.create_connection = no_dns
from ingest.parsers import parse_file
counts = {}
for name in sys.argv[1:]:
    counts[Path(name).name] = len(parse_file(Path(name), max_bytes=10_000_000).blocks)
from unstructured.nlp.tokenize import _get_nlp
print(json.dumps({"attempts": attempts, "counts": counts, "spacy": _get_nlp().lang}))
"""


def test_fresh_process_import_and_parse_stay_offline(tmp_path):
    files = _all_format_files(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *map(str, files)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert report["spacy"] == "fr"
    assert set(report["counts"]) == {p.name for p in files}
    assert all(n > 0 for n in report["counts"].values()), report["counts"]


# --------------------------------------------------------------------------------------------
# OCR: which pages need it, and what is made of tesseract's words (tesseract itself: tests/integration/test_ocr.py)
# --------------------------------------------------------------------------------------------

FR_PAGE = (
    "Les conseillers en réintégration rencontrent chaque personne de retour dans les deux semaines qui suivent son "
    "arrivée. Ensemble, ils évaluent ses besoins économiques, sociaux et psychosociaux, puis établissent un plan de "
    "réintégration personnalisé avec la communauté d'origine et les autorités locales."
)
EN_PAGE = (
    "Reintegration counsellors meet every returnee within two weeks of arrival. Together they assess the economic, "
    "social and psychosocial needs of the person, and agree on a personalised plan with the community of origin and "
    "the local authorities."
)


def _shifted(text: str, by: int = 29) -> str:
    """What a PDF with a broken font encoding gives (glyph ids read as characters): "Présentation" -> "3UpVHQWDWLRQ"."""
    return "".join(chr(ord(c) - by) if c.isalpha() and ord(c) - by > 32 else c for c in text)


def test_garbage_text_layers_are_told_from_text():
    from ingest.parsers.ocr import garbage_reason

    for good in (FR_PAGE, EN_PAGE, "Annexe 3", "Tableau 2 : 1 918,63 € ; 2 054,43 € ; 11 300", "",
                 "Dakar, Thiès, Saint-Louis, Kaolack, Ziguinchor : 240, 180, 95, 60, 41 bénéficiaires"):
        assert garbage_reason(good) is None, good
    assert "common French or English words" in garbage_reason(_shifted(FR_PAGE))
    assert "common French or English words" in garbage_reason(_shifted(EN_PAGE))
    private_use = "".join(chr(0xE000 + ord(c) % 200) if c.isalpha() else c for c in FR_PAGE)
    assert "outside the expected scripts" in garbage_reason(private_use)
    assert "outside the expected scripts" in garbage_reason("\ufffd\ufffd \ufffd\ufffd\ufffd " * 20)
    assert "letters or digits" in garbage_reason("•·—|¦¬~^" * 10 + " réintégration")
    # a few accents or a word in another script do not make a page garbage
    assert garbage_reason(FR_PAGE + " Организация Международная") is None


def _tsv(rows: list[tuple[int, int, int, int, float, str]]) -> str:
    """Tesseract TSV: (block, paragraph, line, height, confidence, word) per word."""
    head = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    lines = [head, "1\t1\t0\t0\t0\t0\t0\t0\t2480\t3508\t-1\t"]
    for n, (block, par, line, height, conf, word) in enumerate(rows):
        lines.append(f"5\t1\t{block}\t{par}\t{line}\t{n}\t0\t0\t50\t{height}\t{conf}\t{word}")
    return "\n".join(lines) + "\n"


def test_tesseract_words_become_blocks_with_the_page_confidence():
    from ingest.parsers.ocr import OcrOptions, OcrPage, parse_tsv, words_to_blocks

    words = parse_tsv(_tsv([
        (1, 1, 1, 60, 96, "Suivi"), (1, 1, 1, 60, 94, "des"), (1, 1, 1, 60, 95, "dossiers"),
        (2, 1, 1, 40, 91, "Les"), (2, 1, 1, 40, 90, "conseillers"), (2, 1, 1, 40, 92, "accompagnent"),
        (2, 1, 1, 40, 89, "la"), (2, 1, 1, 40, 88, "réinté-"), (2, 1, 2, 40, 93, "gration"),
        (2, 1, 2, 40, 90, "durable."), (2, 1, 2, 40, -1, " "),
    ]))
    assert len(words) == 10
    blocks = words_to_blocks(words, 4, 91.8)
    assert [(b.kind, b.text, b.page, b.ocr) for b in blocks] == [
        ("title", "Suivi des dossiers", 4, 91.8),
        ("text", "Les conseillers accompagnent la réintégration durable.", 4, 91.8),
    ]
    options = OcrOptions(min_confidence=60, min_words=5)
    assert OcrPage(3, confidence=41.2, words=80).poor_reason(options) == "page 3: OCR confidence 41% < 60%, not indexed"
    assert OcrPage(2, words=0).poor_reason(options) == "page 2: OCR found no words (fewer than 5), not indexed"
    assert OcrPage(2, confidence=90, words=3).poor_reason(options) == "page 2: OCR found 3 words (fewer than 5), not indexed"
    assert OcrPage(2, confidence=60, words=5).poor_reason(options) is None


def test_skew_of_a_page_is_measured():
    from PIL import Image, ImageDraw

    from ingest.parsers.ocr import estimate_skew

    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    for y in range(200, 1500, 45):  # lines of "text": dashes of ink
        for x in range(150, 1050, 60):
            draw.rectangle((x, y, x + 45, y + 18), fill=0)
    assert estimate_skew(page) == 0
    for turn in (2.0, -2.5, 1.2):
        assert abs(estimate_skew(page.rotate(turn, fillcolor=255)) + turn) <= 0.15, turn
    assert estimate_skew(Image.new("L", (400, 600), 255)) == 0


def _image_page(pdf, shade: int = 0) -> None:
    """An image-only A4 page (a drawn "scan": bars of ink, no text layer) in an fpdf2 document."""
    from PIL import Image, ImageDraw

    from ingest.scansynth import image_pdf_page

    image = Image.new("L", (620, 877), 255)
    ImageDraw.Draw(image).rectangle((80, 100, 540, 120), fill=shade)
    image_pdf_page(pdf, image)


def _text_page(pdf, text: str) -> None:
    pdf.add_page(format="A4")
    pdf.set_font("Helvetica", "", 11)
    pdf.set_xy(50, 60)
    pdf.multi_cell(480, 14, text)


def test_pdf_scans_without_ocr_are_reported_and_text_pages_kept(tmp_path):
    """With OCR off (KMH_OCR=false) no tesseract runs: a mixed PDF keeps its text pages and notes its scanned one; an
    image-only PDF is refused as a scan. A PDF with a text layer on every page never goes to OCR."""
    from ingest.parsers.ocr import OcrOptions
    from ingest.scansynth import new_pdf

    off = OcrOptions(enabled=False)
    pdf = new_pdf()
    _text_page(pdf, "Premier chapitre. " + FR_PAGE.encode("latin-1", "replace").decode("latin-1"))
    _image_page(pdf)
    _text_page(pdf, "Third chapter. " + EN_PAGE)
    mixed = tmp_path / "mixte.pdf"
    pdf.output(str(mixed))
    doc = parse_file(mixed, max_bytes=MAX, ocr=off)
    assert {b.page for b in doc.blocks} == {1, 3} and all(b.ocr is None for b in doc.blocks)
    assert doc.notes == ["page 2: no usable text layer and OCR is off (KMH_OCR), not indexed"]

    pdf = new_pdf()
    _image_page(pdf)
    scan = tmp_path / "scan.pdf"
    pdf.output(str(scan))
    with pytest.raises(IngestError) as info:
        parse_file(scan, max_bytes=MAX, ocr=off)
    assert info.value.reason == "a scanned PDF (no text layer), and it cannot be read: OCR is off (KMH_OCR)"

    doc = parse_file(make_pdf(tmp_path / "rapport.pdf"), max_bytes=MAX, ocr=off)
    assert doc.notes == [] and {b.page for b in doc.blocks} == {1, 2, 3}
