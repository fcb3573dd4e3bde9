"""Seminars: the list, a seminar's page (objectives, sessions, recordings with their transcripts, topics), and a
recording's page (player from ?t=, transcript that follows playback, its segments and confirmed topics)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import AudienceDep, CatalogDep, SearcherDep, StoreDep
from api.schemas import RecordingDetail, SeminarDetail, SimilarResponse
from kmh.catalog import PUBLIC
from services import seminars
from services.seminars import RecordingPage
from services.similar import similar_to_document
from web import citations
from web.deps import PageDep
from web.templating import render

router = APIRouter(include_in_schema=False)

SeminarId = Annotated[str, Path(max_length=80)]
RecordingId = Annotated[str, Path(max_length=64)]
StartAt = Annotated[float | None, Query(ge=0, le=360000, description="Second to play from")]


@router.get("/seminars")
def seminars_page(page: PageDep, catalog: CatalogDep):
    return render(page.request, page, "seminars.html", seminars=seminars.list_seminars(catalog=catalog))


@router.get("/seminars/{seminar_id}")
def seminar_page(page: PageDep, catalog: CatalogDep, store: StoreDep, seminar_id: SeminarId, t: StartAt = None):
    found = seminars.seminar(catalog=catalog, seminar_id=seminar_id)  # lists the recordings the public sees
    recordings = [seminars.recording_page(catalog=catalog, store=store, recording_id=r.document.id, audience=PUBLIC)
                  for r in found.recordings]
    return render(page.request, page, "seminar.html", seminar=SeminarDetail.from_page(found),
                  recordings=[RecordingDetail.from_page(r) for r in recordings],
                  topics=_confirmed_topics(recordings, page.lang), start=t)


@router.get("/recordings/{recording_id}")
def recording_page(page: PageDep, catalog: CatalogDep, store: StoreDep, searcher: SearcherDep, audience: AudienceDep,
                   recording_id: RecordingId, t: StartAt = None):
    """The recording, and the documents and other recordings' segments most like it (services.similar)."""
    found = seminars.recording_page(catalog=catalog, store=store, recording_id=recording_id, audience=audience)
    similar = similar_to_document(searcher=searcher, doc_id=recording_id, reader_lang=page.lang, audience=audience)
    return render(page.request, page, "recording.html", recording=RecordingDetail.from_page(found),
                  seminar=found.seminar, start=t, topics=_confirmed_topics([found], page.lang),
                  similar=SimilarResponse.from_results("document", similar).hits,
                  cite=citations.for_document(page=page, catalog=catalog, doc_id=recording_id, audience=audience))


def _confirmed_topics(recordings: list[RecordingPage], lang: str) -> list[tuple[str, str, int]]:
    """(topic id, label, segments) of the topics organisers confirmed for these recordings' segments."""
    counts: Counter[str] = Counter()
    labels: dict[str, str] = {}
    for rec in recordings:
        labels.update((tid, tp.label(lang)) for tid, tp in rec.topics.items())
        for _ref, links in rec.segments:
            counts.update(link.topic_id for link in links if link.state == "confirmed")
    return [(tid, labels.get(tid, tid), n) for tid, n in counts.most_common()]
