"""The vector store interface shared by the embedded (qdrant-edge) and server (Qdrant) backends."""

from __future__ import annotations

import re
import struct
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

SearchMode = Literal["hybrid", "dense", "keyword"]
Fusion = Literal["rrf", "dbsf"]

DENSE = "dense"
SPARSE = "bm25"
# Multivector of each passage: its own dense vector and one per sentence, compared by MaxSim (re-scoring only).
SENTENCES = "sentences"
# Payload field: the sentence spans of the passage text, flat (start0, end0, start1, end1, ...), in the order of the
# multivector's sentence vectors (which follow the passage's own vector): snippets and relevance read them.
SPANS_FIELD = "sentence_spans"
# Payload field of a recording passage: where each of its cues starts, flat (offset0, second0, offset1, second1, ...):
# the character offset in the passage text and the second in the recording (search.moments reads them).
CUES_FIELD = "cue_starts"
# Its values are quantized to 8 bits between these quantiles of all its values (Qdrant's scalar quantization).
SENTENCE_QUANTILE = 0.99
KEYWORD_FIELDS = ("doc_id", "language", "doc_type", "countries", "programme", "topics", "kind", "status")
INTEGER_FIELDS = ("doc_version", "year", "page")
HNSW_M = 16
HNSW_EF_CONSTRUCT = 100
# Extra hits asked from the engine, so that ties at the cut are ordered by id the same way on both backends
# (the engines order equal scores differently, and edge's order even changes with the limit).
TIE_MARGIN = 8


@dataclass
class SparseVector:
    """Sparse vector: parallel lists of term indices and weights."""

    indices: list[int]
    values: list[float]


@dataclass
class StoredPassage:
    """One point to write: a UUID string id, its vectors and the payload.

    sentences: the optional multivector (lists of ``dim`` floats); None or empty writes none.
    """

    id: str
    dense: Sequence[float]
    sparse: SparseVector
    payload: dict[str, Any]
    sentences: Sequence[Sequence[float]] | None = None


@dataclass
class Hit:
    """One point read back: id, score (0.0 where there is none) and payload.

    signals (hybrid search only): the passage's own score in each fused ranking, "dense" (cosine), "keyword"
    (BM25) and "sentences" (MaxSim), the ones it appears in.
    """

    id: str
    score: float
    payload: dict[str, Any]
    signals: dict[str, float] | None = None


@dataclass
class Filter:
    """Payload conditions, all ANDed.

    equals: field -> value, or a list/tuple meaning any of them.
    ranges: field -> (gte, lte), inclusive; None leaves that side open.
    not_equals: field -> value or list; points with none of them (or no value) match.
    """

    equals: dict[str, Any] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    not_equals: dict[str, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.equals or self.ranges or self.not_equals)


@dataclass(frozen=True)
class RankRequest:
    """One nearest-neighbour request to an engine: vector name, query vector, limit, filter, optional point ids."""

    using: str  # DENSE, SPARSE or SENTENCES
    vector: Any  # list[float] for DENSE and SENTENCES (one query vector against the multivector), else SparseVector
    limit: int
    flt: Filter | None
    ids: tuple[str, ...] | None = None  # only these points (canonical UUID strings, as the engines return them)


def rrf(lists: list[list[Hit]], k: int, weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Reciprocal rank fusion as Qdrant computes it: sum over lists of 1 / (k + rank), rank counted from 0.

    weights: one factor per list (weighted RRF: sum of w / (k + rank)); None means 1.0 each, as Qdrant.
    """
    scores: dict[str, float] = {}
    for i, hits in enumerate(lists):
        w = 1.0 if weights is None else float(weights[i])
        for rank, h in enumerate(hits):
            scores[h.id] = scores.get(h.id, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))


def dbsf(lists: list[list[Hit]], weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Distribution-based score fusion as Qdrant computes it: each list scaled by mean +/- 3 sample std, summed.

    weights: one factor per list applied to its scaled scores; None means 1.0 each, as Qdrant.
    """
    scores: dict[str, float] = {}
    for i, hits in enumerate(lists):
        w = 1.0 if weights is None else float(weights[i])
        if not hits:
            continue
        values = [h.score for h in hits]
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
        if var == 0:
            normed = [0.5] * len(values)
        else:
            low, high = mean - 3 * var**0.5, mean + 3 * var**0.5
            normed = [(v - low) / (high - low) for v in values]
        for h, v in zip(hits, normed):
            scores[h.id] = scores.get(h.id, 0.0) + w * v
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))


