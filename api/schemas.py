"""Response models of the HTTP API (what /docs shows)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from api.urls import citation_url, crawl_url, document_file_url, document_url, job_url, recording_media_url

if TYPE_CHECKING:
    from kmh.catalog import (
        DocumentRecord,
        EditionRecord,
        JobRecord,
        KeyRecord,
        SeminarRecord,
        TopicLinkRecord,
        TopicRecord,
        VersionRecord,
    )
    from kmh.catalog import SessionRecord as SeminarSessionRecord
    from kmh.catalog.access import SessionRecord
    from search.results import Citation as CitationRecord, SearchHit, SearchQuery, SearchResults
    from kmh.catalog import QueryCount, SearchLogRecord, SearchSummary, WeekCount
    from services.access import AuditLogPage, NewKey
    from services.analytics import SearchLogPage
    from services.passages import PassageRef
    from services.search import Passage
    from services.seminars import Recording, RecordingPage, SeminarPage
    from services.topics import PassageLinks, TopicPage

Mode = Literal["hybrid", "dense", "keyword"]
DocType = Literal["report", "knowledge_paper", "handbook", "news", "seminar_page", "recording", "other"]


class Citation(BaseModel):
    page: int | None = Field(None, description="1-based page (PDF page, PPTX slide); null for formats without pages")
    section: str | None = Field(None, description="The section trail above the passage, joined with ' › '")
    start: int | float | None = Field(None, description="Documents: start character offset of the passage in the parsed "
                                "text. Recordings: in search hits, the moment, the second at which the hit's best "
                                "sentence (the one in <b>) starts (window_start for a passage indexed without cue "
                                "times); elsewhere, the start second of the segment")
    end: int | float | None = Field(None, description="Documents: end character offset (exclusive). Recordings: end second "
                                    "of the segment")
    url: str = Field(description="Where the passage opens: the original file, at its page for PDFs; for a "
                     "recording, its media from ``start`` (#t=); for a page imported from a "
                     "website, its URL there")
    seminar_id: str | None = Field(None, description="Recordings: the seminar")
    session: int | None = Field(None, description="Recordings: the session number")
    speaker: str | None = Field(None, description="Recordings: the speaker, where known")
    timestamp: str | None = Field(None, description="Recordings: from ``start`` to the segment's end, e.g. "
                                  "00:12:34–00:13:20")
    web_url: str | None = Field(None, description="A page or document imported from a website (kmh crawl): its URL "
                                "there, which ``url`` opens")
    window_start: int | float | None = Field(None, description="Recordings: start second of the segment (the "
                                             "passage's 30–60 s window), which ``start`` falls in")
    window_end: int | float | None = Field(None, description="Recordings: end second of the segment")

    @classmethod
    def from_record(cls, doc_id: str, citation: CitationRecord) -> Self:
        """The search layer's citation of a passage of ``doc_id``, with the link it opens (api.urls)."""
        url = citation_url(doc_id, kind=citation.kind, page=citation.page, start=citation.start,
                           web_url=citation.web_url)
        return cls.model_validate({**asdict(citation), "url": url})


class EditionLink(BaseModel):
    """Another language edition of the same publication."""

    id: str
    language: str | None
    title: str
    url: str = Field(description="The edition's document")

    @classmethod
    def from_record(cls, edition: EditionRecord) -> Self:
        return cls(id=edition.id, language=edition.language, title=edition.title, url=document_url(edition.id))


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
    snippet: str = Field(description="The one to three sentences of the passage that best answer the question (at "
                         "most about 320 characters; a longer sentence is cut, with '…'), HTML-escaped, query terms "
                         "in <mark>, the best sentence in <b> (the same sentence as in highlight; found across "
                         "languages, never a heading). A passage read without a question: its opening sentences")
    score: float
    citation: Citation
    relevance: float | None = Field(None, description="Best cosine of the question to the passage or one of its "
                                    "sentences (hybrid and dense search); compared with the relevance floor")
    weak: bool = Field(False, description="Below the relevance floor: not an answer (only with include_weak=true)")
    other_editions: list[EditionLink] = Field(
        default_factory=list, description="The publication's other language editions (search shows one edition of a "
        "publication, the one in the reader's language when it matched: see reader_lang)")
    ocr: float | None = Field(None, description="The passage was read by OCR from a scanned page: the page's mean "
                              "word confidence, 0-100 (pages under KMH_OCR_MIN_CONFIDENCE are not indexed); null for "
                              "text from the file's own text layer")

    @classmethod
    def from_record(cls, hit: SearchHit, **more: Any) -> Self:
        """The search layer's hit as the API shows it (``more``: the fields a subclass adds)."""
        fields = {name: getattr(hit, name) for name in Hit.model_fields}
        fields["citation"] = Citation.from_record(hit.doc_id, hit.citation)
        fields["other_editions"] = [EditionLink.from_record(e) for e in hit.other_editions]
        return cls.model_validate({**fields, **more})


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
    include_weak: bool = False
    reader_lang: str | None = None

    @classmethod
    def from_query(cls, query: SearchQuery) -> Self:
        """The query as searched (search.results.SearchQuery); its doc_type is the ``type`` parameter."""
        fields = {name: getattr(query, name) for name in cls.model_fields if name != "type"}
        return cls.model_validate({**fields, "type": query.doc_type})


