"""Passage checks: what each catalogued passage was written with, so the index can be verified against it.

A check holds a *sketch* of the passage's dense vector (its projections on a few fixed directions, after
normalising, as integers) and the sha256 of its text. Sketches are compared with a tolerance, not for equality:
they stay valid across backends (each normalises vectors in its own float arithmetic) and through backup and
restore, while a vector overwritten, swapped with another passage's or zeroed no longer matches.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import delete, func, select

from .errors import NotFound
from .models import Document, PassageCheck

SKETCH_SIZE = 8
SKETCH_SCALE = 10_000  # projections kept to 1e-4
# Largest difference (in sketch units) between a stored and a re-read projection: float32 rounding moves them by
# about 1e-7; a different unit vector moves each by about 0.05 (the spread of a projection in 384 dimensions).
SKETCH_TOLERANCE = 20
_SEED = 0x4B4D48  # "KMH": the directions must never change, or every stored sketch stops matching


@dataclass(frozen=True)
class PassageCheckRecord:
    passage_id: str
    doc_id: str
    doc_version: int
    dense: str
    text_sha256: str


@lru_cache(maxsize=4)
def _directions(dim: int):
    import numpy as np

    d = np.random.default_rng(_SEED).standard_normal((SKETCH_SIZE, dim))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def vector_sketch(vector: Sequence[float]) -> str:
    """The sketch of a dense vector: "p1,p2,...,p8", or "nan" for a vector that has no direction (zero, NaN)."""
    import numpy as np

    v = np.asarray(vector, dtype=np.float64)
    with np.errstate(all="ignore"):
        norm = float(np.linalg.norm(v))
        if not math.isfinite(norm) or norm == 0.0 or not np.all(np.isfinite(v)):
            return "nan"
        proj = _directions(len(v)) @ (v / norm)
    return ",".join(str(int(round(x * SKETCH_SCALE))) for x in proj)


def sketches_match(stored: str, found: str) -> bool:
    """Whether a vector read back (``found``) is the one written (``stored``), within the tolerance."""
    if stored == "nan" or found == "nan":
        return stored == found
    a, b = stored.split(","), found.split(",")
    return len(a) == len(b) and all(abs(int(x) - int(y)) <= SKETCH_TOLERANCE for x, y in zip(a, b))


def text_digest(text: str | None) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def passage_check(passage_id: str, doc_id: str, version: int, vector: Sequence[float], text: str | None
                  ) -> PassageCheckRecord:
    return PassageCheckRecord(passage_id, doc_id, version, vector_sketch(vector), text_digest(text))


def _record(row: PassageCheck) -> PassageCheckRecord:
    return PassageCheckRecord(row.passage_id, row.doc_id, row.doc_version, row.dense, row.text_sha256)


class ChecksMixin:
    """The catalog's passage checks (see the module's docstring)."""

    def _write_checks(self, s, doc: Document, checks: Iterable[PassageCheckRecord]) -> None:
        """In the transaction that stores a document version: its passages' checks, none of older versions."""
        s.execute(delete(PassageCheck).where(PassageCheck.doc_id == doc.id))
        for c in checks:
            s.add(PassageCheck(passage_id=c.passage_id, doc_id=doc.id, doc_version=doc.version, dense=c.dense,
                               text_sha256=c.text_sha256))
        s.flush()

    def replace_checks(self, doc_id: str, version: int, checks: Iterable[PassageCheckRecord], *,
                       passage_count: int | None = None) -> int:
        """Make ``checks`` the checks of this document (at ``version``, its current one): after a repair re-embedded
        it (``passage_count``: how many passages it now has), or a backfill computed them from the vectors present.
        Returns how many were written."""
        checks = list(checks)
        with self.session(write=True) as s:
            doc = s.get(Document, doc_id, with_for_update=True)
            if doc is None:
                raise NotFound(doc_id)
            if doc.version != version:
                raise ValueError(f"document {doc_id} is at version {doc.version}, not {version}")
            self._write_checks(s, doc, checks)
            if passage_count is not None and doc.passage_count != passage_count:
                doc.passage_count = passage_count
                for v in doc.versions:
                    if v.version == version:
                        v.passage_count = passage_count
        return len(checks)

    def checks_of(self, doc_id: str, version: int) -> list[PassageCheckRecord]:
        """The checks of one document version, by passage id."""
        with self.session() as s:
            rows = s.scalars(select(PassageCheck).where(PassageCheck.doc_id == doc_id,
                                                        PassageCheck.doc_version == version)
                             .order_by(PassageCheck.passage_id))
            return [_record(r) for r in rows]

    def check_counts(self) -> dict[str, int]:
        """How many checks each document's current version has, by document id (documents with none left out)."""
        with self.session() as s:
            rows = s.execute(select(PassageCheck.doc_id, func.count())
                             .join(Document, (Document.id == PassageCheck.doc_id)
                                   & (Document.version == PassageCheck.doc_version))
                             .group_by(PassageCheck.doc_id))
            return {doc_id: int(n) for doc_id, n in rows}

    def sample_checks(self, n: int) -> list[PassageCheckRecord]:
        """Up to ``n`` checks of current versions, drawn at random (the quick check at server start)."""
        with self.session() as s:
            rows = s.scalars(select(PassageCheck)
                             .join(Document, (Document.id == PassageCheck.doc_id)
                                   & (Document.version == PassageCheck.doc_version))
                             .order_by(func.random()).limit(max(0, int(n))))
            return [_record(r) for r in rows]
