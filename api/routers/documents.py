"""The catalog: GET /api/documents, /api/documents/{doc_id} and the kept original /api/documents/{doc_id}/file."""

from __future__ import annotations

import codecs
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from api.deps import CatalogDep, SettingsDep
from api.errors import DocumentNotFound, problem_responses
from api.schemas import DocType, DocumentDetail, DocumentPage, DocumentSummary, OutlineEntry, VersionEntry
from kmh.catalog import DocumentRecord

router = APIRouter(prefix="/api", tags=["documents"])

DocId = Annotated[str, Path(max_length=64, description="A document id (12 hex characters)")]


def _summary_fields(doc: DocumentRecord) -> dict:
    return dict(
        id=doc.id, title=doc.title, doc_type=doc.doc_type, language=doc.language, published=doc.published,
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
    limit: Annotated[int, Query(ge=1, le=200, description="Documents per page")] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    doc_type: Annotated[DocType | None, Query(alias="type", description="Document type")] = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2}$", description="ISO 639-1 code")] = None,
) -> DocumentPage:
    rows, total = catalog.list(limit=limit, offset=offset, doc_type=doc_type, language=language)
    return DocumentPage(total=total, limit=limit, offset=offset,
                        items=[DocumentSummary(**_summary_fields(d)) for d in rows])


@router.get("/documents/{doc_id}", response_model=DocumentDetail, summary="A document, its outline and history",
            responses=problem_responses(404, 503))
def get_document(catalog: CatalogDep, doc_id: DocId) -> DocumentDetail:
    doc = catalog.get(doc_id)
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
def get_document_file(catalog: CatalogDep, settings: SettingsDep, doc_id: DocId) -> FileResponse:
    doc = catalog.get(doc_id)
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