def _merged(a: list[Hit], b: list[Hit]) -> list[Hit]:
    """Two rankings of one kind (same scores for the same passage) as one, best first, ties by id."""
    found = {h.id: h for h in a}
    found.update((h.id, h) for h in b if h.id not in found)
    return sorted(found.values(), key=lambda h: (-h.score, h.id))


def fuse_by_group(lists: list[list[Hit]], group: dict[str, str], fusion: Fusion, k: int,
                  weights: Sequence[float] | None, factors: dict[str, float]) -> list[tuple[str, float]]:
    """RRF or DBSF computed within each group of passages (``group``: id -> name; others are group ""), the group's
    fused scores times ``factors[name]`` (default 1), then merged, best first, ties by id."""
    names = sorted(set(group.values()) | {""})
    scores: dict[str, float] = {}
    for name in names:
        part = [[h for h in hits if group.get(h.id, "") == name] for hits in lists]
        fused = rrf(part, k, weights) if fusion == "rrf" else dbsf(part, weights)
        factor = factors.get(name, 1.0)
        for i, value in fused:
            scores[i] = factor * value
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))


def _signals(lists: list[list[Hit]], names: list[str], ids: set[str]) -> dict[str, dict[str, float]]:
    """Each of ``ids``' scores in the rankings it appears in, by ranking name (see Hit.signals)."""
    out: dict[str, dict[str, float]] = {i: {} for i in ids}
    for name, hits in zip(names, lists):
        for h in hits:
            if h.id in out:
                out[h.id][name] = h.score
    return out


class StoreError(RuntimeError):
    """A vector store operation failed."""


