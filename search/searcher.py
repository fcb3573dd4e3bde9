"""Hybrid search over the passage index, returning cited passages."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from kmh.settings import Settings
from kmh.sparse import Bm25Encoder
from kmh.store import Filter, VectorStore

Mode = Literal["hybrid", "dense", "keyword"]


@dataclass
class Citation:
    page: int | None
    section: str | None
    start: int | None
    end: int | None


@dataclass
class SearchHit:
    passage_id: str
    doc_id: str
    title: str
    filename: str | None
    doc_type: str | None
    language: str | None
    published: str | None
    text: str
    score: float
    citation: Citation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Searcher:
    """Embeds the question once (e5 ``query:`` prefix + BM25 terms) and fuses dense and keyword hits."""

    def __init__(self, settings: Settings, catalog, store: VectorStore, *, text_embedder=None, sparse=None):
        from kmh.embedding import text_embedder as make_text_embedder

        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.embedder = text_embedder or make_text_embedder(settings)
        self.sparse = sparse or Bm25Encoder()

    def warm_up(self) -> None:
        self.embedder.warm_up()

    def search(
        self, query: str, *, k: int = 10, offset: int = 0, mode: Mode = "hybrid", flt: Filter | None = None
    ) -> list[SearchHit]:
        query = query.strip()
        if not query:
            raise ValueError("the query is empty")
        dense = self.embedder.run(text=query)["embedding"] if mode != "keyword" else None
        sparse = self.sparse.encode_query(query) if mode != "dense" else None
        flt = flt or Filter()
        flt = Filter(equals={**flt.equals, "status": "published"}, ranges=flt.ranges, not_equals=flt.not_equals)
        wanted = k + offset
        hits: list[SearchHit] = []
        fetch = wanted
        while True:
            raw = self.store.search(dense=dense, sparse=sparse, mode=mode, limit=fetch, flt=flt,
                                    prefetch_limit=max(100, fetch))
            hits = self._current(raw)
            if len(hits) >= wanted or len(raw) < fetch:
                break
            fetch *= 2  # stale passages of a replaced version were filtered out: ask for more
        return hits[offset:wanted]

    def _current(self, raw) -> list[SearchHit]:
        """Keep passages of each document's current version, with catalog titles."""
        docs: dict[str, Any] = {}
        out = []
        for h in raw:
            p = h.payload
            doc_id = p.get("doc_id")
            if doc_id not in docs:
                docs[doc_id] = self.catalog.get(doc_id)
            doc = docs[doc_id]
            if doc is None or doc.version != p.get("doc_version") or doc.status != "published":
                continue
            out.append(
                SearchHit(
                    passage_id=h.id,
                    doc_id=doc_id,
                    title=doc.title,
                    filename=doc.filename,
                    doc_type=doc.doc_type,
                    language=p.get("language"),
                    published=p.get("published"),
                    text=p.get("text", ""),
                    score=h.score,
                    citation=Citation(p.get("page"), p.get("section"), p.get("start"), p.get("end")),
                )
            )
        return out
