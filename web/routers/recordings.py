"""Publishing a recording from the pages (staff and organisers): the form of POST /api/recordings, its job followed
on the job page (the seconds transcribed); a recording's page of its own to send a new media file (PUT .../media, a
job) or corrected captions (PUT .../captions, at once). The forms call the same services as the API
(``services.recordings``, ``services.seminars.replace_captions``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated

import anyio
from fastapi import APIRouter, File, Form, Path, UploadFile
from starlette.responses import RedirectResponse

from api.auth import StaffOrOrganiserDep
from api.deps import CatalogDep, ReadyDep, StoreDep
from api.errors import ServiceError, status_of
from api.schemas import RecordingDetail
from api.uploads import read_captions_field, stage_media
from kmh.catalog import audience_of
from services import recordings, seminars
from web.deps import StaffOrOrganiserPage
from web.templating import render

if TYPE_CHECKING:
    from starlette.responses import HTMLResponse

    from kmh.catalog import Catalog
    from kmh.store import VectorStore
    from web.deps import Page

router = APIRouter(include_in_schema=False)

LANGUAGES = ("fr", "en")
FormText = Annotated[str, Form(max_length=500)]
RecordingId = Annotated[str, Path(max_length=64)]


@router.get("/staff/recordings")
def recording_form(page: StaffOrOrganiserPage, catalog: CatalogDep):
    return render(page.request, page, "recording_upload.html", seminars=seminars.list_seminars(catalog=catalog),
                  languages=LANGUAGES, error=None, values={})


@router.post("/staff/recordings")
async def publish_recording(page: StaffOrOrganiserPage, rt: ReadyDep, key: StaffOrOrganiserDep,
                            file: Annotated[UploadFile, File()], captions: Annotated[UploadFile | None, File()] = None,
                            language: Annotated[str, Form(max_length=8)] = "", title: FormText = "",
                            seminar: Annotated[str, Form(max_length=80)] = "",
                            session: Annotated[str, Form(max_length=8)] = ""):
    """The API's recording upload; its errors (a missing language, an unknown seminar) shown on the form, filled in."""
    settings = rt.settings
    try:
        number = _session_number(session)
        data, name = await read_captions_field(captions)
        staged = await stage_media(file, settings.data_dir, settings.staging_dir, settings.max_media_bytes)
        job = await anyio.to_thread.run_sync(partial(
            recordings.queue_recording, catalog=rt.catalog, worker=rt.worker, staged=staged,
            language=language or None, title=title or None, captions=data, captions_name=name,
            seminar=seminar or None, session=number, actor=key))
    except ServiceError as exc:
        values = {"language": language, "title": title, "seminar": seminar, "session": session}
        known = await anyio.to_thread.run_sync(partial(seminars.list_seminars, catalog=rt.catalog))
        return render(page.request, page, "recording_upload.html", status_code=status_of(exc), seminars=known,
                      languages=LANGUAGES, error=exc.detail, existing=exc.extra.get("doc_id"), values=values)
    return RedirectResponse(f"/staff/jobs/{job.id}", status_code=303)


@router.get("/staff/recordings/{recording_id}")
def manage_form(page: StaffOrOrganiserPage, catalog: CatalogDep, store: StoreDep, recording_id: RecordingId):
    return _manage(page, catalog, store, recording_id)


def _manage(page: Page, catalog: Catalog, store: VectorStore, recording_id: str, status_code: int = 200,
            error: str | None = None) -> HTMLResponse:
    """A recording's page for staff and organisers (a retracted one for staff only), with ``error`` from a form sent."""
    found = seminars.recording_page(catalog=catalog, store=store, recording_id=recording_id,
                                    audience=audience_of(page.viewer))
    return render(page.request, page, "recording_manage.html", status_code=status_code,
                  recording=RecordingDetail.from_page(found), seminar=found.seminar, languages=LANGUAGES, error=error)


@router.post("/staff/recordings/{recording_id}/media")
async def new_media(page: StaffOrOrganiserPage, rt: ReadyDep, key: StaffOrOrganiserDep, recording_id: RecordingId,
                    file: Annotated[UploadFile, File()], captions: Annotated[UploadFile | None, File()] = None,
                    language: Annotated[str, Form(max_length=8)] = "", title: FormText = ""):
    """PUT /api/recordings/{id}/media as a form: a new version, its job followed on the job page."""
    settings = rt.settings
    try:
        data, name = await read_captions_field(captions)
        staged = await stage_media(file, settings.data_dir, settings.staging_dir, settings.max_media_bytes)
        job = await anyio.to_thread.run_sync(partial(
            recordings.queue_recording, catalog=rt.catalog, worker=rt.worker, staged=staged,
            language=language or None, title=title or None, captions=data, captions_name=name, actor=key,
            recording_id=recording_id))
    except ServiceError as exc:
        return await anyio.to_thread.run_sync(partial(_manage, page, rt.catalog, rt.store, recording_id,
                                                      status_of(exc), exc.detail))
    return RedirectResponse(f"/staff/jobs/{job.id}", status_code=303)


@router.post("/staff/recordings/{recording_id}/captions")
async def new_captions(page: StaffOrOrganiserPage, rt: ReadyDep, key: StaffOrOrganiserDep, recording_id: RecordingId,
                       captions: Annotated[UploadFile, File()]):
    """PUT /api/recordings/{id}/captions as a form: the captions replace the transcript at once."""
    try:
        data, name = await read_captions_field(captions)
        kind = "application/x-subrip" if (name or "").lower().endswith(".srt") else "text/vtt"
        await anyio.to_thread.run_sync(partial(
            seminars.replace_captions, runtime=rt, recording_id=recording_id, data=data or b"", content_type=kind,
            actor=key, audience=audience_of(key)))
    except ServiceError as exc:
        return await anyio.to_thread.run_sync(partial(_manage, page, rt.catalog, rt.store, recording_id,
                                                      status_of(exc), exc.detail))
    return RedirectResponse(f"/recordings/{recording_id}", status_code=303)


def _session_number(given: str) -> int | None:
    from services.errors import InvalidParameter

    given = given.strip()
    if not given:
        return None
    if not given.isdigit():
        raise InvalidParameter("session", f"a session number such as 2, not {given!r}", "body")
    return int(given)
