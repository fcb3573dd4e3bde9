"""Seminars and recordings: GET /api/seminars, /api/seminars/{id}, /api/recordings/{id} and its media; PUT its
captions."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse

from api.auth import StaffOrOrganiserDep
from api.deps import AudienceDep, CatalogDep, ReadyDep, SettingsDep, StoreDep
from api.errors import PayloadTooLarge, problem_responses
from api.schemas import RecordingDetail, SeminarDetail, SeminarSummary
from api.uploads import CAPTIONS_MAX_BYTES
from kmh.catalog import audience_of
from services import seminars
from services.errors import ThingNotFound

router = APIRouter(prefix="/api", tags=["seminars"])

SeminarId = Annotated[str, Path(max_length=80, description="A seminar id (its manifest's folder name)")]
RecordingId = Annotated[str, Path(max_length=64, description="A recording's document id")]

# Catalog calls block on the database: plain `def` endpoints run in FastAPI's thread pool.


@router.get("/seminars", response_model=list[SeminarSummary], summary="List seminars, the most recent first",
            responses=problem_responses(503))
def list_seminars(catalog: CatalogDep) -> list[SeminarSummary]:
    return [SeminarSummary.from_record(s) for s in seminars.list_seminars(catalog=catalog)]


@router.get("/seminars/{seminar_id}", response_model=SeminarDetail,
            summary="A seminar: objectives, sessions (agenda), recordings and related publications",
            responses=problem_responses(404, 422, 503))
def get_seminar(catalog: CatalogDep, seminar_id: SeminarId) -> SeminarDetail:
    return SeminarDetail.from_page(seminars.seminar(catalog=catalog, seminar_id=seminar_id))


@router.get("/recordings/{recording_id}", response_model=RecordingDetail,
            summary="A recording and its timed transcript", responses=problem_responses(404, 422, 503))
def get_recording(catalog: CatalogDep, store: StoreDep, recording_id: RecordingId,
                  audience: AudienceDep) -> RecordingDetail:
    page = seminars.recording_page(catalog=catalog, store=store, recording_id=recording_id, audience=audience)
    return RecordingDetail.from_page(page)


@router.get(
    "/recordings/{recording_id}/media",
    response_class=FileResponse,
    summary="The recording's media file; supports HTTP Range requests (seeking)",
    responses={200: {"description": "The media", "content": {"audio/*": {}, "video/*": {}}},
               206: {"description": "The requested byte range"},
               **problem_responses(404, 416, 503)},
)
def get_recording_media(catalog: CatalogDep, settings: SettingsDep, audience: AudienceDep,
                        recording_id: RecordingId) -> FileResponse:
    doc = seminars.recording(catalog=catalog, recording_id=recording_id, audience=audience).document
    root = settings.data_dir.resolve()
    path = (root / doc.original_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ThingNotFound("recording", recording_id, f"the media of recording {recording_id!r} is not kept")
    return FileResponse(path, media_type=doc.mime, filename=FsPath(doc.filename).name,
                        content_disposition_type="inline", headers={"X-Content-Type-Options": "nosniff"})



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
async def put_captions(rt: ReadyDep, key: StaffOrOrganiserDep, request: Request,
                       recording_id: RecordingId) -> RecordingDetail:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > CAPTIONS_MAX_BYTES:
            raise PayloadTooLarge(f"captions over {CAPTIONS_MAX_BYTES // 2**20} MB")
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    page = await anyio.to_thread.run_sync(lambda: seminars.replace_captions(
        runtime=rt, recording_id=recording_id, data=bytes(data), content_type=kind, actor=key,
        audience=audience_of(key)))
    return RecordingDetail.from_page(page)
