"""References (kmh.citation) in their four formats, who a reference names (services.citations.publisher), the link
it gives (api.urls.linked_reference) and the language a citation route picks from Accept-Language."""

from __future__ import annotations

import json
from datetime import date

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware

from api.routers.citations import reader_language
from api.urls import linked_reference
from kmh.catalog import DocumentRecord
from kmh.citation import Reference, filename, render
from services.citations import publisher

ACCESSED = date(2026, 12, 7)
REPORT = Reference(doc_id="0a1b2c3d4e5f", title="Rapport : l'approche intégrée", doc_type="report", language="fr",
                   body="OIM Sénégal", published=date(2024, 3, 1), precision="month", programme="MPRR-SSA",
                   passage_id="p1", page=12, keywords=("Gouvernance", "AVRR"),
                   url="https://kmh.example.org/api/documents/0a1b2c3d4e5f/file#page=12")
SEGMENT = Reference(doc_id="0a1b2c3d4e5f", title="Séance 2", doc_type="recording", kind="recording", language="fr",
                    authors=("Awa Sarr",), published=date(2021, 12, 1), precision="day", seminar="KMH seminar",
                    session=2, session_title="Politiques", video=True, passage_id="s1", start=381.6, end=402.0,
                    url="https://kmh.example.org/api/recordings/0a1b2c3d4e5f/media#t=381")


def test_text_in_english_and_french():
    assert render(REPORT, "text", "en", ACCESSED) == (
        "OIM Sénégal (March 2024). Rapport : l'approche intégrée. p. 12. "
        "https://kmh.example.org/api/documents/0a1b2c3d4e5f/file#page=12 (accessed 7 December 2026)")
    assert render(REPORT, "text", "fr", ACCESSED) == (
        "OIM Sénégal (mars 2024). Rapport : l'approche intégrée. p. 12. "
        "https://kmh.example.org/api/documents/0a1b2c3d4e5f/file#page=12 (consulté le 7 décembre 2026)")
    assert render(SEGMENT, "text", "fr", ACCESSED) == (
        "Awa Sarr (1er décembre 2021). Séance 2 [enregistrement vidéo]. Dans KMH seminar, session 2 « Politiques », "
        "à 00:06:21. https://kmh.example.org/api/recordings/0a1b2c3d4e5f/media#t=381 (consulté le 7 décembre 2026)")
    # no author, no date, no link; a title ending in ? takes no extra full stop
    bare = Reference(doc_id="0a1b2c3d4e5f", title="Pourquoi revenir ?")
    assert render(bare, "text", "en", ACCESSED) == "Pourquoi revenir ? (n.d.). (Accessed 7 December 2026)"
    assert render(bare, "text", "fr", ACCESSED).startswith("Pourquoi revenir ? (s. d.).")


def test_a_segment_cited_at_a_moment_notes_the_whole_segment():
    from dataclasses import replace

    moment = replace(SEGMENT, start=383.4, window=(381.6, 402.0))
    assert ", à 00:06:23. " in render(moment, "text", "fr", ACCESSED)
    assert rispy.loads(render(moment, "ris", "en", ACCESSED))[0]["notes"][1] == "Segment 00:06:21–00:06:42"
    assert moment.key.endswith("-t383")


def test_ris_reads_back():
    [entry] = rispy.loads(render(SEGMENT, "ris", "en", ACCESSED))
    assert entry["type_of_reference"] == "VIDEO" and entry["authors"] == ["Awa Sarr"]
    assert (entry["date"], entry["secondary_title"]) == ("2021/12/01/", "KMH seminar")
    assert entry["notes"] == ["Session 2 “Politiques”", "Segment 00:06:21–00:06:42"]
    [entry] = rispy.loads(render(REPORT, "ris", "en", ACCESSED))
    assert (entry["type_of_reference"], entry["publisher"], entry["start_page"]) == ("RPRT", "OIM Sénégal", "12")
    assert entry["keywords"] == ["Gouvernance", "AVRR"] and entry["tertiary_title"] == "MPRR-SSA"
    assert entry["id"] == "oim2024-0a1b2c3d4e5f-p12"


@pytest.mark.parametrize("doc_type,entry_type,ris", [("report", "techreport", "RPRT"), ("handbook", "book", "BOOK"),
                                                     ("news", "misc", "NEWS"), ("seminar_page", "online", "ELEC"),
                                                     ("other", "misc", "GEN")])