class StoreLockedError(StoreError):
    """The store folder is already open in another process (or another handle in this one)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        super().__init__(
            f"the vector store at {self.path} is already open: one process owns an embedded store at a time. "
            "Stop the other KMH process (API server, ingestion) or use a Qdrant server (KMH_STORE_BACKEND=qdrant)."
        )


class VectorStore(ABC):
    """Passages with a dense vector "dense", a BM25 sparse vector "bm25", a multivector "sentences" and an indexed
    payload. Stores created before the multivector existed have none: ``has_sentences`` is then False."""

    dim: int
    has_sentences: bool = False

    @abstractmethod
    def ensure(self) -> None:
        """Create the collection, its vectors and payload indexes if missing (idempotent)."""

    @abstractmethod
    def upsert(self, passages: Sequence[StoredPassage]) -> None:
        """Insert passages, replacing any with the same id."""

    @abstractmethod
    def delete(self, flt: Filter) -> None:
        """Delete the passages matching the filter (an empty filter is refused)."""

    @abstractmethod
    def set_payload(self, ids: Sequence[str], values: dict[str, Any]) -> None:
        """Set these payload fields of these passages (other fields are kept; unknown ids are ignored)."""

    def search(
        self,
        *,
        dense: Sequence[float] | None = None,
        sparse: SparseVector | None = None,
        mode: SearchMode = "hybrid",
        limit: int = 10,
        offset: int = 0,
        flt: Filter | None = None,
        fusion: Fusion = "rrf",
        rrf_k: int = 60,
        prefetch_limit: int = 100,
        weights: Sequence[float] | None = None,
        sentences: bool = False,
        sentence_candidates: int | None = None,
        payload_fields: Sequence[str] | None = None,
        language: str | None = None,
        other_language_weight: float = 1.0,
    ) -> list[Hit]:
        """Best passages first; ties by id.

        dense / keyword: one ranking. hybrid: the dense and bm25 rankings (prefetch_limit each, same filter)
        fused by RRF (sum of 1 / (rrf_k + rank), rank from 0) or DBSF, as Qdrant defines them.
        sentences: hybrid only; the candidates (both prefetch lists) are also ranked by MaxSim of the dense query
        vector against their "sentences" multivector, a third list in the fusion (skipped where the store has none).
        sentence_candidates: only the best this many of each prefetch list are ranked by sentences (None: all).
        weights: (dense, keyword) or, with sentences, (dense, keyword, sentences) factors for a weighted fusion;
        None (the default) is Qdrant's unweighted fusion.
        payload_fields: the payload fields hybrid hits carry (None: all of them).
        language: hybrid only; the question's language. Each ranking then also gets its own candidates among the
        passages in other languages (prefetch_limit more), and the fusion scales each ranking separately within
        the question's language and within the others, so that a passage does not win for sharing the question's
        language (cosines and BM25 scores run higher within a language); the other languages' scaled scores count
        ``other_language_weight``.
        """
        check_search(dense, sparse, mode, limit, offset, fusion, rrf_k, prefetch_limit, self.dim)
        n = 3 if sentences else 2
        if weights is not None and (len(weights) != n or any(not w >= 0 for w in weights)):
            names = "(dense, keyword, sentences)" if sentences else "(dense, keyword)"
            raise ValueError(f"weights must be {n} non-negative numbers: {names}")
        if sentence_candidates is not None and sentence_candidates < 1:
            raise ValueError("sentence_candidates must be at least 1")
        sparse = check_sparse(sparse) if sparse is not None else None
        dense = [float(x) for x in dense] if dense is not None else None
        if mode == "dense":
            return self._ranked([RankRequest(DENSE, dense, offset + limit, flt)], True)[0][offset:]
        if mode == "keyword":
            if not sparse.indices:
                return []
            return self._ranked([RankRequest(SPARSE, sparse, offset + limit, flt)], True)[0][offset:]
        requests = [RankRequest(DENSE, dense, prefetch_limit, flt)]
        used = [0]  # which of (dense, keyword, sentences) are fused
        if sparse.indices:
            requests.append(RankRequest(SPARSE, sparse, prefetch_limit, flt))
            used.append(1)
        others: set[str] = set()
        if language and not (flt and "language" in flt.equals):
            # each side its own requests: the question's language, and every other (a side with few passages
            # costs little, so this is about the work of the plain requests)
            base = flt or Filter()
            same = replace(base, equals={**base.equals, "language": language})
            other = replace(base, not_equals={**base.not_equals, "language": language})
            lists = self._ranked([replace(r, flt=same) for r in requests] + [replace(r, flt=other) for r in requests],
                                 False)
            others = {h.id for hits in lists[len(requests):] for h in hits}
            lists = [_merged(a, b) for a, b in zip(lists[:len(requests)], lists[len(requests):])]
        else:
            language = None
            lists = self._ranked(requests, False)
        if sentences and self.has_sentences:
            candidates = [[h for h in hits if h.id not in others][:sentence_candidates] for hits in lists]
            candidates += [[h for h in hits if h.id in others][:sentence_candidates] for hits in lists]
            lists.append(self._by_sentences(dense, candidates))
            used.append(2)
        w = [weights[i] for i in used] if weights is not None else None
        if language:
            side = {i: "other" for i in others}
            fused = fuse_by_group(lists, side, fusion, rrf_k, w, {"other": other_language_weight})
        else:
            fused = rrf(lists, rrf_k, w) if fusion == "rrf" else dbsf(lists, w)
        page = fused[offset : offset + limit]
        payloads = {h.id: h.payload for h in self.retrieve([i for i, _ in page], fields=payload_fields)}
        signals = _signals(lists, [("dense", "keyword", "sentences")[i] for i in used], {i for i, _ in page})
        return [Hit(i, score, payloads[i], signals[i]) for i, score in page if i in payloads]

    def _by_sentences(self, dense: list[float], lists: list[list[Hit]]) -> list[Hit]:
        """The candidates of these lists by MaxSim against their sentence vectors (those without any left out)."""
        ids = tuple(dict.fromkeys(h.id for hits in lists for h in hits))
        if not ids:
            return []
        return self._ranked([RankRequest(SENTENCES, dense, len(ids), None, ids)], False)[0]

    def _ranked(self, requests: list[RankRequest], with_payload: bool) -> list[list[Hit]]:
        """Each request's best `limit` hits, ties by id: asks the engine for more while a tie crosses the cut."""
        answers = self._query([replace(r, limit=r.limit + TIE_MARGIN) for r in requests], with_payload)
        out = []
        for r, hits in zip(requests, answers):
            asked = r.limit + TIE_MARGIN
            while len(hits) >= asked and hits[-1].score == hits[r.limit - 1].score:
                asked *= 2
                hits = self._query([replace(r, limit=asked)], with_payload)[0]
            hits.sort(key=lambda h: (-h.score, h.id))
            out.append(hits[: r.limit])
        return out

    @abstractmethod
    def _query(self, requests: list[RankRequest], with_payload: bool) -> list[list[Hit]]:
        """Run nearest-neighbour requests in one batch; each answer best first (the engine's order)."""

    @abstractmethod
    def retrieve(self, ids: Sequence[str], fields: Sequence[str] | None = None) -> list[Hit]:
        """Passages by id, in the order asked; missing ids are left out; ``fields`` keeps only those payload
        fields (None: all of them)."""

    @abstractmethod
    def scroll(
        self, flt: Filter | None = None, limit: int = 100, offset: str | None = None
    ) -> tuple[list[Hit], str | None]:
        """One page of passages in id order and the offset of the next page (None at the end)."""

    def ids(self, flt: Filter | None = None) -> list[str]:
        """Every passage id that matches ``flt``, in id order (all pages of ``scroll``)."""
        out, offset = [], None
        while True:
            hits, offset = self.scroll(flt, limit=512, offset=offset)
            out += [h.id for h in hits]
            if offset is None:
                return out

    @abstractmethod
    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """The dense vectors of these passages, by id (unknown ids left out)."""

    @abstractmethod
    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, list[list[float]]]:
        """The "sentences" multivectors of these passages, by id, in one read: the passage's own vector, then one
        vector per sentence in the order of its ``sentence_spans``. Unknown ids and passages without one are left
        out (all of them on a store created before the multivector existed). As the engine keeps them: normalised,
        in half precision on the embedded store."""

    @abstractmethod
    def export(self, batch: int = 256) -> Iterator[list[StoredPassage]]:
        """Every passage with its vectors (dense, sparse, and its sentence vectors where it has them) and payload,
        in pages of at most ``batch``, in id order; what ``upsert`` takes to rebuild the store elsewhere.

        Vectors come back as the engine keeps them: cosine vectors normalised, sentence vectors in half precision
        on the embedded store."""

    @abstractmethod
    def clear(self) -> None:
        """Delete every passage (the collection and its settings stay)."""

    @abstractmethod
    def count(self, flt: Filter | None = None) -> int:
        """Exact number of passages matching the filter."""

    @abstractmethod
    def facet(self, key: str, flt: Filter | None = None, limit: int = 100) -> dict[Any, int]:
        """Counts of the values of an indexed keyword or integer field, most frequent first, ties by value."""

    @abstractmethod
    def optimize(self) -> None:
        """Build indexes now rather than at query time."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release the store; safe to call twice."""

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Helpers shared by the backends.


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def point_id(value: Any) -> str:
    """Canonical UUID string of a point id, or a ValueError."""
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value  # already canonical (ids read back from the engines are): no parsing on the search path
    if isinstance(value, uuid.UUID):
        return str(value)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"point ids must be UUID strings, got {value!r}") from None


