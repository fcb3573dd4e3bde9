"""Topics and topic links: GET /api/topics, /api/topics/{id}; GET/POST/DELETE /api/passages/{id}/topics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.auth import OrganiserDep
from api.deps import ArchiveDep, AudienceDep, CatalogDep
from api.errors import problem_responses
from api.routers.seminars import topic_link
from api.schemas import LinkDecision, LinkedPassage, TopicDetail, TopicLinks, TopicSummary
from kmh.catalog import audience_of

router = APIRouter(prefix="/api", tags=["topics"])

TopicId = Annotated[str, Path(max_length=64, description="A topic id, e.g. community-level")]
PassageId = Annotated[str, Path(max_length=100, description="A passage id (document passage or recording segment)")]


def _summary(t, counts: dict[str, int]) -> dict:
    return dict(id=t.id, label={"fr": t.label_fr, "en": t.label_en},
                description={"fr": t.description_fr, "en": t.description_en}, parent=t.parent, group=t.grp,
                confirmed_links=counts.get(t.id, 0))


@router.get("/topics", response_model=list[TopicSummary], summary="The topic taxonomy",
            responses=problem_responses(503))
def list_topics(catalog: CatalogDep) -> list[TopicSummary]:
    counts = catalog.topic_counts()
    return [TopicSummary(**_summary(t, counts)) for t in catalog.topics()]


@router.get("/topics/{topic_id}", response_model=TopicDetail,
            summary="A topic with its confirmed publications and recording segments",
            responses=problem_responses(404, 422, 503))
def get_topic(archive: ArchiveDep, catalog: CatalogDep, topic_id: TopicId) -> TopicDetail:
    page = archive.topic(topic_id)
    return TopicDetail(**_summary(page.topic, catalog.topic_counts()),
                       publications=[LinkedPassage.model_validate(p, from_attributes=True) for p in page.publications],
                       segments=[LinkedPassage.model_validate(p, from_attributes=True) for p in page.segments])


def _links(catalog, passage_id: str, links) -> TopicLinks:
    topics = {t.id: t for t in catalog.topics()}
    return TopicLinks(passage_id=passage_id, links=[topic_link(lk, topics.get(lk.topic_id)) for lk in links])


@router.get("/passages/{passage_id}/topics", response_model=TopicLinks,
            summary="A passage's topic links: suggested, confirmed and rejected",
            responses=problem_responses(404, 422, 503))
def get_links(archive: ArchiveDep, catalog: CatalogDep, audience: AudienceDep, passage_id: PassageId) -> TopicLinks:
    return _links(catalog, passage_id, archive.links(passage_id, audience))


@router.post("/passages/{passage_id}/topics", response_model=TopicLinks,
             summary="Confirm or reject a topic for a passage (the topic filter of search follows)",
             responses=problem_responses(401, 403, 404, 422, 503))
def decide_link(archive: ArchiveDep, catalog: CatalogDep, key: OrganiserDep, passage_id: PassageId,
                body: LinkDecision) -> TopicLinks:
    audience = audience_of(key)
    link = archive.decide(passage_id, body.topic_id, body.state, by=key.name, audience=audience)
    catalog.audit(key, "topic.decide", passage_id, topic=body.topic_id, state=body.state, doc_id=link.doc_id)
    return _links(catalog, passage_id, archive.links(passage_id, audience))


@router.delete("/passages/{passage_id}/topics/{topic_id}", status_code=204, response_class=Response,
               summary="Withdraw a decision: the link goes back to suggested (or away, if it was added by hand)",
               responses=problem_responses(401, 403, 404, 422, 503))
def undo_link(archive: ArchiveDep, catalog: CatalogDep, key: OrganiserDep, passage_id: PassageId,
              topic_id: TopicId) -> Response:
    archive.undo(passage_id, topic_id, audience_of(key))
    catalog.audit(key, "topic.undo", passage_id, topic=topic_id)
    return Response(status_code=204)
