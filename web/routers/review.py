"""Organiser review of suggested topics: recordings (listen to a segment, then accept or reject its topics) and the
queue of document passages and recording segments, filtered by topic, document, state and kind, with many
suggestions accepted or rejected at once (a plain form: checkboxes and one button)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Path, Query
from starlette.responses import RedirectResponse

from api.auth import OrganiserDep
from api.deps import AudienceDep, CatalogDep, StoreDep
from api.errors import DocumentNotFound, ServiceError, status_of
from api.schemas import RecordingDetail
from services import seminars, topics
from web.deps import OrganiserPage
from web.templating import render

router = APIRouter(include_in_schema=False)

RecordingId = Annotated[str, Path(max_length=64)]
DocId = Annotated[str, Path(max_length=64)]
# Rows on a page of the queue (a page's form of checked links stays far under the 16 KB body limit).
PAGE_SIZE = 50
STATES = ("suggested", "confirmed", "rejected", "any")
KINDS = ("any", "document", "recording")


@router.get("/review")
def review_list(page: OrganiserPage, catalog: CatalogDep):
    return render(page.request, page, "review_list.html", rows=topics.recordings_to_review(catalog=catalog),
                  publications=topics.publications_to_review(catalog=catalog))


# The queue's routes come before /review/{recording_id}, which would take "passages" or "documents" for an id.


@router.get("/review/passages")
def review_queue(page: OrganiserPage, catalog: CatalogDep, store: StoreDep,
                 topic: Annotated[str, Query(max_length=64)] = "", doc: Annotated[str, Query(max_length=64)] = "",
                 state: Annotated[Literal["suggested", "confirmed", "rejected", "any"], Query()] = "suggested",
                 kind: Annotated[Literal["any", "document", "recording"], Query()] = "any",
                 offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                 done: Annotated[int | None, Query(ge=0, le=1000)] = None,
                 did: Annotated[Literal["confirmed", "rejected", "undo"] | None, Query(alias="as")] = None):
    """Every link to review, across publications and recordings."""
    return _queue_page(page, catalog, store, topic=topic, doc=doc, state=state, kind=kind, offset=offset,
                       done=done, did=did, document=None)


@router.get("/review/documents/{doc_id}")
def review_document(page: OrganiserPage, catalog: CatalogDep, store: StoreDep, audience: AudienceDep, doc_id: DocId,
                    topic: Annotated[str, Query(max_length=64)] = "",
                    state: Annotated[Literal["suggested", "confirmed", "rejected", "any"], Query()] = "suggested",
                    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                    done: Annotated[int | None, Query(ge=0, le=1000)] = None,
                    did: Annotated[Literal["confirmed", "rejected", "undo"] | None, Query(alias="as")] = None):
    """The queue of one publication (or recording): its passages' links, best score first."""
    document = catalog.visible(doc_id, audience)
    if document is None:
        raise DocumentNotFound(doc_id)
    return _queue_page(page, catalog, store, topic=topic, doc=doc_id, state=state, kind="any", offset=offset,
                       done=done, did=did, document=document)


@router.post("/review/passages/decide")
def decide_selected(page: OrganiserPage, catalog: CatalogDep, store: StoreDep, audience: AudienceDep,
                    key: OrganiserDep, state: Annotated[Literal["confirmed", "rejected", "undo"], Form()],
                    link: Annotated[list[str] | None, Form()] = None,
                    back: Annotated[str, Form(max_length=600)] = "/review/passages"):
    """The checked links (``passage_id:topic_id``) accepted, rejected or undone at once; back to the queue, which
    says how many. A bad one (a document retracted meanwhile) is shown on the queue and nothing is applied."""
    back = _queue_url(back)
    items = []
    for value in link or ():
        passage_id, _, topic_id = value[:200].partition(":")
        items.append(topics.DecisionItem(passage_id, topic_id, state))
    if not items:
        return _back_with_error(page, catalog, store, audience, back, page.t("review.none_selected"), 422)
    try:
        topics.decide_many(catalog=catalog, store=store, items=items, actor=key)
    except ServiceError as exc:
        return _back_with_error(page, catalog, store, audience, back, exc.detail, status_of(exc))
    return RedirectResponse(_with(back, done=len(items), **{"as": state}), status_code=303)


