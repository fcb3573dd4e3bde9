"""Server backend: a Qdrant server or cluster through qdrant-client (or its local mode, for tests)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client import models as qm

from kmh.store.base import (
    DENSE,
    HNSW_EF_CONSTRUCT,
    HNSW_M,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    SENTENCES,
    SPARSE,
    Filter,
    Hit,
    RankRequest,
    StoredPassage,
    StoreError,
    StoreLockedError,
    VectorStore,
    as_values,
    check_sentences,
    check_sparse,
    check_value,
    f32,
    in_order,
    point_id,
    stored_passage,
    top_facets,
)

BATCH = 256


class QdrantServerStore(VectorStore):
    """Passages in one Qdrant collection.

    url: an http(s) URL for a server, or ":memory:" / a folder for qdrant-client's local mode.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        collection: str = "passages",
        dim: int = 384,
        timeout: int = 60,
    ):
        self.url = url
        self.collection = collection
        self.dim = dim
        self.local = not url.startswith(("http://", "https://"))
        try:
            if url == ":memory:":
                self.client = QdrantClient(location=":memory:")
            elif self.local:
                folder = Path(url).expanduser().resolve()
                folder.mkdir(parents=True, exist_ok=True)
                self.client = QdrantClient(path=str(folder))
            else:
                self.client = QdrantClient(url=url, api_key=api_key, timeout=timeout)
        except RuntimeError as exc:
            if "already accessed" in str(exc):
                raise StoreLockedError(url) from exc
            raise
        self._closed = False

    # lifecycle

    def ensure(self) -> None:
        c = self.client
        if not c.collection_exists(self.collection):
            c.create_collection(
                self.collection,
                vectors_config={
                    DENSE: qm.VectorParams(size=self.dim, distance=qm.Distance.COSINE),
                    # Only re-scores candidates: no HNSW graph, half-precision, on disk.
                    SENTENCES: qm.VectorParams(
                        size=self.dim,
                        distance=qm.Distance.COSINE,
                        multivector_config=qm.MultiVectorConfig(comparator=qm.MultiVectorComparator.MAX_SIM),
                        datatype=qm.Datatype.FLOAT16,
                        hnsw_config=qm.HnswConfigDiff(m=0),
                        on_disk=True,
                    ),
                },
                sparse_vectors_config={SPARSE: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
                hnsw_config=qm.HnswConfigDiff(m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT),
            )
        info = c.get_collection(self.collection)
        vectors = info.config.params.vectors
        size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
        if size != self.dim:
            raise StoreError(
                f"collection {self.collection!r} has no {self.dim}-dimensional {DENSE!r} vector (found {size})"
            )
        multi = vectors.get(SENTENCES) if isinstance(vectors, dict) else None
        self.has_sentences = multi is not None
        if multi is not None and (multi.size != self.dim or multi.multivector_config is None):
            raise StoreError(f"collection {self.collection!r} has a {SENTENCES!r} vector that is not a "
                             f"{self.dim}-dimensional multivector")
        sparse = (info.config.params.sparse_vectors or {}).get(SPARSE)
        if sparse is None or sparse.modifier != qm.Modifier.IDF:
            raise StoreError(f"collection {self.collection!r} has no {SPARSE!r} sparse vector with the IDF modifier")
        if self.local:
            return  # local mode has no payload indexes (it scans) and warns when asked for one
        existing = set(info.payload_schema or {})
        for name in KEYWORD_FIELDS:
            if name not in existing:
                c.create_payload_index(self.collection, name, qm.PayloadSchemaType.KEYWORD, wait=True)
        for name in INTEGER_FIELDS:
            if name not in existing:
                params = qm.IntegerIndexParams(type=qm.IntegerIndexType.INTEGER, lookup=True, range=True)
                c.create_payload_index(self.collection, name, params, wait=True)

    def optimize(self) -> None:
        """Nothing to do: the server builds its indexes in the background."""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.client.close()

    # writes

    def upsert(self, passages: Sequence[StoredPassage]) -> None:
        for start in range(0, len(passages), BATCH):
            points = [self._point(p) for p in passages[start : start + BATCH]]
            self.client.upsert(self.collection, points=points, wait=True)

    def _point(self, p: StoredPassage) -> qm.PointStruct:
        dense = [float(x) for x in p.dense]
        if len(dense) != self.dim:
            raise ValueError(f"passage {p.id}: dense vector has {len(dense)} dimensions, the store expects {self.dim}")
        s = check_sparse(p.sparse)
        vector: dict[str, Any] = {DENSE: dense, SPARSE: qm.SparseVector(indices=s.indices, values=s.values)}
        sentences = check_sentences(p, self.dim, self.has_sentences)
        if sentences is not None:
            vector[SENTENCES] = sentences
        return qm.PointStruct(id=point_id(p.id), vector=vector, payload=dict(p.payload))

    def delete(self, flt: Filter) -> None:
        if flt is None or flt.is_empty():
            raise ValueError("refusing to delete with an empty filter (it would delete every passage)")
        self.client.delete(self.collection, points_selector=qm.FilterSelector(filter=qdrant_filter(flt)), wait=True)

    def clear(self) -> None:
        self.client.delete(self.collection, points_selector=qm.FilterSelector(filter=qm.Filter()), wait=True)

    # reads

    def set_payload(self, ids: Sequence[str], values: dict[str, Any]) -> None:
        wanted = [point_id(h.id) for h in self.retrieve(ids, fields=())]  # the engines refuse unknown ids
        if wanted:
            self.client.set_payload(self.collection, payload=dict(values), points=wanted, wait=True)

    def _query(self, requests: list[RankRequest], with_payload: bool) -> list[list[Hit]]:
        batch = [
            qm.QueryRequest(
                query=_nearest(r),
                using=r.using,
                filter=qdrant_filter(r.flt, r.ids),
                params=_live_idf() if r.using == SPARSE else None,
                limit=r.limit,
                with_payload=with_payload,
                with_vector=False,
            )
            for r in requests
        ]
        answers = self.client.query_batch_points(self.collection, requests=batch)
        return [[Hit(str(p.id), f32(p.score), dict(p.payload or {})) for p in a.points] for a in answers]

    def retrieve(self, ids: Sequence[str], fields: Sequence[str] | None = None) -> list[Hit]:
        wanted = [point_id(i) for i in ids]
        if not wanted:
            return []
        payload = qm.PayloadSelectorInclude(include=list(fields)) if fields is not None else True
        records = self.client.retrieve(
            self.collection, list(dict.fromkeys(wanted)), with_payload=payload, with_vectors=False
        )
        return in_order(wanted, {str(r.id): dict(r.payload or {}) for r in records})

    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        wanted = list(dict.fromkeys(point_id(i) for i in ids))
        if not wanted:
            return {}
        records = self.client.retrieve(self.collection, wanted, with_payload=False, with_vectors=[DENSE])
        return {str(r.id): list(r.vector[DENSE]) for r in records}

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, list[list[float]]]:
        wanted = list(dict.fromkeys(point_id(i) for i in ids))
        if not wanted or not self.has_sentences:
            return {}
        records = self.client.retrieve(self.collection, wanted, with_payload=False, with_vectors=[SENTENCES])
        vectors = ((r.id, (r.vector or {}).get(SENTENCES)) for r in records)
        return {str(i): v for i, v in vectors if v}

    def export(self, batch: int = 256) -> Iterator[list[StoredPassage]]:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        return self._pages(batch)

    def _pages(self, batch: int) -> Iterator[list[StoredPassage]]:
        offset = None
        while True:
            records, offset = self.client.scroll(self.collection, limit=batch, offset=offset, with_payload=True,
                                                 with_vectors=True)
            if records:
                yield [stored_passage(r.id, r.vector, r.payload) for r in records]
            if offset is None:
                return

    def scroll(
        self, flt: Filter | None = None, limit: int = 100, offset: str | None = None
    ) -> tuple[list[Hit], str | None]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        records, nxt = self.client.scroll(
            self.collection,
            scroll_filter=qdrant_filter(flt),
            limit=limit,
            offset=point_id(offset) if offset is not None else None,
            with_payload=True,
            with_vectors=False,
        )
        hits = [Hit(str(r.id), 0.0, dict(r.payload or {})) for r in records]
        return hits, (str(nxt) if nxt is not None else None)

    def count(self, flt: Filter | None = None) -> int:
        return self.client.count(self.collection, count_filter=qdrant_filter(flt), exact=True).count

    def facet(self, key: str, flt: Filter | None = None, limit: int = 100) -> dict[Any, int]:
        f = qdrant_filter(flt)

        def fetch(n: int) -> list[tuple[Any, int]]:
            res = self.client.facet(self.collection, key, facet_filter=f, limit=n, exact=True)
            return [(h.value, int(h.count)) for h in res.hits]

        return top_facets(fetch, limit)


