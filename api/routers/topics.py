"""Topics and topic links: GET /api/topics, /api/topics/{id}; GET/POST/DELETE /api/passages/{id}/topics; the
review queue, GET /api/topics/review, and batches of decisions, POST /api/topics/review/decisions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from api.auth import OrganiserDep, StaffOrOrganiserDep
from api.deps import AudienceDep, CatalogDep, StoreDep
from api.errors import problem_responses
from api.schemas import (
    DecisionResult,
    DecisionsApplied,
    LinkDecision,
    ReviewDecisions,
    ReviewPage,
    TopicDetail,
    TopicLinks,
    TopicSummary,
)
from kmh.catalog import audience_of
from services import topics

router = APIRouter(prefix="/api", tags=["topics"])

TopicId = Annotated[str, Path(max_length=64, description="A topic id, e.g. community-level")]
PassageId = Annotated[str, Path(max_length=100, description="A passage id (document passage or recording segment)")]


@router.get("/topics", response_model=list[TopicSummary], summary="The topic taxonomy",
            responses=problem_responses(503))
def list_topics(catalog: CatalogDep) -> list[TopicSummary]:
    found = topics.taxonomy(catalog=catalog)
    return [TopicSummary.from_record(t, found.counts.get(t.id, 0)) for t in found.topics]


# Before /topics/{topic_id}, which would take "review" for a topic id.
@router.get("/topics/review", response_model=ReviewPage,
            summary="The topic review queue: links on document passages and recording segments, best score first",
            responses=problem_responses(401, 403, 422, 503))
def review_queue(catalog: CatalogDep, store: StoreDep, _key: StaffOrOrganiserDep,
                 topic: Annotated[str | None, Query(max_length=64, description="A topic id")] = None,
                 doc: Annotated[str | None, Query(max_length=64, description="A document or recording id")] = None,
                 state: Annotated[Literal["suggested", "confirmed", "rejected", "any"],
                                  Query(description="The links' state")] = "suggested",
                 kind: Annotated[Literal["document", "recording", "any"],
                                 Query(description="Document passages, recording segments, or both")] = "any",
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> ReviewPage:
    """Passages of the current versions of what the public sees, with their text, document, page and section (or
    seconds), the link's score, state and who decided it when."""
    return ReviewPage.from_queue(topics.review_queue(
        catalog=catalog, store=store, topic=topic, doc_id=doc, state=None if state == "any" else state,
        kind=None if kind == "any" else kind, limit=limit, offset=offset))


@router.post("/topics/review/decisions", response_model=DecisionsApplied,
             summary="Confirm, reject or undo many topic links at once, all or none (the topic filter of search "
                     "follows)",
             responses=problem_responses(401, 403, 413, 422, 503))
def decide_many(catalog: CatalogDep, store: StoreDep, key: OrganiserDep, body: ReviewDecisions) -> DecisionsApplied:
    """At most 500 decisions, applied in one transaction and audited one by one as single decisions are. A bad
    item (an unknown passage or topic, a passage of a retracted document, an undo of no link, a link twice) is a 422
    naming it (``decisions[3].topic_id``), and nothing is applied."""
    outcomes = topics.decide_many(catalog=catalog, store=store, actor=key, items=[
        topics.DecisionItem(d.passage_id, d.topic_id, d.state) for d in body.decisions])
    return DecisionsApplied(applied=len(outcomes),
                            results=[DecisionResult.from_outcome(i, out) for i, out in enumerate(outcomes)])


@router.get("/topics/{topic_id}", response_model=TopicDetail,
            summary="A topic with its confirmed publications and recording segments",
            responses=problem_responses(404, 422, 503))
def get_topic(catalog: CatalogDep, store: StoreDep, topic_id: TopicId) -> TopicDetail:
    return TopicDetail.from_page(topics.topic_page(catalog=catalog, store=store, topic_id=topic_id))


@router.get("/passages/{passage_id}/topics", response_model=TopicLinks,
            summary="A passage's topic links: suggested, confirmed and rejected",
            responses=problem_responses(404, 422, 503))
def get_links(catalog: CatalogDep, store: StoreDep, audience: AudienceDep, passage_id: PassageId) -> TopicLinks:
    return TopicLinks.from_links(topics.passage_links(catalog=catalog, store=store, passage_id=passage_id,
                                                      audience=audience))


@router.post("/passages/{passage_id}/topics", response_model=TopicLinks,
             summary="Confirm or reject a topic for a passage (the topic filter of search follows)",
             responses=problem_responses(401, 403, 404, 422, 503))
def decide_link(catalog: CatalogDep, store: StoreDep, key: OrganiserDep, passage_id: PassageId,
                body: LinkDecision) -> TopicLinks:
    topics.decide(catalog=catalog, store=store, passage_id=passage_id, topic_id=body.topic_id, state=body.state,
                  actor=key)
    return TopicLinks.from_links(topics.passage_links(catalog=catalog, store=store, passage_id=passage_id,
                                                      audience=audience_of(key)))


@router.delete("/passages/{passage_id}/topics/{topic_id}", status_code=204, response_class=Response,
               summary="Withdraw a decision: the link goes back to suggested (or away, if it was added by hand)",
               responses=problem_responses(401, 403, 404, 422, 503))
def undo_link(catalog: CatalogDep, store: StoreDep, key: OrganiserDep, passage_id: PassageId,
              topic_id: TopicId) -> Response:
    topics.undo(catalog=catalog, store=store, passage_id=passage_id, topic_id=topic_id, actor=key)
    return Response(status_code=204)
