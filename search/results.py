"""What a search is asked and what it answers: the query, its hits with their citations, a page of results.

Plain records of the search layer; the API turns them into its response schemas at its edge (api.schemas).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kmh.catalog.editions import EditionRecord
from kmh.store import Filter

if TYPE_CHECKING:
    from search.filters import FilterValues

Mode = Literal["hybrid", "dense", "keyword"]
MODES = ("hybrid", "dense", "keyword")
# A passage of a document (page, character offsets) or of a recording (seconds, seminar, session, speaker).
Kind = Literal["document", "recording"]


@dataclass
class SearchQuery:
    """A question and its filters; pages are ``k`` hits from ``offset`` in the candidate pool."""

    q: str
    k: int = 10
    offset: int = 0
    mode: Mode = "hybrid"
    lang: str | None = None
    doc_type: str | None = None
    country: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    topic: str | None = None
    seminar: str | None = None
    group_by_document: bool = False
    # When nothing clears the relevance floor, return the closest passages anyway (each flagged ``weak``).
    include_weak: bool = False
    # The reader's language: when several editions of a publication match, the one in it is shown (search.editions);
    # None: the question's language.
    reader_lang: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_filter(self, values: FilterValues | None = None) -> Filter:
        """The store filter of this query; always status == "published": search lists what the public sees.

        With ``values``, filter values match in any case and accents (search.filters): a country, topic or seminar
        becomes the stored values it folds to, an unknown language or type is an UnknownFilterValue (a ValueError).
        """
        equals: dict[str, Any] = {"status": "published"}
        given = {"language": self.lang, "doc_type": self.doc_type, "countries": self.country, "topics": self.topic,
                 "seminar_id": self.seminar}
        if values is not None:
            given["language"], given["doc_type"] = values.language(self.lang), values.doc_type(self.doc_type)
            for key in ("countries", "topics", "seminar_id"):
                stored = values.matching(key, given[key])
                given[key] = stored[0] if len(stored) == 1 else stored or None  # several: any of them
        for key, value in given.items():
            if value is not None and value != "":
                equals[key] = value
        ranges = {}
        if self.year_from is not None or self.year_to is not None:
            ranges["year"] = (self.year_from, self.year_to)
        return Filter(equals=equals, ranges=ranges)


@dataclass
class Citation:
    """Where a passage is: the page and section of a document, or the moment of a recording. The link it opens is
    built at the edge (api.urls.citation_url), from the hit's doc_id and these fields."""

    page: int | None
    section: str | None
    # Character offsets in the parsed text (documents) or seconds in the recording (recordings): for a recording
    # hit, ``start`` is the moment, the second its best sentence is said (search.moments), and ``end`` its window's.
    start: float | None
    end: float | None
    kind: Kind = "document"
    # Recordings: the seminar, the session number and its speaker where known, "00:12:34–00:13:20" (from start).
    seminar_id: str | None = None
    session: int | None = None
    speaker: str | None = None
    timestamp: str | None = None
    # A page or document imported from a website: its URL there (the citation links to it).
    web_url: str | None = None
    # Recordings: the passage's window, in seconds (start is its moment).
    window_start: float | None = None
    window_end: float | None = None


@dataclass
class SearchHit:
    passage_id: str
    doc_id: str
    title: str
    doc_type: str | None
    language: str | None
    filename: str | None
    published: str | None
    text: str
    # The text HTML-escaped, query terms in <mark>, the best sentence in <b>.
    highlight: str
    # One to three sentences around the best one, HTML like highlight (search.snippets).
    snippet: str
    score: float
    citation: Citation
    # Best cosine of the question to the passage or one of its sentences (None in keyword mode); below the
    # relevance floor the hit is ``weak``: listed among the others when some passage clears the floor, returned
    # only with include_weak when none does.
    relevance: float | None = None
    weak: bool = False
    # The publication's other editions the public may read (search.editions): "also in English".
    other_editions: list[EditionRecord] = field(default_factory=list)
    # Read by OCR from a scanned page: that page's mean word confidence (0-100); None for a text layer.
    ocr: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResults(Sequence):
    """One page of hits, the facets of the whole candidate pool and its size.

    Also behaves as the sequence of its hits (``results[0]``, ``len(results)``, iteration).
    """

    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]
    total: int
    query: SearchQuery
    # True when no passage clears the relevance floor (``hits`` is then empty unless include_weak).
    no_match: bool = False
    # Hits that can be paged through: ``total`` above the floor, and the weak ones listed after or among them.
    available: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"hits": [h.to_dict() for h in self.hits], "facets": self.facets, "total": self.total,
                "available": self.available, "no_match": self.no_match, "query": self.query.to_dict()}

    def __getitem__(self, i):  # type: ignore[override]
        return self.hits[i]

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[SearchHit]:
        return iter(self.hits)
