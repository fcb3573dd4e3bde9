"""Embedded backend: one qdrant-edge shard in a folder, owned by one process at a time."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from kmh.store.base import (
    DENSE,
    HNSW_EF_CONSTRUCT,
    HNSW_M,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    SENTENCE_QUANTILE,
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
    in_order,
    point_id,
    stored_passage,
    top_facets,
)

LOCK_FILE = ".kmh-store.lock"
CONFIG_FILE = "edge_config.json"
BATCH = 256


class EdgeStore(VectorStore):
    """Passages in a qdrant-edge shard at ``path`` (created by ensure() when absent)."""

    def __init__(self, path: Path | str, *, dim: int = 384):
        self.path = Path(path).expanduser().resolve()
        self.dim = dim
        self._shard: Any = None
        self._lock_fd: int | None = None
        self._lock()
        try:
            if self._has_shard():
                stored = self._stored_vectors()
                self.has_sentences = stored is None or SENTENCES in stored  # False for shards made before it
                self._shard = self._call(qe.EdgeShard.load, str(self.path), self._config())
            else:
                self.has_sentences = True
        except BaseException:
            self._unlock()
            raise

    # lifecycle

    def _lock(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLockedError(self.path) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _has_shard(self) -> bool:
        return (self.path / CONFIG_FILE).exists() or (self.path / "segments").exists()

    def _stored_vectors(self) -> set[str] | None:
        """Names of the dense vectors of the existing shard, from its saved config (None when unreadable)."""
        try:
            return set(json.loads((self.path / CONFIG_FILE).read_text())["vectors"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _config(self) -> Any:
        # Everything a search reads stays in memory (Pinned), not in the page cache: a search right after the
        # server starts, or after other work evicted the cache, is as fast as the next one.
        vectors = {DENSE: qe.EdgeVectorParams(size=self.dim, distance=qe.Distance.Cosine, memory=qe.Memory.Pinned)}
        if self.has_sentences:
            # Only re-scores candidates: no HNSW graph; scored on an 8-bit copy kept in memory (a quarter of
            # float32), the half-precision originals stay on disk.
            vectors[SENTENCES] = qe.EdgeVectorParams(
                size=self.dim,
                distance=qe.Distance.Cosine,
                multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim),
                datatype=qe.VectorStorageDatatype.Float16,
                hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=10_000),
                quantization_config=qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=SENTENCE_QUANTILE,
                                                                always_ram=True),
                memory=qe.Memory.Cold,
            )
        return qe.EdgeConfig(
            vectors=vectors,
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf, memory=qe.Memory.Pinned)},
            hnsw_config=qe.HnswIndexConfig(m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=10_000,
                                           memory=qe.Memory.Pinned),
            # Payloads stay in memory: every search reads those of its whole candidate pool.
            payload_memory=qe.Memory.Pinned,
        )

    def _call(self, fn: Any, *args: Any) -> Any:
        """Call into qdrant-edge, turning its errors into StoreLockedError / StoreError."""
        try:
            return fn(*args)
        except Exception as exc:
            text = str(exc)
            if "WouldBlock" in text or "Resource temporarily unavailable" in text:
                raise StoreLockedError(self.path) from exc
            if "Incompatible" in text or "incompatible" in text:
                raise StoreError(f"the vector store at {self.path} does not match this configuration: {text}") from exc
            raise StoreError(f"qdrant-edge: {text}") from exc

    @property
    def shard(self) -> Any:
        if self._shard is None:
            if self._lock_fd is None:
                raise StoreError(f"the vector store at {self.path} is closed")
            raise StoreError(f"the vector store at {self.path} has no collection yet: call ensure()")
        return self._shard

    def ensure(self) -> None:
        if self._lock_fd is None:
            raise StoreError(f"the vector store at {self.path} is closed")
        if self._shard is None:
            self._shard = self._call(qe.EdgeShard.create, str(self.path), self._config())
        existing = set(self.shard.info().payload_schema)
        for name in KEYWORD_FIELDS:
            if name not in existing:
                self._update(qe.UpdateOperation.create_field_index(name, qe.KeywordIndexParams()))
        for name in INTEGER_FIELDS:
            if name not in existing:
                params = qe.IntegerIndexParams(lookup=True, range=True)
                self._update(qe.UpdateOperation.create_field_index(name, params))

    def optimize(self) -> None:
        self._call(self.shard.optimize)
        self._call(self.shard.flush)

    def close(self) -> None:
        shard, self._shard = self._shard, None
        try:
            if shard is not None:
                shard.flush()
                shard.close()
        finally:
            self._unlock()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # writes

    def _update(self, op: Any) -> None:
        self._call(self.shard.update, op)

    def upsert(self, passages: Sequence[StoredPassage]) -> None:
        for start in range(0, len(passages), BATCH):
            points = [self._point(p) for p in passages[start : start + BATCH]]
            self._update(qe.UpdateOperation.upsert_points(points))

    def _point(self, p: StoredPassage) -> Any:
        dense = [float(x) for x in p.dense]
        if len(dense) != self.dim:
            raise ValueError(f"passage {p.id}: dense vector has {len(dense)} dimensions, the store expects {self.dim}")
        sparse = check_sparse(p.sparse)
        vector = {DENSE: dense, SPARSE: qe.SparseVector(sparse.indices, sparse.values)}
        sentences = check_sentences(p, self.dim, self.has_sentences)
        if sentences is not None:
            vector[SENTENCES] = sentences
        return qe.Point(id=point_id(p.id), vector=vector, payload=dict(p.payload))

    def delete(self, flt: Filter) -> None:
        if flt is None or flt.is_empty():
            raise ValueError("refusing to delete with an empty filter (it would delete every passage)")
        self._update(qe.UpdateOperation.delete_points_by_filter(edge_filter(flt)))

    def set_payload(self, ids: Sequence[str], values: dict[str, Any]) -> None:
        wanted = [point_id(h.id) for h in self.retrieve(ids, fields=())]  # the engines refuse unknown ids
        if wanted:
            self._update(qe.UpdateOperation.set_payload(wanted, dict(values)))

    def clear(self) -> None:
        self._update(qe.UpdateOperation.delete_points_by_filter(qe.Filter()))

    # reads

    def _query(self, requests: list[RankRequest], with_payload: bool) -> list[list[Hit]]:
        batch = [
            qe.QueryRequest(
                limit=r.limit,
                query=_nearest(r),
                filter=edge_filter(r.flt, r.ids),
                params=_params(r.using),
                with_payload=with_payload,
                with_vector=False,
            )
            for r in requests
        ]
        answers = self._call(self.shard.query_batch, qe.QueryBatchRequest(batch))
        # Scores are float32 in the engine and reach Python exactly: no rounding needed (unlike local mode).
        return [[Hit(str(p.id), p.score, dict(p.payload or {})) for p in points] for points in answers]

    def retrieve(self, ids: Sequence[str], fields: Sequence[str] | None = None) -> list[Hit]:
        wanted = [point_id(i) for i in ids]
        if not wanted:
            return []
        payload = qe.PayloadSelector.Include(list(fields)) if fields is not None else True
        records = self._call(self.shard.retrieve, list(dict.fromkeys(wanted)), payload, False)
        return in_order(wanted, {str(r.id): r.payload or {} for r in records})

    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        wanted = list(dict.fromkeys(point_id(i) for i in ids))
        if not wanted:
            return {}
        records = self._call(self.shard.retrieve, wanted, False, [DENSE])
        return {str(r.id): list(r.vector[DENSE]) for r in records}

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, list[list[float]]]:
        wanted = list(dict.fromkeys(point_id(i) for i in ids))
        if not wanted or not self.has_sentences:
            return {}
        records = self._call(self.shard.retrieve, wanted, False, [SENTENCES])
        vectors = ((r.id, (r.vector or {}).get(SENTENCES)) for r in records)  # each record's vectors read once
        return {str(i): v for i, v in vectors if v}

    def export(self, batch: int = 256) -> Iterator[list[StoredPassage]]:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        return self._pages(batch)

    def _pages(self, batch: int) -> Iterator[list[StoredPassage]]:
        offset = None
        while True:
            req = qe.ScrollRequest(offset=offset, limit=batch, filter=None, with_payload=True, with_vector=True)
            records, offset = self._call(self.shard.scroll, req)
            if records:
                yield [stored_passage(r.id, r.vector, r.payload) for r in records]
            if offset is None:
                return

    def scroll(
        self, flt: Filter | None = None, limit: int = 100, offset: str | None = None
    ) -> tuple[list[Hit], str | None]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        req = qe.ScrollRequest(
            offset=point_id(offset) if offset is not None else None,
            limit=limit,
            filter=edge_filter(flt),
            with_payload=True,
            with_vector=False,
        )
        records, nxt = self._call(self.shard.scroll, req)
        hits = [Hit(str(r.id), 0.0, dict(r.payload or {})) for r in records]
        return hits, (str(nxt) if nxt is not None else None)

    def count(self, flt: Filter | None = None) -> int:
        return int(self._call(self.shard.count, qe.CountRequest(exact=True, filter=edge_filter(flt))))

    def facet(self, key: str, flt: Filter | None = None, limit: int = 100) -> dict[Any, int]:
        f = edge_filter(flt)

        def fetch(n: int) -> list[tuple[Any, int]]:
            req = qe.FacetRequest(key=key, limit=n, exact=True, filter=f)
            return [(h.value, int(h.count)) for h in self._call(self.shard.facet, req)]

        return top_facets(fetch, limit)


def _nearest(r: RankRequest) -> Any:
    if r.using == SPARSE:
        vector = qe.SparseVector(r.vector.indices, r.vector.values)
    elif r.using == SENTENCES:
        vector = [r.vector]  # a multivector query of one vector: MaxSim is its best cosine among the sentences
    else:
        vector = r.vector
    return qe.Query.Nearest(vector, using=r.using)


def _params(using: str) -> Any:
    if using == SPARSE:
        return _live_idf()
    if using == SENTENCES:  # the 8-bit copy only: re-reading the originals from disk would cost more than it gains
        return qe.SearchParams(quantization=qe.QuantizationSearchParams(rescore=False))
    return None


def _live_idf() -> Any:
    """IDF over the live points: the default reads the sparse index, which still counts deleted or replaced points."""
    return qe.SearchParams(idf=qe.IdfParams(corpus=qe.Filter()))


def _match(key: str, value: Any) -> Any:
    values = as_values(value)
    if values is None:
        check_value(key, value)
        return qe.MatchValue(value)
    for v in values:
        check_value(key, v)
    return qe.MatchAny(values)


def edge_filter(flt: Filter | None, ids: Sequence[str] | None = None) -> Any:
    """Translate a Filter, and optionally a set of point ids, into a qdrant-edge Filter (None when empty)."""
    must: list[Any] = [] if ids is None else [qe.HasIdCondition(point_ids=set(ids))]
    if flt is None or flt.is_empty():
        return qe.Filter(must=must) if must else None
    must += [qe.FieldCondition(key=k, match=_match(k, v)) for k, v in flt.equals.items()]
    for k, (gte, lte) in flt.ranges.items():
        if gte is not None or lte is not None:
            must.append(qe.FieldCondition(key=k, range=qe.RangeFloat(gte=gte, lte=lte)))
    must_not = [qe.FieldCondition(key=k, match=_match(k, v)) for k, v in flt.not_equals.items()]
    return qe.Filter(must=must or None, must_not=must_not or None)
