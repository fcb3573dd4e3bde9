"""Topics and topic links: GET /api/topics, /api/topics/{id}; GET/POST/DELETE /api/passages/{id}/topics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.auth import OrganiserDep
from api.deps import AudienceDep, CatalogDep, StoreDep
from api.errors import problem_responses
from api.schemas import LinkDecision, TopicDetail, TopicLinks, TopicSummary
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
