"""`kmh check`: compare the catalog with the index, like `git fsck` for a data folder.

What is compared, per document version the catalog holds: the number of passages in the index, and (from the
passage checks written with each version, kmh.catalog.checks) that every passage is there with the vector and
text it was written with. Passages of versions the catalog does not hold are orphans. The quick check (server
start) reads counts and a sample of vectors; the full one (``kmh check --full``) reads every vector.

Documents catalogued before the checks existed are *unverified*: reported, not an error, until
``kmh check --repair`` computes their checks from the vectors present. Repairs live in ingest.repair (they need
the indexer).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kmh.store import Filter

if TYPE_CHECKING:
    from kmh.catalog import Catalog, DocumentRecord
    from kmh.store import VectorStore

Kind = Literal["catalog", "index", "orphans", "missing", "damaged", "unverified"]
REPAIR_HINT = "run `kmh check --repair` (with the server stopped)"
BATCH = 256


@dataclass
class Finding:
    """One thing wrong (or unverified), about one document version or about the whole store."""

    kind: Kind
    what: str
    doc_id: str | None = None
    title: str | None = None
    version: int | None = None
    versions: list[int] = field(default_factory=list)  # orphans: the versions the catalog does not hold
    passages: list[str] = field(default_factory=list)  # missing / damaged: the passage ids

    def line(self) -> str:
        if self.doc_id is None:
            return self.what
        name = f"{self.title} ({self.doc_id})" if self.title else f"document {self.doc_id}"
        version = f", version {self.version}" if self.version is not None else ""
        return f"{name}{version}: {self.what}"


@dataclass
class Report:
    documents: int = 0
    passages: int = 0  # in the index
    vectors_checked: int = 0
    full: bool = False
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.kind != "unverified"]

    @property
    def unverified(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "unverified"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """The problems in one sentence (for /readyz and the log), naming the command that repairs them."""
        whole = [f.what for f in self.problems if f.doc_id is None]
        counts: dict[str, int] = defaultdict(int)
        for f in self.problems:
            if f.doc_id is not None:
                counts[f.kind] += 1
        words = {"orphans": "with passages of versions the catalog does not hold",
                 "missing": "with passages missing from the index",
                 "damaged": "with damaged passages (vectors or text no longer as written)"}
        parts = whole + [f"{n} document{'s' if n != 1 else ''} {words[k]}" for k, n in counts.items()]
        first = next((f.line() for f in self.problems if f.doc_id is not None), None)
        text = "the index does not match the catalog: " + "; ".join(parts)
        if first:
            text += f" (first: {first})"
        return f"{text}; {REPAIR_HINT}"


def orphan_versions(catalog: Catalog, store: VectorStore, docs: list[DocumentRecord] | None = None,
                    per_doc: dict[Any, int] | None = None, exact: bool = True) -> dict[str, dict[int, int]]:
    """Passages in the index whose document version the catalog does not hold: doc id -> {version: count}.
    Versions older than the current one are left behind by a switch whose clean-up did not run; newer ones, and
    unknown documents, by an ingestion stopped before its catalog commit. Without ``exact`` (the quick check) a
    document with as many passages as the catalog lists is not looked at further (one count fewer each)."""
    current = {d.id: d for d in (catalog.every() if docs is None else docs)}
    if per_doc is None:
        per_doc = store.facet("doc_id", limit=max(1000, 2 * len(current) + 100))
    out: dict[str, dict[int, int]] = {}
    for doc_id, n in per_doc.items():
        doc = current.get(doc_id)
        if doc is not None and not exact and n == doc.passage_count:
            continue
        if doc is not None and n == store.count(Filter(equals={"doc_id": doc_id, "doc_version": doc.version})):
            continue
        versions = store.facet("doc_version", Filter(equals={"doc_id": doc_id}), limit=1000)
        extra = {int(v): c for v, c in versions.items() if doc is None or int(v) != doc.version}
        if extra:
            out[str(doc_id)] = extra
    return out


def check(catalog: Catalog, store: VectorStore, *, full: bool = False, sample: int = 32, skip: set[str] = frozenset(),
          where: str = "") -> Report:
    """Compare the catalog and the index. ``skip``: ids of documents with a job marked running (its passages
    being written, or left for the job worker's recovery to settle), whose orphans are not reported. ``where``
    names the catalog in the messages."""
    docs = list(catalog.every())
    report = Report(documents=len(docs), full=full)
    total = store.count()
    report.passages = total
    expected = sum(d.passage_count for d in docs)
    by_id = {d.id: d for d in docs}
    per_doc = store.facet("doc_id", limit=max(1000, 2 * len(docs) + 100))
    if not docs and total:
        report.findings.append(Finding("catalog", f"the catalog lists no document but the index holds {total} "
                                                  f"passages of {len(per_doc)} documents: the catalog{where and ' '}"
                                                  f"{where} was deleted or replaced (or a first `kmh ingest` was "
                                                  "killed before its catalog commit)"))
    elif expected and not total:
        report.findings.append(Finding("index", f"the index holds no passage but the catalog lists {expected} "
                                                f"passages of {len(docs)} documents: the index was deleted or "
                                                f"emptied"))
    unnamed = total - sum(per_doc.values())
    if unnamed > 0:
        report.findings.append(Finding("orphans", f"{unnamed} passages in the index have no document id"))
    # orphans: versions the catalog does not hold
    for doc_id, extra in orphan_versions(catalog, store, docs, per_doc, exact=full).items():
        if doc_id in skip:
            continue
        doc = by_id.get(doc_id)
        title = doc.title if doc else _payload_title(store, doc_id)
        label = ", ".join(f"version {v} ({c} passages)" for v, c in sorted(extra.items()))
        known = "uncatalogued document" if doc is None else f"the catalog is at version {doc.version}"
        report.findings.append(Finding("orphans", f"orphan passages of {label}: {known}", doc_id, title,
                                       None if doc is None else doc.version, sorted(extra)))
    # missing passages, by count
    complete = set()
    for doc in docs:
        n = per_doc.get(doc.id, 0)  # all versions: counted by version only when it differs from the catalog's
        current = n if n in (0, doc.passage_count) else store.count(
            Filter(equals={"doc_id": doc.id, "doc_version": doc.version}))
        if current < doc.passage_count:
            report.findings.append(Finding("missing", f"{doc.passage_count - current} of {doc.passage_count} "
                                                      "passages missing from the index", doc.id, doc.title,
                                           doc.version))
        elif current > doc.passage_count:
            report.findings.append(Finding("damaged", f"{current} passages in the index, the catalog lists "
                                                      f"{doc.passage_count}", doc.id, doc.title, doc.version))
        else:
            complete.add(doc.id)
    # vectors and texts as written
    counts = catalog.check_counts()
    unverified = [d for d in docs if d.passage_count and counts.get(d.id, 0) != d.passage_count]
    for d in unverified:
        report.findings.append(Finding("unverified", "no passage checks (catalogued before they existed, or "
                                                     "restored without them): vectors unverified", d.id, d.title,
                                       d.version))
    reported = {(f.doc_id, f.kind) for f in report.findings}
    if full:
        for doc in docs:
            if doc.id in counts and (doc.id, "missing") not in reported:
                _verify(report, store, catalog.checks_of(doc.id, doc.version), by_id)
        for doc in unverified:
            if doc.id in complete:
                _verify_finite(report, store, doc)
    else:
        _verify(report, store, catalog.sample_checks(sample), by_id, skip_missing=True)
        if unverified:  # at least the vectors that are no numbers at all (random bytes over the vector file)
            hits, _ = store.scroll(None, limit=max(1, sample))
            _verify_finite(report, store, None, [h.id for h in hits], by_id)
    return report


def _payload_title(store: VectorStore, doc_id: str) -> str | None:
    hits, _ = store.scroll(Filter(equals={"doc_id": doc_id}), limit=1)
    return hits[0].payload.get("title") if hits else None


def _verify(report: Report, store: VectorStore, checks: list[Any], docs: dict[str, DocumentRecord],
            skip_missing: bool = False) -> None:
    """Compare passages with their checks; one finding per document for what differs."""
    from kmh.catalog import sketches_match, text_digest, vector_sketch

    missing: dict[str, list[str]] = defaultdict(list)
    damaged: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(checks), BATCH):
        part = checks[start:start + BATCH]
        ids = [c.passage_id for c in part]
        vectors, texts, unreadable = _read(store, ids)
        report.vectors_checked += len(vectors)
        for c in part:
            if c.passage_id in unreadable:
                damaged[c.doc_id].append(c.passage_id)
            elif c.passage_id not in vectors or c.passage_id not in texts:
                missing[c.doc_id].append(c.passage_id)
            elif not sketches_match(c.dense, vector_sketch(vectors[c.passage_id])) \
                    or text_digest(texts[c.passage_id]) != c.text_sha256:
                damaged[c.doc_id].append(c.passage_id)
    known = {(f.doc_id, f.kind) for f in report.findings}
    for doc_id, ids in damaged.items():
        doc = docs.get(doc_id)
        sampled = " (in a sample)" if skip_missing else ""
        report.findings.append(Finding("damaged", f"{len(ids)} passages no longer have the vector or text they were "
                                                  f"written with, or cannot be read{sampled}",
                                       doc_id, doc.title if doc else None, doc.version if doc else None,
                                       passages=ids))
    for doc_id, ids in missing.items():
        if (doc_id, "missing") in known:
            continue
        doc = docs.get(doc_id)
        report.findings.append(Finding("missing", f"{len(ids)} catalogued passages are not in the index"
                                                  f"{' (in a sample)' if skip_missing else ''}",
                                       doc_id, doc.title if doc else None, doc.version if doc else None,
                                       passages=ids))


def _read(store: VectorStore, ids: list[str]) -> tuple[dict[str, list[float]], dict[str, str | None], set[str]]:
    """Dense vectors and texts of these passages, and the ids the store fails to read (a damaged file)."""
    from kmh.store import StoreError

    try:
        vectors = store.dense_vectors(ids)
        texts = {h.id: h.payload.get("text") for h in store.retrieve(ids, fields=("text",))}
        return vectors, texts, set()
    except StoreError:
        if len(ids) == 1:
            return {}, {}, set(ids)
    vectors, texts, unreadable = {}, {}, set()
    for i in ids:
        v, t, u = _read(store, [i])
        vectors |= v
        texts |= t
        unreadable |= u
    return vectors, texts, unreadable


def _verify_finite(report: Report, store: VectorStore, doc: DocumentRecord | None, ids: list[str] | None = None,
                   docs: dict[str, DocumentRecord] | None = None) -> None:
    """Without checks, at least find vectors that are no unit direction at all (not finite, or zero)."""
    from kmh.catalog import vector_sketch
    from kmh.store import StoreError

    if ids is None:
        ids = store.ids(Filter(equals={"doc_id": doc.id, "doc_version": doc.version}))
    bad: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(ids), BATCH):
        part = ids[start:start + BATCH]
        vectors, _, unreadable = _read(store, part)
        report.vectors_checked += len(vectors)
        broken = [i for i, v in vectors.items() if vector_sketch(v) == "nan"] + sorted(unreadable)
        if broken:
            try:
                owners = {h.id: h.payload for h in store.retrieve(broken, fields=("doc_id",))}
            except StoreError:
                owners = {}
            for i in broken:
                bad[str(owners.get(i, {}).get("doc_id", doc.id if doc else ""))].append(i)
    docs = docs or ({doc.id: doc} if doc else {})
    for doc_id, pids in bad.items():
        d = docs.get(doc_id)
        if any(f.doc_id == doc_id and f.kind == "damaged" for f in report.findings):
            continue
        report.findings.append(Finding("damaged", f"{len(pids)} passages have a vector that is not a number, or "
                                                  "cannot be read",
                                       doc_id or None, d.title if d else None, d.version if d else None,
                                       passages=pids))


def quick_check(catalog: Catalog, store: VectorStore, sample: int = 32) -> str | None:
    """The check at server start: what is wrong in one sentence (naming the command that repairs it), or None.
    Versions of jobs marked running are left out (the job worker settles them right after). A failure of the
    check itself is logged, not raised: it must not keep the service from starting."""
    import logging

    log = logging.getLogger("kmh.check")
    try:
        skip = {j.doc_id for j in catalog.interrupted_jobs()}
        report = check(catalog, store, sample=sample, skip=skip)
    except Exception:
        log.exception("the start-up check of the index could not run")
        return None
    for f in report.unverified[:5]:
        log.warning("unverified: %s", f.line())
    if report.unverified:
        log.warning("%d documents have no passage checks: run `kmh check --repair` to record them",
                    len(report.unverified))
    return None if report.ok else report.summary()
