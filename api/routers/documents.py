"""The catalog: GET /api/documents, /api/documents/{doc_id} and the kept original /api/documents/{doc_id}/file;
publishing (staff): POST /api/documents, PUT /api/documents/{doc_id}/file, PATCH and DELETE /api/documents/{doc_id}."""

from __future__ import annotations

import codecs
from pathlib import Path as FsPath
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from api.auth import StaffDep
from api.deps import AudienceDep, CatalogDep, ReadyDep, SearcherDep, SettingsDep
from api.errors import Conflict, DocumentNotFound, InvalidParameter, problem_responses
from api.schemas import (
    DocType,
    DocumentDetail,
    DocumentPage,
    DocumentSummary,
    Job,
    JobProgress,
    MetadataPatch,
    OutlineEntry,
    VersionEntry,
)
from kmh.catalog.models import DOC_TYPES
from kmh.catalog import DocumentRecord
from kmh.dates import parse_partial_date
from search.filters import UnknownFilterValue

router = APIRouter(prefix="/api", tags=["documents"])

DocId = Annotated[str, Path(max_length=64, description="A document id (12 hex characters)")]


def _summary_fields(doc: DocumentRecord) -> dict:
    return dict(
        id=doc.id, title=doc.title, doc_type=doc.doc_type, language=doc.language,
        published=doc.published_text,
        countries=doc.countries, programme=doc.programme, source=doc.source, source_url=doc.source_url,
        filename=doc.filename, format=doc.format, mime=doc.mime, page_count=doc.page_count,
        passage_count=doc.passage_count, version=doc.version, status=doc.status, ingested_at=doc.ingested_at,
        updated_at=doc.updated_at, file_url=f"/api/documents/{doc.id}/file",
    )


# Catalog calls block on the database: plain `def` endpoints run in FastAPI's thread pool.


@router.get("/documents", response_model=DocumentPage, summary="List documents",
            responses=problem_responses(422, 503))
def list_documents(
    catalog: CatalogDep,
    searcher: SearcherDep,
    audience: AudienceDep,
    limit: Annotated[int, Query(ge=1, le=200, description="Documents per page")] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    doc_type: Annotated[str | None, Query(alias="type", max_length=40, description=f"Document type, in any case: "
                                          f"{', '.join(DOC_TYPES)}")] = None,
    language: Annotated[str | None, Query(max_length=20, description="ISO 639-1 code, in any case")] = None,
    status: Annotated[Literal["published", "retracted", "any"], Query(
        description="Retracted documents are listed to staff and admins only (for anyone else the list is empty)")]
    = "published",
) -> DocumentPage:
    try:  # the values search takes (search.filters): type=News is news, language=FR is fr
        doc_type = searcher.filters.doc_type(doc_type)
        language = searcher.filters.language(language)
    except UnknownFilterValue as exc:
        raise InvalidParameter("language" if exc.param == "lang" else exc.param, exc.reason) from None
    rows, total = catalog.list(limit=limit, offset=offset, doc_type=doc_type, language=language,
                               status=None if status == "any" else status, audience=audience)
    return DocumentPage(total=total, limit=limit, offset=offset,
                        items=[DocumentSummary(**_summary_fields(d)) for d in rows])


@router.get("/documents/{doc_id}", response_model=DocumentDetail, summary="A document, its outline and history",
            responses=problem_responses(404, 503))
def get_document(catalog: CatalogDep, audience: AudienceDep, doc_id: DocId) -> DocumentDetail:
    doc = catalog.visible(doc_id, audience)
    if doc is None:
        raise DocumentNotFound(doc_id)
    history = catalog.history(doc_id)
    return DocumentDetail(
        **_summary_fields(doc),
        outline=[OutlineEntry(**{k: item.get(k) for k in ("section", "level", "page")}) for item in doc.outline],
        history=[
            VersionEntry(version=v.version, sha256=v.sha256, filename=v.filename, ingested_at=v.ingested_at,
                         passage_count=v.passage_count, note=v.note)
            for v in history
        ],
    )


