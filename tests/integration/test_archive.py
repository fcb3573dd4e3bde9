"""Seminars, recordings and topics end to end: the sample seminar (synthetic recording with captions) and a
recording spoken by espeak-ng and transcribed by whisper, ingested with the real models, served by the real API."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.indexer import Indexer
from kmh.runtime import open_catalog, open_vector_store
from kmh.settings import Settings
from kmh.store import Filter
from tests.conftest import CORPUS, MODELS
from tests.helpers import RECORDING, SR, api_key, bearer, silence, speak, words_heard, write_wav

SEMINAR_ID = "2021-12-reintegration-developpement"
PROBLEM = "application/problem+json"


def ingest(settings: Settings, paths: list[Path], **kw):
    catalog, store = open_catalog(settings), open_vector_store(settings)
    indexer = None
    try:
        indexer = Indexer(settings, catalog, store)
        indexer.warm_up()
        return indexer.run(paths, **kw), indexer
    finally:
        if indexer is not None:
            indexer.close()
        store.close()
        catalog.close()


# -- the sample corpus: seminar, recording, topics ------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory, shared_embedders):
    settings = Settings(data_dir=tmp_path_factory.mktemp("archive") / "data", models_dir=MODELS)
    results, _ = ingest(settings, [CORPUS])
    assert [r.status for r in results] == ["new"] * 9, [(r.path.name, r.reason) for r in results]
    # an organiser's key: topic decisions and captions need one (tests/integration/test_publishing.py checks the refusals)
    with TestClient(create_app(settings), headers=bearer(api_key(settings, "organiser"))) as c:
        yield c


def search(client, **params) -> dict:
    r = client.get("/api/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def recording_hits(body: dict) -> list[dict]:
    return [h for h in body["hits"] if h["doc_type"] == "recording"]


def test_a_question_finds_the_seminar_moment_with_its_timestamp(client):
    body = search(client, q="projets communautaires de réintégration", k=5)
    segments = recording_hits(body)
    assert segments, [(h["filename"], h["text"][:50]) for h in body["hits"]]
    hit = segments[0]
    assert "projets communautaires de réintégration" in hit["text"]
    c = hit["citation"]
    assert hit["filename"] == RECORDING and c["seminar_id"] == SEMINAR_ID and c["session"] == 3
    assert c["section"].startswith("Session 3 · Rassembler")
    assert c["page"] is None and 290 <= c["start"] < c["end"] <= 420  # session 3 runs from 04:50 to 07:00
    h, m, s = (int(x) for x in c["timestamp"].split("–")[0].split(":"))
    assert h * 3600 + m * 60 + s == int(c["start"])
    assert c["url"] == f"/api/recordings/{hit['doc_id']}/media#t={int(c['start'])}"
    assert "<mark>" in hit["highlight"]
    # an English question finds it too, and the seminar filter keeps only the recording
    english = recording_hits(search(client, q="community-based reintegration projects", k=10))
    assert english and english[0]["citation"]["session"] in (3, 4)
    only = search(client, q="projets communautaires de réintégration", seminar=SEMINAR_ID)
    assert only["total"] > 0 and {h["doc_type"] for h in only["hits"]} == {"recording"}


def test_seminar_pages_list_sessions_recordings_and_publications(client):
    seminars = client.get("/api/seminars").json()
    assert [s["id"] for s in seminars] == [SEMINAR_ID]
    assert seminars[0]["session_count"] == 4 and seminars[0]["start_date"] == "2021-12-01"
    sem = client.get(f"/api/seminars/{SEMINAR_ID}").json()
    assert [s["number"] for s in sem["sessions"]] == [1, 2, 3, 4]
    assert sem["sessions"][2]["title"] == "Rassembler les migrants de retour et les membres de la communauté"
    assert sem["sessions"][2]["start"] == 290.0 and sem["sessions"][2]["url"].endswith("#t=290")
    assert all(s["speakers"] and s["recording_id"] == sem["recordings"][0]["id"] for s in sem["sessions"])
    assert "réintégration et le développement" in sem["objectives"]
    (rec,) = sem["recordings"]
    assert rec["transcript_source"] == "captions" and rec["language"] == "fr" and rec["mime"] == "audio/mpeg"
    assert rec["duration"] == pytest.approx(550, abs=1)
    related = {p["filename"]: p for p in sem["related_publications"]}
    assert len(related) == 4 and all(p["doc_id"] and p["title"] for p in related.values())


def test_recording_has_its_timed_transcript_and_media_that_seeks(client):
    rec_id = client.get(f"/api/seminars/{SEMINAR_ID}").json()["recordings"][0]["id"]
    rec = client.get(f"/api/recordings/{rec_id}").json()
    assert rec["session_count"] == 4 and len(rec["cues"]) == 87
    segments = rec["segments"]
    assert len(segments) >= 9 and [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    assert all(s["end"] - s["start"] <= 60 and s["url"].endswith(f"#t={int(s['start'])}") for s in segments)
    assert {s["session"] for s in segments} == {1, 2, 3, 4} and all(s["speaker"] for s in segments)
    assert sum(bool(s["topics"]) for s in segments) >= len(segments) // 2  # most segments have suggestions
    assert all(t["state"] == "suggested" and t["label"]["fr"] for s in segments for t in s["topics"])
    starts = [c["start"] for c in rec["cues"]]
    assert starts == sorted(starts) and all(c["speaker"] for c in rec["cues"])
    media = client.get(rec["media_url"])
    assert media.status_code == 200 and media.headers["content-type"] == "audio/mpeg"
    assert media.headers["accept-ranges"] == "bytes"
    size = len(media.content)
    part = client.get(rec["media_url"], headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == media.content[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{size}"
    tail = client.get(rec["media_url"], headers={"Range": f"bytes={size - 10}-"})
    assert tail.status_code == 206 and tail.content == media.content[-10:]
    assert client.get(rec["media_url"], headers={"Range": f"bytes={size + 10}-"}).status_code == 416


def test_unknown_archive_items_are_404_problems(client):
    for path in ("/api/seminars/nope", "/api/recordings/ffffffffffff", "/api/recordings/ffffffffffff/media",
                 "/api/topics/nope", "/api/passages/00000000-0000-0000-0000-000000000000/topics"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM, path
        assert r.json()["detail"]
    # a document is not a recording
    doc_id = client.get("/api/documents", params={"type": "news"}).json()["items"][0]["id"]
    assert client.get(f"/api/recordings/{doc_id}").status_code == 404


def test_topics_are_suggested_and_a_confirmed_link_feeds_the_filter_and_the_topic_page(client):
    topics = client.get("/api/topics").json()
    assert len(topics) >= 15 and all(t["label"]["fr"] and t["label"]["en"] for t in topics)
    ids = {t["id"] for t in topics}

    hit = recording_hits(search(client, q="projets communautaires de réintégration", k=5))[0]
    pid = hit["passage_id"]
    links = client.get(f"/api/passages/{pid}/topics").json()["links"]
    assert links and all(lk["state"] == "suggested" and lk["topic_id"] in ids for lk in links)
    assert all(lk["score"] is not None for lk in links)
    topic = links[0]["topic_id"]

    q = "réintégration"
    assert search(client, q=q, topic=topic)["total"] == 0  # suggested is not confirmed
    r = client.post(f"/api/passages/{pid}/topics", json={"topic_id": topic, "state": "confirmed"})
    assert r.status_code == 200, r.text
    assert {lk["topic_id"]: lk["state"] for lk in r.json()["links"]}[topic] == "confirmed"

    filtered = search(client, q=q, topic=topic)
    assert [h["passage_id"] for h in filtered["hits"]] == [pid]
    assert filtered["facets"]["topic"] == {topic: 1}
    page = client.get(f"/api/topics/{topic}").json()
    assert page["confirmed_links"] == 1 and page["publications"] == []
    (segment,) = page["segments"]
    # the topic page lists the segment at its window (no question, no best sentence); the hit plays from the moment
    # its best sentence is said, inside that window
    cited = hit["citation"]
    window = int(cited["window_start"])
    assert segment["passage_id"] == pid and window <= cited["start"]
    assert segment["timestamp"] == f"{window // 3600:02d}:{window % 3600 // 60:02d}:{window % 60:02d}–" + \
        cited["timestamp"].split("–")[1]
    assert segment["url"] == cited["url"].split("#t=")[0] + f"#t={window}"

    # a rejected suggestion stays out of the filter; withdrawing the confirmation takes the passage out again
    other = next(lk["topic_id"] for lk in links[1:]) if len(links) > 1 else next(iter(ids - {topic}))
    assert client.post(f"/api/passages/{pid}/topics", json={"topic_id": other, "state": "rejected"}).status_code == 200
    assert search(client, q=q, topic=other)["total"] == 0
    assert client.delete(f"/api/passages/{pid}/topics/{topic}").status_code == 204
    assert search(client, q=q, topic=topic)["total"] == 0
    assert client.get(f"/api/topics/{topic}").json()["segments"] == []
    assert client.delete(f"/api/passages/{pid}/topics/{topic}").status_code == 204  # back to suggested: again fine

    # a document passage can be linked by hand to a topic it was not suggested for
    doc_hit = next(h for h in search(client, q="AVRR au Maroc", k=5)["hits"] if h["doc_type"] == "news")
    manual = next(t for t in sorted(ids) if t not in {lk["topic_id"] for lk in client.get(
        f"/api/passages/{doc_hit['passage_id']}/topics").json()["links"]})
    r = client.post(f"/api/passages/{doc_hit['passage_id']}/topics", json={"topic_id": manual})
    assert r.status_code == 200
    added = {lk["topic_id"]: lk for lk in r.json()["links"]}[manual]
    assert added["state"] == "confirmed" and added["score"] is None
    assert [p["passage_id"] for p in client.get(f"/api/topics/{manual}").json()["publications"]] == [
        doc_hit["passage_id"]]
    assert [h["passage_id"] for h in search(client, q="migrants", topic=manual)["hits"]] == [doc_hit["passage_id"]]

    # bad requests
    bad = client.post(f"/api/passages/{pid}/topics", json={"topic_id": "no-such-topic"})
    assert bad.status_code == 404 and bad.headers["content-type"] == PROBLEM
    assert client.post(f"/api/passages/{pid}/topics", json={"topic_id": topic, "state": "maybe"}).status_code == 422
    assert client.post(f"/api/passages/{pid}/topics", json={}).status_code == 422


def test_every_corpus_passage_got_suggestions_within_the_settings(client):
    settings = client.app.state.runtime.settings
    catalog = client.app.state.runtime.catalog
    docs, _ = catalog.list(limit=50)
    links = [lk for d in docs for lk in catalog.links_of_document(d.id) if lk.score is not None]
    assert links and all(lk.score >= settings.topic_threshold for lk in links)
    per_passage: dict[str, int] = {}
    for lk in links:
        per_passage[lk.passage_id] = per_passage.get(lk.passage_id, 0) + 1
    assert max(per_passage.values()) <= settings.topic_max_per_passage
    assert {d.doc_type for d in docs if catalog.links_of_document(d.id)} >= {"recording", "news"}


# -- a recording transcribed by whisper ---------------------------------------------------------------

INTRO = ("Welcome to this session on return and reintegration. Our speakers work with returning migrants "
         "in several countries. They will share what they learned.")
KNOWN = "Volunteers repaired the village school together with the returning migrants."
SESSION_2_AT = 15.0  # the known sentence starts the second session, at 15.5 s


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    """A seminar folder: a WAV spoken by espeak-ng (intro in session 1, the known sentence opening session 2)."""
    folder = tmp_path_factory.mktemp("spoken") / "2024-05-test-seminar"
    folder.mkdir()
    intro = speak(INTRO, "en-us", folder)
    assert len(intro) / SR < SESSION_2_AT - 1, "the intro must fit in session 1"
    known = speak(KNOWN, "en-us", folder)
    audio = np.concatenate([silence(0.5), intro, silence(SESSION_2_AT + 0.5 - 0.5 - len(intro) / SR), known,
                            silence(1.0)])
    write_wav(folder / "talk.wav", audio)
    manifest = {
        "title": "Test seminar", "dates": {"start": "2024-05-02"}, "languages": ["en"],
        "recordings": [{"id": "day-1", "media": "talk.wav", "language": "en"}],
        "sessions": [
            {"number": 1, "title": "Opening", "recording": "day-1", "start": 0, "end": SESSION_2_AT,
             "speakers": [{"name": "Jane Doe", "role": "moderator"}]},
            {"number": 2, "title": "School repairs", "recording": "day-1", "start": SESSION_2_AT,
             "end": len(audio) / SR},
        ],
    }
    (folder / "seminar.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return folder


def test_a_transcribed_recording_is_found_at_the_second_it_was_said(spoken, shared_embedders, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    results, indexer = ingest(settings, [CORPUS / "topics.yaml", spoken])
    assert [(r.status, r.path.name) for r in results] == [
        ("new", "topics.yaml"), ("new", "seminar.yaml"), ("new", "talk.wav")], results
    assert indexer.recordings._transcriber is not None  # no captions: whisper made the transcript
    with TestClient(create_app(settings), headers=bearer(api_key(settings, "organiser"))) as client:
        body = search(client, q="Who repaired the village school?", k=3)
        hit = body["hits"][0]
        assert hit["doc_type"] == "recording", hit
        # recognition may vary by a word ("the village's cool"): most of the known sentence is there
        assert len(words_heard({"volunteers", "repaired", "village", "school", "returning"}, hit["text"])) >= 4, hit
        c = hit["citation"]
        assert c["session"] == 2 and c["section"] == "Session 2 · School repairs"
        assert abs(c["start"] - (SESSION_2_AT + 0.5)) < 2.0, c
        assert c["url"].endswith(f"#t={int(c['start'])}")
        opening = search(client, q="welcome to this session on return", k=3)["hits"][0]["citation"]
        assert opening["session"] == 1 and opening["speaker"] == "Jane Doe" and opening["start"] < 2.0
        rec = client.get(f"/api/recordings/{hit['doc_id']}").json()
        assert rec["transcript_source"] == "whisper" and rec["language"] == "en"
        # an organiser confirms a topic for the school segment and rejects another
        for topic_id, state in (("community-level", "confirmed"), ("health", "rejected")):
            r = client.post(f"/api/passages/{hit['passage_id']}/topics", json={"topic_id": topic_id, "state": state})
            assert r.status_code == 200, r.text
        assert [h["passage_id"] for h in search(client, q="school", topic="community-level")["hits"]] == [
            hit["passage_id"]]

    # re-ingesting does not transcribe again
    again, indexer = ingest(settings, [spoken])
    assert [r.status for r in again] == ["unchanged", "unchanged"], again
    assert indexer.recordings._transcriber is None

    # corrected captions replace the transcript: a new version of the recording
    (spoken / "talk.en.vtt").write_text(
        "WEBVTT\n\n00:00.500 --> 00:09.000\n<v Jane Doe>Welcome to this session on return and reintegration.\n\n"
        f"00:{SESSION_2_AT + 0.5:06.3f} --> 00:{SESSION_2_AT + 5:06.3f}\n"
        "Volunteers rebuilt the village school with returning migrants.\n", encoding="utf-8")
    manifest = yaml.safe_load((spoken / "seminar.yaml").read_text())
    manifest["recordings"][0]["captions"] = {"en": "talk.en.vtt"}
    (spoken / "seminar.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    updated, _ = ingest(settings, [spoken])
    assert [r.status for r in updated] == ["updated", "updated"], updated
    with TestClient(create_app(settings), headers=bearer(api_key(settings, "organiser"))) as client:
        hit = search(client, q="Who rebuilt the village school?", k=1)["hits"][0]
        assert "rebuilt" in hit["text"] and hit["citation"]["start"] == SESSION_2_AT + 0.5
        rec = client.get(f"/api/recordings/{hit['doc_id']}").json()
        assert rec["transcript_source"] == "captions" and len(rec["cues"]) == 2
        # the organiser's decisions moved to the new version's segment that covers the same time
        links = {lk["topic_id"]: lk["state"] for lk in client.get(f"/api/passages/{hit['passage_id']}/topics").json()[
            "links"]}
        assert links["community-level"] == "confirmed" and links["health"] == "rejected"
        assert [h["passage_id"] for h in search(client, q="school", topic="community-level")["hits"]] == [
            hit["passage_id"]]
        docs = client.get("/api/documents", params={"type": "recording"}).json()["items"]
        assert [d["version"] for d in docs] == [2]

        # uploading corrected captions through the API does the same, at once
        rec_id = hit["doc_id"]
        srt = ("1\n00:00:00,500 --> 00:00:09,000\nWelcome to this session on return and reintegration.\n\n"
               "2\n00:00:15,500 --> 00:00:20,000\nVolunteers painted the village clinic with returning migrants.\n")
        r = client.put(f"/api/recordings/{rec_id}/captions", content=srt.encode(),
                       headers={"content-type": "application/x-subrip"})
        assert r.status_code == 200, r.text
        assert [c["text"] for c in r.json()["cues"]][1].startswith("Volunteers painted")
        hit = search(client, q="Who painted the village clinic?", k=1)["hits"][0]
        assert "painted" in hit["text"] and hit["citation"]["start"] == SESSION_2_AT + 0.5
        assert hit["citation"]["session"] == 2 and hit["title"] == "Test seminar"
        doc = client.get(f"/api/documents/{rec_id}").json()
        assert doc["version"] == 3 and doc["filename"] == "talk.wav"
        assert all("rebuilt" not in h["text"] for h in search(client, q="Who rebuilt the village school?")["hits"])
        # malformed captions: 422 naming the line, nothing changes
        bad = client.put(f"/api/recordings/{rec_id}/captions", content=b"WEBVTT\n\n00:01.000 --> 00:0x.000\nHi\n",
                         headers={"content-type": "text/vtt"})
        assert bad.status_code == 422 and "line 3" in bad.json()["detail"], bad.text
        assert client.get(f"/api/documents/{rec_id}").json()["version"] == 3
        assert client.put("/api/recordings/ffffffffffff/captions", content=srt.encode()).status_code == 404
        assert client.put(f"/api/recordings/{rec_id}/captions", content=b"").status_code == 422


def test_lone_media_needs_its_language_and_captions_their_media(tmp_path, shared_embedders):
    folder = tmp_path / "in"
    folder.mkdir()
    write_wav(folder / "interview.wav", speak("Hello and welcome.", "en-us", folder))
    (folder / "orphan.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n", encoding="utf-8")
    for wav in folder.glob("en-us-*.wav"):
        wav.unlink()
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    results, _ = ingest(settings, [folder])
    reasons = {r.path.name: (r.status, r.reason) for r in results}
    assert reasons["interview.wav"][0] == "failed" and "--language" in reasons["interview.wav"][1]
    assert reasons["orphan.vtt"][0] == "failed" and "captions without a recording" in reasons["orphan.vtt"][1]

    # with its language and malformed captions beside it: the error names the caption line
    shutil.move(folder / "orphan.vtt", folder / "interview.vtt")
    (folder / "interview.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:0x.000\nHello\n", encoding="utf-8")
    results, _ = ingest(settings, [folder], language="en")
    (r,) = results
    assert r.status == "failed" and r.path.name == "interview.vtt" and "line 3" in r.reason, r.reason
    catalog = open_catalog(settings)
    try:
        assert catalog.list()[1] == 0  # nothing half-written
    finally:
        catalog.close()


def test_decisions_follow_a_document_passage_into_its_next_version(tmp_path, shared_embedders):
    from services import topics

    src = tmp_path / "note.md"
    sections = {
        "Appui psychosocial": "Les conseillers psychosociaux organisent des groupes de parole pour les personnes de "
                              "retour, avec un suivi individuel pendant six mois. " * 6,
        "Projets communautaires": "Les comités villageois choisissent des projets communautaires qui emploient des "
                                  "migrants de retour et des jeunes du village. " * 6,
    }
    src.write_text("\n\n".join(f"# {t}\n\n{body}" for t, body in sections.items()), encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    results, _ = ingest(settings, [CORPUS / "topics.yaml", src])
    assert [r.status for r in results] == ["new", "new"], results
    doc_id = results[1].doc_id

    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        organiser, _ = catalog.create_key("organiser", "organiser")
        hits, _ = store.scroll()
        psycho = next(h.id for h in hits if "psychosociaux" in h.payload["text"])
        topics.decide(catalog=catalog, store=store, passage_id=psycho, topic_id="psychosocial-reintegration",
                      state="confirmed", actor=organiser)
    finally:
        store.close()
        catalog.close()

    src.write_text(src.read_text(encoding="utf-8").replace("du village", "de la commune"), encoding="utf-8")
    results, _ = ingest(settings, [src])
    assert [r.status for r in results] == ["updated"]
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        confirmed = [lk for lk in catalog.links_of_document(doc_id) if lk.state == "confirmed"]
        assert [(lk.topic_id, lk.doc_version, lk.decided_by) for lk in confirmed] == [
            ("psychosocial-reintegration", 2, "organiser")]
        (new,) = store.retrieve([confirmed[0].passage_id])
        assert new.id != psycho and "psychosociaux" in new.payload["text"]
        assert new.payload["topics"] == ["psychosocial-reintegration"]
        assert store.count(Filter(equals={"topics": "psychosocial-reintegration"})) == 1
    finally:
        store.close()
        catalog.close()


def test_a_changed_taxonomy_is_suggested_again_for_passages_already_indexed(tmp_path, shared_embedders):
    from services import topics

    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    results, _ = ingest(settings, [CORPUS / "news"])  # indexed before any taxonomy: no suggestions
    assert [r.status for r in results] == ["new"] * 3
    catalog = open_catalog(settings)
    try:
        docs, _ = catalog.list()
        assert all(catalog.links_of_document(d.id) == [] for d in docs)
    finally:
        catalog.close()

    taxonomy = yaml.safe_load((CORPUS / "topics.yaml").read_text(encoding="utf-8"))
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(taxonomy, allow_unicode=True), encoding="utf-8")
    results, _ = ingest(settings, [tmp_path / "topics.yaml"])
    assert [r.status for r in results] == ["new"]
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        links = [lk for d in catalog.list()[0] for lk in catalog.links_of_document(d.id)]
        assert links and {lk.state for lk in links} == {"suggested"}
        keep = links[0]
        topics.decide(catalog=catalog, store=store, passage_id=keep.passage_id, topic_id=keep.topic_id,
                      state="confirmed")
        suggested_topics = {lk.topic_id for lk in links}
    finally:
        store.close()
        catalog.close()

    # a topic removed (not the confirmed one): its suggestions go, the decision stays
    parents = {t.get("parent") for t in taxonomy["topics"]}
    gone = next(t for t in sorted(suggested_topics) if t != keep.topic_id and t not in parents)
    taxonomy["topics"] = [t for t in taxonomy["topics"] if t["id"] != gone]
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(taxonomy, allow_unicode=True), encoding="utf-8")
    results, _ = ingest(settings, [tmp_path / "topics.yaml"])
    assert [r.status for r in results] == ["updated"], results
    catalog = open_catalog(settings)
    try:
        links = [lk for d in catalog.list()[0] for lk in catalog.links_of_document(d.id)]
        assert gone not in {lk.topic_id for lk in links}
        assert {(lk.passage_id, lk.topic_id) for lk in links if lk.state == "confirmed"} == {
            (keep.passage_id, keep.topic_id)}
        assert len(links) > 1
    finally:
        catalog.close()
