"""Organiser review: each recording segment with its suggested topics, to accept or reject after listening."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path
from starlette.responses import RedirectResponse

from api.auth import OrganiserDep
from api.deps import AudienceDep, CatalogDep, StoreDep
from api.schemas import RecordingDetail
from services import seminars, topics
from web.deps import OrganiserPage
from web.templating import render

router = APIRouter(include_in_schema=False)

RecordingId = Annotated[str, Path(max_length=64)]


@router.get("/review")
def review_list(page: OrganiserPage, catalog: CatalogDep):
    return render(page.request, page, "review_list.html", rows=topics.recordings_to_review(catalog=catalog))


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