@router.get(
    "/documents/{doc_id}/file",
    response_class=FileResponse,
    summary="The original file, as ingested",
    responses={200: {"description": "The file, with its own media type", "content": {"application/octet-stream": {}}},
               **problem_responses(404, 503)},
)
def get_document_file(catalog: CatalogDep, settings: SettingsDep, audience: AudienceDep, doc_id: DocId
                      ) -> FileResponse:
    doc = catalog.visible(doc_id, audience)
    if doc is None:
        raise DocumentNotFound(doc_id)
    root = settings.data_dir.resolve()
    path = (root / doc.original_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise DocumentNotFound(doc_id, f"the original file of document {doc_id!r} is not kept")
    headers = {"X-Content-Type-Options": "nosniff"}
    if doc.mime != "application/pdf":
        # Originals (HTML included) are third-party content: never run their scripts on this origin.
        # PDFs are left out: browsers refuse to open a PDF in their viewer under a sandbox policy.
        headers["Content-Security-Policy"] = "sandbox"
    return FileResponse(
        path,
        media_type=_media_type(doc.mime, path),
        filename=doc.filename,
        content_disposition_type="inline",
        headers=headers,
    )


def _media_type(mime: str, path: FsPath) -> str:
    """The catalogued type, with ``charset=utf-8`` for text that decodes as UTF-8."""
    if not mime.startswith("text/") or "charset" in mime:
        return mime
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        head = fh.read(65536)
    try:
        decoder.decode(head, final=len(head) < 65536)
    except UnicodeDecodeError:
        return mime
    return f"{mime}; charset=utf-8"


# -- publishing (staff) ---------------------------------------------------------------------------


def _form_meta(title, doc_type, language, published, countries, programme, source) -> dict:
    """The metadata fields of an upload form, validated like a NAME.meta.yaml sidecar."""
    from ingest.metadata import check_fields

    raw = {"title": title, "type": doc_type, "date": published, "programme": programme, "source": source,
           "language": language}
    if countries:
        raw["countries"] = [c.strip() for item in countries for c in item.split(",") if c.strip()]
    raw = {k: v for k, v in raw.items() if v not in (None, "", [])}

    def bad(field: str, why: str) -> Exception:
        return InvalidParameter(field, why, "body")

    return check_fields(raw, bad)


UPLOAD_RESPONSES = {
    202: {"description": "Accepted: the job that will publish the file (see its url)"},
    **problem_responses(401, 403, 404, 409, 413, 415, 422, 503),
}


async def queue_upload(rt, key, kind: str, file: UploadFile, meta: dict, doc_id: str | None) -> JSONResponse:
    from api.uploads import stage
    from kmh.catalog import DuplicateDocument, DuplicateJob, NotFound

    settings = rt.settings
    meta = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in meta.items()}  # JSON in the job
    staged = await stage(file, settings.data_dir, settings.staging_dir, settings.max_file_bytes)
    try:
        job = await anyio.to_thread.run_sync(lambda: rt.catalog.create_job(
            kind, filename=staged.filename, sha256=staged.sha256, size=staged.size, staged_path=staged.relative,
            meta=meta, actor=key, doc_id=doc_id))
    except DuplicateDocument as exc:
        staged.discard()
        raise Conflict(f"{staged.filename} has the same content as document {exc.doc_id}", doc_id=exc.doc_id,
                       document_url=f"/api/documents/{exc.doc_id}") from None
    except DuplicateJob as exc:
        staged.discard()
        raise Conflict(f"{staged.filename} has the same content as the file job {exc.job_id} is publishing",
                       job_id=exc.job_id, doc_id=exc.doc_id, job_url=f"/api/jobs/{exc.job_id}") from None
    except NotFound:
        staged.discard()
        raise DocumentNotFound(doc_id) from None
    except BaseException:
        staged.discard()
        raise
    if rt.worker is not None:
        rt.worker.notify()
    body = job_out(job).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": body["url"]})


FileField = Annotated[UploadFile, File(description="PDF, DOCX, PPTX, HTML, Markdown or text; the type is read "
                                                   "from the content, not the name")]


def upload_meta(
    title: Annotated[str | None, Form(max_length=500)] = None,
    doc_type: Annotated[DocType | None, Form(alias="type")] = None,
    language: Annotated[str | None, Form(max_length=8, description="ISO 639-1, e.g. fr")] = None,
    published: Annotated[str | None, Form(alias="date", max_length=32, description="YYYY, YYYY-MM or YYYY-MM-DD")]
    = None,
    countries: Annotated[list[str] | None, Form(description="Country names (repeat the field or separate by commas)")]
    = None,
    programme: Annotated[str | None, Form(max_length=500)] = None,
    source: Annotated[str | None, Form(max_length=2000, description="A URL or a citation")] = None,
) -> dict:
    """The metadata fields sent with an upload, validated like a NAME.meta.yaml sidecar (422 naming the field)."""
    return _form_meta(title, doc_type, language, published, countries, programme, source)


UploadMeta = Annotated[dict, Depends(upload_meta)]


@router.post("/documents", status_code=202, response_model=Job, responses=UPLOAD_RESPONSES,
             summary="Publish a file (staff): answers 202 with the job that parses, embeds and indexes it")
async def publish_document(rt: ReadyDep, key: StaffDep, file: FileField, meta: UploadMeta):
    return await queue_upload(rt, key, "publish", file, meta, None)