class Facets(BaseModel):
    """Document counts in the whole candidate pool, by value, most frequent first: a document with several
    matching passages counts once (``total`` counts passages)."""

    type: dict[str, int] = Field(default_factory=dict, description="Documents by type")
    language: dict[str, int] = Field(default_factory=dict, description="Documents with passages in the language")
    country: dict[str, int] = Field(default_factory=dict, description="Documents by country (a document may name "
                                    "several)")
    year: dict[str, int] = Field(default_factory=dict, description="Documents by year of publication")
    topic: dict[str, int] = Field(default_factory=dict, description="Documents with passages confirmed for the topic")

    @classmethod
    def from_counts(cls, counts: dict[str, dict[str, int]]) -> Self:
        """The searcher's facet counts; its doc_type facet is ``type`` here, as the filter parameter."""
        return cls.model_validate({"type" if name == "doc_type" else name: values for name, values in counts.items()})


class SearchResponse(BaseModel):
    query: QueryEcho
    no_match: bool = Field(description="True when no passage clears the relevance floor: nothing in the library "
                           "answers the question; hits is then empty unless include_weak=true")
    total: int = Field(description="Hits above the relevance floor (after grouping); 0 when no_match")
    available: int = Field(description="Hits that can be paged through with offset: those above the floor and the "
                           "weak ones ranked among them (all of them weak when no_match and include_weak)")
    hits: list[Hit]
    facets: Facets = Field(description="Counts of documents (not passages) in the candidate pool, by type, language, "
                           "country, year and topic; the filter parameters take these values")
    search_id: str | None = Field(None, description="This search's id in the search analytics (random; nothing in "
                                  "it or recorded with it names who searched): report the hit opened with POST "
                                  "/api/analytics/opened?search_id=...&passage_id=... Null when searches are not recorded "
                                  "(KMH_ANALYTICS_DAYS=0)")

    @classmethod
    def from_results(cls, results: SearchResults) -> Self:
        """A page of the search layer's results, as the API answers it."""
        return cls(query=QueryEcho.from_query(results.query), no_match=results.no_match, total=results.total,
                   available=results.available, hits=[Hit.from_record(h) for h in results.hits],
                   facets=Facets.from_counts(results.facets))


class PassageResponse(Hit):
    status: str = Field(description="Its document's status: 'published', or 'retracted' (seen by staff only)")
    before: list[Hit] = Field(description="The passages just before, in document order")
    after: list[Hit] = Field(description="The passages just after, in document order")

    @classmethod
    def from_passage(cls, found: Passage) -> Self:
        """A passage read with its neighbours (services.search.passage)."""
        return cls.from_record(found.hit, status=found.status, before=[Hit.from_record(h) for h in found.before],
                               after=[Hit.from_record(h) for h in found.after])


class DocumentSummary(BaseModel):
    id: str
    title: str
    doc_type: str
    language: str | None
    published: str | None = Field(description="Publication date as given: YYYY, YYYY-MM or YYYY-MM-DD")
    countries: list[str]
    programme: str | None
    source: str | None
    source_url: str | None
    inferred: list[str] = Field(default_factory=list, description="The metadata fields (title, doc_type, language, "
                                "published, countries) inferred from the file, not given by a sidecar, the upload or "
                                "an edit: staff check them; editing a field removes it")
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

    @classmethod
    def from_record(cls, doc: DocumentRecord) -> DocumentSummary:
        """The API's view of a catalog document: its date as given, and a link to its file (the catalog's other
        fields, such as where the original is kept, are left out)."""
        return cls.model_validate(_summary(doc))


def _summary(doc: DocumentRecord) -> dict[str, Any]:
    return {**vars(doc), "published": doc.published_text, "inferred": doc.inferred or [],
            "file_url": document_file_url(doc.id)}


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
    editions: list[EditionLink] = Field(default_factory=list, description="The other language editions of the same "
                                        "publication that the caller may see, by language")

    @classmethod
    def from_records(cls, doc: DocumentRecord, versions: list[VersionRecord],
                     editions: list[EditionRecord] | None = None) -> DocumentDetail:
        """A document (as ``DocumentSummary.from_record``) with its outline, version history and other editions."""
        return cls.model_validate({**_summary(doc), "history": [vars(v) for v in versions],
                                   "editions": [EditionLink.from_record(e) for e in editions or []]})


