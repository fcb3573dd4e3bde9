"""Sidecar reading/validation and metadata inference (title, language, date) on real text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest.metadata import find_date, infer_meta, infer_title, is_sidecar, read_sidecar, sidecar_path
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
    ("prefix", "title_start", "published"),
    [
        ("000_", "Kloto/ réintégration des migrants de retour au Togo", None),  # "24 nov." has no year
        ("001_", "Renforcer la durabilité de la réintégration des migrants de retour", date(2024, 3, 26)),
        ("002_", "Le Pôle de Gestion des Connaissances (KMH)", date(2021, 12, 1)),
        ("003_", "Module 1: UNE APPROCHE INTÉGRÉE DE LA RÉINTÉGRATION", None),
        ("004_", "Aide au retour volontaire et à la réintégration", None),
    ],
)
def test_seed_metadata_inferred(prefix, title_start, published):
    doc = parse_file(_seed(prefix), max_bytes=MAX)
    meta = doc.meta
    assert meta.title.startswith(title_start), meta.title
    assert len(meta.title) <= 200
    assert meta.language == "fr"
    assert meta.published == published
    assert meta.countries == [] and meta.doc_type == "other" and meta.from_sidecar == set()


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
