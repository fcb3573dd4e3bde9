"""Exact moments: a recording hit starts at the second its best sentence is said, not at its window's start; and
`kmh search` with every filter of the API, through the server that holds the index.

The sample seminar's recording (espeak-ng, `make setup`) has one caption cue per sentence: the cue times are exact.
"Avec l'appui du programme, nous avons réhabilité trois forages…" is said about 30 s into its 420–476 s window.
"""

from __future__ import annotations

import math
import re

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app as cli_app
from kmh.dates import clock
from kmh.settings import Settings
from tests.conftest import CORPUS, MODELS
from tests.helpers import copy_data, served_site

SEMINAR_ID = "2021-12-reintegration-developpement"
SENTENCE = "nous avons réhabilité trois forages"
QUESTIONS = {"fr": "réhabilitation des forages et comité de gestion de l'eau avec des migrants de retour",
             "en": "rehabilitated boreholes and a water management committee with returning migrants"}


@pytest.fixture(scope="module")
def said_at() -> float:
    """The second the sentence starts, from the recording's captions."""
    from ingest.media.captions import read_captions

    (vtt,) = (CORPUS / "seminars" / SEMINAR_ID / "media").glob("*.vtt")
    (cue,) = [c for c in read_captions(vtt) if SENTENCE in c.text]
    return cue.start


@pytest.fixture(scope="module")
def server(web_template, tmp_path_factory):
    with served_site(web_template, tmp_path_factory.mktemp("moments")) as proc:
        yield proc


def recording_hit(body: dict) -> dict:
    hits = [h for h in body["hits"] if h["doc_type"] == "recording"]
    assert hits, [(h["filename"], h["text"][:60]) for h in body["hits"]]
    return hits[0]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_recording_hit_starts_at_the_second_its_best_sentence_is_said(server, said_at, lang):
    body = httpx.get(server.url + "/api/search", params={"q": QUESTIONS[lang], "k": 5}, timeout=60).json()
    hit = recording_hit(body)
    assert SENTENCE in hit["text"] and "<b>Avec l&#x27;appui du programme, nous avons réhabilité" in hit["highlight"], hit
    c = hit["citation"]
    assert c["start"] == math.floor(said_at) and abs(c["start"] - said_at) <= 2, (c, said_at)
    assert c["window_start"] <= said_at - 20 and c["end"] == c["window_end"] > said_at  # the window stays the passage
    assert c["timestamp"] == f"{clock(c['start'])}–{clock(c['end'])}"
    assert c["url"] == f"/api/recordings/{hit['doc_id']}/media#t={c['start']}"
    # the passage read without a question: its window
    passage = httpx.get(f"{server.url}/api/passages/{hit['passage_id']}", timeout=30).json()["citation"]
    assert passage["start"] == passage["window_start"] == c["window_start"]
    assert passage["url"].endswith(f"#t={int(c['window_start'])}")


@pytest.mark.parametrize("lang,play", [("fr", "Écouter à partir de"), ("en", "Play from")])
def test_the_search_page_links_the_moment(server, said_at, lang, play):
    page = httpx.get(server.url + "/search", params={"q": QUESTIONS[lang]}, headers={"Accept-Language": lang},
                     timeout=60).text
    at = math.floor(said_at)
    found = re.search(rf'href="/recordings/(\w+)\?t={at}">{play} {clock(at)}</a>', page)
    assert found, re.findall(r'href="/recordings/[^"]+"[^<]*', page)
    recording = httpx.get(f"{server.url}/recordings/{found[1]}", params={"t": at}, headers={"Accept-Language": lang},
                          timeout=30).text
    assert re.search(rf'#t={at}" data-start="{at}(\.0)?"', recording)  # the player starts there


def test_a_passage_indexed_without_cue_times_keeps_its_window_start(web_template, shared_embedders, tmp_path,
                                                                    said_at):
    """An index written before passages carried cue starts: the hit starts at its window (no re-index needed)."""
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.store import Filter
    from kmh.store.base import CUES_FIELD
    from search.searcher import Searcher

    settings = Settings(data_dir=copy_data(web_template, tmp_path / "old"), models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        ids = store.ids(Filter(equals={"kind": "recording"}))
        assert ids and all(p.payload[CUES_FIELD] for p in store.retrieve(ids, fields=(CUES_FIELD,)))
        searcher = Searcher(settings, catalog, store, text_embedder=shared_embedders[1])
        searcher.warm_up()
        now = [h for h in searcher.search(QUESTIONS["fr"], k=5) if h.doc_type == "recording"][0].citation
        assert now.start == math.floor(said_at)
        store.set_payload(ids, {CUES_FIELD: None})
        before = [h for h in searcher.search(QUESTIONS["fr"], k=5) if h.doc_type == "recording"][0].citation
        assert before.start == before.window_start == now.window_start < said_at - 20
        assert before.timestamp == f"{clock(before.window_start)}–{clock(before.end)}"
    finally:
        store.close()
        catalog.close()


def test_kmh_search_goes_through_the_server_that_holds_the_index(server, said_at, monkeypatch):
    monkeypatch.setenv("KMH_DATA_DIR", str(server.data))
    runner = CliRunner()

    def kmh(*args: str):
        return runner.invoke(cli_app, ["search", *args], catch_exceptions=False)

    result = kmh(QUESTIONS["en"], "--seminar", SEMINAR_ID.upper(), "--type", "Recording", "--k", "3")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert f"type Recording · seminar {SEMINAR_ID.upper()} · via {server.url}" in out, out
    assert f"{clock(math.floor(said_at))}–" in out and f"#t={math.floor(said_at)}" in out, out
    import json

    hits = json.loads(kmh(QUESTIONS["fr"], "--seminar", SEMINAR_ID, "--json").stdout)
    assert hits and {h["doc_type"] for h in hits} <= {"recording", "seminar_page"}
    assert hits[0]["citation"]["start"] == math.floor(said_at)
    assert {h["doc_type"] for h in json.loads(kmh(QUESTIONS["fr"], "--type", "news", "--json").stdout)} == {"news"}
    # the server's 422 names the option
    bad = kmh(QUESTIONS["fr"], "--type", "video")
    assert bad.exit_code == 2 and "--type must be one of: " in bad.stderr and "recording" in bad.stderr, bad.stderr
    late = kmh(QUESTIONS["fr"], "--year-from", "2024", "--year-to", "2020")
    assert late.exit_code == 2 and "--year-from must not be after --year-to (2024 > 2020)" in late.stderr