class EditionRequest(BaseModel):
    """Link a document as an edition of another one (staff)."""

    model_config = ConfigDict(extra="forbid")

    edition_of: str = Field(min_length=1, max_length=64, description="The id of another edition of the publication")


class Editions(BaseModel):
    """A document's other language editions."""

    doc_id: str
    editions: list[EditionLink]

    @classmethod
    def from_records(cls, doc_id: str, editions: list[EditionRecord]) -> Editions:
        return cls(doc_id=doc_id, editions=[EditionLink.from_record(e) for e in editions if e.id != doc_id])


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


# -- seminars, recordings and topics ---------------------------------------------------------------
# Each answer is made from the services' records (services.seminars, services.topics), links added here.


def passage_url(ref: PassageRef) -> str:
    """Where a passage opens: a recording segment's media at its second, a document's file at its page."""
    return citation_url(ref.doc_id, kind=ref.kind, page=ref.page, start=ref.start)


class Speaker(BaseModel):
    name: str
    role: str | None = None


class SessionEntry(BaseModel):
    number: int
    title: str
    description: str | None = None
    speakers: list[Speaker] = Field(default_factory=list)
    recording_id: str | None = Field(None, description="The recording (document id) the session is in")
    start: float | None = Field(None, description="Start second of the session in its recording")
    end: float | None = None
    url: str | None = Field(None, description="The recording's media from the session's start")

    @classmethod
    def from_record(cls, s: SeminarSessionRecord, recording_id: str | None) -> SessionEntry:
        """A seminar session; ``recording_id`` is the recording it is in, if the public sees it."""
        return cls(number=s.number, title=s.title, description=s.description,
                   speakers=[Speaker(**sp) for sp in s.speakers], recording_id=recording_id, start=s.start, end=s.end,
                   url=recording_media_url(recording_id, s.start) if recording_id else None)


class RecordingSummary(BaseModel):
    id: str = Field(description="The recording's document id")
    title: str
    status: str = Field(description="'published', or 'retracted' (seen by staff only)")
    language: str
    duration: float = Field(description="Seconds")
    has_video: bool
    seminar_id: str | None
    mime: str
    media_url: str = Field(description="The media file (HTTP Range requests supported, so players can seek)")
    transcript_source: str = Field(description="'captions' (a caption file) or 'whisper' (speech recognition)")

    @classmethod
    def from_recording(cls, found: Recording) -> RecordingSummary:
        return RecordingSummary(**_recording_fields(found))


def _recording_fields(found: Recording) -> dict[str, Any]:
    rec, doc = found.recording, found.document
    return dict(id=doc.id, title=doc.title, status=doc.status, language=rec.language, duration=rec.duration,
                has_video=rec.has_video, seminar_id=rec.seminar_id, mime=doc.mime,
                media_url=recording_media_url(doc.id),
                transcript_source=found.transcript.source if found.transcript else "captions")


class Cue(BaseModel):
    start: float
    end: float
    text: str
    speaker: str | None = None


class Segment(BaseModel):
    """A recording passage (what search cites) with its topic links, for review."""

    passage_id: str
    start: float
    end: float
    timestamp: str
    session: int | None = None
    speaker: str | None = None
    section: str | None = None
    text: str
    url: str = Field(description="The media from the segment's first second")
    topics: list["TopicLink"] = Field(description="Suggested, confirmed and rejected topics, best score first")

    @classmethod
    def from_ref(cls, ref: PassageRef, links: list[TopicLinkRecord], topics: dict[str, TopicRecord]) -> Segment:
        """A recording segment with its links; ``topics`` names them (the taxonomy by id)."""
        return cls(passage_id=ref.passage_id, start=ref.start, end=ref.end, timestamp=ref.timestamp or "",
                   session=ref.session, speaker=ref.speaker, section=ref.section, text=ref.text, url=passage_url(ref),
                   topics=[TopicLink.from_record(lk, topics.get(lk.topic_id)) for lk in links])


class RecordingDetail(RecordingSummary):
    session_count: int = 0
    cues: list[Cue] = Field(description="The timed transcript")
    segments: list[Segment] = Field(description="The recording's passages (30-60 s windows) with their topics")

    @classmethod
    def from_page(cls, page: RecordingPage) -> RecordingDetail:
        cues = page.transcript.cues if page.transcript else []
        return cls(**_recording_fields(page), session_count=len(page.sessions),
                   cues=[Cue(**{k: c.get(k) for k in ("start", "end", "text", "speaker")}) for c in cues],
                   segments=[Segment.from_ref(ref, links, page.topics) for ref, links in page.segments])


