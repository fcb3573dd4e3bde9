"""Hybrid search over the passage index, returning cited passages with highlights and facets.

One query = one candidate pool: the fused dense + keyword ranking (hybrid: also the candidates' ranking by their
best-matching sentence, ``settings.sentence_ranking``), up to ``settings.search_pool``
passages of each document's current version, matching the filters. Facets count the pool's documents;
pages are cut from it (after the optional reranker and the optional grouping by document).
All methods are synchronous and safe to call from several threads at once.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any, Literal

from kmh.catalog.cache import RefCache
from kmh.catalog.catalog import DocumentRef
from kmh.catalog.visibility import PUBLIC, Audience
from kmh.settings import Settings
from kmh.language import guess_language
from kmh.sparse import Bm25Encoder, term_index
from kmh.store import Filter, Hit, SparseVector, VectorStore
from kmh.store.base import SPANS_FIELD
from search.filters import FilterValues
from search.snippets import Snippets, best_by_terms, body_sentences
from search.relevance import RelevanceJudge
from search.translate import QueryTranslator

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "keyword"]
MODES = ("hybrid", "dense", "keyword")
FACETS = ("doc_type", "language", "country", "year", "topic")
# Payload field counted by each facet; list fields count each of their values.
FACET_FIELDS = {"doc_type": "doc_type", "language": "language", "country": "countries", "year": "year",
                "topic": "topics"}


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
    page: int | None
    section: str | None
    # Character offsets in the parsed text (documents) or seconds in the recording (recordings).
    start: float | None
    end: float | None
    url: str = ""
    # Recordings: the seminar, the session number and its speaker where known, "00:12:34–00:13:20".
    seminar_id: str | None = None
    session: int | None = None
    speaker: str | None = None
    timestamp: str | None = None


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


def citation_url(doc_id: str, page: int | None) -> str:
    """Where the cited passage opens: the original file, at the page for PDFs."""
    base = f"/api/documents/{doc_id}/file"
    return f"{base}#page={page}" if page else base


def recording_url(doc_id: str, start: float | None) -> str:
    """Where a recording segment plays: the media, from its first second (a media fragment)."""
    base = f"/api/recordings/{doc_id}/media"
    return f"{base}#t={int(start)}" if start else base


def clock(seconds: float) -> str:
    """00:12:34 (hours always shown: seminar sessions last hours)."""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _citation(doc, p: dict[str, Any]) -> Citation:
    if p.get("kind") == "recording":
        start, end = p.get("start"), p.get("end")
        stamp = f"{clock(start)}–{clock(end)}" if start is not None and end is not None else None
        return Citation(None, p.get("section"), start, end, recording_url(doc.id, start), p.get("seminar_id"),
                        p.get("session"), p.get("speaker"), stamp)
    return Citation(p.get("page"), p.get("section"), p.get("start"), p.get("end"), citation_url(doc.id, p.get("page")))


# ---------------------------------------------------------------------------------------------- highlight

# Words, and numbers with their digit groups ("11.300", "11 300") or decimals, as the BM25 tokenizer reads them.
_WORD = re.compile(r"\d{1,3}(?:([.,\u00a0\u202f ])\d{3})(?:\1\d{3})*(?:[.,]\d+)?(?!\d)|\d+(?:[.,]\d+)?|[^\W\d_]+")


class Highlighter:
    """Marks query terms (analysed like BM25: stemmed in French and English, accents folded, case folded)
    and the best-matching sentence. The text is HTML-escaped; only the tags are markup."""

    LANGUAGES = ("fr", "en")

    def __init__(self, encoder: Bm25Encoder):
        self.encoder = encoder
        self._word_terms = lru_cache(maxsize=50_000)(self._terms_of_word)
        self._prefixes = lru_cache(maxsize=1024)(_prefix_pattern)

    def query_terms(self, q: str) -> frozenset[str]:
        return frozenset(t for lang in self.LANGUAGES for t in self.encoder.terms(q, lang))

    def _terms_of_word(self, word: str) -> frozenset[str]:
        return frozenset(t for lang in self.LANGUAGES for t in self.encoder.terms(word, lang))

    def highlight(self, text: str, terms: frozenset[str]) -> str:
        """The whole text, query terms in <mark>, the sentence holding the most of them (never a heading) in <b>."""
        marks = self.marks(text, terms)
        best = self._best_sentence(text, marks)
        return self.render(text, marks, best)

    def marks(self, text: str, terms: frozenset[str]) -> list[tuple[int, int, frozenset[str]]]:
        """(start, end, query terms) of each word of ``text`` that carries query terms, in text order."""
        marks: list[tuple[int, int, frozenset[str]]] = []
        if terms:
            word_terms = self._word_terms
            for start, end in self._candidates(text, terms):
                found = word_terms(text[start:end].lower())
                if not found.isdisjoint(terms):
                    marks.append((start, end, found & terms))
        return marks

    @staticmethod
    def render(text: str, marks, best: tuple[int, int] | None = None, start: int = 0, end: int | None = None) -> str:
        """text[start:end] HTML-escaped, the marks inside it in <mark>, ``best`` (clipped to it) in <b>."""
        end = len(text) if end is None else end
        tags: list[tuple[int, int, str]] = []  # (position, order, tag): closing tags before opening ones
        if best is not None and best[0] < end and best[1] > start:
            tags += [(max(best[0], start), 1, "<b>"), (min(best[1], end), 0, "</b>")]
        for s, e, _ in marks:
            if s >= start and e <= end:
                tags += [(s, 2, "<mark>"), (e, -1, "</mark>")]
        tags.sort()
        out, pos = [], start
        for at, _, tag in tags:
            out.append(html.escape(text[pos:at]))
            out.append(tag)
            pos = at
        out.append(html.escape(text[pos:end]))
        return "".join(out)

    def _candidates(self, text: str, terms: frozenset[str]) -> Iterator[tuple[int, int]]:
        """Spans of the words that may carry a query term: every word, or, when the query has no number, the
        words whose first three letters (lowercased, accents folded) start a query term, found by one regex
        over a folded copy of the text (same length, so the spans hold for the original)."""
        pattern = self._prefixes(terms)
        lowered = text.lower()
        if pattern is None or len(lowered) != len(text):
            return (m.span() for m in _WORD.finditer(text))
        return (m.span() for m in pattern.finditer(lowered.translate(_fold_table())))

    @staticmethod
    def _best_sentence(text: str, marks) -> tuple[int, int] | None:
        """The sentence holding the most distinct query terms, headings left out (search.snippets.best_by_terms)."""
        sentences = body_sentences(text)
        best = best_by_terms(sentences, marks)
        return sentences[best] if best is not None else None


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Lowercase Latin letters with accents -> their base letter, one character for one (œ, æ, ß stay)."""
    import unicodedata

    table = {}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(code))
        if len(base) > 1 and base[0].isascii() and base[0].isalpha():
            table[code] = base[0].lower()
    return table


