"""Seminars and their recordings: what the seminar and recording endpoints and pages show.

Each function joins catalog rows (kmh.catalog.seminars) with the passages in the store. Reads by id take the reader's
``audience`` (kmh.catalog.visibility; the public when not given): what it may not see is ThingNotFound. What lists
(a seminar's recordings and related publications) shows what the public sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kmh.catalog import (
    PUBLIC,
    Audience,
    Catalog,
    DocumentRecord,
    RecordingRecord,
    SeminarRecord,
    SessionRecord,
    TopicLinkRecord,
    TopicRecord,
    TranscriptRecord,
)
from kmh.store import VectorStore
from services.errors import InvalidParameter, ThingNotFound
from services.passages import PassageRef, in_order

if TYPE_CHECKING:
    from kmh.catalog import KeyRecord
    from services.runtime import Runtime


@dataclass
class Recording:
    """A recording someone may see: its catalog row, its document and its transcript."""

    recording: RecordingRecord
    document: DocumentRecord
    transcript: TranscriptRecord | None


@dataclass
class RecordingPage(Recording):
    """A recording with its seminar, the seminar's sessions it holds, and its segments (passages in time order) each
    with its topic links; ``topics`` is the taxonomy by id, to name the links."""

    seminar: SeminarRecord | None
    sessions: list[SessionRecord]
    segments: list[tuple[PassageRef, list[TopicLinkRecord]]]
    topics: dict[str, TopicRecord]


@dataclass
class SeminarPage:
    """A seminar with the recordings the public sees, and its related publications by file name (the document, or
    None when none the public sees has that name)."""

    seminar: SeminarRecord
    recordings: list[Recording]
    related: list[tuple[str, DocumentRecord | None]]


def list_seminars(*, catalog: Catalog) -> list[SeminarRecord]:
    """Every seminar, the most recent first."""
    return catalog.seminars()


def seminar(*, catalog: Catalog, seminar_id: str) -> SeminarPage:
    """A seminar's page. Raises ThingNotFound."""
    sem = catalog.seminar(seminar_id)
    if sem is None:
        raise ThingNotFound("seminar", seminar_id)
    recordings = []
    for rec in catalog.recordings(seminar_id):
        doc = catalog.visible(rec.doc_id, PUBLIC)
        if doc is not None:
            recordings.append(Recording(rec, doc, catalog.transcript(rec.transcript_id)))
    ids = catalog.documents_by_filename(sem.related)
    related = [(name, catalog.get(ids[name]) if name in ids else None) for name in sem.related]
    return SeminarPage(sem, recordings, related)


def recording(*, catalog: Catalog, recording_id: str, audience: Audience = PUBLIC) -> Recording:
    """A recording ``audience`` may see (``recording_id`` is its document's id). Raises ThingNotFound."""
    rec = catalog.recording(recording_id)
    doc = catalog.visible(recording_id, audience) if rec is not None else None
    if rec is None or doc is None:
        raise ThingNotFound("recording", recording_id)
    return Recording(rec, doc, catalog.transcript(rec.transcript_id))


def recording_page(*, catalog: Catalog, store: VectorStore, recording_id: str,
                   audience: Audience = PUBLIC) -> RecordingPage:
    """A recording ``audience`` may see with its seminar, sessions and segments (what an organiser reviews).
    Raises ThingNotFound."""
    found = recording(catalog=catalog, recording_id=recording_id, audience=audience)
    rec = found.recording
    sem = catalog.seminar(rec.seminar_id) if rec.seminar_id else None
    sessions = [s for s in sem.sessions if s.recording_key == rec.key] if sem and rec.key else []
    links: dict[str, list[TopicLinkRecord]] = {}
    for lk in catalog.links_of_document(recording_id):
        links.setdefault(lk.passage_id, []).append(lk)
    order = lambda lk: (lk.score is None, -(lk.score or 0.0), lk.topic_id)  # noqa: E731
    segments = [(ref, sorted(links.get(ref.passage_id, []), key=order))
                for ref in in_order(catalog=catalog, store=store, doc=found.document, audience=audience)]
    return RecordingPage(rec, found.document, found.transcript, seminar=sem, sessions=sessions, segments=segments,
                         topics={t.id: t for t in catalog.topics()})


def replace_captions(*, runtime: Runtime, recording_id: str, data: bytes, content_type: str,
                     actor: KeyRecord, audience: Audience) -> RecordingPage:
    """Make corrected captions (WebVTT or SRT) the recording's transcript: its passages are cut and indexed again as
    a new version, under the runtime's write lock; audited. ThingNotFound for a recording ``audience`` may not see,
    InvalidParameter naming the body for empty or malformed captions."""
    from ingest.indexer import UnknownRecording
    from ingest.model import IngestError

    if not data.strip():
        raise InvalidParameter("body", "empty: send the WebVTT or SRT file as the request body", "body")
    recording(catalog=runtime.catalog, recording_id=recording_id, audience=audience)  # not found for who may not see
    name = ("captions.srt" if content_type == "application/x-subrip" else
            "captions.vtt" if content_type == "text/vtt" else "captions")
    try:
        with runtime.write_lock:
            result = runtime.indexer().replace_captions(recording_id, data, name)
    except UnknownRecording as exc:
        raise ThingNotFound("recording", recording_id, str(exc)) from None
    except IngestError as exc:
        raise InvalidParameter("body", exc.reason, "body") from None
    if result.status == "failed":
        raise InvalidParameter("body", result.reason or "the captions could not be indexed", "body")
    runtime.catalog.audit(actor, "captions.replace", recording_id, bytes=len(data), passages=result.passages)
    return recording_page(catalog=runtime.catalog, store=runtime.store, recording_id=recording_id, audience=audience)
