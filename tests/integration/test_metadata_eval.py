"""Metadata inferred without a sidecar, measured on the labelled set of tests/eval/metadata_set.py (generated PDF,
DOCX, PPTX, HTML, Markdown and text files in French and English, and the sample corpus without its sidecars)."""

from __future__ import annotations

from tests.eval.metadata_set import FIELDS, build, evaluate, report, specs, title_matches

# Floors under the figures of docs/evaluation.md (title .97, date .97, countries .97/1.00, type 1.00, language 1.00)
FLOORS = {
    "title": {"precision": 0.9, "coverage": 0.95},
    "date": {"precision": 0.9, "coverage": 0.85},
    "countries": {"precision": 0.9, "recall": 0.9},
    "type": {"precision": 0.9, "coverage": 0.85},
    "language": {"precision": 0.95, "coverage": 0.95},
}


def test_the_labelled_set_is_varied():
    labels = [s.label for s in specs()]
    assert len(labels) >= 30
    assert {lbl.file.rsplit(".", 1)[1] for lbl in labels} == {"pdf", "docx", "pptx", "html", "md", "txt"}
    assert {lbl.language for lbl in labels} == {"fr", "en"}
    assert {lbl.type for lbl in labels} == {"report", "handbook", "knowledge_paper", "news", "seminar_page", "other"}
    assert {len(lbl.date or "") for lbl in labels} == {0, 4, 7, 10}  # none, year, month, day
    traps = [s for s in specs() if s.props.get("title", "").startswith(("Microsoft", "Untitled", "Document"))]
    assert len(traps) >= 4
    assert title_matches("Module 1 : une approche intégrée de la réintégration",
                         "Manuel sur la réintégration, module 1 : une approche intégrée de la réintégration")
    assert not title_matches("1. Introduction", "Rapport sur la réintégration au Sénégal")


def test_precision_per_field_on_the_labelled_set(tmp_path):
    labels = build(tmp_path)
    assert len(labels) >= 35  # the generated files and the sample corpus
    table, misses = evaluate(tmp_path, labels)
    print(report(table, len(labels)), *misses, sep="\n")
    for name in FIELDS:
        for figure, floor in FLOORS[name].items():
            assert table[name][figure] >= floor, (name, figure, table[name], misses)


def test_file_properties_and_inferred_fields_survive_the_parse_sandbox(tmp_path):
    from ingest.parsers import parse_file
    from ingest.sandbox import ParseSandbox
    from tests.eval.metadata_set import WRITERS

    spec = next(s for s in specs() if s.name == "rapport-senegal-2022.pdf")  # metadata title, "1. Introduction"
    path = tmp_path / spec.name
    WRITERS[".pdf"](spec, path)
    with ParseSandbox(max_memory_mb=1024, timeout_s=120, max_bytes=10 * 2**20) as sandbox:
        isolated = sandbox.parse(path)
    direct = parse_file(path, max_bytes=10 * 2**20)
    assert isolated.properties == direct.properties and isolated.properties["created"] == "2022-04-11"
    assert isolated.meta == direct.meta
    assert isolated.meta.title == spec.label.title and isolated.meta.countries == ["Senegal"]
    assert isolated.meta.inferred == {"title", "doc_type", "language", "published", "countries"}
