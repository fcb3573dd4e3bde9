"""Response models of the HTTP API (what /docs shows)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Mode = Literal["hybrid", "dense", "keyword"]
DocType = Literal["report", "knowledge_paper", "handbook", "news", "seminar_page", "recording", "other"]


class Citation(BaseModel):
    page: int | None = Field(None, description="1-based page (PDF page, PPTX slide); null for formats without pages")
    section: str | None = Field(None, description="The section trail above the passage, joined with ' › '")
    start: int | None = Field(None, description="Start character offset of the passage in the parsed text")
    end: int | None = Field(None, description="End character offset (exclusive)")
    url: str = Field(description="Where the passage opens: the original file, at its page for PDFs")


class Hit(BaseModel):
    passage_id: str
    doc_id: str
    title: str
    doc_type: str | None
    language: str | None
    filename: str | None
    published: str | None = Field(None, description="Publication date, YYYY, YYYY-MM or YYYY-MM-DD")
    text: str
    highlight: str = Field(description="The text, HTML-escaped, query terms in <mark>, best sentence in <b>")
    score: float
    citation: Citation


class QueryEcho(BaseModel):
    q: str
    k: int
    offset: int
    mode: Mode
    lang: str | None
    type: str | None
    country: str | None
    year_from: int | None
    year_to: int | None
    topic: str | None
    seminar: str | None
    group_by_document: bool


class Facets(BaseModel):
    """Passage counts in the whole candidate pool, by value, most frequent first."""

    type: dict[str, int] = Field(default_factory=dict)
    language: dict[str, int] = Field(default_factory=dict)
    country: dict[str, int] = Field(default_factory=dict)
    year: dict[str, int] = Field(default_factory=dict)
    topic: dict[str, int] = Field(default_factory=dict)


class SearchResponse(BaseModel):
    query: QueryEcho
    total: int = Field(description="Hits in the candidate pool (after grouping); page through them with offset")
    hits: list[Hit]
    facets: Facets


class PassageResponse(Hit):
    before: list[Hit] = Field(description="The passages just before, in document order")
    after: list[Hit] = Field(description="The passages just after, in document order")


class DocumentSummary(BaseModel):
    id: str
    title: str
    doc_type: str
    language: str | None
    published: date | None
    countries: list[str]
    programme: str | None
    source: str | None
    source_url: str | None
    filename: str
    format: str
    mime: str
    page_count: int | None
    passage_count: int
    version: int
    status: str
    ingested_at: datetime | None
    updated_at: datetime | None
    file_url: str = Field(description="The kept original file")


class OutlineEntry(BaseModel):
    section: str
    level: int | None = None
    page: int | None = None


class VersionEntry(BaseModel):
    version: int
    sha256: str
    filename: str
    ingested_at: datetime
    passage_count: int
    note: str | None = None


class DocumentDetail(DocumentSummary):
    outline: list[OutlineEntry]
    history: list[VersionEntry] = Field(description="All versions, oldest first, the current one included")


class DocumentPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[DocumentSummary]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    store_backend: str
    embedding_model: str
