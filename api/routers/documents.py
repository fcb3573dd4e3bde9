"""The catalog: GET /api/documents, /api/documents/{doc_id} and the kept original /api/documents/{doc_id}/file;
publishing (staff): POST /api/documents, PUT /api/documents/{doc_id}/file, PATCH and DELETE /api/documents/{doc_id};
language editions (staff): PUT and DELETE /api/documents/{doc_id}/editions."""

from __future__ import annotations

import codecs
from functools import partial
from pathlib import Path as FsPath
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Path, Query, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from api.auth import StaffDep
from api.deps import AudienceDep, CatalogDep, ReadyDep, SearcherDep, SettingsDep
from api.errors import linked, problem_responses
from api.schemas import DocumentDetail, DocumentPage, DocumentSummary, EditionRequest, Editions, Job, MetadataPatch
from api.uploads import FileField, UploadMeta, stage
from kmh.catalog import KeyRecord
from kmh.catalog.models import DOC_TYPES
from services import editions, publishing
from services.publishing import Metadata
from services.runtime import Runtime

router = APIRouter(prefix="/api", tags=["documents"])

DocId = Annotated[str, Path(max_length=64, description="A document id (12 hex characters)")]

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
    rows, total = publishing.list_documents(catalog=catalog, audience=audience, filters=searcher.filters,
                                            limit=limit, offset=offset, doc_type=doc_type, language=language,
                                            status=status)
    return DocumentPage(total=total, limit=limit, offset=offset, items=[DocumentSummary.from_record(d) for d in rows])


@router.get("/documents/{doc_id}", response_model=DocumentDetail, summary="A document, its outline and history",
            responses=problem_responses(404, 503))
def get_document(catalog: CatalogDep, audience: AudienceDep, doc_id: DocId) -> DocumentDetail:
    found = publishing.document_history(catalog=catalog, doc_id=doc_id, audience=audience)
    return DocumentDetail.from_records(found.document, found.versions,
                                       editions.other_editions(catalog=catalog, doc_id=doc_id, audience=audience))


@router.get(
    "/documents/{doc_id}/file",
    response_class=FileResponse,
    summary="The original file, as ingested",
    responses={200: {"description": "The file, with its own media type", "content": {"application/octet-stream": {}}},
               **problem_responses(404, 503)},
)
def get_document_file(catalog: CatalogDep, settings: SettingsDep, audience: AudienceDep, doc_id: DocId
                      ) -> FileResponse:
    original = publishing.original_file(catalog=catalog, data_dir=settings.data_dir, doc_id=doc_id,
                                        audience=audience)
    doc, path = original.document, original.path
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


UPLOAD_RESPONSES = {
    202: {"description": "Accepted: the job that will publish the file (see its url)"},
    **problem_responses(401, 403, 404, 409, 413, 415, 422, 503),
}


async def _queue(rt: Runtime, key: KeyRecord, file: UploadFile, meta: Metadata, doc_id: str | None) -> JSONResponse:
    """Stage the upload, queue its job, and answer 202 with the job and its Location."""
    settings = rt.settings
    staged = await stage(file, settings.data_dir, settings.staging_dir, settings.max_file_bytes)
    with linked():
        job = await anyio.to_thread.run_sync(partial(
            publishing.queue_upload, catalog=rt.catalog, worker=rt.worker, staged=staged, meta=meta, actor=key,
            doc_id=doc_id))
    body = Job.from_record(job).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": body["url"]})


@router.post("/documents", status_code=202, response_model=Job, responses=UPLOAD_RESPONSES,
             summary="Publish a file (staff): answers 202 with the job that parses, embeds and indexes it")
async def publish_document(rt: ReadyDep, key: StaffDep, file: FileField, meta: UploadMeta):
    return await _queue(rt, key, file, meta, None)


@router.put("/documents/{doc_id}/file", status_code=202, response_model=Job, responses=UPLOAD_RESPONSES,
            summary="Replace a document's file (staff): a new version, its passages replacing the old ones at once; "
                    "metadata fields sent with it change those of the document, the others are kept")
async def replace_document_file(rt: ReadyDep, key: StaffDep, doc_id: DocId, file: FileField, given: UploadMeta):
    meta = await anyio.to_thread.run_sync(partial(
        publishing.new_version_metadata, catalog=rt.catalog, doc_id=doc_id, given=given))
    return await _queue(rt, key, file, meta, doc_id)


@router.patch("/documents/{doc_id}", response_model=DocumentSummary,
              responses=problem_responses(401, 403, 404, 409, 422, 503),
              summary="Edit a document's metadata (staff); its passages' search filters follow at once")
def edit_document(rt: ReadyDep, key: StaffDep, doc_id: DocId, patch: MetadataPatch) -> DocumentSummary:
    with linked():
        doc = publishing.edit_document(catalog=rt.catalog, store=rt.store, doc_id=doc_id,
                                       changes=patch.model_dump(exclude_unset=True), actor=key)
    return DocumentSummary.from_record(doc)


@router.delete("/documents/{doc_id}", status_code=204, response_class=Response,
               responses=problem_responses(401, 403, 404, 409, 503),
               summary="Retract a document (staff): gone from search at once; kept in the catalog and audit log")
def retract_document(rt: ReadyDep, key: StaffDep, doc_id: DocId) -> Response:
    with linked():
        publishing.retract_document(catalog=rt.catalog, store=rt.store, doc_id=doc_id, actor=key)
    return Response(status_code=204)


# -- language editions (staff) ---------------------------------------------------------------------


@router.put("/documents/{doc_id}/editions", response_model=Editions,
            responses=problem_responses(401, 403, 404, 409, 422, 503),
            summary="Link a document as a language edition of another one (staff): their publications merge")
def link_edition(catalog: CatalogDep, key: StaffDep, doc_id: DocId, body: EditionRequest) -> Editions:
    """409 when the publication would have two editions in one language; 404 names the unknown id."""
    with linked():
        found = editions.link_edition(catalog=catalog, doc_id=doc_id, edition_of=body.edition_of, actor=key)
    return Editions.from_records(doc_id, found)


@router.delete("/documents/{doc_id}/editions", status_code=204, response_class=Response,
               responses=problem_responses(401, 403, 404, 503),
               summary="Take a document out of its publication (staff): it is no edition of the others any more")
def unlink_edition(catalog: CatalogDep, key: StaffDep, doc_id: DocId) -> Response:
    editions.unlink_edition(catalog=catalog, doc_id=doc_id, actor=key)
    return Response(status_code=204)
