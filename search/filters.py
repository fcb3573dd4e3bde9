"""Filter values as readers type them, matched to the values the index holds.

Countries, topics and seminars are kept as ingested ("Senegal", "Sénégal", "integrated-approach"); a filter value
matches every stored value with the same folded form (accents removed, case folded, spaces, hyphens and
apostrophes made uniform), so that ``country=senegal``, ``Sénégal`` and ``SENEGAL`` find the same passages. A value
that matches nothing stored is kept as given: it finds nothing, it is not an error.

Languages and document types are closed sets: a value is one of them in any case (``lang=FR``, ``type=News``),
anything else is an ``UnknownFilterValue`` naming the allowed values. The allowed languages are those ingestion
detects (``kmh.language.LANGUAGES``) and any other language a document was given in its metadata.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence

from kmh.language import LANGUAGES
from kmh.catalog.models import DOC_TYPES

# Payload fields whose filter values are free text, matched to their stored values.
OPEN_FIELDS = ("countries", "topics", "seminar_id")
_LETTERS = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "œ": "oe", "æ": "ae"})
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2012\u2013_]+")


def fold(value: str) -> str:
    """The form two spellings of one value share: NFKD without combining marks, case folded, œ and æ spelt out,
    typographic apostrophes as ', runs of spaces, hyphens and underscores as one space, trimmed."""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", bare.casefold().translate(_LETTERS)).strip()


class UnknownFilterValue(ValueError):
    """A language or document type outside the allowed ones; ``param`` is the query parameter (lang, type)."""

    def __init__(self, param: str, value: str, allowed: Sequence[str]):
        self.param, self.value, self.allowed = param, value, list(allowed)
        self.reason = f"must be one of: {', '.join(self.allowed)} (not {value!r})"
        super().__init__(f"{param} {self.reason}")


def pick(param: str, value: str | None, allowed: Sequence[str],
         more: Callable[[], Iterable[str]] | None = None) -> str | None:
    """The value of ``allowed`` (then of ``more()``, read only when needed) that ``value`` folds to; None for no
    value; UnknownFilterValue naming them all, sorted, when none matches."""
    if value is None or not value.strip():
        return None
    folded = fold(value)
    for candidate in allowed:
        if fold(candidate) == folded:
            return candidate
    extra = [v for v in (more() if more else ()) if v and v not in allowed]
    for candidate in extra:
        if fold(candidate) == folded:
            return candidate
    raise UnknownFilterValue(param, value.strip(), sorted(set(allowed) | set(extra)))


class FilterValues:
    """The stored values of the open filter fields (and of ``language``), by folded form.

    Read from the store's payload index (countries, languages) and the catalog (topic and seminar ids) when first
    needed, then kept until the catalog's generation changes (every document added, edited, replaced or
    retracted changes it), as ``kmh.catalog.cache.RefCache`` does. Safe to use from several threads.
    """

    def __init__(self, catalog, store, facet_limit: int = 100_000):
        self.catalog = catalog
        self.store = store
        self.facet_limit = facet_limit
        self._tables: dict[str, dict[str, list[str]]] = {}
        self._generation: int | None = None
        self._lock = threading.Lock()
        self.loads = 0  # fields read from the store or catalog (for tests)

    def matching(self, field: str, value: str | None) -> list[str]:
        """The stored values of ``field`` (one of OPEN_FIELDS) that ``value`` folds to, sorted; the value as given
        when none does; [] for no value."""
        if field not in OPEN_FIELDS:
            raise ValueError(f"{field!r} is not a free filter field; use one of {', '.join(OPEN_FIELDS)}")
        if value is None or not value.strip():
            return []
        return list(self._table(field).get(fold(value), [value.strip()]))

    def language(self, value: str | None) -> str | None:
        """The language code ``value`` names (``FR`` -> ``fr``); UnknownFilterValue("lang", ...) otherwise."""
        return pick("lang", value, LANGUAGES, lambda: (v for vs in self._table("language").values() for v in vs))

    @staticmethod
    def doc_type(value: str | None) -> str | None:
        """The document type ``value`` names (``News`` -> ``news``); UnknownFilterValue("type", ...) otherwise."""
        return pick("type", value, DOC_TYPES)

    def _table(self, field: str) -> dict[str, list[str]]:
        generation = self.catalog.generation()
        with self._lock:
            if generation != self._generation:
                self._tables.clear()
                self._generation = generation
            table = self._tables.get(field)
        if table is not None:
            return table
        table = {}
        for stored in self._read(field):
            if isinstance(stored, str) and stored.strip():
                table.setdefault(fold(stored), []).append(stored)
        self.loads += 1
        with self._lock:
            if self._generation == generation:
                self._tables[field] = table
        return table

    def _read(self, field: str) -> Iterable[str]:
        if field == "topics":
            return [tp.id for tp in self.catalog.topics()]
        if field == "seminar_id":
            return [sem.id for sem in self.catalog.seminars()]
        return sorted(self.store.facet(field, limit=self.facet_limit), key=str)
