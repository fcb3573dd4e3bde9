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
import threading
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from kmh.catalog.cache import RefCache
from kmh.catalog.catalog import DocumentRecord, DocumentRef
from kmh.catalog.visibility import PUBLIC, Audience
from kmh.dates import clock
from kmh.settings import Settings
from kmh.language import guess_language
from kmh.sparse import Bm25Encoder, term_index
from kmh.store import Filter, Hit, SparseVector, VectorStore
from kmh.store.base import CUES_FIELD, SPANS_FIELD
from search.filters import FilterValues
from search.editions import one_edition_per_publication
from search.highlight import Highlighter
from search.moments import at_moment
from search.relevance import RelevanceJudge
from search.results import MODES, Citation, Mode, SearchHit, SearchQuery, SearchResults
from search.snippets import Snippets
from search.translate import QueryTranslator

if TYPE_CHECKING:
    from kmh.catalog import Catalog

log = logging.getLogger(__name__)

FACETS = ("doc_type", "language", "country", "year", "topic")
# Payload field counted by each facet; list fields count each of their values.
FACET_FIELDS = {"doc_type": "doc_type", "language": "language", "country": "countries", "year": "year",
                "topic": "topics"}


def _citation(p: dict[str, Any]) -> Citation:
    """The citation of a passage, from its payload."""
    if p.get("kind") == "recording":
        start, end = p.get("start"), p.get("end")
        stamp = f"{clock(start)}–{clock(end)}" if start is not None and end is not None else None
        return Citation(page=None, section=p.get("section"), start=start, end=end, kind="recording",
                        seminar_id=p.get("seminar_id"), session=p.get("session"), speaker=p.get("speaker"),
                        timestamp=stamp, window_start=start, window_end=end)
    return Citation(page=p.get("page"), section=p.get("section"), start=p.get("start"), end=p.get("end"),
                    web_url=p.get("web_url"))


# ------------------------------------------------------------------------------------------------ searcher


# Passages of the pool that search.relevance judges before the floor is applied (the best by the engine's score).
JUDGED = 5

# Payload fields the candidate pool reads (texts are fetched for the returned page only; titles, types and
# file names come from the catalog).
POOL_FIELDS = ("doc_id", "doc_version", "language", "published", "page", "section", "start", "end",
               "kind", "seminar_id", "session", "speaker", "web_url", "ocr", *FACET_FIELDS.values())


class Searcher:
    """Embeds the question once (e5 ``query:`` prefix, cached + BM25 terms) and fuses the dense, keyword and
    sentence rankings."""

    def __init__(self, settings: Settings, catalog: Catalog, store: VectorStore, *, text_embedder=None,
                 sparse: Bm25Encoder | None = None):
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
        hits = self._one_edition(hits, pool, query.reader_lang or language)
        if query.group_by_document:
            seen: set[str] = set()
            hits = [h for h in hits if not (_doc_id(h) in seen or seen.add(_doc_id(h)))]
        available = len(hits)
        total = 0 if no_match else sum(1 for h in hits if not self._weak(h, query.mode, language, judged))
        page = [h if isinstance(h, SearchHit) else self._hit(*h, mode=query.mode)
                for h in hits[query.offset: query.offset + query.k]]
        found = self._fill_text(page)
        dense = self.embed_query(q) if query.mode != "keyword" else None  # cached: _pool embedded it
        best = self.snippets.fill(page, self.highlighter.query_terms(q), dense,
                                  {i: p.get(SPANS_FIELD) for i, p in found.items()})
        for h in page:  # a recording hit starts at the second its best sentence is said
            span = best.get(h.passage_id)
            at_moment(h.citation, h.text, span[0] if span else None, found.get(h.passage_id, {}).get(CUES_FIELD))
        self._other_editions(page, pool)
        for h in page:
            h.relevance = judged.get(h.passage_id, h.relevance)
            h.weak = no_match or self._weak(h, query.mode, language, judged)
        return SearchResults(hits=page, facets=facets, total=total, query=query, no_match=no_match,
                             available=available)

    @staticmethod
    def _one_edition(hits: list, pool: list[tuple[Hit, DocumentRef]], preferred: str | None) -> list:
        """One edition per publication among ``hits`` (search.editions), ``preferred`` language first."""
        refs = {ref.id: ref for _, ref in pool}
        publication_of = {i: r.publication_id for i, r in refs.items() if r.publication_id is not None}
        if not publication_of:
            return hits
        return one_edition_per_publication(hits, _doc_id, publication_of, {i: r.language for i, r in refs.items()},
                                           preferred)

    def _other_editions(self, page: list[SearchHit], pool: list[tuple[Hit, DocumentRef]]) -> None:
        """Link each hit to the other editions of its publication that the public may read (one catalog query, and
        none when no hit has editions)."""
        refs = {ref.id: ref for _, ref in pool}
        publication_of = {h.doc_id: refs[h.doc_id].publication_id for h in page
                          if h.doc_id in refs and refs[h.doc_id].publication_id is not None}
        if not publication_of:
            return
        editions = self.catalog.publications(publication_of.values(), PUBLIC)
        for h in page:
            if h.doc_id in publication_of:
                h.other_editions = [e for e in editions.get(publication_of[h.doc_id], []) if e.id != h.doc_id]

    def _floors(self, mode: Mode) -> bool:
        return mode != "keyword" and bool(self.settings.relevance_floor or self.settings.relevance_floor_cross)

    def _judge(self, q: str, mode: Mode, pool: list[tuple[Hit, DocumentRef]]) -> dict[str, float]:
        """search.relevance's judgement of the pool's JUDGED best passages by the engine's score: enough to tell
        whether anything clears the floor (the other hits keep the engine's score, read from an 8-bit copy)."""
        if not self._floors(mode) or not pool:
            return {}
        ranked = sorted(pool, key=lambda x: -(relevance(x[0], mode) or -1.0))[:JUDGED]
        return self.judge.judge(self.embed_query(q), [h.id for h, _ in ranked])

    def _weak(self, item: Hit | SearchHit | tuple[Hit, DocumentRef], mode: Mode, language: str | None,
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

    def _pool(self, q: str, mode: Mode, flt: Filter, language: str | None) -> list[tuple[Hit, DocumentRef]]:
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

    def _fill_text(self, hits: list[SearchHit]) -> dict[str, dict[str, Any]]:
        """Passage texts, sentence spans and cue starts are left out of the pool's payloads (the heaviest fields);
        fetch them for these hits, in one read. Returns those payloads by passage id."""
        if not hits:
            return {}
        found = {x.id: x.payload for x in self.store.retrieve([h.passage_id for h in hits],
                                                              fields=("text", SPANS_FIELD, CUES_FIELD))}
        for h in hits:
            if not h.text:
                h.text = found.get(h.passage_id, {}).get("text", "")
        return found

    def _hit(self, h: Hit, doc: DocumentRef | DocumentRecord, *, highlight: str = "", score: float | None = None, mode: Mode | None = None
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
            citation=_citation(p),
            relevance=relevance(h, mode) if mode is not None else None,
            ocr=p.get("ocr"),
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

    def _plain(self, h: Hit, doc: DocumentRecord) -> SearchHit:
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
