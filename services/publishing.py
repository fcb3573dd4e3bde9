"""Publishing: the catalog's documents as staff change them, and as readers list and fetch them.

An uploaded file is first staged on disk by the transport (``api.uploads.stage``); ``queue_upload`` turns it into a
queued ingestion job (``services.jobs.JobWorker`` runs it) and owns the staged file from then on: it is removed when
the job cannot be queued. Metadata edits, retraction and restoration change the passages' payloads and the catalog
at once (``ingest.editing``), and are refused while a job publishes a new version of the same document.

Every function is keyword-only and raises ``services.errors``: DocumentNotFound, Conflict (naming ``doc_id`` or
``job_id``), InvalidParameter (naming the field).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kmh.catalog import STAFF, Audience, DocumentRecord, JobRecord, VersionRecord
from services.errors import Conflict, DocumentNotFound, InvalidParameter

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ingest.indexer import FileResult, Indexer
    from ingest.plan import WorkItem
    from kmh.catalog import Catalog, KeyRecord
    from kmh.store import VectorStore
    from search.filters import FilterValues
    from services.jobs import JobWorker

# Validated metadata of a document, by catalog field name (title, doc_type, language, published and
# published_precision, countries, programme, source, source_url): what ingest.metadata.check_fields returns.
Metadata = dict[str, Any]
# A metadata edit, by field name (title, doc_type, language, published as "YYYY[-MM[-DD]]", countries, programme,
# source, source_url, status); None clears an optional field.
Changes = Mapping[str, str | list[str] | None]
ListedStatus = Literal["published", "retracted", "any"]


@dataclass
class StagedFile:
    """An upload waiting on disk: where (relative to the data folder), its safe name, type, size and hash."""

    path: Path
    relative: str
    filename: str
    format: str
    size: int
    sha256: str

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


@dataclass
class DocumentHistory:
    """A document and all its versions, oldest first, the current one included."""

    document: DocumentRecord
    versions: list[VersionRecord]


@dataclass
class OriginalFile:
    """A document and where its original file is kept."""

    document: DocumentRecord
    path: Path


# -- reading ----------------------------------------------------------------------------------------


def list_documents(*, catalog: Catalog, audience: Audience, filters: FilterValues | None = None, limit: int = 50,
                   offset: int = 0, doc_type: str | None = None, language: str | None = None,
                   status: ListedStatus = "published") -> tuple[list[DocumentRecord], int]:
    """One page of documents, newest ingestion first, and how many match. ``doc_type`` and ``language`` are matched
    in any case as search matches them (``filters``; taken as given without); an unknown one is InvalidParameter
    naming the allowed values. Retracted documents are listed only to an audience that may see them."""
    from search.filters import UnknownFilterValue

    if filters is not None:
        try:
            doc_type = filters.doc_type(doc_type)
            language = filters.language(language)
        except UnknownFilterValue as exc:
            raise InvalidParameter("language" if exc.param == "lang" else exc.param, exc.reason) from None
    return catalog.list(limit=limit, offset=offset, doc_type=doc_type, language=language,
                        status=None if status == "any" else status, audience=audience)


def get_document(*, catalog: Catalog, doc_id: str, audience: Audience = STAFF) -> DocumentRecord:
    """The document if ``audience`` may see it (staff by default), else DocumentNotFound."""
    doc = catalog.visible(doc_id, audience)
    if doc is None:
        raise DocumentNotFound(doc_id)
    return doc


def document_history(*, catalog: Catalog, doc_id: str, audience: Audience = STAFF) -> DocumentHistory:
    """The document (as ``get_document``) and its version history."""
    doc = get_document(catalog=catalog, doc_id=doc_id, audience=audience)
    return DocumentHistory(doc, catalog.history(doc_id))


def original_file(*, catalog: Catalog, data_dir: Path, doc_id: str, audience: Audience) -> OriginalFile:
    """Where the document's original is kept; DocumentNotFound when it is not (or not inside ``data_dir``)."""
    doc = get_document(catalog=catalog, doc_id=doc_id, audience=audience)
    root = data_dir.resolve()
    path = (root / doc.original_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise DocumentNotFound(doc_id, f"the original file of document {doc_id!r} is not kept")
    return OriginalFile(doc, path)


# -- uploads ----------------------------------------------------------------------------------------


def upload_metadata(*, title: str | None = None, doc_type: str | None = None, language: str | None = None,
                    published: str | None = None, countries: list[str] | None = None, programme: str | None = None,
                    source: str | None = None) -> Metadata:
    """The metadata fields sent with an upload, validated like a NAME.meta.yaml sidecar; ``countries`` items may
    hold several names separated by commas. InvalidParameter (in the body) names a wrong field."""
    raw: dict[str, Any] = {"title": title, "type": doc_type, "date": published, "programme": programme,
                           "source": source, "language": language}
    if countries:
        raw["countries"] = [c.strip() for item in countries for c in item.split(",") if c.strip()]
    return _checked({k: v for k, v in raw.items() if v not in (None, "", [])})


def new_version_metadata(*, catalog: Catalog, doc_id: str, given: Metadata) -> Metadata:
    """The metadata of a new version of ``doc_id``: the document's own, with the fields ``given`` replacing
    theirs; the fields inferred from the old file are inferred again from the new one. DocumentNotFound when there
    is no such document."""
    doc = catalog.get(doc_id)
    if doc is None:
        raise DocumentNotFound(doc_id)
    inferred = set(doc.inferred or ())
    kept = {"title": doc.title, "type": doc.doc_type, "date": doc.published_text, "countries": doc.countries,
            "programme": doc.programme, "source": doc.source_url or doc.source, "language": doc.language}
    for field, name in (("title", "title"), ("type", "doc_type"), ("date", "published"), ("countries", "countries"),
                        ("language", "language")):
        if name in inferred:
            del kept[field]
    meta = _checked({k: v for k, v in kept.items() if v not in (None, "", [])})
    if doc.source and doc.source_url:
        meta["source"] = doc.source  # one "source" field held the URL: keep the citation beside it
    return meta | given


def queue_upload(*, catalog: Catalog, worker: JobWorker | None, staged: StagedFile, meta: Metadata,
                 actor: KeyRecord | None, doc_id: str | None = None) -> JobRecord:
    """Queue the job that publishes ``staged``: a new document, or a new version of ``doc_id``. The staged file is
    removed when the job cannot be queued: Conflict when a document has the same content (naming ``doc_id``) or a
    waiting or running job publishes it (naming ``job_id`` and ``doc_id``), DocumentNotFound for ``doc_id``."""
    from kmh.catalog import DuplicateDocument, DuplicateJob, NotFound

    as_json = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in meta.items()}  # kept in the job
    try:
        job = catalog.create_job("publish" if doc_id is None else "new_version", filename=staged.filename,
                                 sha256=staged.sha256, size=staged.size, staged_path=staged.relative, meta=as_json,
                                 actor=actor, doc_id=doc_id)
    except DuplicateDocument as exc:
        staged.discard()
        raise Conflict(f"{staged.filename} has the same content as document {exc.doc_id}", doc_id=exc.doc_id
                       ) from None
    except DuplicateJob as exc:
        staged.discard()
        raise Conflict(f"{staged.filename} has the same content as the file job {exc.job_id} is publishing",
                       job_id=exc.job_id, doc_id=exc.doc_id) from None
    except NotFound:
        staged.discard()
        raise DocumentNotFound(str(doc_id)) from None
    except BaseException:
        staged.discard()
        raise
    if worker is not None:
        worker.notify()
    return job


