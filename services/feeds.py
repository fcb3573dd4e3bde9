"""Feeds of a search (GET /api/feeds/search.atom): what is new on a question, a topic, a country, a type or a seminar.

With a question, a feed holds the search's ``k`` best hits (from ``offset``) that clear the relevance floor (with
``include_weak``, the weak ones too), as GET /api/search ranks them, then put in date order: a feed is read newest
first, and what it lists is what answers the question, not the newest passages that merely mention it. Without a
question it holds the newest documents and recording segments that the filters match (search.listing).

Either way every entry cites one passage of the current version of a published document, and is dated by its
document: ``published`` (its publication date, else its ingestion) and ``updated`` (its last change: a new version, an
edit). Entries are in date order, newest first: by publication date (undated ones last), then by ingestion; entries
of one document keep their rank (with a question) or their reading order (without).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from kmh.catalog import PUBLIC, DocumentRecord, SeminarRecord, TopicRecord
from search.listing import newest
from search.results import SearchHit, SearchQuery
from services import search as search_service

if TYPE_CHECKING:
    from search.searcher import Searcher


@dataclass
class FeedEntry:
    """One entry: a cited passage (``hit``: its citation, and its snippet as HTML like search's) of ``document``.

    ``whole_document``: the entry stands for the document (a feed without a question lists documents), else for this
    passage or recording segment. ``topics``: the passage's confirmed topics.
    """

    hit: SearchHit
    document: DocumentRecord
    whole_document: bool
    topics: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """What the entry is, stable across fetches: ``document:ID`` (the same entry, updated, when the document gets
        a new version) or ``passage:ID`` (a passage of one version)."""
        return f"document:{self.document.id}" if self.whole_document else f"passage:{self.hit.passage_id}"

    @property
    def published(self) -> date | datetime | None:
        """When the cited document was published, else ingested."""
        return self.document.published or self.document.ingested_at

    @property
    def updated(self) -> datetime | None:
        """When the cited document last changed (a new version, an edit)."""
        return self.document.updated_at or self.document.ingested_at


@dataclass
class Feed:
    """A feed's entries, newest first, and what names it: the query as searched (the question stripped, "" when there
    is none; the language and type as search knows them), the taxonomy (to name topics), and the topic, seminar and
    country filtered on, as the search's filters match them (in any case and accents)."""

    query: SearchQuery
    entries: list[FeedEntry]
    topics: dict[str, TopicRecord]
    topic: TopicRecord | None = None
    seminar: SeminarRecord | None = None
    # As the documents spell it (country=senegal is "Senegal"), else as given.
    country: str | None = None
    # With a question: nothing in the library answers it (the feed is empty unless include_weak).
    no_match: bool = False


def search_feed(*, searcher: Searcher, query: SearchQuery) -> Feed:
    """The feed of ``query`` (see the module); ``query.q`` "" (or blank) lists by the filters alone.

    Raises what services.search.search raises for a bad parameter (InvalidParameter, UnknownFilter), except for a
    missing question."""
    query = search_service.checked(searcher=searcher, query=query, question=False)
    catalog = searcher.catalog
    no_match = False
    if query.q:
        results = searcher.search(query)
        no_match = results.no_match
        picked = [(h, False) for h in results.hits if query.include_weak or not h.weak]
    else:
        listed = newest(catalog=catalog, store=searcher.store, flt=query.to_filter(searcher.filters), limit=query.k,
                        offset=query.offset, group_by_document=query.group_by_document,
                        preferred_language=query.reader_lang)
        picked = []
        for item in listed:
            found = searcher.passage(item.passage_id, 0)
            if found is not None:
                picked.append((found[0], item.whole_document))
    documents: dict[str, DocumentRecord | None] = {}
    for hit, _ in picked:
        if hit.doc_id not in documents:
            documents[hit.doc_id] = catalog.visible(hit.doc_id, PUBLIC)
    topics_of = {h.id: list(h.payload.get("topics") or [])
                 for h in searcher.store.retrieve([hit.passage_id for hit, _ in picked], fields=("topics",))}
    entries = [FeedEntry(hit, doc, whole, topics_of.get(hit.passage_id, []))
               for hit, whole in picked if (doc := documents[hit.doc_id]) is not None]
    entries.sort(key=_newest_first, reverse=True)  # stable: one document's entries keep their order
    topics = {tp.id: tp for tp in catalog.topics()}
    matching = searcher.filters.matching
    topic = next((topics[i] for i in matching("topics", query.topic) if i in topics), None)
    seminar = next((s for s in map(catalog.seminar, matching("seminar_id", query.seminar)) if s is not None), None)
    return Feed(query=query, entries=entries, topics=topics, topic=topic, seminar=seminar,
                country=next(iter(matching("countries", query.country)), None), no_match=no_match)


def _newest_first(entry: FeedEntry) -> tuple[bool, date, float]:
    """The sort key, reversed: dated documents first, by publication date, then by ingestion."""
    doc = entry.document
    return (doc.published is not None, doc.published or date.min,
            doc.ingested_at.timestamp() if doc.ingested_at else 0.0)