def _prefix_pattern(terms: frozenset[str]) -> re.Pattern | None:
    """A regex of the words that may analyse to one of ``terms`` (see Highlighter._candidates); None when a term
    is a number (digit groups are read differently by the tokenizer: scan every word)."""
    if not terms or any(t[:1].isdigit() for t in terms):
        return None
    prefixes = set()
    for t in terms:
        # Stems are folded ("oeuvr"); the folded text keeps ligatures ("œuvre"): add their spellings too.
        for variant in {t, t.replace("oe", "œ"), t.replace("ae", "æ"), t.replace("ss", "ß")}:
            prefixes.add(variant[:3])
    alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
    return re.compile(rf"(?<![^\W\d_])(?:{alternatives})[^\W\d_]*")


# ------------------------------------------------------------------------------------------------ searcher


# Passages of the pool that search.relevance judges before the floor is applied (the best by the engine's score).
JUDGED = 5

# Payload fields the candidate pool reads (texts are fetched for the returned page only; titles, types and
# file names come from the catalog).
POOL_FIELDS = ("doc_id", "doc_version", "language", "published", "page", "section", "start", "end",
               "kind", "seminar_id", "session", "speaker", *FACET_FIELDS.values())


class Searcher:
    """Embeds the question once (e5 ``query:`` prefix, cached + BM25 terms) and fuses the dense, keyword and
    sentence rankings."""

    def __init__(self, settings: Settings, catalog, store: VectorStore, *, text_embedder=None, sparse=None):
        from kmh.embedding import text_embedder as make_text_embedder

        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.embedder = text_embedder or make_text_embedder(settings)
        self.sparse = sparse or Bm25Encoder()
        self.highlighter = Highlighter(self.sparse)
        self.judge = RelevanceJudge(store)
        self.translator = QueryTranslator(settings.dictionary_dir, self.sparse, weight=settings.translation_weight)
        self.snippets = Snippets(store, self.highlighter)
        self.refs = RefCache(catalog)
        self.filters = FilterValues(catalog, store)
        self.reranker = None
        self._embed_lock = threading.Lock()
        self._rerank_lock = threading.Lock()
        self.embed_calls = 0  # texts actually embedded (cache misses)
        size = settings.query_cache_size
        self._embed_cached = lru_cache(maxsize=size)(self._embed) if size else self._embed

    def warm_up(self) -> None:
        from kmh.embedding import configure_torch

        configure_torch(self.settings)  # KMH_TORCH_THREADS, before the model loads
        self.embedder.warm_up()
        self.refs.prime()
        if self.settings.translation_weight:
            self.translator.warm_up()
            if not self.translator.available("en", "fr"):
                log.warning("no bilingual dictionary in %s (dict-freedict-eng-fra, dict-freedict-fra-eng): keyword "
                            "search does not translate questions", self.settings.dictionary_dir)
        if self.settings.sentence_ranking and not self.store.has_sentences:
            log.warning("the vector store has no sentence vectors (it was created before they existed): hybrid "
                        "search fuses the dense and keyword rankings only; re-create the index to use them")
        if self.settings.reranker_model is not None and self.reranker is None:
            from sentence_transformers import CrossEncoder

            self.reranker = CrossEncoder(str(self.settings.reranker_model), device="cpu", local_files_only=True)

    # ---------------------------------------------------------------- embedding

    def _embed(self, text: str) -> tuple[float, ...]:
        with self._embed_lock:  # one encoder call at a time: the model is shared, and CPU-bound anyway
            self.embed_calls += 1
            return tuple(self.embedder.run(text=text)["embedding"])

    def embed_query(self, text: str) -> list[float]:
        """The query's dense vector, from the LRU cache when the same text was asked before."""
        return list(self._embed_cached(text))

    def keyword_query(self, q: str, language: str | None = None) -> SparseVector:
        """The BM25 query: the question's terms (weight 1, stemmed in French and in English) and, with a dictionary,
        the other language's translations of its words (``translation_weight``, shared among a word's senses).
        language: the question's, when known (else guessed)."""
        sparse = self.sparse.encode_query(q)
        if not self.settings.translation_weight:
            return sparse
        source = language or guess_language(q, ("fr", "en")) or "fr"
        extra = self.translator.translate(q, source, "en" if source == "fr" else "fr").terms
        if not extra:
            return sparse
        weights = dict(zip(sparse.indices, sparse.values))
        for term, value in extra.items():
            i = term_index(term)
            weights[i] = max(weights.get(i, 0.0), value)
        ordered = sorted(weights)
        return SparseVector(indices=ordered, values=[weights[i] for i in ordered])

    def cache_info(self):
        return self._embed_cached.cache_info() if hasattr(self._embed_cached, "cache_info") else None

    # ------------------------------------------------------------------- search

    def search(self, query: SearchQuery | str, **overrides: Any) -> SearchResults:
        """Search; a plain string is taken as ``SearchQuery(q=string, **overrides)``."""
        if isinstance(query, str):
            query = SearchQuery(q=query, **overrides)
        elif overrides:
            query = replace(query, **overrides)
        q = (query.q or "").strip()
        if not q:
            raise ValueError("the query is empty")
        if query.mode not in MODES:
            raise ValueError(f"unknown search mode {query.mode!r}: use 'hybrid', 'dense' or 'keyword'")
        if query.k < 1 or query.offset < 0:
            raise ValueError("k must be at least 1 and offset at least 0")
        if query.year_from is not None and query.year_to is not None and query.year_from > query.year_to:
            raise ValueError("year_from is after year_to")

        language = guess_language(q, ("fr", "en"))
        pool = self._pool(q, query.mode, query.to_filter(self.filters), language)
        judged = self._judge(q, query.mode, pool)
        # decided on the judged passages (the best by the engine's score), whatever the page asked for
        deciding = [x for x in pool if x[0].id in judged] or pool
        no_match = not pool or all(self._weak(x[0], query.mode, language, judged) for x in deciding)
        if no_match and not query.include_weak:
            pool = []  # nothing answers: say so rather than list what is merely closest
        facets = facet_counts(h.payload for h, _ in pool)
        if self.reranker is not None and pool:
            top = [self._hit(h, ref, mode=query.mode) for h, ref in pool[: self.settings.rerank_top]]
            self._fill_text(top)
            hits = self._rerank(q, top) + [self._hit(h, ref, mode=query.mode)
                                           for h, ref in pool[self.settings.rerank_top:]]
        else:
            hits = pool  # (hit, ref) pairs: only the page becomes SearchHits
        if query.group_by_document:
            seen: set[str] = set()
            hits = [h for h in hits if not (_doc_id(h) in seen or seen.add(_doc_id(h)))]
        available = len(hits)
        total = 0 if no_match else sum(1 for h in hits if not self._weak(h, query.mode, language, judged))
        page = [h if isinstance(h, SearchHit) else self._hit(*h, mode=query.mode)
                for h in hits[query.offset: query.offset + query.k]]
        spans = self._fill_text(page)
        dense = self.embed_query(q) if query.mode != "keyword" else None  # cached: _pool embedded it
        self.snippets.fill(page, self.highlighter.query_terms(q), dense, spans)
        for h in page:
            h.relevance = judged.get(h.passage_id, h.relevance)
            h.weak = no_match or self._weak(h, query.mode, language, judged)
        return SearchResults(hits=page, facets=facets, total=total, query=query, no_match=no_match,
                             available=available)

    def _floors(self, mode: Mode) -> bool:
        return mode != "keyword" and bool(self.settings.relevance_floor or self.settings.relevance_floor_cross)

    def _judge(self, q: str, mode: Mode, pool: list[tuple[Hit, Any]]) -> dict[str, float]:
        """search.relevance's judgement of the pool's JUDGED best passages by the engine's score: enough to tell
        whether anything clears the floor (the other hits keep the engine's score, read from an 8-bit copy)."""
        if not self._floors(mode) or not pool:
            return {}
        ranked = sorted(pool, key=lambda x: -(relevance(x[0], mode) or -1.0))[:JUDGED]
        return self.judge.judge(self.embed_query(q), [h.id for h, _ in ranked])

    def _weak(self, item: Hit | SearchHit | tuple[Hit, Any], mode: Mode, language: str | None,
              judged: dict[str, float]) -> bool:
        """Below the relevance floor: ``relevance_floor`` for a passage in the question's language,
        ``relevance_floor_cross`` for one in another (cosines across languages run lower); never in keyword mode,
        which has no cosine to compare. The relevance is search.relevance's where it was judged, else the
        engine's."""
        s = self.settings
        hit = item[0] if isinstance(item, tuple) else item
        passage_language = hit.language if isinstance(hit, SearchHit) else hit.payload.get("language")
        same = language is None or passage_language is None or passage_language == language
        floor = s.relevance_floor if same else s.relevance_floor_cross
        if not floor or mode == "keyword":
            return False
        pid = hit.passage_id if isinstance(hit, SearchHit) else hit.id
        value = judged.get(pid, hit.relevance if isinstance(hit, SearchHit) else relevance(hit, mode))
        return value is None or value < floor

    def _pool(self, q: str, mode: Mode, flt: Filter, language: str | None) -> list[tuple[Hit, Any]]:
        """The candidate pool: (hit, catalog record) of current-version passages, best first; ``language`` is
        the question's (guessed), or None."""
        s = self.settings
        dense = self.embed_query(q) if mode != "keyword" else None
        sparse = self.keyword_query(q, language) if mode != "dense" else None
        wanted = s.search_pool
        fetch = wanted
        sentences = s.sentence_ranking and mode == "hybrid"
        weights = tuple(s.fusion_weights) + ((s.sentence_weight,) if sentences else ())
        weights = None if all(w == 1.0 for w in weights) else weights
        while True:
            raw = self.store.search(dense=dense, sparse=sparse, mode=mode, limit=fetch, flt=flt, fusion=s.fusion,
                                    rrf_k=s.rrf_k, prefetch_limit=max(100, fetch), weights=weights,
                                    sentences=sentences, sentence_candidates=s.sentence_candidates,
                                    payload_fields=POOL_FIELDS,
                                    language=language if s.language_fusion and mode == "hybrid" else None,
                                    other_language_weight=s.other_language_weight)
            current = self._current(raw)
            if len(current) >= wanted or len(raw) < fetch:
                return current[:wanted]
            fetch *= 2  # stale passages of a replaced version were left out: ask for more

    def _current(self, raw: list[Hit]) -> list[tuple[Hit, DocumentRef]]:
        """Keep passages of each document's current, published version, with the document as the catalog has it
        now (titles and types can change without re-indexing); cached until the catalog changes."""
        refs = self.refs.get(h.payload.get("doc_id") for h in raw)
        out = []
        for h in raw:
            ref = refs.get(h.payload.get("doc_id"))
            if ref is not None and PUBLIC.sees(ref.status) and ref.version == h.payload.get("doc_version"):
                out.append((h, ref))
        return out

    def _fill_text(self, hits: list[SearchHit]) -> dict[str, Any]:
        """Passage texts and sentence spans are left out of the pool's payloads (the heaviest fields); fetch them for
        these hits, in one read. Returns the payloads' sentence spans by passage id."""
        if not hits:
            return {}
        found = {x.id: x.payload for x in self.store.retrieve([h.passage_id for h in hits], fields=("text", SPANS_FIELD))}
        for h in hits:
            if not h.text:
                h.text = found.get(h.passage_id, {}).get("text", "")
        return {i: p.get(SPANS_FIELD) for i, p in found.items()}

    def _hit(self, h: Hit, doc, *, highlight: str = "", score: float | None = None, mode: Mode | None = None
             ) -> SearchHit:
        p = h.payload
        return SearchHit(
            passage_id=h.id,
            doc_id=doc.id,
            title=doc.title,
            doc_type=doc.doc_type,
            language=p.get("language"),
            filename=doc.filename,
            published=p.get("published"),
            text=p.get("text", ""),
            highlight=highlight,
            snippet="",
            score=h.score if score is None else score,
            citation=_citation(doc, p),
            relevance=relevance(h, mode) if mode is not None else None,
        )

    def _rerank(self, q: str, hits: list[SearchHit]) -> list[SearchHit]:
        """Re-score the best ``rerank_top`` candidates with the cross-encoder; they come first, by its score."""
        top, rest = hits[: self.settings.rerank_top], hits[self.settings.rerank_top:]
        pairs = [(q, f"{h.title}\n{h.text}") for h in top]
        with self._rerank_lock:
            scores = self.reranker.predict(pairs, show_progress_bar=False)
        for h, sc in zip(top, scores):
            h.score = float(sc)
        order = sorted(range(len(top)), key=lambda i: -top[i].score)  # stable: ties keep the fused order
        return [top[i] for i in order] + rest

    # ------------------------------------------------------------------ passage

    def passage(self, passage_id: str, neighbours: int = 1, audience: Audience = PUBLIC,
                ) -> tuple[SearchHit, list[SearchHit], list[SearchHit]] | None:
        """A passage of a document's current version and up to ``neighbours`` passages before and after it,
        in document order; None when the id is unknown, belongs to an old version or to a document ``audience``
        may not see."""
        from kmh.ids import passage_id as make_id

        try:
            found = self.store.retrieve([passage_id])
        except ValueError:
            return None
        if not found:
            return None
        h = found[0]
        p = h.payload
        doc = self.catalog.visible(p.get("doc_id"), audience)
        if doc is None or doc.version != p.get("doc_version"):
            return None
        main = self._plain(h, doc)
        index = p.get("index")
        if index is None or neighbours <= 0:
            return main, [], []
        before_ids = [make_id(doc.id, doc.version, i) for i in range(max(0, index - neighbours), index)]
        after_ids = [make_id(doc.id, doc.version, i) for i in range(index + 1, index + 1 + neighbours)]
        got = {x.id: x for x in self.store.retrieve(before_ids + after_ids)}
        before = [self._plain(got[i], doc) for i in before_ids if i in got]
        after = [self._plain(got[i], doc) for i in after_ids if i in got]
        return main, before, after

    def _plain(self, h: Hit, doc) -> SearchHit:
        hit = self._hit(h, doc, score=0.0)
        hit.highlight = html.escape(hit.text)
        hit.snippet = self.snippets.lead(hit.text, h.payload.get(SPANS_FIELD), hit.citation.section)
        return hit


