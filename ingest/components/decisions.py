"""Haystack component: organisers' topic decisions carried to the passages of a new version."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from haystack import Document, component

from kmh.catalog import TopicLinkRecord


@dataclass(frozen=True)
class CarriedDecision:
    """An organiser's decision (confirmed or rejected topic) on a passage of a document's prior version, with that
    passage's payload (its text, start, end and kind), to find its successor by."""

    link: TopicLinkRecord
    passage: dict[str, Any]


@component
class DecisionCarrier:
    """Moves decisions to the new passages of the same document: a document passage with the same text, or the
    recording passage that overlaps most in time (at least half of the shorter of the two); a decision without a
    successor is dropped. Confirmed topics go into the new passages' payload (``meta["topics"]``) at once.

    ``confirmed`` (passage id -> topic ids) sets the topics of passages written again under the same ids
    (`kmh check --repair`)."""

    @component.output_types(documents=list[Document], decisions=list[TopicLinkRecord])
    def run(self, documents: list[Document], carried: list[CarriedDecision] | None = None,
            confirmed: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """The documents (topics set) and the decisions carried, as links of the new passages."""
        by_doc: dict[str, list[Document]] = {}
        for d in documents:
            by_doc.setdefault(d.meta["doc_id"], []).append(d)
        by_text = {doc_id: {d.content: d for d in docs} for doc_id, docs in by_doc.items()} if carried else {}
        decisions: list[TopicLinkRecord] = []
        for c in carried or ():
            new = _successor(c.passage, by_doc.get(c.link.doc_id, []), by_text.get(c.link.doc_id, {}))
            if new is None:
                continue
            decisions.append(replace(c.link, passage_id=new.id, doc_version=new.meta["doc_version"]))
            if c.link.state == "confirmed":
                new.meta["topics"] = sorted({*new.meta.get("topics", []), c.link.topic_id})
        for d in documents:
            if confirmed and d.id in confirmed:
                d.meta["topics"] = sorted(confirmed[d.id])
        return {"documents": documents, "decisions": decisions}


def _successor(payload: dict[str, Any], documents: list[Document], by_text: dict[str | None, Document]
               ) -> Document | None:
    if payload.get("kind") != "recording":
        return by_text.get(payload.get("text"))
    a, b = payload.get("start"), payload.get("end")
    if a is None or b is None:
        return None
    best, overlap = None, 0.0
    for d in documents:
        o = min(b, d.meta["end"]) - max(a, d.meta["start"])
        if o > overlap:
            best, overlap = d, o
    shorter = min(b - a, best.meta["end"] - best.meta["start"]) if best is not None else 0.0
    return best if best is not None and overlap >= shorter / 2 else None
