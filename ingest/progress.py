"""How fast a long piece of work goes, and how long it has left at that pace.

``RateMeter`` is fed ``update(done, total)`` as the work advances; ``rate`` is items per second over the last
``window`` seconds of updates and ``eta`` the seconds left at that rate. Both are None until two updates at least
``min_seconds`` apart say something; neither is ever negative. The clock is injectable for tests.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateMeter:
    """Items per second over a sliding window of (time, done) updates, and the time left at that rate.

    The oldest update kept is the newest one at or before the window's start, so the rate always spans at least
    ``window`` seconds once that much time has passed. ``done`` going backwards starts the measure again.
    """

    def __init__(self, window: float = 30.0, min_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        if not window > 0:
            raise ValueError(f"window must be over 0 seconds, not {window!r}")
        if not min_seconds > 0:
            raise ValueError(f"min_seconds must be over 0 seconds, not {min_seconds!r}")
        self.window = window
        self.min_seconds = min_seconds
        self.clock = clock
        self.total: float | None = None
        self._samples: deque[tuple[float, float]] = deque()

    def update(self, done: float, total: float | None = None) -> None:
        """Record that ``done`` items (counted from the start) of ``total`` (None: not known) are done now."""
        now = self.clock()
        if self._samples and done < self._samples[-1][1]:
            self._samples.clear()
        self._samples.append((now, done))
        while len(self._samples) > 2 and self._samples[1][0] <= now - self.window:
            self._samples.popleft()
        self.total = total

    @property
    def done(self) -> float:
        return self._samples[-1][1] if self._samples else 0

    @property
    def rate(self) -> float | None:
        """Items per second, or None until two updates ``min_seconds`` apart."""
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if t1 - t0 < self.min_seconds:
            return None
        return max(d1 - d0, 0) / (t1 - t0)

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, or None while the rate or the total is unknown or the rate is 0."""
        rate = self.rate
        if rate is None or rate <= 0 or self.total is None:
            return None
        return max(self.total - self.done, 0) / rate


def short_duration(seconds: float) -> str:
    """A time left as people say it: "40 s", "3 min", "1 h 05 min" (the same in English and French)."""
    s = max(round(seconds), 0)
    if s < 90:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class IngestMeter:
    """The figures of `kmh ingest`'s bar: passages per second of the files finished, and the time left estimated
    from the bytes of the files still to do (the passages to come are unknown) at the pace of the bytes done.

    ``sizes`` maps each planned file to its bytes. A file found unchanged or failed leaves the estimate: it took
    next to no time, so its bytes would make the pace look faster than the work.
    """

    def __init__(self, sizes: dict[str, int], window: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.sizes = dict(sizes)
        self.passages = 0
        self.bytes_done = 0
        self.bytes_total = sum(self.sizes.values())
        self._passages = RateMeter(window, clock=clock)
        self._bytes = RateMeter(window, clock=clock)
        self._passages.update(0)
        self._bytes.update(0, self.bytes_total)

    def finished(self, key: str, indexed: bool, passages: int = 0) -> None:
        """File ``key`` is done: ``indexed`` (new or updated, with ``passages``), or skipped or failed."""
        size = self.sizes.pop(key, 0)
        if indexed:
            self.passages += passages
            self.bytes_done += size
        else:
            self.bytes_total -= size
        self._passages.update(self.passages)
        self._bytes.update(self.bytes_done, self.bytes_total)

    @property
    def rate(self) -> float | None:
        """Passages per second over the files finished in the last ``window`` seconds."""
        return self._passages.rate

    @property
    def eta(self) -> float | None:
        """Seconds left, None while unknown or once nothing is left to do."""
        if self.bytes_done >= self.bytes_total:
            return None
        return self._bytes.eta