class RelatedPublication(BaseModel):
    filename: str
    doc_id: str | None = Field(None, description="null when no published document has this file name")
    title: str | None = None
    url: str | None = None

    @classmethod
    def from_record(cls, filename: str, doc: DocumentRecord | None) -> RelatedPublication:
        """A related publication by file name, and the published document of that name (None when there is none)."""
        return cls(filename=filename, doc_id=doc.id if doc else None, title=doc.title if doc else None,
                   url=document_url(doc.id) if doc else None)


class SeminarSummary(BaseModel):
    id: str
    title: str
    title_en: str | None
    start_date: date | None
    end_date: date | None
    languages: list[str]
    session_count: int

    @classmethod
    def from_record(cls, sem: SeminarRecord) -> SeminarSummary:
        return SeminarSummary(**_seminar_fields(sem))


def _seminar_fields(sem: SeminarRecord) -> dict[str, Any]:
    return dict(id=sem.id, title=sem.title, title_en=sem.title_en, start_date=sem.start_date, end_date=sem.end_date,
                languages=sem.languages, session_count=len(sem.sessions))


class SeminarDetail(SeminarSummary):
    objectives: str | None
    format: str | None
    background: str | None
    sessions: list[SessionEntry]
    recordings: list[RecordingSummary]
    related_publications: list[RelatedPublication]

    @classmethod
    def from_page(cls, page: SeminarPage) -> SeminarDetail:
        sem = page.seminar
        by_key = {r.recording.key: r.document.id for r in page.recordings if r.recording.key}
        return cls(**_seminar_fields(sem), objectives=sem.objectives, format=sem.format, background=sem.background,
                   sessions=[SessionEntry.from_record(s, by_key.get(s.recording_key)) for s in sem.sessions],
                   recordings=[RecordingSummary.from_recording(r) for r in page.recordings],
                   related_publications=[RelatedPublication.from_record(name, doc) for name, doc in page.related])


class TopicSummary(BaseModel):
    id: str
    label: dict[str, str] = Field(description="By language: fr, en")
    description: dict[str, str]
    parent: str | None
    group: str | None = Field(None, description="level, dimension or theme")
    confirmed_links: int = Field(description="Passages and segments confirmed for the topic")

    @classmethod
    def from_record(cls, t: TopicRecord, confirmed_links: int) -> TopicSummary:
        return TopicSummary(**_topic_fields(t), confirmed_links=confirmed_links)


def _topic_fields(t: TopicRecord) -> dict[str, Any]:
    return dict(id=t.id, label={"fr": t.label_fr, "en": t.label_en},
                description={"fr": t.description_fr, "en": t.description_en}, parent=t.parent, group=t.grp)


class LinkedPassage(BaseModel):
    passage_id: str
    doc_id: str
    title: str
    doc_type: str
    kind: Literal["document", "recording"]
    text: str
    section: str | None
    page: int | None
    start: float | None
    end: float | None
    url: str
    timestamp: str | None = None
    session: int | None = None
    seminar_id: str | None = None
    score: float | None = Field(None, description="Similarity of the passage to the topic when it was suggested")
    ocr: float | None = Field(None, description="Read by OCR from a scanned page: the page's mean word confidence, "
                              "0-100")

    @classmethod
    def from_ref(cls, ref: PassageRef) -> LinkedPassage:
        return cls(**{name: getattr(ref, name) for name in cls.model_fields if name != "url"}, url=passage_url(ref))


class TopicDetail(TopicSummary):
    publications: list[LinkedPassage] = Field(description="Confirmed document passages")
    segments: list[LinkedPassage] = Field(description="Confirmed recording segments, with timestamps")

    @classmethod
    def from_page(cls, page: TopicPage) -> TopicDetail:
        return cls(**_topic_fields(page.topic), confirmed_links=page.confirmed_links,
                   publications=[LinkedPassage.from_ref(p) for p in page.publications],
                   segments=[LinkedPassage.from_ref(p) for p in page.segments])


class TopicLink(BaseModel):
    topic_id: str
    label: dict[str, str]
    score: float | None = Field(None, description="Suggestion score; null for a link added by an organiser")
    state: Literal["suggested", "confirmed", "rejected"]
    decided_by: str | None = None
    decided_at: datetime | None = None

    @classmethod
    def from_record(cls, lk: TopicLinkRecord, topic: TopicRecord | None) -> TopicLink:
        """A link, named by its ``topic`` (no label when the topic is gone)."""
        label = {"fr": topic.label_fr, "en": topic.label_en} if topic else {}
        return cls(topic_id=lk.topic_id, label=label, score=lk.score, state=lk.state, decided_by=lk.decided_by,
                   decided_at=lk.decided_at)


