"""Seminars: the list, a seminar's page (objectives, sessions, recordings with their transcripts, topics), and a
recording's page (player from ?t=, transcript that follows playback, its segments and confirmed topics)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ArchiveDep, AudienceDep, CatalogDep
from web.deps import PageDep
from web.templating import render

router = APIRouter(include_in_schema=False)

SeminarId = Annotated[str, Path(max_length=80)]
RecordingId = Annotated[str, Path(max_length=64)]
StartAt = Annotated[float | None, Query(ge=0, le=360000, description="Second to play from")]


@router.get("/seminars")
def seminars_page(page: PageDep, catalog: CatalogDep):
    return render(page.request, page, "seminars.html", seminars=catalog.seminars())


@router.get("/seminars/{seminar_id}")
def seminar_page(page: PageDep, archive: ArchiveDep, catalog: CatalogDep, seminar_id: SeminarId,
                 t: StartAt = None):
    from api.routers.seminars import get_recording, get_seminar
    from kmh.catalog import PUBLIC

    detail = get_seminar(archive, catalog, seminar_id)  # lists the recordings the public sees
    recordings = [get_recording(archive, catalog, r.id, PUBLIC) for r in detail.recordings]
    return render(page.request, page, "seminar.html", seminar=detail, recordings=recordings,
                  topics=_confirmed_topics(catalog, recordings, page.lang), start=t)


@router.get("/recordings/{recording_id}")
def recording_page(page: PageDep, archive: ArchiveDep, catalog: CatalogDep, audience: AudienceDep,
                   recording_id: RecordingId, t: StartAt = None):
    from api.routers.seminars import get_recording

    recording = get_recording(archive, catalog, recording_id, audience)
    seminar = catalog.seminar(recording.seminar_id) if recording.seminar_id else None
    return render(page.request, page, "recording.html", recording=recording, seminar=seminar, start=t,
                  topics=_confirmed_topics(catalog, [recording], page.lang))


def _confirmed_topics(catalog, recordings, lang: str) -> list[tuple[str, str, int]]:
    """(topic id, label, segments) of the topics organisers confirmed for these recordings' segments."""
    counts: Counter[str] = Counter()
    for rec in recordings:
        for seg in rec.segments:
            counts.update(link.topic_id for link in seg.topics if link.state == "confirmed")
    labels = {tp.id: tp.label(lang) for tp in catalog.topics()}
    return [(tid, labels.get(tid, tid), n) for tid, n in counts.most_common()]
