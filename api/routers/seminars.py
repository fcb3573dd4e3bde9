"""The seminar archive: GET /api/seminars, /api/seminars/{id}, /api/recordings/{id} and its media."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse

from api.auth import OrganiserDep
from api.deps import ArchiveDep, AudienceDep, CatalogDep, ReadyDep, SettingsDep
from api.errors import InvalidParameter, PayloadTooLarge, problem_responses
from api.schemas import (
    Cue,
    RecordingDetail,
    RecordingSummary,
    RelatedPublication,
    Segment,
    SeminarDetail,
    SeminarSummary,
    SessionEntry,
    Speaker,
    TopicLink,
)
from kmh.catalog import audience_of
from services.errors import ThingNotFound
from search.searcher import recording_url

router = APIRouter(prefix="/api", tags=["seminars"])

SeminarId = Annotated[str, Path(max_length=80, description="A seminar id (its manifest's folder name)")]
RecordingId = Annotated[str, Path(max_length=64, description="A recording's document id")]

# Catalog calls block on the database: plain `def` endpoints run in FastAPI's thread pool.


def _recording_summary(rec, doc, transcript_source: str) -> RecordingSummary:
    return RecordingSummary(id=doc.id, title=doc.title, status=doc.status, language=rec.language,
                            duration=rec.duration, has_video=rec.has_video, seminar_id=rec.seminar_id, mime=doc.mime,
                            media_url=f"/api/recordings/{doc.id}/media", transcript_source=transcript_source)


def _seminar_summary(sem) -> dict:
    return dict(id=sem.id, title=sem.title, title_en=sem.title_en, start_date=sem.start_date, end_date=sem.end_date,
                languages=sem.languages, session_count=len(sem.sessions))


@router.get("/seminars", response_model=list[SeminarSummary], summary="List seminars, the most recent first",
            responses=problem_responses(503))
def list_seminars(catalog: CatalogDep) -> list[SeminarSummary]:
    return [SeminarSummary(**_seminar_summary(s)) for s in catalog.seminars()]


@router.get("/seminars/{seminar_id}", response_model=SeminarDetail,
            summary="A seminar: objectives, sessions (agenda), recordings and related publications",
            responses=problem_responses(404, 422, 503))
def get_seminar(archive: ArchiveDep, catalog: CatalogDep, seminar_id: SeminarId) -> SeminarDetail:
    page = archive.seminar(seminar_id)
    sem = page.seminar
    by_key = {rec.key: doc.id for rec, doc in page.recordings if rec.key}
    recordings = []
    for rec, doc in page.recordings:
        transcript = catalog.transcript(rec.transcript_id)
        recordings.append(_recording_summary(rec, doc, transcript.source if transcript else "captions"))
    sessions = []
    for s in sem.sessions:
        rec_id = by_key.get(s.recording_key)
        sessions.append(SessionEntry(
            number=s.number, title=s.title, description=s.description,
            speakers=[Speaker(**sp) for sp in s.speakers], recording_id=rec_id, start=s.start, end=s.end,
            url=recording_url(rec_id, s.start) if rec_id else None))
    related = [RelatedPublication(filename=name, doc_id=doc.id if doc else None, title=doc.title if doc else None,
                                  url=f"/api/documents/{doc.id}" if doc else None)
               for name, doc in page.related]
    return SeminarDetail(**_seminar_summary(sem), objectives=sem.objectives, format=sem.format,
                         background=sem.background, sessions=sessions, recordings=recordings,
                         related_publications=related)


@router.get("/recordings/{recording_id}", response_model=RecordingDetail,
            summary="A recording and its timed transcript", responses=problem_responses(404, 422, 503))
def get_recording(archive: ArchiveDep, catalog: CatalogDep, recording_id: RecordingId,
                  audience: AudienceDep) -> RecordingDetail:
    rec, doc, transcript = archive.recording(recording_id, audience)
    sem = catalog.seminar(rec.seminar_id) if rec.seminar_id else None
    sessions = [s for s in sem.sessions if s.recording_key == rec.key] if sem and rec.key else []
    cues = [Cue(**{k: c.get(k) for k in ("start", "end", "text", "speaker")}) for c in transcript.cues]
    topics = {t.id: t for t in catalog.topics()}
    segments = [
        Segment(passage_id=ref.passage_id, start=ref.start, end=ref.end, timestamp=ref.timestamp or "",
                session=ref.session, speaker=ref.speaker, section=ref.section, text=ref.text, url=ref.url,
                topics=[topic_link(lk, topics.get(lk.topic_id)) for lk in links])
        for ref, links in archive.segments(recording_id, audience)
    ]
    return RecordingDetail(**_recording_summary(rec, doc, transcript.source).model_dump(),
                           session_count=len(sessions), cues=cues, segments=segments)


def topic_link(lk, topic) -> TopicLink:
    label = {"fr": topic.label_fr, "en": topic.label_en} if topic else {}
    return TopicLink(topic_id=lk.topic_id, label=label, score=lk.score, state=lk.state, decided_by=lk.decided_by,
                     decided_at=lk.decided_at)


@router.get(
    "/recordings/{recording_id}/media",
    response_class=FileResponse,
    summary="The recording's media file; supports HTTP Range requests (seeking)",
    responses={200: {"description": "The media", "content": {"audio/*": {}, "video/*": {}}},
               206: {"description": "The requested byte range"},
               **problem_responses(404, 416, 503)},
)
def get_recording_media(archive: ArchiveDep, settings: SettingsDep, audience: AudienceDep,
                        recording_id: RecordingId) -> FileResponse:
    _rec, doc, _t = archive.recording(recording_id, audience)
    root = settings.data_dir.resolve()
    path = (root / doc.original_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ThingNotFound("recording", recording_id, f"the media of recording {recording_id!r} is not kept")
    return FileResponse(path, media_type=doc.mime, filename=FsPath(doc.filename).name,
                        content_disposition_type="inline", headers={"X-Content-Type-Options": "nosniff"})


CAPTIONS_MAX_BYTES = 5 * 1024 * 1024


@router.put(
    "/recordings/{recording_id}/captions",
    response_model=RecordingDetail,
    summary="Replace a recording's transcript with corrected captions (WebVTT or SRT in the request body)",
    description="The captions become the recording's transcript: its passages are cut and indexed again, as a new "
                "version of the recording. Malformed captions are refused with a 422 naming the line.",
    responses=problem_responses(401, 403, 404, 413, 422, 503),
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/vtt": {"schema": {"type": "string"}}, "application/x-subrip": {"schema": {"type": "string"}}}}},
)
async def put_captions(rt: ReadyDep, key: OrganiserDep, request: Request, recording_id: RecordingId) -> RecordingDetail:
    from ingest.indexer import UnknownRecording
    from ingest.model import IngestError

    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > CAPTIONS_MAX_BYTES:
            raise PayloadTooLarge(f"captions over {CAPTIONS_MAX_BYTES // 2**20} MB")
    if not data.strip():
        raise InvalidParameter("body", "empty: send the WebVTT or SRT file as the request body", "body")
    audience = audience_of(key)
    await anyio.to_thread.run_sync(rt.archive.recording, recording_id, audience)  # 404 for what the key may not see
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    name = "captions.srt" if kind == "application/x-subrip" else "captions.vtt" if kind == "text/vtt" else "captions"

    def replace():
        with rt.write_lock:
            return rt.indexer().replace_captions(recording_id, bytes(data), name)

    try:
        result = await anyio.to_thread.run_sync(replace)
    except UnknownRecording as exc:
        raise ThingNotFound("recording", recording_id, str(exc)) from None
    except IngestError as exc:
        raise InvalidParameter("body", exc.reason, "body") from None
    if result.status == "failed":
        raise InvalidParameter("body", result.reason or "the captions could not be indexed", "body")
    await anyio.to_thread.run_sync(lambda: rt.catalog.audit(key, "captions.replace", recording_id, bytes=len(data),
                                                            passages=result.passages))
    return await anyio.to_thread.run_sync(get_recording, rt.archive, rt.catalog, recording_id, audience)