class TopicLinks(BaseModel):
    passage_id: str
    links: list[TopicLink]

    @classmethod
    def from_links(cls, found: PassageLinks) -> TopicLinks:
        return cls(passage_id=found.passage_id,
                   links=[TopicLink.from_record(lk, found.topics.get(lk.topic_id)) for lk in found.links])


class LinkDecision(BaseModel):
    topic_id: str = Field(max_length=64)
    state: Literal["confirmed", "rejected"] = "confirmed"


# -- publishing, jobs, keys, audit ---------------------------------------------------------------

Role = Literal["reader", "staff", "organiser", "admin"]


class JobProgress(BaseModel):
    stage: str = Field(description="queued, starting, transcribing (recordings), parsing, embedding, committing, "
                                   "crawling, done or failed")
    done: int | None = Field(None, description="What is done of the stage: seconds while transcribing, else passages")
    total: int | None = None
    seconds: int | None = Field(None, description="A recording: the seconds transcribed so far (all of them at once "
                                                  "when its captions are its transcript)")
    seconds_total: int | None = Field(None, description="A recording: its length in seconds")
    rate: float | None = Field(None, description="While embedding: passages per second over the last 30 s, to 0.1; "
                                                 "null until it is known (after a second or so of embedding)")
    eta_seconds: int | None = Field(None, description="While embedding: seconds left at that rate, null when unknown")
    notes: list[str] = Field(default_factory=list, description="Once done: the pages left out of the index, each "
                             "with why, e.g. 'page 3: OCR confidence 41% < 70%, not indexed' (a scanned page too "
                             "poorly read, KMH_OCR_MIN_CONFIDENCE)")


class Job(BaseModel):
    id: str
    kind: Literal["publish", "new_version", "crawl"]
    state: Literal["queued", "running", "done", "failed"]
    doc_id: str = Field(description="The document it creates or updates (empty for a crawl)")
    doc_version: int | None = None
    filename: str = Field(description="The uploaded file's name, made safe, with the extension of its real type")
    sha256: str
    size: int
    meta: dict[str, Any] = Field(description="The metadata sent with the file")
    progress: JobProgress
    attempts: int
    error: str | None = None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    url: str = Field(description="This job")
    document_url: str | None = Field(description="The document, once the job is done (null for a crawl)")

    @classmethod
    def from_record(cls, job: JobRecord) -> Job:
        """The API's view of a catalog job: its progress (with a stage) and its links; where its upload is staged
        and who queued it are left out."""
        return cls.model_validate({**vars(job), "progress": {"stage": "queued", **job.progress},
                                   "url": job_url(job.id),
                                   "document_url": document_url(job.doc_id) if job.doc_id else None})


class CrawlRequest(BaseModel):
    """A website to import: its start URL, how many links away (without a sitemap), and path patterns."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, pattern=r"^https?://\S+$", description="The start page; its site is crawled")
    depth: int | None = Field(None, ge=0, le=10, description="Links away from the start page, when the site has no "
                              "sitemap (default KMH_CRAWL_DEPTH)")
    include: list[str] = Field(default_factory=list, max_length=50, description="Only URL paths matching one of "
                               "these: globs (/news/*) or regular expressions after re:")
    exclude: list[str] = Field(default_factory=list, max_length=50, description="URL paths left out, as include")


class CrawlSummaryOut(BaseModel):
    """What a finished crawl did (services.crawls.CrawlSummary)."""

    new: int
    updated: int
    unchanged: int
    retracted: int
    failed: int
    skipped: int
    skipped_by_reason: dict[str, int]
    failures: list[dict[str, str | None]]
    pages: list[dict[str, str | None]]
    requests: int
    seconds: float
    pages_per_second: float
    from_sitemap: bool


class Crawl(BaseModel):
    """A website crawl, run as a job by the server's worker."""

    id: str
    state: Literal["queued", "running", "done", "failed"]
    start_url: str
    depth: int | None = None
    include: list[str]
    exclude: list[str]
    progress: JobProgress
    summary: CrawlSummaryOut | None = Field(None, description="Once done: the counts, failures and pages")
    error: str | None = None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    url: str = Field(description="This crawl")
    job_url: str = Field(description="Its job")

    @classmethod
    def from_record(cls, job: JobRecord) -> Crawl:
        summary = job.progress.get("summary")
        progress = {"stage": "queued", **{k: v for k, v in job.progress.items() if k != "summary"}}
        return cls.model_validate({
            "id": job.id, "state": job.state, "start_url": job.filename, "depth": job.meta.get("depth"),
            "include": job.meta.get("include") or [], "exclude": job.meta.get("exclude") or [],
            "progress": progress, "summary": summary, "error": job.error, "created_at": job.created_at,
            "started_at": job.started_at, "finished_at": job.finished_at, "url": crawl_url(job.id),
            "job_url": job_url(job.id)})


class JobPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Job]


class MetadataPatch(BaseModel):
    """Fields to change; those left out stay as they are, null clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=500)
    doc_type: DocType | None = None
    language: str | None = Field(None, pattern=r"^[a-z]{2}$")
    published: str | None = Field(None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="YYYY, YYYY-MM or "
                                  "YYYY-MM-DD")
    countries: list[str] | None = Field(None, max_length=50)
    programme: str | None = Field(None, max_length=500)
    source: str | None = Field(None, max_length=1000)
    source_url: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$")
    status: Literal["published", "retracted"] | None = Field(None, description="published restores a retracted one")


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role


class KeyInfo(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool

    @classmethod
    def from_record(cls, record: KeyRecord) -> KeyInfo:
        return cls.model_validate(record)


class KeyCreated(KeyInfo):
    key: str = Field(description="The key itself: shown this once, only its hash is kept")

    @classmethod
    def from_new(cls, new: NewKey) -> KeyCreated:
        return cls.model_validate({**KeyInfo.from_record(new.record).model_dump(), "key": new.secret})


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: str | None
    actor: str
    role: str
    action: str
    target: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    total: int
    limit: int
    offset: int
    items: list[AuditEntry]

    @classmethod
    def from_page(cls, page: AuditLogPage) -> AuditPage:
        return cls.model_validate(page)


class SignIn(BaseModel):
    key: str = Field(min_length=1, max_length=200)


class SessionInfo(BaseModel):
    name: str
    role: Role
    csrf_token: str | None = Field(None, description="Send it as X-CSRF-Token (or csrf_token form field) with every "
                                                     "write made with the session cookie")
    expires_at: datetime | None = None

    @classmethod
    def of(cls, key: KeyRecord, session: SessionRecord | None = None) -> SessionInfo:
        """The key's name and role; with a web session, its CSRF token and end."""
        return cls(name=key.name, role=key.role, csrf_token=session.csrf_token if session else None,
                   expires_at=session.expires_at if session else None)


# -- search analytics (staff) --------------------------------------------------------------------------------------


class SearchLogEntry(BaseModel):
    """One recorded search: what was asked and what it found; nothing about who asked."""

    id: str = Field(description="The search_id its answer carried")
    at: datetime = Field(description="When, UTC")
    week: str = Field(description="ISO week of at, e.g. 2026-W49")
    channel: Literal["api", "web"] = Field(description="api: GET /api/search; web: the search page")
    query: str = Field(description="The question as searched (spaces at its ends removed)")
    language: str | None = Field(description="The question's language as search detected it (fr or en); null when "
                                 "too short to tell")
    mode: Mode
    filters: dict[str, Any] = Field(description="The filters given, by their search parameter name (lang, type, "
                                    "country, year_from, year_to, topic, seminar, group_by_document, include_weak)")
    offset: int = Field(description="The page's offset (0: the first page)")
    result_count: int = Field(description="Passages above the relevance floor (the answer's total)")
    no_match: bool = Field(description="Nothing in the library answered")
    hits: list[str] = Field(description="The passage ids of the page shown, in order")
    opened_passage: str | None = Field(description="The first hit its reader opened, if any")
    opened_rank: int | None = Field(description="That hit's rank in the results (1: the first)")
    opened_at: datetime | None

    @classmethod
    def from_record(cls, rec: SearchLogRecord) -> Self:
        return cls(id=rec.id, at=rec.at, week=rec.week, channel=rec.channel, query=rec.query, language=rec.language,
                   mode=rec.mode, filters=rec.filters, offset=rec.page_offset, result_count=rec.result_count,
                   no_match=rec.no_match, hits=rec.hits, opened_passage=rec.opened_passage,
                   opened_rank=rec.opened_rank, opened_at=rec.opened_at)


class SearchLogList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[SearchLogEntry]

    @classmethod
    def from_page(cls, page: SearchLogPage) -> Self:
        return cls(total=page.total, limit=page.limit, offset=page.offset,
                   items=[SearchLogEntry.from_record(r) for r in page.items])


class QueryStats(BaseModel):
    query: str = Field(description="The query with case, spaces and end punctuation folded")
    searches: int = Field(description="Searches (first pages: paging is not counted again)")
    no_match: int = Field(description="Of these, how many found nothing")
    opened: int = Field(description="Hits opened from its searches (any page)")
    last_at: datetime = Field(description="Its latest search")

    @classmethod
    def from_record(cls, rec: QueryCount) -> Self:
        return cls(query=rec.query, searches=rec.searches, no_match=rec.no_match, opened=rec.opened,
                   last_at=rec.last_at)