@router.put("/documents/{doc_id}/file", status_code=202, response_model=Job, responses=UPLOAD_RESPONSES,
            summary="Replace a document's file (staff): a new version, its passages replacing the old ones at once; "
                    "metadata fields sent with it change those of the document, the others are kept")
async def replace_document_file(rt: ReadyDep, key: StaffDep, doc_id: DocId, file: FileField, given: UploadMeta):
    from ingest.metadata import check_fields

    doc = await anyio.to_thread.run_sync(rt.catalog.get, doc_id)
    if doc is None:
        raise DocumentNotFound(doc_id)
    kept = {"title": doc.title, "type": doc.doc_type, "date": doc.published_text,
            "countries": doc.countries,
            "programme": doc.programme, "source": doc.source_url or doc.source, "language": doc.language}
    meta = check_fields({k: v for k, v in kept.items() if v not in (None, "", [])},
                        lambda f, why: InvalidParameter(f, why, "body"))
    if doc.source and doc.source_url:
        meta["source"] = doc.source  # one "source" field held the URL: keep the citation beside it
    return await queue_upload(rt, key, "new_version", file, meta | given, doc_id)


def _busy(catalog, doc_id: str) -> None:
    for state in ("queued", "running"):
        jobs, _ = catalog.jobs(state=state, doc_id=doc_id, limit=1)
        if jobs:
            raise Conflict(f"job {jobs[0].id} is publishing a new version of document {doc_id}; retry when it is done",
                           job_id=jobs[0].id, job_url=f"/api/jobs/{jobs[0].id}")


@router.patch("/documents/{doc_id}", response_model=DocumentSummary,
              responses=problem_responses(401, 403, 404, 409, 422, 503),
              summary="Edit a document's metadata (staff); its passages' search filters follow at once")
def edit_document(rt: ReadyDep, key: StaffDep, doc_id: DocId, patch: MetadataPatch) -> DocumentSummary:
    from ingest.editing import edit_document as edit
    from kmh.catalog import NotFound

    changes = patch.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidParameter("body", "no field to change", "body")
    if "published" in changes:  # "2019", "2019-09" or "2019-09-12": the first day and the precision
        try:
            changes["published"], changes["published_precision"] = (
                parse_partial_date(changes["published"]) if changes["published"] else (None, None))
        except ValueError as exc:  # the pattern passed, the day does not exist: 2024-02-30
            raise InvalidParameter("published", f"{changes['published']!r} is {exc}", "body") from None
    for name in ("title", "doc_type", "status"):
        if name in changes and changes[name] is None:
            raise InvalidParameter(name, "cannot be null", "body")
    if "countries" in changes:
        changes["countries"] = _countries(changes["countries"] or [])
    action = {"retracted": "document.retract", "published": "document.restore"}.get(changes.get("status"),
                                                                                    "document.edit")
    # Not under the write lock: a job ingesting another document may hold it for minutes.
    _busy(rt.catalog, doc_id)
    try:
        doc = edit(rt.catalog, rt.store, doc_id, changes, actor=key, action=action)
    except NotFound:
        raise DocumentNotFound(doc_id) from None
    except ValueError as exc:
        raise InvalidParameter("body", str(exc), "body") from None
    return DocumentSummary(**_summary_fields(doc))


def _countries(names: list[str]) -> list[str]:
    from ingest.metadata import check_fields

    return check_fields({"countries": names}, lambda f, why: InvalidParameter("countries", why, "body")).get(
        "countries", [])


@router.delete("/documents/{doc_id}", status_code=204, response_class=Response,
               responses=problem_responses(401, 403, 404, 409, 503),
               summary="Retract a document (staff): gone from search at once; kept in the catalog and audit log")
def retract_document(rt: ReadyDep, key: StaffDep, doc_id: DocId) -> Response:
    from ingest.editing import edit_document as edit
    from kmh.catalog import NotFound

    _busy(rt.catalog, doc_id)
    try:
        edit(rt.catalog, rt.store, doc_id, {"status": "retracted"}, actor=key, action="document.retract")
    except NotFound:
        raise DocumentNotFound(doc_id) from None
    return Response(status_code=204)


def job_out(job) -> Job:
    return Job(id=job.id, kind=job.kind, state=job.state, doc_id=job.doc_id, doc_version=job.doc_version,
               filename=job.filename, sha256=job.sha256, size=job.size, meta=job.meta,
               progress=JobProgress(**{"stage": "queued", **job.progress}), attempts=job.attempts, error=job.error,
               created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
               url=f"/api/jobs/{job.id}", document_url=f"/api/documents/{job.doc_id}")
