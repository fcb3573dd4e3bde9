"""The topics' part of the catalog: the topic taxonomy and the topic links of passages (suggested, confirmed,
rejected).

``TopicsMixin`` adds these methods to ``Catalog``; like the rest of it they return plain dataclasses.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy import and_, delete, func, select

from .models import LINK_STATES, TOPIC_GROUPS, Document, Recording, Topic, TopicLink, copy_row, utcnow
from .visibility import PUBLIC, Audience

if TYPE_CHECKING:
    from .access import KeyRecord


class UnknownTopic(KeyError):
    """No topic with this id."""


@dataclass
class TopicRecord:
    id: str
    label_fr: str
    label_en: str
    description_fr: str
    description_en: str
    parent: str | None = None
    grp: str | None = None
    position: int = 0

    def label(self, lang: str | None) -> str:
        return self.label_fr if lang == "fr" else self.label_en

    def description(self, lang: str | None) -> str:
        return self.description_fr if lang == "fr" else self.description_en


@dataclass
class TopicLinkRecord:
    passage_id: str
    topic_id: str
    doc_id: str
    doc_version: int
    score: float | None
    state: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class LinkDecisionRecord:
    """One decision of a batch (``apply_decisions``): confirm, reject or undo ``topic_id`` on a passage of
    ``doc_id``'s version ``doc_version`` (read from the passage itself)."""

    passage_id: str
    topic_id: str
    state: Literal["confirmed", "rejected", "undo"]
    doc_id: str
    doc_version: int


@dataclass
class DecisionOutcome:
    """What a decision of a batch made of its link: ``link`` None when an undo removed a link added by hand;
    ``previous`` the link's state before (None: there was no link)."""

    passage_id: str
    topic_id: str
    previous: str | None
    link: TopicLinkRecord | None


class DecisionsRefused(ValueError):
    """A batch of decisions with bad items, none applied: ``problems`` are (index, field, reason)."""

    def __init__(self, problems: builtins.list[tuple[int, str, str]]):
        super().__init__("; ".join(f"decisions[{i}].{name}: {reason}" for i, name, reason in problems))
        self.problems = problems


@dataclass
class AppliedDecisions:
    """A batch's outcomes, in its order, and the confirmed topics of each passage it touched (their payload)."""

    outcomes: builtins.list[DecisionOutcome]
    confirmed: dict[str, builtins.list[str]] = field(default_factory=dict)


