"""`kmh eval`: metrics by hand on a toy ranking, and the real command over tests/eval/queries.jsonl."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from cli.main import app
from search.evaluation import METRICS, calibrate, floor_figures, judge, load_queries, metrics, pick_floors
from tests.conftest import CORPUS, ROOT

QUERIES = ROOT / "tests" / "eval" / "queries.jsonl"
runner = CliRunner()


def test_metrics_by_hand():
    docs = [("a", "a.txt"), ("b", "b.txt"), ("c", "c.txt")]
    m = metrics(docs, ["b.txt"])
    assert m["recall@1"] == 0 and m["recall@5"] == 1 and m["mrr@10"] == 0.5
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(3))
    m = metrics(docs, ["a", "c.txt"])  # doc ids or filenames
    assert m["recall@1"] == 0.5 and m["recall@5"] == 1 and m["mrr@10"] == 1
    assert metrics(docs, ["zzz"]) == dict.fromkeys(METRICS, 0.0)


def test_query_file_is_bilingual_and_points_at_corpus_files():
    items = load_queries(QUERIES)
    assert len(items) >= 40
    names = {p.name for p in CORPUS.rglob("*") if p.suffix in (".txt", ".pdf")}  # the handbook's PDF: make setup
    recording = "seminaire-2021-12-reintegration-developpement.mp3"  # made by make setup from the seminar's script
    assert all(set(i["relevant"]) <= names | {recording} for i in items)
    english = [i for i in items if any(w in i["q"].split() for w in ("the", "How", "When", "What", "Who", "Which"))]
    assert len(english) * 2 >= len(items)
    assert {r for i in items for r in i["relevant"]} == names | {recording}


def test_bad_query_file_is_refused(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "sans cible"}\n')
    result = runner.invoke(app, ["eval", str(bad)])
    assert result.exit_code == 2 and "relevant" in result.stderr
    result = runner.invoke(app, ["eval", str(QUERIES), "--variants", "hybrid,nope"])
    assert result.exit_code == 2 and "nope" in result.stderr and "dense" in result.stderr


def test_answers_are_judged_once_per_fiche_and_other_languages_are_left_out():
    # Two pages of one fiche answer once; the English answer is left out when French answers are measured.
    fiche, english = frozenset({"fr1", "fr2"}), frozenset({"en1"})
    m = judge(["x", "fr1", "fr2", "y"], [fiche], english, 10)
    assert m["recall@1"] == 0 and m["mrr@10"] == 0.5 and m["recall@10"] == 1
    m = judge(["en1", "fr2", "x"], [fiche], english, 10)
    assert m["recall@1"] == 1 and m["ndcg@10"] == 1
    m = judge(["fr1", "x", "en1"], [english], fiche, 10)
    assert m["mrr@10"] == 0.5


def test_off_topic_lines_and_alternatives_load(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"q": "Quelle est la recette de la tarte Tatin ?", "relevant": []}\n'
                    '{"q": "How do I renew my passport?", "relevant": [["F1_*", "F2_*"], "F1.en.md"]}\n')
    off, need = load_queries(path)
    assert off["relevant"] == [] and off["lang"] == "fr"
    assert need["relevant"] == [("F1_*", "F2_*"), "F1.en.md"] and need["lang"] == "en"


def test_floor_calibration_by_hand():
    # Same-language answers at 0.850-0.949, cross-language ones 0.04 lower; off-topic questions' best passages
    # are below both: two floors separate them, a single one could not keep the cross-language answers.
    rows = [{"need": f"n{i}", "off": False, "best": {"same": 0.85 + i / 1000, "cross": 0.81 + i / 1000},
             "found": [(0.85 + i / 1000, "same"), (0.81 + i / 1000, "cross")]} for i in range(100)]
    rows += [{"need": f"o{i}", "off": True, "best": {"same": 0.80 + i / 1000, "cross": 0.77 + i / 1000}, "found": []}
             for i in range(40)]
    same, cross = pick_floors(rows, 0.02)
    assert 0.8 < same <= 0.852 and 0.77 < cross <= 0.812
    figures = floor_figures(rows, (same, cross))
    assert figures["answers lost"] <= 0.02 and figures["off-topic no match"] == 1.0
    assert floor_figures(rows, (0.81, 0.81))["off-topic no match"] < 0.5  # one floor: most off-topic pass
    result = calibrate(rows)
    assert result["cross_validated"]["off-topic no match"] >= 0.9 and result["floor_cross"] == cross


def test_eval_needs_an_index():
    result = runner.invoke(app, ["eval", str(QUERIES)])
    assert result.exit_code == 1 and "kmh ingest" in result.stderr


def test_kmh_eval_prints_every_metric_for_every_variant():
    assert runner.invoke(app, ["ingest", str(CORPUS)]).exit_code == 0
    result = runner.invoke(app, ["eval", str(QUERIES)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for metric in METRICS:
        assert f"| {metric} |" in out
    header = next(line for line in out.splitlines() if line.startswith("| metric"))
    for col in ("hybrid", "dense", "keyword", "rrf k=60", "rrf k=10", "dbsf", "rrf k=60 w=2:1", "no sentences",
                "sentences w=3"):
        assert f" {col} |" in header
    for direction in ("FR\u2192FR", "EN\u2192FR"):
        assert f"| {direction} |" in out
    assert "| answers lost |" in out
    as_json = json.loads(runner.invoke(app, ["eval", str(QUERIES), "--json", "--k", "5", "--variants",
                                             "hybrid,dense"]).stdout)
    assert as_json["queries"] == len(load_queries(QUERIES)) and as_json["k"] == 5
    assert set(as_json["results"]) == {"hybrid", "dense"}
    hybrid = as_json["results"]["hybrid"]["floor"]["all"]
    assert set(hybrid) == set(METRICS) and hybrid["recall@5"] >= 0.9 and hybrid["mrr@10"] >= 0.85
    assert "kmh ingest" in runner.invoke(app, ["eval", "--help"]).stdout