# -- editing ----------------------------------------------------------------------------------------


def edit_document(*, catalog: Catalog, store: VectorStore, doc_id: str, changes: Changes,
                  actor: KeyRecord | None) -> DocumentRecord:
    """Change the document's metadata (and its status: "retracted" retracts, "published" restores); its passages'
    search filters follow at once. Returns the document as changed.

    InvalidParameter names a wrong field; Conflict (naming ``job_id``) while a job publishes a new version of it."""
    from kmh.dates import parse_partial_date

    fields: dict[str, Any] = dict(changes)
    if not fields:
        raise InvalidParameter("body", "no field to change", "body")
    if "published" in fields:  # "2019", "2019-09" or "2019-09-12": the first day and the precision
        given = fields["published"]
        try:
            fields["published"], fields["published_precision"] = (
                parse_partial_date(given) if isinstance(given, str) and given else (None, None))
        except ValueError as exc:  # the pattern passed, the day does not exist: 2024-02-30
            raise InvalidParameter("published", f"{given!r} is {exc}", "body") from None
    for name in ("title", "doc_type", "status"):
        if name in fields and fields[name] is None:
            raise InvalidParameter(name, "cannot be null", "body")
    if "countries" in fields:
        fields["countries"] = _checked({"countries": fields["countries"] or []}, "countries").get("countries", [])
    action = {"retracted": "document.retract", "published": "document.restore"}.get(fields.get("status"),
                                                                                    "document.edit")
    return _edit(catalog, store, doc_id, fields, actor, action)


