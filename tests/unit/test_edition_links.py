"""Language editions without a model, store or database: the sidecar field, one hit per publication (search.editions),
and the links an ingest run makes (ingest.editions) against a fake catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.editions import EditionLinks
from ingest.metadata import read_sidecar
from ingest.model import FileResult, IngestError
from kmh.catalog import EditionConflict, EditionRecord
from search.editions import one_edition_per_publication, shown_editions

# -- the sidecar field --------------------------------------------------------------------------------------------


def test_sidecar_edition_of_is_a_file_name(tmp_path):
    doc = tmp_path / "note-fr.txt"
    doc.write_text("Texte.", encoding="utf-8")
    sidecar = tmp_path / "note-fr.meta.yaml"
    sidecar.write_text("edition_of: ' note-en.txt '\nlanguage: fr\n", encoding="utf-8")
    assert read_sidecar(doc) == {"edition_of": "note-en.txt", "language": "fr"}
    for bad in ("edition_of: ../autre/note-en.txt\n", "edition_of: [a.txt, b.txt]\n", "edition_of: 'a\\b.txt'\n"):
        sidecar.write_text(bad, encoding="utf-8")
        with pytest.raises(IngestError) as info:
            read_sidecar(doc)
        assert "note-fr.meta.yaml" in str(info.value) and "'edition_of'" in str(info.value), str(info.value)
    sidecar.write_text("edition: note-en.txt\n", encoding="utf-8")
    with pytest.raises(IngestError, match="edition_of"):  # the unknown field's message lists the allowed ones
        read_sidecar(doc)


def test_parse_file_carries_edition_of(tmp_path):
    from ingest.parsers import parse_file

    doc = tmp_path / "note-fr.txt"
    doc.write_text("Une note de terrain sur la réintégration des personnes de retour au Sénégal.", encoding="utf-8")
    assert parse_file(doc, max_bytes=10**6).meta.edition_of is None
    (tmp_path / "note-fr.meta.yaml").write_text("edition_of: note-en.txt\n", encoding="utf-8")
    assert parse_file(doc, max_bytes=10**6).meta.edition_of == "note-en.txt"


# -- one hit per publication ----------------------------------------------------------------------------------------

# Hits as (doc_id, passage) pairs; fr1/en1 are the two editions of publication P, de2/en2 of Q, solo has none.
PUBS = {"fr1": "P", "en1": "P", "de2": "Q", "en2": "Q"}
LANGS = {"fr1": "fr", "en1": "en", "de2": "de", "en2": "en", "solo": "fr"}


def grouped(hits, preferred):
    return one_edition_per_publication(hits, lambda h: h[0], PUBS, LANGS, preferred)


def test_the_readers_edition_takes_the_publications_best_place():
    hits = [("en1", 1), ("solo", 1), ("fr1", 1), ("en1", 2), ("fr1", 2)]
    # a French reader: the French edition, where the English one ranked first; its two hits fill the two first slots
    assert grouped(hits, "fr") == [("fr1", 1), ("solo", 1), ("fr1", 2)]
    # an English reader: the English edition, in its own places
    assert grouped(hits, "en") == [("en1", 1), ("solo", 1), ("en1", 2)]


def test_without_an_edition_in_the_readers_language_the_best_ranked_is_shown():
    hits = [("de2", 1), ("en2", 1), ("solo", 1)]
    assert grouped(hits, "fr") == [("de2", 1), ("solo", 1)]
    assert grouped(hits, None) == [("de2", 1), ("solo", 1)]
    assert shown_editions(["en2", "de2"], PUBS, LANGS, "de") == {"Q": "de2"}


def test_documents_without_editions_are_left_alone():
    hits = [("solo", 1), ("solo", 2), ("fr1", 1)]
    assert grouped(hits, "en") == hits  # only one edition of P matched: nothing to choose
    assert one_edition_per_publication(hits, lambda h: h[0], {}, LANGS, "en") == hits


def test_several_publications_at_once():
    hits = [("en2", 1), ("fr1", 1), ("de2", 1), ("en1", 1), ("en2", 2)]
    assert grouped(hits, "en") == [("en2", 1), ("en1", 1), ("en2", 2)]


# -- the links an ingest run makes -----------------------------------------------------------------------------------


class FakeDoc:
    def __init__(self, doc_id: str, filename: str, language: str, edition_of: str | None = None):
        self.id, self.filename, self.language, self.edition_of = doc_id, filename, language, edition_of
        self.publication_id: str | None = None


class FakeCatalog:
    """The catalog calls ingest.editions makes, on a dict of FakeDocs."""

    def __init__(self, *docs: FakeDoc):
        self.docs = {d.id: d for d in docs}
        self.links: list[tuple[str, str]] = []

    def get(self, doc_id):
        return self.docs.get(doc_id)

    def id_by_filename(self, filename, *, exclude=None):
        return next((d.id for d in self.docs.values() if d.filename == filename and d.id != exclude), None)

    def declaring(self, filename):
        return sorted(d.id for d in self.docs.values() if d.edition_of == filename)

    def editions(self, doc_id):
        pub = self.docs[doc_id].publication_id
        members = [d for d in self.docs.values() if pub is not None and d.publication_id == pub] or [self.docs[doc_id]]
        return [EditionRecord(d.id, d.language, d.filename, "published", d.filename) for d in members]

    def link_editions(self, doc_id, other, **detail):
        a, b = self.docs[doc_id], self.docs[other]
        langs = [d.language for d in self.docs.values()
                 if d.publication_id is not None and d.publication_id in (a.publication_id, b.publication_id)]
        if a.language == b.language or len(langs) != len(set(langs)):
            raise EditionConflict(f"documents {doc_id} and {other} are both in {a.language!r}")
        pub = b.publication_id or a.publication_id or b.id
        for d in self.docs.values():
            if d in (a, b) or (d.publication_id is not None and d.publication_id in (a.publication_id, b.publication_id)):
                d.publication_id = pub
        self.links.append((doc_id, other))


def result(doc: FakeDoc, status: str = "new") -> FileResult:
    return FileResult(Path(doc.filename), status, doc.id)  # type: ignore[arg-type]


def test_a_run_links_the_editions_in_either_order():
    fr = FakeDoc("f" * 12, "paper-fr.pdf", "fr", edition_of="paper-en.pdf")
    en = FakeDoc("e" * 12, "paper-en.pdf", "en")
    for order in ([fr, en], [en, fr]):
        for d in order:
            d.publication_id = None
        catalog = FakeCatalog(*order)
        results = [result(d) for d in order]
        assert EditionLinks(catalog).resolve(results) == 1  # once: the second sees them linked
        assert fr.publication_id == en.publication_id == en.id
        assert all(not r.notes for r in results)


def test_the_other_edition_arriving_in_a_later_run_is_linked():
    fr = FakeDoc("f" * 12, "paper-fr.pdf", "fr", edition_of="paper-en.pdf")
    catalog = FakeCatalog(fr)
    first = [result(fr)]
    assert EditionLinks(catalog).resolve(first) == 0
    assert first[0].status == "new" and "no document named 'paper-en.pdf'" in first[0].notes[0]
    en = FakeDoc("e" * 12, "paper-en.pdf", "en")
    catalog.docs[en.id] = en
    later = [result(en)]
    assert EditionLinks(catalog).resolve(later) == 1 and not later[0].notes
    assert catalog.links == [(fr.id, en.id)]
    # unchanged or failed files link nothing; an updated one links again only what is not linked yet
    assert EditionLinks(catalog).resolve([result(fr, "unchanged"), FileResult(Path("x.pdf"), "failed")]) == 0
    assert EditionLinks(catalog).resolve([result(fr, "updated")]) == 0


def test_a_second_edition_in_one_language_is_noted_not_linked():
    fr = FakeDoc("f" * 12, "paper-fr.pdf", "fr", edition_of="paper-en.pdf")
    other_fr = FakeDoc("a" * 12, "paper-en.pdf", "fr")
    catalog = FakeCatalog(fr, other_fr)
    results = [result(fr), result(other_fr)]
    assert EditionLinks(catalog).resolve(results) == 0
    assert "not linked" in results[0].notes[0] and "'fr'" in results[0].notes[0]
    assert fr.publication_id is None and other_fr.publication_id is None
