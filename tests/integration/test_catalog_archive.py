"""The catalog's seminars and topics: taxonomy, seminars, transcripts, recordings and topic links, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from kmh.catalog import (
    Catalog,
    RecordingRecord,
    SeminarRecord,
    SessionRecord,
    TopicRecord,
    TranscriptRecord,
    UnknownTopic,
)
from tests.integration.test_catalog import record


@pytest.fixture
def catalog(new_catalog_url):
    cat = Catalog(new_catalog_url())
    yield cat
    cat.close()


def topic(i: str, **kw) -> TopicRecord:
    return TopicRecord(i, f"{i} fr", f"{i} en", f"description {i} fr", f"description {i} en", **kw)


def test_replace_topics_adds_updates_and_removes(catalog: Catalog) -> None:
    assert catalog.replace_topics([topic("a", grp="level"), topic("b", parent="a")]) == {
        "added": 2, "updated": 0, "removed": 0}
    assert [t.id for t in catalog.topics()] == ["a", "b"]
    assert catalog.replace_topics([topic("b"), topic("c")]) == {"added": 1, "updated": 1, "removed": 1}
    assert [t.id for t in catalog.topics()] == ["b", "c"]
    assert catalog.topic("b").parent is None and catalog.topic("zz") is None
    assert catalog.replace_topics([topic("b"), topic("c")]) == {"added": 0, "updated": 0, "removed": 0}
    with pytest.raises(ValueError, match="unknown parent"):
        catalog.replace_topics([topic("x", parent="nope")])
    with pytest.raises(ValueError, match="unique"):
        catalog.replace_topics([topic("x"), topic("x")])
    assert [t.id for t in catalog.topics()] == ["b", "c"]  # a failed replacement changes nothing


def test_seminar_with_sessions_is_saved_and_replaced(catalog: Catalog) -> None:
    sem = SeminarRecord("2021-12-x", "Séminaire", "sha", "/c/seminar.yaml", start_date=date(2021, 12, 1),
                        languages=["fr"], related=["a.pdf"],
                        sessions=[SessionRecord(1, "Un", speakers=[{"name": "A", "role": "OIM"}], recording_key="r1",
                                                start=0.0, end=60.0),
                                  SessionRecord(2, "Deux", recording_key="r1", start=60.0, end=120.0)])
    saved = catalog.save_seminar(sem)
    assert [s.number for s in saved.sessions] == [1, 2] and saved.sessions[0].speakers[0]["role"] == "OIM"
    sem.sessions = sem.sessions[:1]
    sem.title = "Séminaire (révisé)"
    catalog.save_seminar(sem)
    got = catalog.seminar("2021-12-x")
    assert got.title == "Séminaire (révisé)" and len(got.sessions) == 1
    assert [s.id for s in catalog.seminars()] == ["2021-12-x"]
    # The most recent first, those without a date last (PostgreSQL puts NULL first in a descending order).
    catalog.save_seminar(SeminarRecord("0-undated", "Sans date", "sha", "/c/0/seminar.yaml"))
    catalog.save_seminar(SeminarRecord("2022-06-y", "Plus récent", "sha", "/c/y/seminar.yaml", start_date=date(2022, 6, 1)))
    assert [s.id for s in catalog.seminars()] == ["2022-06-y", "2021-12-x", "0-undated"]


def test_transcripts_are_kept_by_content_and_recordings_link_them(catalog: Catalog) -> None:
    cues = [{"start": 0.0, "end": 2.5, "text": "Bonjour.", "speaker": None}]
    t = catalog.add_transcript(TranscriptRecord("m" * 64, "fr", "captions", "c" * 64, cues))
    assert t.id is not None
    assert catalog.add_transcript(TranscriptRecord("m" * 64, "fr", "captions", "c" * 64, [])).id == t.id
    assert catalog.find_transcript("m" * 64, "fr", "whisper", "c" * 64) is None
    with pytest.raises(ValueError, match="source"):
        catalog.add_transcript(TranscriptRecord("m" * 64, "fr", "ocr", "c" * 64, cues))

    doc = catalog.add(record(1, doc_type="recording", format="audio", mime="audio/ogg"),
                      recording=RecordingRecord("", "fr", 12.5, t.id))
    assert catalog.recording(doc.id).duration == 12.5
    assert [r.doc_id for r in catalog.recordings()] == [doc.id]
    catalog.delete(doc.id)
    assert catalog.recording(doc.id) is None  # cascades with its document


def test_topic_links_suggested_decided_and_undone(catalog: Catalog) -> None:
    catalog.replace_topics([topic("community"), topic("psychosocial")])
    doc = catalog.add(record(1), suggestions=[("p1", "community", 0.9), ("p1", "psychosocial", 0.8),
                                               ("p1", "unknown-topic", 0.99)])
    assert len(catalog.links_of_document(doc.id)) == 2
    assert [lk.topic_id for lk in catalog.links("p1")] == ["community", "psychosocial"]
    assert catalog.confirmed_topics("p1") == []

    catalog.decide_link("p1", "community", "confirmed", doc_id=doc.id, doc_version=1, by="organiser")
    catalog.decide_link("p1", "psychosocial", "rejected", doc_id=doc.id, doc_version=1)
    # suggesting again (a changed taxonomy) keeps the decisions
    catalog.replace_suggestions(doc.id, 1, [("p1", "community", 0.5), ("p1", "psychosocial", 0.8)])
    assert catalog.confirmed_topics("p1") == ["community"]
    assert [lk.passage_id for lk in catalog.topic_links("community")] == ["p1"]
    assert catalog.topic_counts() == {"community": 1}
    # A link added by hand (no score) comes after the scored ones, on both databases.
    catalog.decide_link("p0", "community", "confirmed", doc_id=doc.id, doc_version=1)
    assert [lk.passage_id for lk in catalog.topic_links("community")] == ["p1", "p0"]
    assert catalog.undo_link("p0", "community") is True

    catalog.decide_link("p2", "psychosocial", "confirmed", doc_id=doc.id, doc_version=1)  # added by hand
    assert catalog.links("p2")[0].score is None
    assert catalog.undo_link("p2", "psychosocial") is True and catalog.links("p2") == []
    assert catalog.undo_link("p1", "community") is True
    assert {lk.topic_id: lk.state for lk in catalog.links("p1")} == {"community": "suggested", "psychosocial": "rejected"}
    assert catalog.undo_link("p9", "community") is False
    with pytest.raises(UnknownTopic):
        catalog.decide_link("p1", "nope", "confirmed", doc_id=doc.id, doc_version=1)
    with pytest.raises(ValueError):
        catalog.decide_link("p1", "community", "maybe", doc_id=doc.id, doc_version=1)

    catalog.save_new_version(doc.id, record(1), suggestions=[("q1", "community", 0.7)])  # version 2
    assert [lk.passage_id for lk in catalog.links_of_document(doc.id)] == ["q1"]
    catalog.delete(doc.id)
    assert catalog.links_of_document(doc.id) == []


def test_documents_by_filename(catalog: Catalog) -> None:
    a = catalog.add(record(1))
    catalog.add(record(2))
    assert catalog.documents_by_filename(["doc1.pdf", "missing.pdf"]) == {"doc1.pdf": a.id}
    assert catalog.documents_by_filename([]) == {}


def test_a_version_is_stored_with_its_recording_and_suggestions_in_one_transaction(catalog: Catalog) -> None:
    catalog.replace_topics([topic("community")])
    t = catalog.add_transcript(TranscriptRecord("m" * 64, "fr", "captions", "c" * 64, []))
    doc = catalog.add(record(1, doc_type="recording", format="ogg", mime="audio/ogg"),
                      recording=RecordingRecord("", "fr", 30.0, t.id), suggestions=[("p1", "community", 0.9)])
    assert catalog.recording(doc.id).duration == 30.0
    assert [(lk.passage_id, lk.doc_version) for lk in catalog.links_of_document(doc.id)] == [("p1", 1)]

    new = catalog.save_new_version(doc.id, record(1, doc_type="recording", format="ogg", mime="audio/ogg"),
                                   recording=RecordingRecord("", "fr", 31.0, t.id),
                                   suggestions=[("q1", "community", 0.8)])
    assert new.version == 2 and catalog.recording(doc.id).duration == 31.0
    assert [(lk.passage_id, lk.doc_version) for lk in catalog.links_of_document(doc.id)] == [("q1", 2)]

    # a failure (here: a duplicate) writes none of it
    other = catalog.add(record(2))
    with pytest.raises(Exception):
        catalog.save_new_version(other.id, record(1), recording=RecordingRecord("", "fr", 1.0, t.id),
                                 suggestions=[("z1", "community", 0.8)])
    assert catalog.recording(other.id) is None and catalog.links_of_document(other.id) == []
