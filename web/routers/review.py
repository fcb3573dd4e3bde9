"""Organiser review: each recording segment with its suggested topics, to accept or reject after listening."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path
from starlette.responses import RedirectResponse

from api.auth import OrganiserDep
from api.deps import ArchiveDep, AudienceDep, CatalogDep
from kmh.catalog import PUBLIC
from web.deps import OrganiserPage
from web.templating import render

router = APIRouter(include_in_schema=False)

RecordingId = Annotated[str, Path(max_length=64)]


@router.get("/review")
def review_list(page: OrganiserPage, catalog: CatalogDep):
    rows = []
    for rec in catalog.recordings():
        doc = catalog.visible(rec.doc_id, PUBLIC)  # a list: what the public sees
        if doc is None:
            continue
        states = [lk.state for lk in catalog.links_of_document(rec.doc_id)]
        rows.append((rec, doc, states.count("suggested"), len(states) - states.count("suggested")))
    return render(page.request, page, "review_list.html", rows=rows)


@router.get("/review/{recording_id}")
def review_recording(page: OrganiserPage, archive: ArchiveDep, catalog: CatalogDep, audience: AudienceDep,
                     recording_id: RecordingId):
    from api.routers.seminars import get_recording

    recording = get_recording(archive, catalog, recording_id, audience)
    topics = {tp.id: tp for tp in catalog.topics()}
    return render(page.request, page, "review.html", recording=recording, topics=topics)


@router.post("/review/{recording_id}/decide")
def decide(page: OrganiserPage, archive: ArchiveDep, catalog: CatalogDep, key: OrganiserDep,
           recording_id: RecordingId,
           passage_id: Annotated[str, Form(max_length=100)],
           topic_id: Annotated[str, Form(max_length=64)],
           state: Annotated[Literal["confirmed", "rejected", "undo"], Form()]):
    from api.routers.topics import decide_link, undo_link
    from api.schemas import LinkDecision

    if state == "undo":
        undo_link(archive, catalog, key, passage_id, topic_id)
    else:
        decide_link(archive, catalog, key, passage_id, LinkDecision(topic_id=topic_id, state=state))
    return RedirectResponse(f"/review/{recording_id}#seg-{passage_id}", status_code=303)