def test_each_type_has_its_entry(doc_type, entry_type, ris):
    ref = Reference(doc_id="0a1b2c3d4e5f", title="T", doc_type=doc_type, body="B")
    [e] = bibtexparser.parse_string(render(ref, "bibtex", "en", ACCESSED)).entries
    assert e.entry_type == entry_type
    assert rispy.loads(render(ref, "ris", "en", ACCESSED))[0]["type_of_reference"] == ris


def test_bibtex_escapes_markup_and_keeps_accents():
    odd = 'Été {2024} : 100 % & "tout" $5 #1 _x_ \\n'
    ref = Reference(doc_id="0a1b2c3d4e5f", title=odd, body="Ministère & Co, {Dakar}", published=date(2019, 1, 1),
                    precision="year", url="https://x.org/a_b?c=1&d=%20#page=2")
    bib = render(ref, "bibtex", "fr", ACCESSED)
    assert "author = {{Ministère \\& Co, \\{Dakar\\}}}" in bib and "month" not in bib
    library = bibtexparser.parse_string(bib, append_middleware=[LatexDecodingMiddleware()])
    [e] = library.entries
    assert not library.failed_blocks
    assert e["title"] == odd and e["author"] == "Ministère & Co, {Dakar}" and e["year"] == "2019"
    assert bibtexparser.parse_string(bib).entries[0]["url"] == "https://x.org/a_b?c=1&d=%20#page=2"
    assert e.key == "ministere2019-0a1b2c3d4e5f"


def test_csl_json_dates_to_the_precision_given():
    [item] = json.loads(render(REPORT, "csl-json", "en", ACCESSED))
    assert item["issued"] == {"date-parts": [[2024, 3]]} and item["accessed"] == {"date-parts": [[2026, 12, 7]]}
    assert item["author"] == [{"literal": "OIM Sénégal"}] and item["type"] == "report" and item["page"] == "12"
    assert item["collection-title"] == "MPRR-SSA" and item["keyword"] == "Gouvernance, AVRR"
    [item] = json.loads(render(SEGMENT, "csl-json", "fr", ACCESSED))
    assert (item["type"], item["event-title"], item["medium"]) == ("speech", "KMH seminar", "enregistrement vidéo")
    assert item["note"] == "Session 2 « Politiques ». Segment 00:06:21–00:06:42"


def test_file_names_are_ascii():
    assert filename(REPORT, "ris") == "rapport-l-approche-integree-p12.ris"
    assert filename(SEGMENT, "bibtex") == "seance-2-t381.bib"
    assert filename(Reference(doc_id="x", title="«»"), "csl-json") == "reference.json"


def _doc(**fields) -> DocumentRecord:
    base = dict(sha256="0" * 64, filename="f.pdf", source_key="/corpus/f.pdf", title="T", format="pdf",
                mime="application/pdf", original_path="originals/f.pdf", id="0a1b2c3d4e5f")
    return DocumentRecord(**(base | fields))


def test_who_a_reference_names_and_where_it_links():
    assert publisher(_doc(source="OIM Sénégal, communiqué")) == "OIM Sénégal, communiqué"
    assert publisher(_doc(source="https://www.iom.int/news/x")) == "iom.int"
    crawled = _doc(source_key="url:https://www.example.org/a.pdf", source_url="https://www.example.org/a.pdf")
    assert publisher(crawled) == "example.org"
    assert publisher(_doc(programme="FORAS")) is None  # a programme is the series, not the author
    ref = Reference(doc_id="0a1b2c3d4e5f", title="T", passage_id="p", page=2)
    assert linked_reference(ref, None, "https://kmh.example.org/").url == \
        "https://kmh.example.org/api/documents/0a1b2c3d4e5f/file#page=2"
    assert linked_reference(ref, "https://www.example.org/a.pdf", "http://x").url == \
        "https://www.example.org/a.pdf#page=2"
    whole = Reference(doc_id="0a1b2c3d4e5f", title="T", kind="recording", start=None)
    assert linked_reference(whole, None, "http://x").url == "http://x/api/recordings/0a1b2c3d4e5f/media"


@pytest.mark.parametrize("header,lang", [(None, "en"), ("fr-FR,fr;q=0.9", "fr"), ("de, en;q=0.5, fr;q=0.8", "fr"),
                                         ("en-GB, fr", "en"), ("fr;q=0", "en"), ("es", "en")])
def test_reader_language(header, lang):
    assert reader_language(header) == lang