class WeekStats(BaseModel):
    week: str = Field(description="ISO week, e.g. 2026-W49")
    searches: int
    no_match: int
    opened: int
    queries: int = Field(description="Distinct (folded) queries")

    @classmethod
    def from_record(cls, rec: WeekCount) -> Self:
        return cls(week=rec.week, searches=rec.searches, no_match=rec.no_match, opened=rec.opened, queries=rec.queries)


class AnalyticsSummary(BaseModel):
    since: datetime = Field(description="Start of the first week counted (Monday 00:00 UTC)")
    until: datetime
    retention_days: int = Field(description="KMH_ANALYTICS_DAYS: searches older are deleted (0: none recorded)")
    searches: int
    no_match: int
    opened: int
    top: list[QueryStats] = Field(description="The most searched queries")
    no_match_queries: list[QueryStats] = Field(description="Queries that found nothing, most often first")
    no_click_queries: list[QueryStats] = Field(description="Queries that found passages of which no reader opened "
                                               "any, most searched first")
    weeks: list[WeekStats] = Field(description="Each ISO week that had searches, oldest first")

    @classmethod
    def from_record(cls, rec: SearchSummary, retention_days: int) -> Self:
        return cls(since=rec.since, until=rec.until, retention_days=retention_days, searches=rec.searches,
                   no_match=rec.no_match, opened=rec.opened, top=[QueryStats.from_record(q) for q in rec.top],
                   no_match_queries=[QueryStats.from_record(q) for q in rec.no_match_queries],
                   no_click_queries=[QueryStats.from_record(q) for q in rec.no_click_queries],
                   weeks=[WeekStats.from_record(w) for w in rec.weeks])


class SearchesDeleted(BaseModel):
    deleted: int = Field(description="How many recorded searches were deleted")
    before: date | None = Field(description="Searches made before this day (UTC) were deleted; null: all")


# -- topic review: the queue of document passages and recording segments, decisions in batches ---------------

if TYPE_CHECKING:
    from kmh.catalog import DecisionOutcome
    from services.topics import ReviewQueue, ReviewRow

LinkState = Literal["suggested", "confirmed", "rejected"]


class ReviewItem(BaseModel):
    """A topic link to review, with its passage: a document passage (page, section) or a recording segment
    (seconds, timestamp)."""

    passage_id: str
    topic_id: str
    topic_label: dict[str, str] = Field(description="By language: fr, en")
    state: LinkState
    score: float | None = Field(None, description="Suggestion score (similarity of the passage to the topic); null "
                                "for a link added by an organiser")
    decided_by: str | None = Field(None, description="The name of the key that decided it")
    decided_at: datetime | None = None
    kind: Literal["document", "recording"]
    doc_id: str
    title: str = Field(description="The document's (or recording's) title")
    doc_type: str
    page: int | None = None
    section: str | None = None
    start: float | None = Field(None, description="Documents: start character offset; recordings: start second")
    end: float | None = None
    timestamp: str | None = Field(None, description="Recordings: the segment, e.g. 00:12:34–00:13:20")
    session: int | None = None
    seminar_id: str | None = None
    speaker: str | None = None
    snippet: str = Field(description="The passage's first words (about 300 characters)")
    text: str = Field(description="The whole passage")
    url: str = Field(description="Where the passage opens: the file at its page, or the media at its second")

    @classmethod
    def from_row(cls, row: ReviewRow, topic: TopicRecord | None) -> ReviewItem:
        ref, lk = row.passage, row.link
        return cls(passage_id=ref.passage_id, topic_id=lk.topic_id,
                   topic_label={"fr": topic.label_fr, "en": topic.label_en} if topic else {}, state=lk.state,
                   score=lk.score, decided_by=lk.decided_by, decided_at=lk.decided_at, kind=ref.kind,
                   doc_id=ref.doc_id, title=ref.title, doc_type=ref.doc_type, page=ref.page, section=ref.section,
                   start=ref.start, end=ref.end, timestamp=ref.timestamp, session=ref.session,
                   seminar_id=ref.seminar_id, speaker=ref.speaker, snippet=row.snippet, text=ref.text,
                   url=passage_url(ref))


class ReviewPage(BaseModel):
    total: int = Field(description="Links matching the filters")
    limit: int
    offset: int
    items: list[ReviewItem]

    @classmethod
    def from_queue(cls, queue: ReviewQueue) -> ReviewPage:
        return cls(total=queue.total, limit=queue.limit, offset=queue.offset,
                   items=[ReviewItem.from_row(r, queue.topics.get(r.link.topic_id)) for r in queue.rows])


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passage_id: str = Field(max_length=100, description="A document passage or recording segment")
    topic_id: str = Field(max_length=64)
    state: Literal["confirmed", "rejected", "undo"] = Field(description="undo withdraws a decision: the link goes "
                                                            "back to suggested (or away, if it was added by hand)")


