"""Reading the seminar archive and deciding topic links: what the seminar, recording and topic endpoints serve.

``Archive(catalog, store)`` joins catalog rows with the passages in the store. Confirming or rejecting a
topic for a passage writes the decision to the catalog, then the passage's confirmed topics to its
``topics`` payload, which is what the search ``topic`` filter matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kmh.catalog import PUBLIC, Audience, RecordingRecord, SeminarRecord, TopicLinkRecord, TopicRecord
from kmh.store import VectorStore
from services.errors import ThingNotFound
from search.searcher import citation_url, clock, recording_url


@dataclass
class PassageRef:
    """A passage as topic pages and link endpoints show it."""

    passage_id: str
    doc_id: str
    doc_version: int
    title: str
    doc_type: str
    kind: str  # "document" or "recording"
    text: str
    section: str | None
    page: int | None
    start: float | None
    end: float | None
    url: str
    timestamp: str | None = None
    session: int | None = None
    seminar_id: str | None = None
    score: float | None = None
    speaker: str | None = None


@dataclass
class TopicPage:
    topic: TopicRecord
    publications: list[PassageRef] = field(default_factory=list)
    segments: list[PassageRef] = field(default_factory=list)


@dataclass
class SeminarPage:
    seminar: SeminarRecord
    recordings: list[tuple[RecordingRecord, Any]]  # (recording, its DocumentRecord)
    related: list[tuple[str, Any]]  # (file name, DocumentRecord or None)


class Archive:
    """Reads take the reader's ``audience`` (kmh.catalog.visibility; the public when not given): what it may not
    see is ThingNotFound. Pages that list (seminars, topics) show what the public sees."""

    def __init__(self, catalog, store: VectorStore):
        self.catalog = catalog
        self.store = store

    # -- seminars and recordings ----------------------------------------------------------

    def seminar(self, seminar_id: str) -> SeminarPage:
        sem = self.catalog.seminar(seminar_id)
        if sem is None:
            raise ThingNotFound("seminar", seminar_id)
        recordings = []
        for rec in self.catalog.recordings(seminar_id):
            doc = self.catalog.visible(rec.doc_id, PUBLIC)
            if doc is not None:
                recordings.append((rec, doc))
        ids = self.catalog.documents_by_filename(sem.related)
        related = [(name, self.catalog.get(ids[name]) if name in ids else None) for name in sem.related]
        return SeminarPage(sem, recordings, related)

    def recording(self, doc_id: str, audience: Audience = PUBLIC) -> tuple[RecordingRecord, Any, Any]:
        """(recording, its DocumentRecord, its TranscriptRecord) of a recording ``audience`` may see."""
        rec = self.catalog.recording(doc_id)
        doc = self.catalog.visible(doc_id, audience) if rec is not None else None
        if rec is None or doc is None:
            raise ThingNotFound("recording", doc_id)
        return rec, doc, self.catalog.transcript(rec.transcript_id)

    def segments(self, doc_id: str, audience: Audience = PUBLIC) -> list[tuple[PassageRef, list[TopicLinkRecord]]]:
        """A recording's passages in time order, each with its topic links (what an organiser reviews)."""
        doc = self.catalog.visible(doc_id, audience)
        if doc is None:
            raise ThingNotFound("recording", doc_id)
        links: dict[str, list[TopicLinkRecord]] = {}
        for lk in self.catalog.links_of_document(doc_id):
            links.setdefault(lk.passage_id, []).append(lk)
        refs = self._in_order(doc, audience)
        order = lambda lk: (lk.score is None, -(lk.score or 0.0), lk.topic_id)  # noqa: E731
        return [(r, sorted(links.get(r.passage_id, []), key=order)) for r in refs]

    def document_passages(self, doc_id: str, audience: Audience = PUBLIC) -> tuple[Any, list[PassageRef]]:
        """A document ``audience`` may see and its current passages in reading order (what its web page lists)."""
        doc = self.catalog.visible(doc_id, audience)
        if doc is None:
            raise ThingNotFound("document", doc_id)
        return doc, self._in_order(doc, audience)

    def _in_order(self, doc, audience: Audience) -> list[PassageRef]:
        """The passages of a document's current version, by start (character offset, or second for recordings)."""
        from kmh.store import Filter

        ids = self.store.ids(Filter(equals={"doc_id": doc.id, "doc_version": doc.version}))
        return sorted(self._passages(ids, audience=audience), key=lambda r: (r.start or 0.0, r.passage_id))

    # -- passages and topic links ---------------------------------------------------------

    def passage(self, passage_id: str, audience: Audience = PUBLIC) -> PassageRef:
        """A passage of the current version of a document ``audience`` may see."""
        refs = self._passages([passage_id], audience=audience)
        if not refs:
            raise ThingNotFound("passage", passage_id)
        return refs[0]

    def _passages(self, ids: list[str], scores: dict[str, float | None] | None = None,
                  audience: Audience = PUBLIC) -> list[PassageRef]:
        if not ids:
            return []
        try:
            hits = self.store.retrieve(ids)
        except ValueError:  # an id that is not a passage id at all
            return []
        docs = self.catalog.refs(h.payload.get("doc_id") for h in hits)
        out = []
        for h in hits:
            p = h.payload
            doc = docs.get(p.get("doc_id"))
            if doc is None or not audience.sees(doc.status) or doc.version != p.get("doc_version"):
                continue
            recording = p.get("kind") == "recording"
            start, end = p.get("start"), p.get("end")
            out.append(PassageRef(
                passage_id=h.id, doc_id=doc.id, doc_version=doc.version, title=doc.title, doc_type=doc.doc_type,
                kind="recording" if recording else "document", text=p.get("text", ""), section=p.get("section"),
                page=p.get("page"), start=start, end=end,
                url=recording_url(doc.id, start) if recording else citation_url(doc.id, p.get("page")),
                timestamp=f"{clock(start)}–{clock(end)}" if recording and start is not None and end is not None
                else None,
                session=p.get("session"), seminar_id=p.get("seminar_id"),
                score=(scores or {}).get(h.id), speaker=p.get("speaker")))
        return out

    def links(self, passage_id: str, audience: Audience = PUBLIC) -> list[TopicLinkRecord]:
        self.passage(passage_id, audience)
        return self.catalog.links(passage_id)

    def decide(self, passage_id: str, topic_id: str, state: str, by: str | None = None,
               audience: Audience = PUBLIC) -> TopicLinkRecord:
        """Confirm or reject a topic for a passage; its ``topics`` payload follows. Raises ThingNotFound."""
        ref = self.passage(passage_id, audience)
        if self.catalog.topic(topic_id) is None:
            raise ThingNotFound("topic", topic_id)
        link = self.catalog.decide_link(passage_id, topic_id, state, doc_id=ref.doc_id, doc_version=ref.doc_version,
                                        by=by)
        self._sync(passage_id)
        return link

    def undo(self, passage_id: str, topic_id: str, audience: Audience = PUBLIC) -> None:
        """Withdraw a decision (the link goes back to suggested, or away if it was added by hand)."""
        self.passage(passage_id, audience)
        if not self.catalog.undo_link(passage_id, topic_id):
            raise ThingNotFound("topic link", f"{passage_id}/{topic_id}",
                                  f"passage {passage_id!r} has no link to topic {topic_id!r}")
        self._sync(passage_id)

    def _sync(self, passage_id: str) -> None:
        self.store.set_payload([passage_id], {"topics": self.catalog.confirmed_topics(passage_id)})

    # -- topics ---------------------------------------------------------------------------

    def topic(self, topic_id: str, limit: int = 200) -> TopicPage:
        """A topic with its confirmed publications' passages and recording segments, best score first."""
        topic = self.catalog.topic(topic_id)
        if topic is None:
            raise ThingNotFound("topic", topic_id)
        links = self.catalog.topic_links(topic_id, "confirmed", limit)
        refs = self._passages([lk.passage_id for lk in links], {lk.passage_id: lk.score for lk in links})
        page = TopicPage(topic)
        for ref in refs:
            (page.segments if ref.kind == "recording" else page.publications).append(ref)
        page.segments.sort(key=lambda r: (r.doc_id, r.start or 0.0))
        return page