def _nearest(r: RankRequest) -> Any:
    if r.using == SPARSE:
        return qm.SparseVector(indices=r.vector.indices, values=r.vector.values)
    if r.using == SENTENCES:
        return [r.vector]  # a multivector query of one vector: MaxSim is its best cosine among the sentences
    return r.vector


def _live_idf() -> qm.SearchParams:
    """IDF over the live points, as the edge backend does (global IDF may still count deleted points)."""
    return qm.SearchParams(idf=qm.IdfCorpusParams(corpus=qm.Filter()))


def _match(key: str, value: Any) -> qm.MatchValue | qm.MatchAny:
    values = as_values(value)
    if values is None:
        check_value(key, value)
        return qm.MatchValue(value=value)
    for v in values:
        check_value(key, v)
    return qm.MatchAny(any=values)


def qdrant_filter(flt: Filter | None, ids: Sequence[str] | None = None) -> qm.Filter | None:
    """Translate a Filter, and optionally a set of point ids, into a qdrant-client Filter (None when empty)."""
    must: list[Any] = [] if ids is None else [qm.HasIdCondition(has_id=list(ids))]
    if flt is None or flt.is_empty():
        return qm.Filter(must=must) if must else None
    must += [qm.FieldCondition(key=k, match=_match(k, v)) for k, v in flt.equals.items()]
    for k, (gte, lte) in flt.ranges.items():
        if gte is not None or lte is not None:
            must.append(qm.FieldCondition(key=k, range=qm.Range(gte=gte, lte=lte)))
    must_not = [qm.FieldCondition(key=k, match=_match(k, v)) for k, v in flt.not_equals.items()]
    return qm.Filter(must=must or None, must_not=must_not or None)
