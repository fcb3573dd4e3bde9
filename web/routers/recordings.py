"""Publishing a recording from the pages (staff and organisers): the form of POST /api/recordings, its job followed
on the job page (the seconds transcribed). The form calls the same service as the API (``services.recordings``)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, File, Form, UploadFile
from starlette.responses import RedirectResponse

from api.auth import StaffOrOrganiserDep
from api.deps import CatalogDep, ReadyDep
from api.errors import ServiceError, status_of
from api.uploads import read_captions_field, stage_media
from services import recordings, seminars
from web.deps import StaffOrOrganiserPage
from web.templating import render

router = APIRouter(include_in_schema=False)

LANGUAGES = ("fr", "en")
FormText = Annotated[str, Form(max_length=500)]


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


def _session_number(given: str) -> int | None:
    from services.errors import InvalidParameter

    given = given.strip()
    if not given:
        return None
    if not given.isdigit():
        raise InvalidParameter("session", f"a session number such as 2, not {given!r}", "body")
    return int(given)
