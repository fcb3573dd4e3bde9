"""Topics: the taxonomy with the number of confirmed passages, and a topic's publications and segments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import CatalogDep, StoreDep
from kmh.catalog import TopicRecord
from services import topics
from web.deps import PageDep
from web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/topics")
def topics_page(page: PageDep, catalog: CatalogDep):
    found = topics.taxonomy(catalog=catalog)
    groups: dict[str, list[TopicRecord]] = {}
    for tp in found.topics:
        groups.setdefault(tp.grp or "other", []).append(tp)
    return render(page.request, page, "topics.html", groups=groups, counts=found.counts)


@router.get("/topics/{topic_id}")
def topic_page(page: PageDep, catalog: CatalogDep, store: StoreDep, topic_id: Annotated[str, Path(max_length=64)]):
    found = topics.topic_page(catalog=catalog, store=store, topic_id=topic_id)
    return render(page.request, page, "topic.html", topic=found.topic, publications=found.publications,
                  segments=found.segments)
