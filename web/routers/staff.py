"""Staff pages: documents and jobs, uploading a publication, following its job, editing and retracting, linking
language editions.

Forms post here with the session cookie and its CSRF token (``api.auth`` checks both); each handler calls the same
publishing services as the API (``services.publishing``), so the rules (size, type sniffing, duplicates, audit) are
the same.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Form, Path, Query, UploadFile
from starlette.responses import RedirectResponse

from api.auth import StaffDep
from api.deps import CatalogDep, ReadyDep
from api.errors import DocumentNotFound, ServiceError, status_of
from api.schemas import Job
from api.uploads import FileField, UploadMeta, stage
from kmh.catalog import STAFF, KeyRecord
from services import editions, jobs, publishing
from services.publishing import Metadata
from services.runtime import Runtime
from web.deps import StaffOrOrganiserPage, StaffPage
from web.templating import job_rate, render

router = APIRouter(include_in_schema=False)

DocId = Annotated[str, Path(max_length=64)]
DOC_TYPES = ("report", "knowledge_paper", "handbook", "news", "seminar_page", "other")


@router.get("/staff")
def staff_home(page: StaffPage, catalog: CatalogDep, offset: Annotated[int, Query(ge=0)] = 0):
    docs, total = publishing.list_documents(catalog=catalog, audience=STAFF, limit=50, offset=offset, status="any")
    recent, _ = jobs.list_jobs(catalog=catalog, limit=10)
    return render(page.request, page, "staff.html", docs=docs, total=total, jobs=recent, offset=offset)


@router.get("/staff/upload")
def upload_form(page: StaffPage):
    return render(page.request, page, "upload.html", doc_types=DOC_TYPES, error=None, values={})


FormText = Annotated[str, Form(max_length=2000)]


async def _queue(rt: Runtime, key: KeyRecord, file: UploadFile, meta: Metadata, doc_id: str | None
                 ) -> RedirectResponse:
    """Stage the upload and queue its job (services.publishing), then follow the job on its page."""
    settings = rt.settings
    staged = await stage(file, settings.data_dir, settings.staging_dir, settings.max_file_bytes)
    job = await anyio.to_thread.run_sync(partial(
        publishing.queue_upload, catalog=rt.catalog, worker=rt.worker, staged=staged, meta=meta, actor=key,
        doc_id=doc_id))
    return RedirectResponse(f"/staff/jobs/{job.id}", status_code=303)


@router.post("/staff/upload")
async def upload(page: StaffPage, rt: ReadyDep, key: StaffDep, file: FileField, title: FormText = "",
                 doc_type: Annotated[str, Form(alias="type", max_length=32)] = "", language: FormText = "",
                 published: Annotated[str, Form(alias="date", max_length=32)] = "", countries: FormText = "",
                 programme: FormText = "", source: FormText = ""):
    """The API's upload, with its errors (a bad field, a duplicate, a wrong type) shown on the form, filled in."""
    try:
        meta = publishing.upload_metadata(title=title or None, doc_type=doc_type or None, language=language or None,
                                          published=published or None, countries=[countries] if countries else None,
                                          programme=programme or None, source=source or None)
        return await _queue(rt, key, file, meta, None)
    except ServiceError as exc:
        values = {"title": title, "type": doc_type, "language": language, "date": published,
                  "countries": countries, "programme": programme, "source": source}
        return render(page.request, page, "upload.html", status_code=status_of(exc), doc_types=DOC_TYPES,
                      error=exc.detail, existing=exc.extra.get("doc_id"), values=values)


@router.get("/staff/jobs/{job_id}")
def job_page(page: StaffOrOrganiserPage, catalog: CatalogDep, job_id: Annotated[str, Path(max_length=64)]):
    job = Job.from_record(jobs.get_job(catalog=catalog, job_id=job_id))
    if job.kind == "crawl":  # a crawl has its own page (web.routers.crawls)
        return RedirectResponse(f"/staff/crawls#crawl-{job.id}", status_code=303)
    rate = job_rate(page.t, page.lang, job.progress)
    return render(page.request, page, "job.html", job=job, rate=rate)


@router.get("/staff/documents/{doc_id}")
def edit_form(page: StaffPage, catalog: CatalogDep, doc_id: DocId, saved: Annotated[str | None, Query()] = None):
    found = publishing.document_history(catalog=catalog, doc_id=doc_id)
    return render(page.request, page, "edit.html", doc=found.document, history=found.versions, doc_types=DOC_TYPES,
                  error=None, saved=saved, editions=editions.other_editions(catalog=catalog, doc_id=doc_id))


