"""A cache of the document fields search reads, valid while the catalog's generation stays the same."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from .catalog import Catalog, DocumentRef


class RefCache:
    """``DocumentRef`` by id, read through from the catalog.

    Each ``get`` reads the catalog's generation (one tiny query) and empties the cache when it changed,
    so a document retracted, replaced or renamed by any process is seen by the next search.
    The generation is read before the missing rows, so a row newer than the generation it is filed
    under is possible (harmless), an older one is not. At most ``size`` documents are kept (the first
    loaded go first).
    """

    def __init__(self, catalog: Catalog, size: int = 100_000):
        if size < 0:
            raise ValueError("size must be at least 0")
        self.catalog = catalog
        self.size = size
        self._refs: OrderedDict[str, DocumentRef] = OrderedDict()
        self._generation: int | None = None
        self._lock = threading.Lock()
        self.loads = 0  # catalog reads of missing rows (for tests and metrics)

    def get(self, doc_ids: Iterable[str]) -> dict[str, DocumentRef]:
        """The known documents among ``doc_ids``, by id; unknown ids are left out."""
        ids = list(dict.fromkeys(i for i in doc_ids if i))
        generation = self.catalog.generation()
        with self._lock:
            if generation != self._generation:
                self._refs.clear()
                self._generation = generation
            found = {i: self._refs[i] for i in ids if i in self._refs}
        missing = [i for i in ids if i not in found]
        if missing:
            loaded = self.catalog.refs(missing)
            self.loads += 1
            found.update(loaded)
            with self._lock:
                if self._generation == generation and self.size:
                    self._refs.update(loaded)
                    while len(self._refs) > self.size:
                        self._refs.popitem(last=False)
        return found

    def prime(self) -> int:
        """Load up to ``size`` documents at once (the most recently updated), so that the first searches find
        them cached; returns how many were loaded."""
        generation = self.catalog.generation()
        loaded = self.catalog.all_refs(self.size) if self.size else {}
        with self._lock:
            self._refs = OrderedDict(reversed(loaded.items()))  # the oldest go first when the cache is full
            self._generation = generation
        return len(loaded)

    def clear(self) -> None:
        with self._lock:
            self._refs.clear()
            self._generation = None
