"""More like this: the passages closest to a passage, or to a whole document, in any language.

A passage is compared by its stored dense vector (e5, multilingual), a document by the normalised mean of its
current passages' vectors. The nearest passages of other documents' current, published versions come back as
search hits (citations, snippets), at most one per document (its best passage), best first: what the reader is
reading is never listed again, nor the other language editions of its publication (the same text translated is
not "more like this"; they are linked as editions already), and of another publication with several editions
only one is shown (search.editions).

e5's cosines run higher between two texts in one language than across languages: passages in the source's
language and in the others are ranked apart, and the others' cosines raised by the gap between the two relevance
floors (``relevance_floor - relevance_floor_cross``, calibrated on questions) before they are merged, as search
does for questions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from kmh.catalog.visibility import PUBLIC, Audience
from kmh.store import Filter, Hit
from kmh.store.base import CUES_FIELD, SPANS_FIELD
from search.moments import at_moment

if TYPE_CHECKING:
    from kmh.catalog.catalog import DocumentRef
    from search.results import SearchHit
    from search.searcher import Searcher

MAX_K = 20
# Candidates asked of the engine per hit wanted (several passages of one document take one place), at first.
FETCH_PER_HIT = 6
FETCH_MIN = 40
FETCH_MAX = 2000


@dataclass
class SimilarResults:
    """The hits like ``source_id`` (a passage or a document id) of document ``doc_id``; ``language`` is the
    source's; ``passages`` counts the passages its vector was made of (1 for a passage)."""

    source_id: str
    doc_id: str
    title: str
    language: str | None
    hits: list[SearchHit] = field(default_factory=list)
    passages: int = 1


