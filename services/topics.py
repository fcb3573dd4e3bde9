"""Topics and topic links: the taxonomy, a topic's passages, and organisers' decisions on suggested links.

Deciding a link (confirm, reject, undo) writes the decision to the catalog, then the passage's confirmed topics to its
``topics`` payload in the store, which is what the search ``topic`` filter matches; each decision is audited.
Reads by id take the reader's ``audience`` (kmh.catalog.visibility): what it may not see is ThingNotFound.

The review queue (``review_queue``) lists topic links across document passages and recording segments, of the
current versions of what the public sees, best suggestion score first; ``decide_many`` applies a batch of decisions
in one catalog transaction, all or nothing, then syncs each touched passage's payload once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple

from kmh.catalog import (
    PUBLIC,
    Audience,
    Catalog,
    DecisionOutcome,
    DecisionsRefused,
    DocumentRecord,
    DocumentRef,
    KeyRecord,
    LinkDecisionRecord,
    RecordingRecord,
    TopicLinkRecord,
    TopicRecord,
    audience_of,
)
from kmh.store import VectorStore
from services.errors import InvalidParameter, ThingNotFound
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
    counts = catalog.review_counts(PUBLIC)
    out = []
    for rec in catalog.recordings():
        doc = catalog.visible(rec.doc_id, PUBLIC)
        if doc is None:
            continue
        states = counts.get(rec.doc_id, {})
        pending = states.get("suggested", 0)
        out.append(ReviewItem(rec, doc, pending, sum(states.values()) - pending))
    return out


# -- the review queue: document passages and recording segments ------------------------------------------------

ReviewState = Literal["suggested", "confirmed", "rejected"]
ReviewKind = Literal["document", "recording"]
Decision = Literal["confirmed", "rejected", "undo"]
# The most decisions one batch may hold.
MAX_DECISIONS = 500
SNIPPET_CHARS = 300


class PublicationToReview(NamedTuple):
    """A publication (not a recording) with topic links: how many are suggested (``pending``) and how many decided."""

    document: DocumentRef
    pending: int
    decided: int


def publications_to_review(*, catalog: Catalog) -> list[PublicationToReview]:
    """The publications the public sees that have topic links on their current version, most suggestions to
    review first."""
    counts = catalog.review_counts(PUBLIC)
    recordings = {r.doc_id for r in catalog.recordings()}
    refs = catalog.refs(d for d in counts if d not in recordings)
    out = []
    for doc_id, ref in refs.items():
        states = counts[doc_id]
        pending = states.get("suggested", 0)
        out.append(PublicationToReview(ref, pending, sum(states.values()) - pending))
    return sorted(out, key=lambda p: (-p.pending, p.document.title.casefold(), p.document.id))


@dataclass
class ReviewRow:
    """A topic link of the queue with its passage (text, document, page and section, or seconds) and a snippet."""

    link: TopicLinkRecord
    passage: PassageRef
    snippet: str


@dataclass
class ReviewQueue:
    """A page of the queue; ``total`` links match the filters. ``topics`` is the taxonomy by id, to name them."""

    rows: list[ReviewRow]
    total: int
    limit: int
    offset: int
    topics: dict[str, TopicRecord]


def review_queue(*, catalog: Catalog, store: VectorStore, topic: str | None = None, doc_id: str | None = None,
                 state: ReviewState | None = "suggested", kind: ReviewKind | None = None, limit: int = 50,
                 offset: int = 0) -> ReviewQueue:
    """The topic links to review on passages of current versions of documents the public sees (document passages
    and recording segments), filtered by topic, document, state (None: any) and kind, best suggestion score first
    (links added by hand last), a page at a time. The passages are read from the store in one batch. An unknown
    topic is an InvalidParameter; a document the public does not see has nothing in the queue."""
    taxonomy = {t.id: t for t in catalog.topics()}
    if topic is not None and topic not in taxonomy:
        raise InvalidParameter("topic", f"no topic with id {topic!r}")
    links, total = catalog.review_links(topic_id=topic, doc_id=doc_id, state=state, kind=kind, audience=PUBLIC,
                                        limit=limit, offset=offset)
    refs = {r.passage_id: r for r in passages(catalog=catalog, store=store,
                                              ids=list(dict.fromkeys(lk.passage_id for lk in links)))}
    rows = [ReviewRow(lk, _scored(refs[lk.passage_id], lk.score), _snippet(refs[lk.passage_id].text))
            for lk in links if lk.passage_id in refs]
    return ReviewQueue(rows, total, limit, offset, taxonomy)


def _scored(ref: PassageRef, score: float | None) -> PassageRef:
    return replace(ref, score=score)


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The passage's start, cut at a word under ``limit`` characters, with … when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


@dataclass(frozen=True)
class DecisionItem:
    """One decision of a batch: confirm, reject or undo ``topic_id`` on ``passage_id``."""

    passage_id: str
    topic_id: str
    state: Decision


def decide_many(*, catalog: Catalog, store: VectorStore, items: list[DecisionItem],
                actor: KeyRecord | None = None) -> list[DecisionOutcome]:
    """Apply a batch of decisions on passages of what the public sees, all or nothing: checked first (every bad
    item named by its index and field in one InvalidParameter), then written in one catalog transaction, each
    audited as a single decision is (``topic.decide``, ``topic.undo``, with ``batch``: the batch's size); then the
    ``topics`` payload of each passage touched is set once (one store call per distinct set of topics)."""
    if not items:
        raise InvalidParameter("decisions", "send at least one decision", "body")
    if len(items) > MAX_DECISIONS:
        raise InvalidParameter("decisions", f"at most {MAX_DECISIONS} decisions per request, got {len(items)}: "
                               "send them in several batches", "body")
    taxonomy = {t.id for t in catalog.topics()}
    ids: list[str | None] = []
    for item in items:
        try:
            ids.append(str(uuid.UUID(item.passage_id)))
        except ValueError:
            ids.append(None)
    found = {r.passage_id: r for r in passages(catalog=catalog, store=store,
                                               ids=list(dict.fromkeys(i for i in ids if i)), audience=PUBLIC)}
    problems: list[tuple[int, str, str]] = []
    decisions: list[LinkDecisionRecord] = []
    for i, (item, pid) in enumerate(zip(items, ids)):
        ref = found.get(pid) if pid else None
        if ref is None:
            problems.append((i, "passage_id", f"no passage {item.passage_id!r} to review (unknown, of a retracted "
                             "document, or of an older version)"))
        if item.topic_id not in taxonomy:
            problems.append((i, "topic_id", f"no topic with id {item.topic_id!r}"))
        if ref is not None:
            decisions.append(LinkDecisionRecord(ref.passage_id, item.topic_id, item.state, ref.doc_id,
                                                ref.doc_version))
    if problems:
        raise _refused(problems)
    try:
        applied = catalog.apply_decisions(decisions, audience=PUBLIC, actor=actor, batch=len(items))
    except DecisionsRefused as exc:  # checked again under the write lock: undo of no link, a link twice, a race
        raise _refused(exc.problems) from None
    by_topics: dict[tuple[str, ...], list[str]] = {}
    for passage_id, confirmed in applied.confirmed.items():
        by_topics.setdefault(tuple(confirmed), []).append(passage_id)
    for confirmed, passage_ids in by_topics.items():
        store.set_payload(passage_ids, {"topics": list(confirmed)})
    return applied.outcomes


def _refused(problems: list[tuple[int, str, str]]) -> InvalidParameter:
    """One InvalidParameter naming each bad item (``decisions[3].topic_id``); nothing was applied."""
    i, name, reason = problems[0]
    error = InvalidParameter(f"decisions[{i}].{name}", reason + "; no decision was applied", "body")
    error.extra["invalid_params"] = [{"name": f"decisions[{j}].{n}", "location": "body", "reason": r}
                                     for j, n, r in problems]
    if len(problems) > 1:
        error.detail = "; ".join(f"parameter 'decisions[{j}].{n}': {r}" for j, n, r in problems) + \
            "; no decision was applied"
    return error
