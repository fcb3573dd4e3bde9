"""Staff pages: documents and jobs, uploading a publication, following its job, editing and retracting.

Forms post here with the session cookie and its CSRF token (``api.auth`` checks both); each handler calls the
publishing API's own function, so the rules (size, type sniffing, duplicates, audit) are the API's.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Form, Path, Query
from starlette.responses import RedirectResponse

from api.auth import StaffDep
from api.deps import CatalogDep, ReadyDep
from api.errors import ServiceError, status_of
from api.routers.documents import FileField, UploadMeta
from web.deps import StaffPage
from web.templating import job_rate, render

router = APIRouter(include_in_schema=False)

DocId = Annotated[str, Path(max_length=64)]
DOC_TYPES = ("report", "knowledge_paper", "handbook", "news", "seminar_page", "other")


@router.get("/staff")
def staff_home(page: StaffPage, catalog: CatalogDep, offset: Annotated[int, Query(ge=0)] = 0):
    docs, total = catalog.list(limit=50, offset=offset, status=None)
    jobs, _ = catalog.jobs(limit=10)
    return render(page.request, page, "staff.html", docs=docs, total=total, jobs=jobs, offset=offset)


@router.get("/staff/upload")
def upload_form(page: StaffPage):
    return render(page.request, page, "upload.html", doc_types=DOC_TYPES, error=None, values={})


FormText = Annotated[str, Form(max_length=2000)]


@router.post("/staff/upload")
async def upload(page: StaffPage, rt: ReadyDep, key: StaffDep, file: FileField, title: FormText = "",
                 doc_type: Annotated[str, Form(alias="type", max_length=32)] = "", language: FormText = "",
                 published: Annotated[str, Form(alias="date", max_length=32)] = "", countries: FormText = "",
                 programme: FormText = "", source: FormText = ""):
    """The API's upload, with its errors (a bad field, a duplicate, a wrong type) shown on the form, filled in."""
    from api.routers.documents import queue_upload, upload_meta

    try:
        meta = upload_meta(title=title or None, doc_type=doc_type or None, language=language or None,
                           published=published or None, countries=[countries] if countries else None,
                           programme=programme or None, source=source or None)
        answer = await queue_upload(rt, key, "publish", file, meta, None)
    except ServiceError as exc:
        values = {"title": title, "type": doc_type, "language": language, "date": published,
                  "countries": countries, "programme": programme, "source": source}
        return render(page.request, page, "upload.html", status_code=status_of(exc), doc_types=DOC_TYPES,
                      error=exc.detail, existing=exc.extra.get("doc_id"), values=values)
    job_id = _job_id(answer)
    return RedirectResponse(f"/staff/jobs/{job_id}", status_code=303)


def _job_id(answer) -> str:
    import json

    return json.loads(answer.body)["id"]


@router.get("/staff/jobs/{job_id}")
def job_page(page: StaffPage, catalog: CatalogDep, job_id: Annotated[str, Path(max_length=64)]):
    from api.routers.jobs import get_job

    job = get_job(catalog, catalog.key(page.viewer.key_id), job_id)
    doc = catalog.get(job.doc_id) if job.state == "done" else None
    rate = job_rate(page.t, page.lang, job.progress)
    return render(page.request, page, "job.html", job=job, doc=doc, rate=rate)


@router.get("/staff/documents/{doc_id}")
def edit_form(page: StaffPage, catalog: CatalogDep, doc_id: DocId, saved: Annotated[str | None, Query()] = None):
    from api.errors import DocumentNotFound

    doc = catalog.get(doc_id)
    if doc is None:
        raise DocumentNotFound(doc_id)
    return render(page.request, page, "edit.html", doc=doc, history=catalog.history(doc_id), doc_types=DOC_TYPES,
                  error=None, saved=saved)


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
    from pydantic import ValidationError

    from api.routers.documents import edit_document
    from api.schemas import MetadataPatch

    fields = {"title": title.strip(), "doc_type": doc_type, "language": language.strip() or None,
              "published": published.strip() or None,
              "countries": [c.strip() for c in countries.split(",") if c.strip()],
              "programme": programme.strip() or None, "source": source.strip() or None,
              "source_url": source_url.strip() or None}
    try:
        patch = MetadataPatch.model_validate(fields)
        edit_document(rt, key, doc_id, patch)
    except (ServiceError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, ServiceError) else "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        doc = rt.catalog.get(doc_id)
        return render(page.request, page, "edit.html", status_code=getattr(exc, "status", 422), doc=doc,
                      history=rt.catalog.history(doc_id), doc_types=DOC_TYPES, error=detail, saved=None)
    return RedirectResponse(f"/staff/documents/{doc_id}?saved=edit", status_code=303)


@router.post("/staff/documents/{doc_id}/retract")
def retract(page: StaffPage, rt: ReadyDep, key: StaffDep, doc_id: DocId):
    from api.routers.documents import retract_document

    retract_document(rt, key, doc_id)
    return RedirectResponse(f"/staff/documents/{doc_id}?saved=retract", status_code=303)


@router.post("/staff/documents/{doc_id}/restore")
def restore(page: StaffPage, rt: ReadyDep, key: StaffDep, doc_id: DocId):
    from api.routers.documents import edit_document
    from api.schemas import MetadataPatch

    edit_document(rt, key, doc_id, MetadataPatch.model_validate({"status": "published"}))
    return RedirectResponse(f"/staff/documents/{doc_id}?saved=restore", status_code=303)


@router.post("/staff/documents/{doc_id}/file")
async def new_version(page: StaffPage, rt: ReadyDep, key: StaffDep, doc_id: DocId, file: FileField,
                      meta: UploadMeta):
    from api.routers.documents import replace_document_file

    try:
        answer = await replace_document_file(rt, key, doc_id, file, meta)
    except ServiceError as exc:
        doc = await anyio.to_thread.run_sync(rt.catalog.get, doc_id)
        if doc is None:
            raise
        history = await anyio.to_thread.run_sync(rt.catalog.history, doc_id)
        return render(page.request, page, "edit.html", status_code=status_of(exc), doc=doc, history=history,
                      doc_types=DOC_TYPES, error=exc.detail, saved=None)
    return RedirectResponse(f"/staff/jobs/{_job_id(answer)}", status_code=303)