class SimilarFinder:
    """Finds what is like a passage or a document, with a searcher's store, catalog cache and snippets; keeps the
    vectors of the latest ``cache_size`` documents asked (by id and version). Safe to call from several threads."""

    def __init__(self, searcher: Searcher, cache_size: int = 256):
        self.searcher = searcher
        self.cache_size = cache_size
        self._vectors: OrderedDict[tuple[str, int], tuple[np.ndarray, int]] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ sources

    def to_passage(self, passage_id: str, *, k: int = 5, lang: str | None = None, doc_type: str | None = None,
                   reader_lang: str | None = None, audience: Audience = PUBLIC) -> SimilarResults | None:
        """The passages most like this one; None when it is unknown, of an old version or of a document
        ``audience`` may not see."""
        store = self.searcher.store
        try:
            found = store.retrieve([passage_id], fields=("doc_id", "doc_version", "language"))
        except ValueError:
            return None
        if not found:
            return None
        p = found[0].payload
        doc = self.searcher.catalog.visible(p.get("doc_id"), audience)
        if doc is None or doc.version != p.get("doc_version"):
            return None
        vector = store.dense_vectors([found[0].id]).get(found[0].id)
        if vector is None:
            return None
        out = SimilarResults(found[0].id, doc.id, doc.title, p.get("language") or doc.language)
        out.hits = self._nearest(np.asarray(vector, dtype=np.float32), doc.id, out.language, k=k, lang=lang,
                                 doc_type=doc_type, reader_lang=reader_lang)
        return out

    def to_document(self, doc_id: str, *, k: int = 5, lang: str | None = None, doc_type: str | None = None,
                    reader_lang: str | None = None, audience: Audience = PUBLIC) -> SimilarResults | None:
        """The passages of other documents most like this document as a whole (one per document); None when it is
        unknown or ``audience`` may not see it. A document without passages is like nothing."""
        doc = self.searcher.catalog.visible(doc_id, audience)
        if doc is None:
            return None
        vector, count = self.document_vector(doc.id, doc.version)
        out = SimilarResults(doc.id, doc.id, doc.title, doc.language, passages=count)
        if count:
            out.hits = self._nearest(vector, doc.id, doc.language, k=k, lang=lang, doc_type=doc_type,
                                     reader_lang=reader_lang)
        return out

    def document_vector(self, doc_id: str, version: int) -> tuple[np.ndarray, int]:
        """The normalised mean of the (normalised) dense vectors of this version's passages, and their number."""
        key = (doc_id, version)
        with self._lock:
            if key in self._vectors:
                self._vectors.move_to_end(key)
                return self._vectors[key]
        store = self.searcher.store
        ids = store.ids(Filter(equals={"doc_id": doc_id, "doc_version": version}))
        vectors = store.dense_vectors(ids)
        if not vectors:
            found = (np.zeros(store.dim, dtype=np.float32), 0)
        else:
            m = np.asarray(list(vectors.values()), dtype=np.float32)
            m /= np.linalg.norm(m, axis=1, keepdims=True).clip(1e-12)
            mean = m.mean(axis=0)
            found = (mean / (np.linalg.norm(mean) or 1.0), len(vectors))
        with self._lock:
            if self.cache_size:
                self._vectors[key] = found
                while len(self._vectors) > self.cache_size:
                    self._vectors.popitem(last=False)
        return found

    # ----------------------------------------------------------------- ranking

    def _nearest(self, vector: np.ndarray, doc_id: str, language: str | None, *, k: int, lang: str | None,
                 doc_type: str | None, reader_lang: str | None) -> list[SearchHit]:
        """Up to ``k`` hits, one per document, of current published versions other than ``doc_id``'s publication."""
        s = self.searcher
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be between 1 and {MAX_K}")
        exclude = [e.id for e in s.catalog.editions(doc_id)] or [doc_id]
        equals: dict[str, str] = {"status": "published"}
        if lang:
            equals["language"] = lang
        if doc_type:
            equals["doc_type"] = doc_type
        base = Filter(equals=equals, not_equals={"doc_id": exclude})
        bonus = max(0.0, s.settings.relevance_floor - s.settings.relevance_floor_cross)
        if language and not lang and bonus:
            sides = [(replace(base, equals={**equals, "language": language}), 0.0),
                     (replace(base, not_equals={**base.not_equals, "language": language}), bonus)]
        else:
            sides = [(base, 0.0)]
        dense = [float(x) for x in vector]
        fetch = max(FETCH_MIN, FETCH_PER_HIT * k)
        while True:
            pool: list[tuple[Hit, DocumentRef, float]] = []
            complete = True
            for flt, extra in sides:
                raw = s.store.search(dense=dense, mode="dense", limit=fetch, flt=flt, payload_fields=_FIELDS)
                complete = complete and len(raw) < fetch
                pool += [(h, ref, h.score + extra) for h, ref in s._current(raw)]
            pool.sort(key=lambda x: (-x[2], x[0].id))
            best: dict[str, tuple[Hit, DocumentRef, float]] = {}
            for item in pool:
                best.setdefault(item[1].id, item)
            ranked = [(h, ref) for h, ref, _ in best.values()]  # one per document, best first (dicts keep order)
            ranked = s._one_edition(ranked, ranked, reader_lang or language)
            if len(ranked) >= k or complete or fetch >= FETCH_MAX:
                break
            fetch *= 2  # a few documents took the candidates: ask for more
        scores = {h.id: score for h, _, score in best.values()}
        ranked = ranked[:k]
        page = [s._hit(h, ref, score=scores[h.id], mode="dense") for h, ref in ranked]
        found = s._fill_text(page)
        # the sentence closest to the source, in bold; a recording segment starts at the second it is said
        best = s.snippets.fill(page, frozenset(), dense, {i: p.get(SPANS_FIELD) for i, p in found.items()})
        for h in page:
            span = best.get(h.passage_id)
            at_moment(h.citation, h.text, span[0] if span else None, found.get(h.passage_id, {}).get(CUES_FIELD))
        s._other_editions(page, ranked)
        return page


# The payload fields a candidate carries (texts are read for the hits returned only).
_FIELDS = ("doc_id", "doc_version", "language", "published", "page", "section", "start", "end", "kind",
           "seminar_id", "session", "speaker", "web_url", "ocr")