def check_search(
    dense: Sequence[float] | None,
    sparse: SparseVector | None,
    mode: str,
    limit: int,
    offset: int,
    fusion: str,
    rrf_k: int,
    prefetch_limit: int,
    dim: int,
) -> None:
    """Raise a ValueError for a search call the backends cannot answer."""
    if mode not in ("hybrid", "dense", "keyword"):
        raise ValueError(f"unknown search mode {mode!r}: use 'hybrid', 'dense' or 'keyword'")
    if mode in ("hybrid", "dense") and dense is None:
        raise ValueError(f"{mode} search needs a dense query vector")
    if mode in ("hybrid", "keyword") and sparse is None:
        raise ValueError(f"{mode} search needs a sparse (BM25) query vector")
    if dense is not None and mode != "keyword" and len(dense) != dim:
        raise ValueError(f"dense query vector has {len(dense)} dimensions, the store expects {dim}")
    if fusion not in ("rrf", "dbsf"):
        raise ValueError(f"unknown fusion {fusion!r}: use 'rrf' or 'dbsf'")
    if limit < 1 or offset < 0 or prefetch_limit < 1 or rrf_k < 1:
        raise ValueError("limit, prefetch_limit and rrf_k must be at least 1 and offset at least 0")


def as_values(value: Any) -> list[Any] | None:
    """A list/tuple/set as a list, any other value as None."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return None


def check_value(key: str, value: Any) -> None:
    """Filter values must be str, int or bool (floats only in ranges)."""
    if not isinstance(value, (str, int, bool)):
        raise ValueError(f"filter value for {key!r} must be a str, int or bool, got {value!r}")


def top_facets(fetch: Callable[[int], list[tuple[Any, int]]], limit: int) -> dict[Any, int]:
    """The `limit` most frequent values, ties by value, asking `fetch(n)` for more while a tie crosses the cut."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    asked = limit + TIE_MARGIN
    counts = fetch(asked)
    while len(counts) >= asked and sorted(c for _, c in counts)[-limit] == min(c for _, c in counts):
        asked *= 2
        counts = fetch(asked)
    # qdrant-edge still reports values whose points were all deleted, with count 0
    counts = [(v, c) for v, c in counts if c > 0]
    counts.sort(key=lambda vc: (-vc[1], str(vc[0])))
    return dict(counts[:limit])