class ReviewDecisions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decisions: list[ReviewDecision] = Field(description="Applied in one transaction, all or none; at most 500")


class DecisionResult(BaseModel):
    index: int = Field(description="The decision's place in the request")
    passage_id: str
    topic_id: str
    previous: LinkState | None = Field(description="The link's state before; null when there was no link")
    state: LinkState | None = Field(description="Its state now; null when an undo removed a link added by hand")
    decided_by: str | None = None
    decided_at: datetime | None = None

    @classmethod
    def from_outcome(cls, index: int, out: DecisionOutcome) -> DecisionResult:
        lk = out.link
        return cls(index=index, passage_id=out.passage_id, topic_id=out.topic_id, previous=out.previous,
                   state=lk.state if lk else None, decided_by=lk.decided_by if lk else None,
                   decided_at=lk.decided_at if lk else None)


class DecisionsApplied(BaseModel):
    applied: int = Field(description="How many decisions were applied (all of them)")
    results: list[DecisionResult]


if TYPE_CHECKING:
    from search.similar import SimilarResults


class SimilarSource(BaseModel):
    """What the hits are like: a passage, or a document as a whole."""

    kind: Literal["passage", "document"]
    id: str = Field(description="The passage's or the document's id")
    doc_id: str
    title: str = Field(description="Its document's title")
    language: str | None
    passages: int = Field(description="The passages its vector is the mean of (1 for a passage)")


class SimilarResponse(BaseModel):
    source: SimilarSource
    hits: list[Hit] = Field(description="Passages of other documents and recording segments, at most one per "
                            "document (its best), best first, in any language; never the source's document or the "
                            "other editions of its publication, never a retracted document. ``relevance`` is the "
                            "cosine to the source; ``score`` the same, raised for another language than the source's "
                            "by the gap between the two relevance floors")

    @classmethod
    def from_results(cls, kind: Literal["passage", "document"], found: SimilarResults) -> Self:
        """What services.similar found."""
        return cls(source=SimilarSource(kind=kind, id=found.source_id, doc_id=found.doc_id, title=found.title,
                                         language=found.language, passages=found.passages),
                   hits=[Hit.from_record(h) for h in found.hits])


# -- citations (GET /api/documents/{id}/citation, /api/passages/{id}/citation) ---------------------------


class CslName(BaseModel):
    """A CSL name: an institution or a person, written as one string."""

    literal: str


class CslDate(BaseModel):
    date_parts: list[list[int]] = Field(alias="date-parts", description="[[year]], [[year, month]] or "
                                        "[[year, month, day]]: the precision the catalog has")


class CslItem(BaseModel):
    """One CSL-JSON item (https://citationstyles.org), as Zotero, Mendeley, Pandoc and citeproc read it."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(description="A stable ASCII key: first word of the author, year, document id, page or second")
    type: Literal["report", "book", "article-newspaper", "webpage", "speech", "document"]
    title: str
    author: list[CslName] | None = Field(None, description="The speaker of a recording segment, else the "
                                         "institution responsible (the document's source)")
    publisher: str | None = None
    issued: CslDate | None = None
    accessed: CslDate
    URL: str | None = Field(None, description="Absolute: the passage's page or second (#page=, #t=), the document's "
                            "file, or its URL on the website it was imported from")
    page: str | None = None
    language: str | None = None
    event_title: str | None = Field(None, alias="event-title", description="Recordings: the seminar")
    event: str | None = Field(None, description="The same, for CSL processors before CSL 1.0.2")
    medium: str | None = Field(None, description="Recordings: video or audio recording")
    collection_title: str | None = Field(None, alias="collection-title", description="The programme")
    keyword: str | None = Field(None, description="Topics confirmed by organisers, comma-separated")
    note: str | None = Field(None, description="Recordings: the session and the segment (00:06:21–00:06:42)")


class CitationFiles(BaseModel):
    text: str
    ris: str
    bibtex: str
    csl_json: str = Field(alias="csl-json")


class CitationFormats(BaseModel):
    """A reference in every format (``format=json``): what the pages' "Cite" control shows and offers."""

    model_config = ConfigDict(populate_by_name=True)

    key: str = Field(description="The BibTeX key and CSL id")
    lang: Literal["fr", "en"] = Field(description="The language of the words the reference adds")
    url: str | None = Field(description="The absolute link the reference gives")
    text: str = Field(description="Author (date). Title. [Seminar, session, time.] Publisher. Page. URL (accessed …)")
    ris: str
    bibtex: str
    csl_json: list[CslItem] = Field(alias="csl-json")
    files: CitationFiles = Field(description="Where each format downloads (this route with format= and lang=)")
