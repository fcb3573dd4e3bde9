"""Parse the next documents of an ingestion run while the current ones are chunked, embedded and written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ingest.model import ParsedDocument
from ingest.plan import WorkItem


class ParseAhead:
    """Keeps ``parse`` busy with the next ``depth`` documents of ``items`` (those of at most ``max_bytes``).

    Parsing runs in its own process (ingest.sandbox), so it proceeds on a free core while the encoder's threads
    release the interpreter; one thread feeds it, in order. A parse nobody takes (the file turned out unchanged or a
    twin) is simply dropped.
    """

    def __init__(self, parse: Callable[[Path], ParsedDocument], items: Sequence[WorkItem], *, max_bytes: int,
                 depth: int = 2):
        self.parse = parse
        self.max_bytes = max_bytes
        self.items = items
        self.depth = depth
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kmh-parse")
        self._started: dict[int, Future] = {}
        self._next = 0  # the next item to consider starting

    def __enter__(self) -> ParseAhead:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def take(self, n: int) -> Callable[[], ParsedDocument]:
        """What gives item ``n``'s parse (raising its errors), once the next documents have been started."""
        future = self._started.pop(n, None) or self._start(n)
        self._next = max(self._next, n + 1)
        while self._next < len(self.items) and len(self._started) < self.depth:
            if self._wanted(self.items[self._next]):
                self._started[self._next] = self._start(self._next)
            self._next += 1
        return future.result

    def _wanted(self, item: WorkItem) -> bool:
        try:
            return item.kind == "document" and item.path.stat().st_size <= self.max_bytes
        except OSError:
            return False  # the indexer reports it when it gets there

    def _start(self, n: int) -> Future:
        return self._pool.submit(self.parse, self.items[n].path)