class TopicsMixin:
    """Catalog methods of the topic taxonomy and topic links (mixed into ``Catalog``)."""

    def _write_links(self, s, doc: Document, suggestions: Iterable[tuple[str, str, float]],
                     decisions: Iterable[TopicLinkRecord] = ()) -> None:
        """In the transaction that stores a document version: its topic suggestions, the organisers' decisions
        carried over from the previous version (``decisions``, already on the new passage ids), and no links left on
        passages of older versions."""
        # The older passages' links (decisions included) go; read the carried decisions before.
        decisions = builtins.list(decisions)
        s.execute(delete(TopicLink).where(TopicLink.doc_id == doc.id, TopicLink.doc_version != doc.version))
        known = set(s.scalars(select(Topic.id)))
        for passage_id, topic_id, score in suggestions:
            if topic_id in known and s.get(TopicLink, (passage_id, topic_id)) is None:
                s.add(TopicLink(passage_id=passage_id, topic_id=topic_id, doc_id=doc.id, doc_version=doc.version,
                                score=float(score), state="suggested", created_at=utcnow()))
        s.flush()
        for d in decisions:
            if d.topic_id not in known:
                continue
            row = s.get(TopicLink, (d.passage_id, d.topic_id))
            if row is None:
                row = TopicLink(passage_id=d.passage_id, topic_id=d.topic_id, doc_id=doc.id, doc_version=doc.version,
                                score=None, created_at=utcnow())
                s.add(row)
            row.state, row.decided_by, row.decided_at = d.state, d.decided_by, d.decided_at
        s.flush()

    # -- topics -------------------------------------------------------------------------------

    def replace_topics(self, topics: Sequence[TopicRecord]) -> dict[str, int]:
        """Make the taxonomy exactly ``topics`` (ids kept, links of removed topics dropped), in one transaction;
        counts of added, updated and removed topics."""
        ids = [t.id for t in topics]
        if len(set(ids)) != len(ids):
            raise ValueError("topic ids must be unique")
        for t in topics:
            if t.grp is not None and t.grp not in TOPIC_GROUPS:
                raise ValueError(f"topic {t.id}: group must be one of {', '.join(TOPIC_GROUPS)}")
            if t.parent is not None and t.parent not in ids:
                raise ValueError(f"topic {t.id}: unknown parent {t.parent!r}")
        counts = {"added": 0, "updated": 0, "removed": 0}
        with self.session(write=True) as s:
            existing = {row.id: row for row in s.scalars(select(Topic))}
            for position, t in enumerate(topics):
                values = asdict(t) | {"position": position}
                row = existing.pop(t.id, None)
                if row is None:
                    s.add(Topic(**values, updated_at=utcnow()))
                    counts["added"] += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(row, k, v)
                    row.updated_at = utcnow()
                    counts["updated"] += 1
            for row in existing.values():
                s.delete(row)
                counts["removed"] += 1
        return counts

    def topics(self) -> builtins.list[TopicRecord]:
        """The taxonomy, in file order."""
        with self.session() as s:
            return [copy_row(TopicRecord, t) for t in s.scalars(select(Topic).order_by(Topic.position, Topic.id))]

    def topic(self, topic_id: str) -> TopicRecord | None:
        with self.session() as s:
            row = s.get(Topic, topic_id)
            return copy_row(TopicRecord, row) if row else None

    # -- topic links --------------------------------------------------------------------------

    def replace_suggestions(self, doc_id: str, doc_version: int,
                            suggestions: Iterable[tuple[str, str, float]]) -> int:
        """Make ``suggestions`` the document's suggested links (after a taxonomy change): suggested links not in
        it go, decided links stay with their new score. Returns how many links are suggested now."""
        new = {(p, t): float(sc) for p, t, sc in suggestions}
        with self.session(write=True) as s:
            known = set(s.scalars(select(Topic.id)))
            rows = {(r.passage_id, r.topic_id): r for r in s.scalars(select(TopicLink).where(TopicLink.doc_id == doc_id))}
            for key, row in rows.items():
                if key in new:
                    row.score = new[key]
                elif row.state == "suggested":
                    s.delete(row)
            for (passage_id, topic_id), score in new.items():
                if (passage_id, topic_id) not in rows and topic_id in known:
                    s.add(TopicLink(passage_id=passage_id, topic_id=topic_id, doc_id=doc_id, doc_version=doc_version,
                                    score=score, state="suggested", created_at=utcnow()))
        return sum(1 for key in new if key not in rows or rows[key].state == "suggested")

    def decide_link(self, passage_id: str, topic_id: str, state: str, *, doc_id: str, doc_version: int,
                    by: str | None = None) -> TopicLinkRecord:
        """Confirm or reject a topic for a passage (a link not suggested is created). Raises UnknownTopic."""
        if state not in ("confirmed", "rejected"):
            raise ValueError("state must be 'confirmed' or 'rejected'")
        with self.session(write=True) as s:
            if s.get(Topic, topic_id) is None:
                raise UnknownTopic(topic_id)
            row = s.get(TopicLink, (passage_id, topic_id))
            if row is None:
                row = TopicLink(passage_id=passage_id, topic_id=topic_id, doc_id=doc_id, doc_version=doc_version,
                                score=None, created_at=utcnow())
                s.add(row)
            row.state, row.decided_by, row.decided_at = state, by, utcnow()
            s.flush()
            return copy_row(TopicLinkRecord, row)

    def undo_link(self, passage_id: str, topic_id: str) -> bool:
        """Withdraw a decision: a suggested link goes back to "suggested", one added by hand is removed.
        False when there was no such link."""
        with self.session(write=True) as s:
            row = s.get(TopicLink, (passage_id, topic_id))
            if row is None:
                return False
            if row.score is None:
                s.delete(row)
            else:
                row.state, row.decided_by, row.decided_at = "suggested", None, None
            return True

    def links(self, passage_id: str) -> builtins.list[TopicLinkRecord]:
        """A passage's topic links, best score first (links added by hand last)."""
        with self.session() as s:
            rows = s.scalars(select(TopicLink).where(TopicLink.passage_id == passage_id))
            out = [copy_row(TopicLinkRecord, r) for r in rows]
        return sorted(out, key=lambda r: (r.score is None, -(r.score or 0.0), r.topic_id))

    def confirmed_topics(self, passage_id: str) -> builtins.list[str]:
        """Ids of the topics confirmed for a passage, sorted (what its ``topics`` payload holds)."""
        with self.session() as s:
            return builtins.list(s.scalars(select(TopicLink.topic_id).where(
                TopicLink.passage_id == passage_id, TopicLink.state == "confirmed").order_by(TopicLink.topic_id)))

    def topic_links(self, topic_id: str, state: str = "confirmed", limit: int = 200) -> builtins.list[TopicLinkRecord]:
        """Links of one topic in one state, best score first (links added by hand last)."""
        if state not in LINK_STATES:
            raise ValueError(f"state must be one of {', '.join(LINK_STATES)}")
        with self.session() as s:
            rows = s.scalars(select(TopicLink).where(TopicLink.topic_id == topic_id, TopicLink.state == state)
                             .order_by(TopicLink.score.desc().nulls_last(), TopicLink.passage_id).limit(limit))
            return [copy_row(TopicLinkRecord, r) for r in rows]

    def topic_counts(self, state: str = "confirmed", audience: Audience = PUBLIC) -> dict[str, int]:
        """How many links of this state each topic has, on passages of documents ``audience`` may see."""
        with self.session() as s:
            rows = s.execute(select(TopicLink.topic_id, func.count())
                             .join(Document, Document.id == TopicLink.doc_id)
                             .where(TopicLink.state == state, Document.status.in_(sorted(audience.statuses)))
                             .group_by(TopicLink.topic_id))
            return {topic_id: int(n) for topic_id, n in rows}

    def links_of_document(self, doc_id: str) -> builtins.list[TopicLinkRecord]:
        with self.session() as s:
            rows = s.scalars(select(TopicLink).where(TopicLink.doc_id == doc_id)
                             .order_by(TopicLink.passage_id, TopicLink.topic_id))
            return [copy_row(TopicLinkRecord, r) for r in rows]

    # -- the review queue ---------------------------------------------------------------------

    def _current_links(self, audience: Audience):
        """Links on passages of the current version of documents ``audience`` may see, with whether the document
        is a recording."""
        return (select(TopicLink, Recording.doc_id.is_not(None).label("is_recording"))
                .join(Document, and_(Document.id == TopicLink.doc_id, Document.version == TopicLink.doc_version))
                .outerjoin(Recording, Recording.doc_id == TopicLink.doc_id)
                .where(Document.status.in_(sorted(audience.statuses))))

    def review_links(self, *, topic_id: str | None = None, doc_id: str | None = None, state: str | None = None,
                     kind: str | None = None, audience: Audience = PUBLIC, limit: int = 50,
                     offset: int = 0) -> tuple[builtins.list[TopicLinkRecord], int]:
        """A page of the links on current passages of documents ``audience`` may see, filtered by topic, document,
        state and kind ("document" or "recording"), best score first (links added by hand last); and how many
        match."""
        if state is not None and state not in LINK_STATES:
            raise ValueError(f"state must be one of {', '.join(LINK_STATES)}")
        q = self._current_links(audience)
        if topic_id is not None:
            q = q.where(TopicLink.topic_id == topic_id)
        if doc_id is not None:
            q = q.where(TopicLink.doc_id == doc_id)
        if state is not None:
            q = q.where(TopicLink.state == state)
        if kind == "recording":
            q = q.where(Recording.doc_id.is_not(None))
        elif kind == "document":
            q = q.where(Recording.doc_id.is_(None))
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.execute(q.order_by(TopicLink.score.desc().nulls_last(), TopicLink.doc_id, TopicLink.passage_id,
                                        TopicLink.topic_id).limit(max(0, limit)).offset(max(0, offset)))
            return [copy_row(TopicLinkRecord, row[0]) for row in rows], int(total)

    def review_counts(self, audience: Audience = PUBLIC) -> dict[str, dict[str, int]]:
        """By document ``audience`` may see: how many links of its current version are in each state."""
        q = self._current_links(audience).subquery()
        with self.session() as s:
            rows = s.execute(select(q.c.doc_id, q.c.state, func.count()).group_by(q.c.doc_id, q.c.state))
            out: dict[str, dict[str, int]] = {}
            for doc_id, state, n in rows:
                out.setdefault(doc_id, {})[state] = int(n)
            return out

    def apply_decisions(self, decisions: Sequence[LinkDecisionRecord], *, audience: Audience = PUBLIC,
                        actor: KeyRecord | None = None, batch: int | None = None) -> AppliedDecisions:
        """Confirm, reject or undo each link of ``decisions`` in one transaction, auditing each as a single decision
        is (``topic.decide``, ``topic.undo``), in ``actor``'s name. Every item is checked first, under the write
        lock: its document still current and seen by ``audience``, its topic known, the link there for an undo,
        no link twice. Raises DecisionsRefused naming every bad item, and nothing is applied."""
        with self.session(write=True) as s:
            docs = {d.id: d for d in s.scalars(select(Document).where(
                Document.id.in_(sorted({d.doc_id for d in decisions}))))}
            known = set(s.scalars(select(Topic.id).where(Topic.id.in_(sorted({d.topic_id for d in decisions})))))
            rows = {(r.passage_id, r.topic_id): r for r in s.scalars(select(TopicLink).where(
                TopicLink.passage_id.in_(sorted({d.passage_id for d in decisions}))))}
            problems: builtins.list[tuple[int, str, str]] = []
            seen: dict[tuple[str, str], int] = {}
            for i, d in enumerate(decisions):
                doc = docs.get(d.doc_id)
                if doc is None or not audience.sees(doc.status) or doc.version != d.doc_version:
                    problems.append((i, "passage_id", f"no passage {d.passage_id!r} to review (its document is "
                                     "retracted, gone or has a newer version)"))
                if d.topic_id not in known:
                    problems.append((i, "topic_id", f"no topic with id {d.topic_id!r}"))
                elif d.state == "undo" and (d.passage_id, d.topic_id) not in rows:
                    problems.append((i, "topic_id", f"passage {d.passage_id!r} has no link to topic {d.topic_id!r}"))
                if (d.passage_id, d.topic_id) in seen:
                    problems.append((i, "topic_id", f"the link {d.passage_id}/{d.topic_id} is already decided by "
                                     f"decisions[{seen[(d.passage_id, d.topic_id)]}]"))
                seen.setdefault((d.passage_id, d.topic_id), i)
            if problems:
                raise DecisionsRefused(problems)
            now, by = utcnow(), actor.name if actor else None
            outcomes = []
            for d in decisions:
                row = rows.get((d.passage_id, d.topic_id))
                previous = row.state if row is not None else None
                if d.state == "undo":
                    if row.score is None:
                        s.delete(row)
                        row = None
                    else:
                        row.state, row.decided_by, row.decided_at = "suggested", None, None
                    self.audit(actor, "topic.undo", d.passage_id, s=s, topic=d.topic_id, batch=batch)  # type: ignore[attr-defined]
                else:
                    if row is None:
                        row = TopicLink(passage_id=d.passage_id, topic_id=d.topic_id, doc_id=d.doc_id,
                                        doc_version=d.doc_version, score=None, created_at=now)
                        s.add(row)
                    row.state, row.decided_by, row.decided_at = d.state, by, now
                    self.audit(actor, "topic.decide", d.passage_id, s=s, topic=d.topic_id,  # type: ignore[attr-defined]
                               state=d.state, doc_id=d.doc_id, batch=batch)
                s.flush()
                outcomes.append(DecisionOutcome(d.passage_id, d.topic_id, previous,
                                                copy_row(TopicLinkRecord, row) if row is not None else None))
            touched = sorted({d.passage_id for d in decisions})
            confirmed: dict[str, builtins.list[str]] = {p: [] for p in touched}
            for passage_id, topic_id in s.execute(
                    select(TopicLink.passage_id, TopicLink.topic_id)
                    .where(TopicLink.passage_id.in_(touched), TopicLink.state == "confirmed")
                    .order_by(TopicLink.passage_id, TopicLink.topic_id)):
                confirmed[passage_id].append(topic_id)
            return AppliedDecisions(outcomes, confirmed)
