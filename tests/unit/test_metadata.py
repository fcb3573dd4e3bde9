"""Sidecar reading/validation and metadata inference (title, language, date) on real text."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from ingest.metadata import (
    find_date,
    find_month,
    infer_date,
    infer_meta,
    infer_title,
    infer_type,
    is_numbered_heading,
    is_sidecar,
    meaningful_title,
    read_sidecar,
    sidecar_path,
)
from ingest.model import Block, IngestError
from ingest.parsers import parse_file

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
MAX = 10 * 1024 * 1024


def _seed(prefix: str) -> Path:
    (path,) = sorted(SEEDS.glob(f"{prefix}*.txt"))
    return path


def _doc(tmp_path: Path, name: str = "rapport.txt") -> Path:
    path = tmp_path / name
    path.write_text("Titre du rapport\n\nLe rapport décrit la réintégration des migrants de retour.\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# sidecar
# --------------------------------------------------------------------------------------------


def test_no_sidecar(tmp_path):
    assert read_sidecar(_doc(tmp_path)) is None


def test_sidecar_all_fields(tmp_path):
    doc = _doc(tmp_path)
    (tmp_path / "rapport.meta.yaml").write_text(
        "title: '  Rapport   annuel 2024 '\n"
        "type: report\n"
        "date: 2024-03\n"
        "country: [Sénégal, Mali]\n"
        "countries: Mali\n"
        "programme: MPRR-SSA\n"
        "source: https://www.example.org/rapport\n"
        "language: FR\n",
        encoding="utf-8",
    )
    assert read_sidecar(doc) == {
        "title": "Rapport annuel 2024",
        "doc_type": "report",
        "published": date(2024, 3, 1),
        "published_precision": "month",
        "countries": ["Sénégal", "Mali"],
        "programme": "MPRR-SSA",
        "source_url": "https://www.example.org/rapport",
        "language": "fr",
    }


@pytest.mark.parametrize(
    ("yaml_date", "expected", "precision"),
    [("2019", date(2019, 1, 1), "year"), ("2021-12", date(2021, 12, 1), "month"),
     ("2021-12-02", date(2021, 12, 2), "day"), ("'2020-05-17'", date(2020, 5, 17), "day")],
)
def test_sidecar_date_precisions(tmp_path, yaml_date, expected, precision):
    doc = _doc(tmp_path)
    (tmp_path / "rapport.meta.yaml").write_text(f"date: {yaml_date}\n", encoding="utf-8")
    assert read_sidecar(doc) == {"published": expected, "published_precision": precision}
    from kmh.dates import partial_date_text

    assert partial_date_text(expected, precision) == yaml_date.strip("'")


def test_sidecar_with_full_name_wins(tmp_path):
    doc = _doc(tmp_path)
    (tmp_path / "rapport.meta.yaml").write_text("type: news\n", encoding="utf-8")
    (tmp_path / "rapport.txt.meta.yaml").write_text("type: handbook\n", encoding="utf-8")
    assert sidecar_path(doc) == tmp_path / "rapport.txt.meta.yaml"
    assert read_sidecar(doc) == {"doc_type": "handbook"}
    assert is_sidecar(tmp_path / "rapport.txt.meta.yaml") and not is_sidecar(doc)


def test_sidecar_source_citation_is_accepted(tmp_path):
    # the corpus sidecars cite a source in words; it is kept but is not a URL
    doc = _doc(tmp_path)
    (tmp_path / "rapport.meta.yaml").write_text('source: "OIM Sénégal, communiqué"\n', encoding="utf-8")
    sidecar = read_sidecar(doc)
    assert sidecar == {"source": "OIM Sénégal, communiqué"}
    assert infer_meta([Block("Texte")], sidecar).source_url is None


def test_empty_sidecar_is_no_values(tmp_path):
    doc = _doc(tmp_path)
    (tmp_path / "rapport.meta.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert read_sidecar(doc) == {}


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("titre: Rapport\n", "titre"),
        ("type: brochure\n", "type"),
        ("date: 2024-13\n", "date"),
        ("date: 26/03/2024\n", "date"),
        ("date: mars 2024\n", "date"),
        ("language: fra\n", "language"),
        ("language: 12\n", "language"),
        ("source: ftp://example.org/x\n", "source"),
        ("source: https://\n", "source"),
        ("country: [Mali, 12]\n", "country"),
        ("countries: {a: b}\n", "countries"),
        ("title: [a, b]\n", "title"),
    ],
)
def test_sidecar_bad_values(tmp_path, content, field):
    doc = _doc(tmp_path)
    sidecar = tmp_path / "rapport.meta.yaml"
    sidecar.write_text(content, encoding="utf-8")
    with pytest.raises(IngestError) as info:
        read_sidecar(doc)
    message = str(info.value)
    assert "rapport.meta.yaml" in message and f"'{field}'" in message, message
    assert info.value.path == sidecar


@pytest.mark.parametrize("content", ["- a\n- b\n", "title: [unclosed\n", "just a string\n"])
def test_sidecar_not_a_mapping(tmp_path, content):
    doc = _doc(tmp_path)
    (tmp_path / "rapport.meta.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(IngestError) as info:
        read_sidecar(doc)
    assert "rapport.meta.yaml" in str(info.value)


def test_parse_file_uses_sidecar_and_refuses_a_bad_one(tmp_path):
    doc = _doc(tmp_path)
    sidecar = tmp_path / "rapport.meta.yaml"
    sidecar.write_text("title: Rapport officiel\ntype: report\ncountry: Togo\n", encoding="utf-8")
    parsed = parse_file(doc, max_bytes=MAX)
    assert parsed.meta.title == "Rapport officiel"
    assert parsed.meta.doc_type == "report" and parsed.meta.countries == ["Togo"]
    assert parsed.meta.language == "fr"
    assert parsed.meta.from_sidecar == {"title", "doc_type", "countries"}
    sidecar.write_text("pays: Togo\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"rapport\.meta\.yaml.*'pays'"):
        parse_file(doc, max_bytes=MAX)


def test_corpus_sidecars_are_valid():
    sidecars = sorted((ROOT / "corpus").rglob("*.meta.yaml"))
    for sidecar in sidecars:
        document = sidecar.with_name(sidecar.name[: -len(".meta.yaml")] + ".txt")
        values = read_sidecar(document)
        assert values and values.get("doc_type") in ("news", "handbook", "seminar_page", "report"), sidecar


# --------------------------------------------------------------------------------------------
# inference on the seed pages
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "title_start", "published", "countries", "doc_type"),
    [
        # "24 nov." has no year; "(ATOP) –" is a news agency's dateline
        ("000_", "Kloto/ réintégration des migrants de retour au Togo", None, ["Togo"], "news"),
        ("001_", "Renforcer la durabilité de la réintégration des migrants de retour", date(2024, 3, 26), ["Senegal"],
         "news"),  # "Communiqué", "Dakar –"
        ("002_", "Le Pôle de Gestion des Connaissances (KMH)", date(2021, 12, 1), [], "seminar_page"),
        ("003_", "Module 1: UNE APPROCHE INTÉGRÉE DE LA RÉINTÉGRATION", None, [], "handbook"),
        # the eight countries of a project listed once each are passing mentions; Morocco is in the title
        ("004_", "Aide au retour volontaire et à la réintégration", None, ["Morocco"], "other"),
    ],
)
def test_seed_metadata_inferred(prefix, title_start, published, countries, doc_type):
    doc = parse_file(_seed(prefix), max_bytes=MAX)
    meta = doc.meta
    assert meta.title.startswith(title_start), meta.title
    assert len(meta.title) <= 200
    assert meta.language == "fr"
    assert meta.published == published
    assert meta.countries == countries and meta.doc_type == doc_type and meta.from_sidecar == set()
    assert {"title", "language", "doc_type"} <= meta.inferred


def test_sidecar_values_win_over_inferred(tmp_path):
    path = tmp_path / "saly.txt"
    path.write_bytes(_seed("001_").read_bytes())
    (tmp_path / "saly.meta.yaml").write_text(
        "title: Atelier de Saly\ndate: 2024-03\nlanguage: en\ncountry: Senegal\ntype: news\n", encoding="utf-8"
    )
    meta = parse_file(path, max_bytes=MAX).meta
    assert meta.title == "Atelier de Saly" and meta.published == date(2024, 3, 1)
    assert meta.language == "en" and meta.countries == ["Senegal"] and meta.doc_type == "news"
    assert meta.from_sidecar == {"title", "published", "language", "countries", "doc_type"}
    assert meta.inferred == set()  # nothing left to infer


def test_title_is_trimmed_to_200_chars():
    long_title = " ".join(["réintégration"] * 40)
    meta = infer_meta([Block(long_title, "title"), Block("Un paragraphe de texte en français pour la langue.")])
    assert len(meta.title) <= 200 and meta.title.endswith("…")
    assert meta.title.startswith("réintégration réintégration")


def test_title_skips_generic_headings_and_falls_back_to_first_line():
    blocks = [Block("Introduction", "title"), Block("Le programme d'aide au retour a commencé en 2017. Il continue.")]
    assert infer_title(blocks) == "Le programme d'aide au retour a commencé en 2017."
    assert infer_title([Block("Seule ligne")]) == "Seule ligne"
    assert infer_title([]) is None


def test_english_text_and_dates():
    blocks = [
        Block("Reintegration seminar", "title"),
        Block(
            "The seminar took place in Brussels on March 26, 2024. Experts from governments and civil "
            "society discussed how return programmes can support sustainable development in communities."
        ),
    ]
    meta = infer_meta(blocks, None)
    assert meta.language == "en"
    assert meta.published == date(2024, 3, 26)
    assert meta.title == "Reintegration seminar"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Du 26 au 28 Mars 2024, le bureau de l'OIM", date(2024, 3, 26)),
        ("Le séminaire s'est déroulé du 1er au 2 décembre 2021.", date(2021, 12, 1)),
        ("du 30 novembre au 2 décembre 2021", date(2021, 11, 30)),
        ("Dakar, le 5 juillet 2023 – communiqué", date(2023, 7, 5)),
        ("Published on March 26, 2024", date(2024, 3, 26)),
        ("26-28 March 2024 in Dakar", date(2024, 3, 26)),
        ("Mise à jour : 2022-06-15", date(2022, 6, 15)),
        ("Publié le 07/09/2020", date(2020, 9, 7)),
        ("Kpalimé, 24 nov. (ATOP) – les 23 et 24 novembre", None),
        ("créé en septembre 2017", None),
        ("Plus de 11.300 migrants depuis 2005", None),
        ("le 31 février 2024", None),
    ],
)
def test_find_date(text, expected):
    assert find_date(text) == expected


def test_date_only_searched_near_the_start():
    filler = Block("Un paragraphe sans date. " * 100)
    late = Block("Le rapport a été publié le 3 mai 2022.")
    assert infer_meta([filler, late]).published is None
    assert infer_meta([late, filler]).published == date(2022, 5, 3)


# --------------------------------------------------------------------------------------------
# without a sidecar: the file's own properties, title rules, dates, types, countries
# --------------------------------------------------------------------------------------------

FR_BODY = Block("Le programme accompagne les migrants de retour dans leur réintégration économique et sociale, "
                "avec les partenaires locaux et les services de l'emploi de chaque région du pays.")


@pytest.mark.parametrize("text", ["1. Introduction", "2.3 Context", "Chapitre 1", "Chapter 2 Findings", "IV. Résultats",
                                  "A) Méthode", "1 Introduction", "Annexe 2 : liste des partenaires", "Part II"])
def test_numbered_section_headings(text):
    assert is_numbered_heading(text)
    assert not meaningful_title(text)


@pytest.mark.parametrize("text", ["Module 1: une approche intégrée", "2024 : une année de retours",
                                  "10 leçons sur la réintégration", "Ce rapport", "Le retour au Sénégal"])
def test_titles_that_are_not_numbered_headings(text):
    assert not is_numbered_heading(text)


@pytest.mark.parametrize(
    ("title", "meaningful"),
    [
        ("Microsoft Word - rapport_final.docx", False),
        ("Microsoft PowerPoint - brief.pptx", False),
        ("Untitled", False),
        ("Sans titre", False),
        ("Document1", False),
        ("Présentation PowerPoint", False),
        ("rapport_final_v2", False),
        ("SOP_AVR_final_2020.docx", False),
        ("note-reintegration-senegal-2023", False),
        ("Guide", False),
        ("Introduction", False),
        ("", False),
        (None, False),
        ("Rapport annuel 2022", True),
        ("Assessment of return and reintegration in The Gambia", True),
        ("Guide pratique", True),
    ],
)
def test_meaningful_metadata_titles(title, meaningful):
    assert meaningful_title(title) is meaningful


def test_metadata_title_wins_unless_it_is_junk():
    blocks = [Block("1. Introduction", "title", page=1, level=2), FR_BODY]
    assert infer_title(blocks, {"title": "Rapport sur le retour au Mali"}) == "Rapport sur le retour au Mali"
    # junk metadata title and a numbered first heading: the first paragraph's sentence, never "1. Introduction"
    assert infer_title(blocks, {"title": "Microsoft Word - x.docx"}).startswith("Le programme accompagne")


def test_largest_text_of_the_first_page_is_the_title():
    blocks = [
        Block("Organisation internationale pour les migrations", "title", page=1, level=3),
        Block("1. Introduction", "title", page=1, level=1),  # numbered: never the title, even the largest
        Block("Étude sur les besoins psychosociaux", "title", page=1, level=2),
        Block(FR_BODY.text, page=1),
        Block("Conclusions et recommandations finales", "title", page=2, level=1),
    ]
    assert infer_title(blocks, {}) == "Étude sur les besoins psychosociaux"
    # no title on the first page: the first heading before the body, then the first sentence
    plain = [Block("Contexte", "title", page=1), Block("2.1 Méthode", "title", page=1), FR_BODY]
    assert infer_title(plain, {}).startswith("Le programme accompagne")


def test_html_page_title_is_a_fallback():
    assert infer_title([FR_BODY], {"page_title": "Retour volontaire au Niger"}) == "Retour volontaire au Niger"
    assert infer_title([Block("Le retour au Niger", "title"), FR_BODY],
                       {"page_title": "Accueil"}) == "Le retour au Niger"


@pytest.mark.parametrize(
    ("blocks", "properties", "expected"),
    [
        ([Block("Un texte sans date.")], {"published": "2024-02-20T09:00:00+00:00"}, (date(2024, 2, 20), "day")),
        ([Block("Dakar, le 5 juillet 2023 – Communiqué")], {"created": "2023-08-01"}, (date(2023, 7, 5), "day")),
        ([Block("Mars 2022"), FR_BODY], {"created": "2022-04-11"}, (date(2022, 3, 1), "month")),
        ([Block("Kinshasa, décembre 2021"), FR_BODY], {}, (date(2021, 12, 1), "month")),
        ([Block("Rapport annuel 2022", "title"), FR_BODY], {}, (date(2022, 1, 1), "year")),
        ([Block("Stratégie 2021-2025", "title"), FR_BODY], {}, None),  # a range is not a date
        ([Block("Plus de 11.300 migrants depuis 2005 au Maroc, selon le ministère des affaires de la migration, "
                "qui a présenté les résultats du programme à Rabat devant les partenaires.")], {}, None),
        ([FR_BODY], {"created": "2020-11-05"}, (date(2020, 11, 5), "day")),
        ([FR_BODY], {}, None),
    ],
)
def test_infer_date_and_precision(blocks, properties, expected):
    assert infer_date(blocks, properties) == expected


def test_find_month():
    assert find_month("Septembre 2019") == date(2019, 9, 1)
    assert find_month("Updated March 2019") == date(2019, 3, 1)
    assert find_month("le 24 septembre 2019") is None  # a full date: find_date's
    assert find_month("Mar 2021") is None  # short English abbreviations are too ambiguous


@pytest.mark.parametrize(
    ("title", "lead", "properties", "expected"),
    [
        ("Le Niger renforce l'accueil des migrants", ["COMMUNIQUÉ DE PRESSE"], {}, "news"),
        ("Nouvelles du programme", ["Kpalimé, 24 nov. (ATOP) – Les acteurs se sont réunis."], {}, "news"),
        ("Morocco hosts a regional dialogue", [], {"page_title": "Press release"}, "news"),
        ("Rapport sur la réintégration au Sénégal", [], {}, "report"),
        ("Assessment of return in The Gambia", [], {}, "report"),
        ("Manuel de formation sur la réintégration", [], {}, "handbook"),
        ("Community reintegration toolkit", [], {}, "handbook"),
        ("Standard operating procedures for return", [], {}, "handbook"),
        ("Note d'orientation : la réintégration communautaire", [], {}, "knowledge_paper"),
        ("Policy brief: local development", [], {}, "knowledge_paper"),
        ("Webinaire : la réintégration psychosociale", [], {}, "seminar_page"),
        ("Regional seminar on reintegration", [], {}, "seminar_page"),
        ("Lettre aux partenaires du programme", [], {}, None),
        # one passing word in the text is no cue: "un séminaire" in a news story's first lines
        ("Plus de 11.300 migrants aidés", ["Ils ont organisé un séminaire international à Rabat."], {}, None),
    ],
)
def test_type_cues(title, lead, properties, expected):
    blocks = [Block(title, "title")] + [Block(text) for text in lead] + [FR_BODY]
    assert infer_type(blocks, title, properties) == expected


def test_inferred_fields_are_named_and_the_sidecar_wins():
    blocks = [Block("Rapport sur le retour au Mali", "title"), Block("Bamako, le 3 avril 2019"),
              Block("Les migrants maliens de retour au Mali reçoivent un appui à la réintégration économique.")]
    meta = infer_meta(blocks)
    assert (meta.title, meta.doc_type, meta.countries, meta.language) == (
        "Rapport sur le retour au Mali", "report", ["Mali"], "fr")
    assert (meta.published, meta.published_precision) == (date(2019, 4, 3), "day")
    assert meta.inferred == {"title", "doc_type", "countries", "language", "published"}
    given = infer_meta(blocks, {"doc_type": "news", "countries": ["Senegal"], "published": date(2019, 1, 1),
                                "published_precision": "year"})
    assert given.doc_type == "news" and given.countries == ["Senegal"] and given.published_precision == "year"
    assert given.inferred == {"title", "language"}


def test_parse_file_reads_the_pdf_metadata_title(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Rapport sur la réintégration au Sénégal")
    pdf.set_creation_date(datetime(2022, 4, 11, 10, tzinfo=timezone.utc))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, "1. Introduction", align="L")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 11)
    for _ in range(3):
        pdf.multi_cell(0, 6, "Les migrants sénégalais de retour au Sénégal reçoivent un appui pour leur "
                             "réintégration économique et sociale dans leur communauté d'origine.")
        pdf.ln(2)
    path = tmp_path / "x.pdf"
    pdf.output(str(path))
    doc = parse_file(path, max_bytes=MAX)
    assert doc.properties["title"] == "Rapport sur la réintégration au Sénégal"
    assert doc.properties["created"] == "2022-04-11"
    meta = doc.meta
    assert meta.title == "Rapport sur la réintégration au Sénégal"  # not "1. Introduction"
    assert (meta.published, meta.published_precision) == (date(2022, 4, 11), "day")
    assert meta.countries == ["Senegal"] and meta.doc_type == "report"


def test_parse_file_reads_docx_core_properties_and_html_meta(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("1. Contexte", level=1)
    d.add_paragraph("Les migrants marocains de retour au Maroc bénéficient d'un accompagnement personnalisé.")
    d.core_properties.title = "Microsoft Word - note_maroc.docx"
    d.core_properties.created = datetime(2021, 5, 3, 9, tzinfo=timezone.utc)
    path = tmp_path / "note.docx"
    d.save(str(path))
    doc = parse_file(path, max_bytes=MAX)
    assert doc.properties["created"] == "2021-05-03"
    assert doc.meta.title.startswith("Les migrants marocains")  # junk title and numbered heading skipped
    assert doc.meta.countries == ["Morocco"]

    page = tmp_path / "page.html"
    page.write_text(
        '<html><head><title>Des migrants guinéens créent leurs entreprises | OIM</title>'
        '<meta property="og:title" content="Des migrants guinéens de retour créent leurs entreprises">'
        '<meta property="article:published_time" content="2022-10-18T08:00:00Z"></head>'
        "<body><main><h1>Actualités</h1><p>Conakry – Des migrants guinéens revenus de Libye ont créé leurs "
        "entreprises en Guinée avec l'appui du programme de réintégration.</p></main></body></html>",
        encoding="utf-8")
    doc = parse_file(page, max_bytes=MAX)
    assert doc.meta.title == "Des migrants guinéens de retour créent leurs entreprises"
    assert (doc.meta.published, doc.meta.published_precision) == (date(2022, 10, 18), "day")
    assert doc.meta.countries == ["Guinea"] and doc.meta.doc_type == "news"


def test_a_new_version_keeps_what_a_person_gave_or_confirmed():
    from dataclasses import replace

    from ingest.documents import keep_confirmed
    from kmh.catalog import DocumentRecord

    prior = DocumentRecord(sha256="a" * 64, filename="r.pdf", source_key="/r.pdf", title="Titre corrigé",
                           format="pdf", mime="application/pdf", original_path="", doc_type="report",
                           published=date(2019, 1, 1), published_precision="year", countries=["Mali"],
                           language="fr", inferred=["doc_type", "language"])
    inferred_now = replace(prior, sha256="b" * 64, title="1er titre lu", doc_type="news", published=date(2020, 5, 9),
                           published_precision="day", countries=["Niger"], language="fr",
                           inferred=["countries", "doc_type", "language", "published", "title"])
    kept = keep_confirmed(inferred_now, prior)
    # title, date and countries were confirmed (not inferred) on the prior version: kept; the rest inferred anew
    assert (kept.title, kept.published, kept.published_precision, kept.countries) == (
        "Titre corrigé", date(2019, 1, 1), "year", ["Mali"])
    assert kept.doc_type == "news" and kept.inferred == ["doc_type", "language"]
    # a field given now (not inferred) wins; a prior catalogued before the tracking (None) keeps nothing
    given = replace(inferred_now, inferred=["doc_type"])
    assert keep_confirmed(given, prior).title == "1er titre lu"
    assert keep_confirmed(inferred_now, replace(prior, inferred=None)) == inferred_now
    # a field the prior had no value for is not "confirmed"
    assert keep_confirmed(inferred_now, replace(prior, countries=[])).countries == ["Niger"]