def relevance(hit: Hit, mode: Mode) -> float | None:
    """How well a pooled passage answers the question, comparable across questions: its MaxSim (the best cosine
    among its own vector and its sentences') where it was ranked by sentences, else its dense cosine; None when
    neither was computed (keyword mode, or a passage only the keyword ranking found beyond the scored ones)."""
    if mode == "keyword":
        return None
    if mode == "dense":
        return hit.score
    signals = hit.signals or {}
    found = signals.get("sentences", signals.get("dense"))
    return None if found is None else float(found)


def _doc_id(item: SearchHit | tuple[Hit, DocumentRef]) -> str:
    return item.doc_id if isinstance(item, SearchHit) else item[1].id


def facet_counts(payloads) -> dict[str, dict[str, int]]:
    """Document counts by doc_type, language, country, year and topic: a document counts once for each value its
    passages in the pool have, however many they are; most frequent first, ties by value."""
    docs: dict[str, dict[str, set]] = {name: {} for name in FACETS}
    for item in payloads:
        p = item.payload if hasattr(item, "payload") else item
        doc = p.get("doc_id") or id(p)  # a payload without its document counts as one
        for name, key in FACET_FIELDS.items():
            value = p.get(key)
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                if v is not None and v != "":
                    docs[name].setdefault(str(v), set()).add(doc)
    return {name: dict(sorted(((v, len(d)) for v, d in by_value.items()), key=lambda kv: (-kv[1], kv[0])))
            for name, by_value in docs.items()}
