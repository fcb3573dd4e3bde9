"""Topics and topic links: the taxonomy, a topic's passages, and organisers' decisions on suggested links.

Deciding a link (confirm, reject, undo) writes the decision to the catalog, then the passage's confirmed topics to its
``topics`` payload in the store, which is what the search ``topic`` filter matches; each decision is audited.
Reads by id take the reader's ``audience`` (kmh.catalog.visibility): what it may not see is ThingNotFound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from kmh.catalog import (
    PUBLIC,
    Audience,
    Catalog,
    DocumentRecord,
    KeyRecord,
    RecordingRecord,
    TopicLinkRecord,
    TopicRecord,
    audience_of,
)
from kmh.store import VectorStore
from services.errors import ThingNotFound
from services.passages import PassageRef, passage, passages


@dataclass
class Taxonomy:
    """The topics in file order, and how many confirmed links each has on what the public sees."""

    topics: list[TopicRecord]
    counts: dict[str, int]


@dataclass
class TopicPage:
    """A topic with its confirmed document passages and recording segments."""

    topic: TopicRecord
    confirmed_links: int
    publications: list[PassageRef] = field(default_factory=list)
    segments: list[PassageRef] = field(default_factory=list)


@dataclass
class PassageLinks:
    """A passage's topic links, best score first; ``topics`` is the taxonomy by id, to name them."""

    passage_id: str
    links: list[TopicLinkRecord]
    topics: dict[str, TopicRecord]


class ReviewItem(NamedTuple):
    """A recording to review: how many of its links are suggested (``pending``) and how many decided."""

    recording: RecordingRecord
    document: DocumentRecord
    pending: int
    decided: int


def taxonomy(*, catalog: Catalog) -> Taxonomy:
    return Taxonomy(catalog.topics(), catalog.topic_counts())


def topic_page(*, catalog: Catalog, store: VectorStore, topic_id: str, limit: int = 200) -> TopicPage:
    """A topic with its confirmed publications' passages (best score first) and recording segments (by recording,
    then time), as the public sees them. Raises ThingNotFound."""
    topic = catalog.topic(topic_id)
    if topic is None:
        raise ThingNotFound("topic", topic_id)
    links = catalog.topic_links(topic_id, "confirmed", limit)
    refs = passages(catalog=catalog, store=store, ids=[lk.passage_id for lk in links],
                    scores={lk.passage_id: lk.score for lk in links})
    page = TopicPage(topic, catalog.topic_counts().get(topic_id, 0))
    for ref in refs:
        (page.segments if ref.kind == "recording" else page.publications).append(ref)
    page.segments.sort(key=lambda r: (r.doc_id, r.start or 0.0))
    return page


def passage_links(*, catalog: Catalog, store: VectorStore, passage_id: str,
                  audience: Audience = PUBLIC) -> PassageLinks:
    """The topic links of a passage ``audience`` may see: suggested, confirmed and rejected. Raises ThingNotFound."""
    passage(catalog=catalog, store=store, passage_id=passage_id, audience=audience)
    return PassageLinks(passage_id, catalog.links(passage_id), {t.id: t for t in catalog.topics()})


def decide(*, catalog: Catalog, store: VectorStore, passage_id: str, topic_id: str,
           state: Literal["confirmed", "rejected"], actor: KeyRecord | None = None) -> TopicLinkRecord:
    """Confirm or reject a topic for a passage that ``actor`` may see (a link not suggested is created), in its name,
    and audit it; the passage's ``topics`` payload follows. ``actor`` None is the command line, deciding on what the
    public sees. Raises ThingNotFound."""
    ref = passage(catalog=catalog, store=store, passage_id=passage_id, audience=audience_of(actor))
    if catalog.topic(topic_id) is None:
        raise ThingNotFound("topic", topic_id)
    link = catalog.decide_link(passage_id, topic_id, state, doc_id=ref.doc_id, doc_version=ref.doc_version,
                               by=actor.name if actor else None)
    _sync(catalog=catalog, store=store, passage_id=passage_id)
    catalog.audit(actor, "topic.decide", passage_id, topic=topic_id, state=state, doc_id=link.doc_id)
    return link


def undo(*, catalog: Catalog, store: VectorStore, passage_id: str, topic_id: str,
         actor: KeyRecord | None = None) -> None:
    """Withdraw a decision on a passage ``actor`` may see, and audit it: the link goes back to suggested, or away if
    it was added by hand; the passage's ``topics`` payload follows. Raises ThingNotFound."""
    passage(catalog=catalog, store=store, passage_id=passage_id, audience=audience_of(actor))
    if not catalog.undo_link(passage_id, topic_id):
        raise ThingNotFound("topic link", f"{passage_id}/{topic_id}",
                            f"passage {passage_id!r} has no link to topic {topic_id!r}")
    _sync(catalog=catalog, store=store, passage_id=passage_id)
    catalog.audit(actor, "topic.undo", passage_id, topic=topic_id)


def _sync(*, catalog: Catalog, store: VectorStore, passage_id: str) -> None:
    store.set_payload([passage_id], {"topics": catalog.confirmed_topics(passage_id)})


def recordings_to_review(*, catalog: Catalog) -> list[ReviewItem]:
    """The recordings the public sees, each with its count of suggested and of decided links."""
    out = []
    for rec in catalog.recordings():
        doc = catalog.visible(rec.doc_id, PUBLIC)
        if doc is None:
            continue
        states = [lk.state for lk in catalog.links_of_document(rec.doc_id)]
        pending = states.count("suggested")
        out.append(ReviewItem(rec, doc, pending, len(states) - pending))
    return out
