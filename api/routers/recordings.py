"""Publishing recordings through the running server (staff and organisers): POST /api/recordings and
PUT /api/recordings/{recording_id}/media queue a job that transcribes and indexes the media (its progress counts the
seconds transcribed). Reading recordings and correcting their captions is api.routers.seminars."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import JSONResponse

from api.auth import StaffOrOrganiserDep
from api.deps import ReadyDep
from api.errors import linked, problem_responses
from api.schemas import Job
from api.uploads import read_captions_field, stage_media
from kmh.catalog import KeyRecord
from services import recordings
from services.runtime import Runtime

router = APIRouter(prefix="/api", tags=["seminars"])

RecordingId = Annotated[str, Path(max_length=64, description="A recording's document id")]
MediaField = Annotated[UploadFile, File(description="The audio or video file (any format ffmpeg reads)")]
CaptionsField = Annotated[UploadFile | None, File(description="Its captions, WebVTT or SRT: they become the "
                                                              "transcript (no Whisper), and give the language")]
Language = Annotated[str | None, Form(max_length=8, description="ISO 639-1 code of the speech, e.g. fr; required "
                                                                "unless captions are sent (then detected from them)")]
Title = Annotated[str | None, Form(max_length=500, description="Its title; by default its file name")]
Seminar = Annotated[str | None, Form(max_length=80, description="The id of the seminar it records")]
Session = Annotated[int | None, Form(ge=1, le=1000, description="The number of the seminar's session it records")]

RESPONSES = {
    202: {"description": "Accepted: the job that transcribes and indexes the recording (see its url)"},
    **problem_responses(401, 403, 404, 409, 413, 422, 503),
}


async def _queue(rt: Runtime, key: KeyRecord, media: UploadFile, captions: UploadFile | None, *,
                 language: str | None, title: str | None, seminar: str | None, session: int | None,
                 recording_id: str | None) -> JSONResponse:
    """Stage the media, queue its job, and answer 202 with the job and its Location."""
    settings = rt.settings
    data, name = await read_captions_field(captions)
    staged = await stage_media(media, settings.data_dir, settings.staging_dir, settings.max_media_bytes)
    with linked():
        job = await anyio.to_thread.run_sync(partial(
            recordings.queue_recording, catalog=rt.catalog, worker=rt.worker, staged=staged, language=language or None,
            title=title or None, captions=data, captions_name=name, seminar=seminar or None, session=session,
            actor=key, recording_id=recording_id))
    body = Job.from_record(job).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": body["url"]})


@router.post("/recordings", status_code=202, response_model=Job, responses=RESPONSES,
             summary="Publish a recording (staff, organisers): answers 202 with the job that transcribes and indexes "
                     "it, its progress counting the seconds transcribed")
async def publish_recording(rt: ReadyDep, key: StaffOrOrganiserDep, file: MediaField, captions: CaptionsField = None,
                            language: Language = None, title: Title = None, seminar: Seminar = None,
                            session: Session = None):
    return await _queue(rt, key, file, captions, language=language, title=title, seminar=seminar, session=session,
                        recording_id=None)


@router.put("/recordings/{recording_id}/media", status_code=202, response_model=Job, responses=RESPONSES,
            summary="Replace a recording's media (staff, organisers): a new version, transcribed again (or from the "
                    "captions sent with it); its title, language, seminar and session are kept unless sent")
async def replace_recording_media(rt: ReadyDep, key: StaffOrOrganiserDep, recording_id: RecordingId, file: MediaField,
                                  captions: CaptionsField = None, language: Language = None, title: Title = None,
                                  seminar: Seminar = None, session: Session = None):
    return await _queue(rt, key, file, captions, language=language, title=title, seminar=seminar, session=session,
                        recording_id=recording_id)