def retract_document(*, catalog: Catalog, store: VectorStore, doc_id: str, actor: KeyRecord | None
                     ) -> DocumentRecord:
    """Retract the document: gone from search at once, kept in the catalog and the audit log."""
    return _edit(catalog, store, doc_id, {"status": "retracted"}, actor, "document.retract")


def restore_document(*, catalog: Catalog, store: VectorStore, doc_id: str, actor: KeyRecord | None
                     ) -> DocumentRecord:
    """Publish a retracted document again."""
    return edit_document(catalog=catalog, store=store, doc_id=doc_id, changes={"status": "published"}, actor=actor)


def delete_document(*, catalog: Catalog, store: VectorStore, doc_id: str, actor: KeyRecord | None
                    ) -> DocumentRecord:
    """Remove a document for good: its passages leave the index, then its catalog entry goes; audited.
    DocumentNotFound for an unknown id. (Retraction is the reversible way: ``retract_document``.)"""
    from kmh.store import Filter

    doc = catalog.get(doc_id)
    if doc is None:
        raise DocumentNotFound(doc_id)
    store.delete(Filter(equals={"doc_id": doc_id}))
    catalog.delete(doc_id)
    catalog.audit(actor, "document.delete", doc_id, title=doc.title)
    return doc


def publish_files(*, indexer: Indexer, catalog: Catalog, paths: Sequence[Path], items: Sequence[WorkItem] | None = None,
                  on_result: Callable[[FileResult], None] | None = None, actor: KeyRecord | None = None
                  ) -> list[FileResult]:
    """Ingest files and folders from disk (the command line's ``kmh ingest``): new documents and new versions are
    published as each file is done, ``on_result`` hears of every file, and each new or updated document is written
    to the audit log (``actor`` None: the command line)."""
    results: list[FileResult] = []

    def heard(result: FileResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    indexer.run(list(paths), on_result=heard, items=list(items) if items is not None else None)
    for r in results:
        if r.status in ("new", "updated") and r.doc_id:
            catalog.audit(actor, "document.ingest" if r.status == "new" else "document.update", r.doc_id,
                          path=str(r.path), passages=r.passages)
    return results


def _edit(catalog: Catalog, store: VectorStore, doc_id: str, fields: dict[str, Any], actor: KeyRecord | None,
          action: str) -> DocumentRecord:
    from ingest.editing import edit_document as edit
    from kmh.catalog import EditionConflict, NotFound

    # Not under the write lock: a job ingesting another document may hold it for minutes.
    _refuse_while_busy(catalog, doc_id)
    try:
        return edit(catalog, store, doc_id, fields, actor=actor, action=action)
    except NotFound:
        raise DocumentNotFound(doc_id) from None
    except EditionConflict as exc:  # a language another edition of its publication has
        raise Conflict(str(exc), doc_id=doc_id) from None
    except ValueError as exc:
        raise InvalidParameter("body", str(exc), "body") from None


def _refuse_while_busy(catalog: Catalog, doc_id: str) -> None:
    """Conflict while a job waits or runs to publish a new version of the document."""
    for state in ("queued", "running"):
        jobs, _ = catalog.jobs(state=state, doc_id=doc_id, limit=1)
        if jobs:
            raise Conflict(f"job {jobs[0].id} is publishing a new version of document {doc_id}; retry when it is done",
                           job_id=jobs[0].id)


def _checked(raw: dict[str, Any], field: str | None = None) -> Metadata:
    """``raw`` sidecar-style fields validated (ingest.metadata.check_fields); InvalidParameter in the body names
    ``field`` or the wrong one."""
    from ingest.metadata import check_fields

    return check_fields(raw, lambda name, why: InvalidParameter(field or name, why, "body"))