def f32(score: float) -> float:
    """A score rounded to float32, as engines compute them: qdrant-client's local mode scores in float64,
    where equal vectors can differ in the last bits and so break ties differently."""
    return struct.unpack("f", struct.pack("f", score))[0]


def in_order(wanted: Sequence[str], found: dict[str, dict[str, Any]]) -> list[Hit]:
    """Hits for the ids asked, in that order, missing ones left out; an id asked twice gets its own payload copy."""
    out, seen = [], set()
    for i in wanted:
        payload = found.get(i)
        if payload is not None:
            out.append(Hit(i, 0.0, dict(payload) if i in seen else payload))
            seen.add(i)
    return out


def check_sentences(p: StoredPassage, dim: int, has_sentences: bool) -> list[list[float]] | None:
    """The passage's multivector as lists of floats of ``dim`` each; None when it has none."""
    if not p.sentences:
        return None
    if not has_sentences:
        raise ValueError(f"passage {p.id} has sentence vectors but the store has no {SENTENCES!r} multivector "
                         "(it was created before they existed): re-create the index to store them")
    out = [[float(x) for x in v] for v in p.sentences]
    if any(len(v) != dim for v in out):
        raise ValueError(f"passage {p.id}: a sentence vector does not have the {dim} dimensions the store expects")
    return out


def stored_passage(id: Any, vector: dict[str, Any], payload: dict[str, Any] | None) -> StoredPassage:
    """A point read back with its vectors (either engine's record) as the passage that ``upsert`` takes."""
    sparse = vector[SPARSE]
    return StoredPassage(str(id), list(vector[DENSE]), SparseVector(list(sparse.indices), list(sparse.values)),
                         dict(payload or {}), vector.get(SENTENCES) or None)


def check_sparse(sparse: SparseVector) -> SparseVector:
    """Indices as ints, values as floats, same lengths."""
    if len(sparse.indices) != len(sparse.values):
        raise ValueError("sparse vector indices and values differ in length")
    return SparseVector([int(i) for i in sparse.indices], [float(v) for v in sparse.values])