@router.post("/staff/documents/{doc_id}")
def edit(page: StaffPage, rt: ReadyDep, key: StaffDep, doc_id: DocId,
         title: Annotated[str, Form(min_length=1, max_length=500)],
         doc_type: Annotated[str, Form(alias="type", max_length=32)],
         language: Annotated[str, Form(max_length=8)] = "",
         published: Annotated[str, Form(alias="date", max_length=32)] = "",
         countries: Annotated[str, Form(max_length=2000)] = "",
         programme: Annotated[str, Form(max_length=500)] = "",
         source: Annotated[str, Form(max_length=1000)] = "",
         source_url: Annotated[str, Form(max_length=2000)] = ""):
    """The API's metadata edit (its field checks included), with its errors shown on the form."""
    from pydantic import ValidationError

    from api.schemas import MetadataPatch

    fields = {"title": title.strip(), "doc_type": doc_type, "language": language.strip() or None,
              "published": published.strip() or None,
              "countries": [c.strip() for c in countries.split(",") if c.strip()],
              "programme": programme.strip() or None, "source": source.strip() or None,
              "source_url": source_url.strip() or None}
    try:
        patch = MetadataPatch.model_validate(fields)
        publishing.edit_document(catalog=rt.catalog, store=rt.store, doc_id=doc_id,
                                 changes=patch.model_dump(exclude_unset=True), actor=key)
    except (ServiceError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, ServiceError) else "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        found = publishing.document_history(catalog=rt.catalog, doc_id=doc_id)
        status = status_of(exc) if isinstance(exc, ServiceError) else 422
        return render(page.request, page, "edit.html", status_code=status, doc=found.document, history=found.versions,
                      doc_types=DOC_TYPES, error=detail, saved=None)
    return RedirectResponse(f"/staff/documents/{doc_id}?saved=edit", status_code=303)


@router.post("/staff/documents/{doc_id}/retract")
def retract(page: StaffPage, rt: ReadyDep, key: StaffDep, doc_id: DocId):
    publishing.retract_document(catalog=rt.catalog, store=rt.store, doc_id=doc_id, actor=key)
    return RedirectResponse(f"/staff/documents/{doc_id}?saved=retract", status_code=303)


@router.post("/staff/documents/{doc_id}/restore")
def restore(page: StaffPage, rt: ReadyDep, key: StaffDep, doc_id: DocId):
    publishing.restore_document(catalog=rt.catalog, store=rt.store, doc_id=doc_id, actor=key)
    return RedirectResponse(f"/staff/documents/{doc_id}?saved=restore", status_code=303)


@router.post("/staff/documents/{doc_id}/file")
async def new_version(page: StaffPage, rt: ReadyDep, key: StaffDep, doc_id: DocId, file: FileField,
                      given: UploadMeta):
    try:
        meta = await anyio.to_thread.run_sync(partial(
            publishing.new_version_metadata, catalog=rt.catalog, doc_id=doc_id, given=given))
        return await _queue(rt, key, file, meta, doc_id)
    except ServiceError as exc:
        try:
            found = await anyio.to_thread.run_sync(partial(publishing.document_history, catalog=rt.catalog,
                                                           doc_id=doc_id))
        except DocumentNotFound:
            raise exc from None
        return render(page.request, page, "edit.html", status_code=status_of(exc), doc=found.document,
                      history=found.versions, doc_types=DOC_TYPES, error=exc.detail, saved=None)


@router.post("/staff/documents/{doc_id}/editions")
def link_edition(page: StaffPage, catalog: CatalogDep, key: StaffDep, doc_id: DocId,
                 edition_of: Annotated[str, Form(max_length=64)] = ""):
    """The API's edition link (services.editions), with its errors shown on the form."""
    try:
        if not edition_of.strip():
            from services.errors import InvalidParameter

            raise InvalidParameter("edition_of", "give the id of the other edition", "body")
        editions.link_edition(catalog=catalog, doc_id=doc_id, edition_of=edition_of, actor=key)
    except ServiceError as exc:
        found = publishing.document_history(catalog=catalog, doc_id=doc_id)  # DocumentNotFound: the error page
        return render(page.request, page, "edit.html", status_code=status_of(exc), doc=found.document,
                      history=found.versions, doc_types=DOC_TYPES, error=exc.detail, saved=None,
                      editions=editions.other_editions(catalog=catalog, doc_id=doc_id))
    return RedirectResponse(f"/staff/documents/{doc_id}?saved=link", status_code=303)


@router.post("/staff/documents/{doc_id}/editions/unlink")
def unlink_edition(page: StaffPage, catalog: CatalogDep, key: StaffDep, doc_id: DocId):
    editions.unlink_edition(catalog=catalog, doc_id=doc_id, actor=key)
    return RedirectResponse(f"/staff/documents/{doc_id}?saved=unlink", status_code=303)
