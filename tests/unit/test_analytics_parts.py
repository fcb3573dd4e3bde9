"""The parts of the search analytics that need nothing but Python: how queries are folded for the counts, CSV cells
that no spreadsheet runs, ISO weeks and the filters recorded (tests/integration/test_analytics.py: the rest)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from search.results import SearchQuery
from services.analytics import csv_cell, filters_of, iso_week, normalise


def test_normalise_and_csv_cells():
    assert normalise("  Réintégration\t DURABLE ? ") == "réintégration durable"
    assert normalise("« Qu'est-ce que l'AVRR ? »") == "qu'est-ce que l'avrr"
    assert [csv_cell(v) for v in ("=1+2", "+33 6", "-x", "@SUM(A1)", "\tx", "ok", None, 3, True)] == [
        "'=1+2", "'+33 6", "'-x", "'@SUM(A1)", "'\tx", "ok", "", "3", "True"]
    assert csv_cell(date(2026, 12, 7)) == "2026-12-07"


def test_iso_weeks_and_filters():
    assert iso_week(datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)) == "2026-W53"
    assert iso_week(datetime(2027, 1, 4, tzinfo=timezone.utc)) == "2027-W01"
    assert filters_of(SearchQuery(q="x", doc_type="report", country="Mali", year_to=2020, include_weak=True)) == {
        "type": "report", "country": "Mali", "year_to": 2020, "include_weak": True}
    assert filters_of(SearchQuery(q="x", lang="")) == {}