@router.get("/review/{recording_id}")
def review_recording(page: OrganiserPage, catalog: CatalogDep, store: StoreDep, audience: AudienceDep,
                     recording_id: RecordingId):
    found = seminars.recording_page(catalog=catalog, store=store, recording_id=recording_id, audience=audience)
    return render(page.request, page, "review.html", recording=RecordingDetail.from_page(found), topics=found.topics)


@router.post("/review/{recording_id}/decide")
def decide(page: OrganiserPage, catalog: CatalogDep, store: StoreDep, key: OrganiserDep,
           recording_id: RecordingId,
           passage_id: Annotated[str, Form(max_length=100)],
           topic_id: Annotated[str, Form(max_length=64)],
           state: Annotated[Literal["confirmed", "rejected", "undo"], Form()]):
    if state == "undo":
        topics.undo(catalog=catalog, store=store, passage_id=passage_id, topic_id=topic_id, actor=key)
    else:
        topics.decide(catalog=catalog, store=store, passage_id=passage_id, topic_id=topic_id, state=state, actor=key)
    return RedirectResponse(f"/review/{recording_id}#seg-{passage_id}", status_code=303)


# -- the queue page ------------------------------------------------------------------------------------------


def _queue_page(page, catalog, store, *, topic: str, doc: str, state: str, kind: str, offset: int,
                done: int | None, did: str | None, document, error: str | None = None, status_code: int = 200):
    queue = topics.review_queue(catalog=catalog, store=store, topic=topic or None, doc_id=doc or None,
                                state=None if state == "any" else state, kind=None if kind == "any" else kind,
                                limit=PAGE_SIZE, offset=offset)
    path = f"/review/documents/{document.id}" if document is not None else "/review/passages"
    filters = {"topic": topic, "state": state} | ({} if document is not None else {"doc": doc, "kind": kind})
    here = _with(path, **filters)
    documents = [] if document is not None else _documents(catalog)
    pages = {"prev": _with(here, offset=max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
             "next": _with(here, offset=offset + PAGE_SIZE) if offset + PAGE_SIZE < queue.total else None,
             "first": offset + 1, "last": offset + len(queue.rows), "total": queue.total}
    return render(page.request, page, "review_queue.html", status_code=status_code, queue=queue, filters=filters,
                  document=document, documents=documents, states=STATES, kinds=KINDS, pages=pages,
                  back=_with(here, offset=offset) if offset else here, done=done, did=did, error=error,
                  action=path, see=_with(here, state=did) if did in ("confirmed", "rejected") and done else None)


def _documents(catalog) -> list[tuple[str, str, bool]]:
    """The documents with links to review, for the document filter: (id, title, is a recording)."""
    out = [(p.document.id, p.document.title, False) for p in topics.publications_to_review(catalog=catalog)]
    out += [(r.document.id, r.document.title, True) for r in topics.recordings_to_review(catalog=catalog)]
    return out


def _back_with_error(page, catalog, store, audience, back: str, error: str, status_code: int):
    """The queue at ``back`` again, with ``error`` shown over it."""
    parts = urlsplit(back)
    query = dict(parse_qsl(parts.query))

    def pick(name: str, allowed: tuple[str, ...], default: str) -> str:
        return query.get(name) if query.get(name) in allowed else default

    offset = int(query["offset"]) if query.get("offset", "").isdigit() else 0
    document = None
    if parts.path.startswith("/review/documents/"):
        document = catalog.visible(parts.path.rsplit("/", 1)[1], audience)
    return _queue_page(page, catalog, store, topic=query.get("topic", "")[:64],
                       doc=document.id if document else query.get("doc", "")[:64],
                       state=pick("state", STATES, "suggested"), kind=pick("kind", KINDS, "any"), offset=offset,
                       done=None, did=None, document=document, error=error, status_code=status_code)


def _queue_url(back: str) -> str:
    """``back`` when it is a queue page of this site, else the queue: a form cannot send the browser elsewhere."""
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or not (parts.path == "/review/passages" or (
            parts.path.startswith("/review/documents/") and parts.path.count("/") == 3)):
        return "/review/passages"
    query = [(k, v) for k, v in parse_qsl(parts.query) if k in ("topic", "doc", "state", "kind", "offset")]
    return parts.path + (f"?{urlencode(query)}" if query else "")


def _with(url: str, **params) -> str:
    """``url`` with ``params`` set (empty ones dropped), others kept."""
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qsl(parts.query)} | {k: str(v) for k, v in params.items()}
    query = {k: v for k, v in query.items() if v not in ("", None)}
    return parts.path + (f"?{urlencode(query)}" if query else "")
