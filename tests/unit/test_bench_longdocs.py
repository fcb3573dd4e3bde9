"""The benchmark's long-document set (bench/longdocs.py): short reports read back by the project's PDF parser."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from ingest.parsers import parse_file

ROOT = Path(__file__).resolve().parents[2]
PAGES = (4, 8)


def _longdocs():
    """bench/longdocs.py as a module (bench/ is not a package, and its ingest.py would shadow the ingest package)."""
    name = "bench_longdocs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "longdocs.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    longdocs = _longdocs()
    folder = tmp_path_factory.mktemp("longdocs")
    written = longdocs.make_reports(folder / "dejavu", count=2, pages=PAGES)
    written += longdocs.make_reports(folder / "helvetica", count=1, seed=1, pages=PAGES, unicode_font=False)
    return written


def test_same_seed_same_files(reports, tmp_path):
    paths = _longdocs().make_longdocs(tmp_path, count=2, pages=PAGES)
    assert [p.name for p in paths] == [w.path.name for w in reports[:2]]
    assert [p.read_bytes() for p in paths] == [w.path.read_bytes() for w in reports[:2]]
    assert [w.kind for w in reports] == ["fr+en", "en", "fr+en"]
    assert paths[0].name.startswith("01-fr-en-") and paths[1].name.startswith("02-en-")


def test_bad_page_range(tmp_path):
    with pytest.raises(ValueError, match="pages must be"):
        _longdocs().make_longdocs(tmp_path, count=1, pages=(30, 31))


@pytest.mark.parametrize("which", [0, 1, 2], ids=["bilingual-dejavu", "english-dejavu", "bilingual-helvetica"])
def test_parser_reads_pages_headings_tables(reports, which):
    w = reports[which]
    doc = parse_file(w.path, max_bytes=50 * 1024 * 1024)
    assert PAGES[0] <= doc.page_count == w.pages <= PAGES[1]

    # every page has text; the running header and the "Page n of N" footers are gone
    for number in range(1, doc.page_count + 1):
        assert any(b.page == number and re.search(r"\w{3}", b.text) for b in doc.blocks), f"page {number} is empty"
    assert not [b.text for b in doc.blocks if re.fullmatch(r"Page \d+ (sur|of) \d+", b.text)]

    # the title page: the report's title is the document's title
    first = [b for b in doc.blocks if b.page == 1 and b.kind == "title"]
    assert first[0].level == 1 and doc.meta.title == first[0].text and len(first[0].text.split()) >= 6

    # every heading written ("1. ...", "1.1 ...") is a title block, on its page, in order; chapters one level up
    titles = [(b.text, b.page) for b in doc.blocks if b.kind == "title" and b.page > 1]
    assert titles == [(text, page) for _level, text, page in w.headings]
    level_of = {(b.text, b.page): b.level for b in doc.blocks if b.kind == "title"}
    chapter_levels = {level_of[t, p] for level, t, p in w.headings if level == 1}
    section_levels = {level_of[t, p] for level, t, p in w.headings if level == 2}
    assert len(chapter_levels) == 1 and len(section_levels) == 1
    assert chapter_levels.pop() < section_levels.pop()
    assert sum(level == 1 for level, *_ in w.headings) >= 1 and sum(level == 2 for level, *_ in w.headings) >= 2

    # every table's cells are on its page: country names, figures, the header row
    assert w.tables
    for page, rows in w.tables:
        words = set(" ".join(b.text for b in doc.blocks if b.page == page).split())
        cells = [cell for row in rows for cell in row if any(ch.isalnum() for ch in cell)]
        missing = [cell for cell in cells if not all(t in words for t in cell.split() if any(ch.isalnum() for ch in t))]
        assert not missing, (page, missing)

    text = " ".join(b.text for b in doc.blocks)
    if w.kind == "fr+en":  # French sections followed by their English version
        assert doc.meta.language == "fr" and "(English version)" in text
        assert re.search(r"\b(réintégration|démarches|également|à)\b", text)
    else:
        assert doc.meta.language == "en"
