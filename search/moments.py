"""The moment of a recording hit: the second its best sentence is said, not the start of its 30–60 s window.

A recording passage's payload keeps where each of its cues starts (``CUES_FIELD``: the character offset in the
passage text and the second in the recording; a cue is a caption or, from Whisper's timed words, a sentence). The
best sentence of a hit (the one the snippet puts in ``<b>``) starts in one of them: at its start, the cue's second;
further in (a caption holding several sentences), a second interpolated by characters between the cue's start and the
next one's (or the window's end). The citation's ``start`` becomes that second, floored (links play from whole
seconds, and a little early rather than mid-word), unless that is not after the window's start; ``window_start``
and ``window_end`` keep the passage. Passages indexed without cues keep their window's start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kmh.dates import clock
from search.results import Citation


def cue_starts(flat: Any, text_length: int) -> list[tuple[int, float]]:
    """The payload's flat [offset0, second0, offset1, second1, ...] as pairs; [] when missing or not offsets of a
    text of ``text_length`` characters in order."""
    if not isinstance(flat, (list, tuple)) or not flat or len(flat) % 2:
        return []
    pairs, last = [], -1
    for offset, second in zip(flat[::2], flat[1::2]):
        if not (isinstance(offset, int) and isinstance(second, (int, float)) and last < offset <= text_length):
            return []
        pairs.append((offset, float(second)))
        last = offset
    return pairs


def moment(offset: int, cues: Sequence[tuple[int, float]], end: float | None, text_length: int) -> float | None:
    """The second at which the character ``offset`` of a passage is said, from its cues; ``end`` is the window's
    end (the last cue's). None without cues."""
    if not cues:
        return None
    i = max((k for k, (at, _) in enumerate(cues) if at <= offset), default=0)
    at, second = cues[i]
    if offset <= at:
        return second
    nxt_at, nxt_second = cues[i + 1] if i + 1 < len(cues) else (text_length, end if end is not None else second)
    if nxt_at <= at or nxt_second <= second:
        return second
    return second + (nxt_second - second) * (offset - at) / (nxt_at - at)


def at_moment(citation: Citation, text: str, best_start: int | None, flat: Any) -> Citation:
    """``citation`` (of a recording passage whose text is ``text``) starting at the second its character
    ``best_start`` is said, its timestamp from there to the window's end; unchanged (its window) when the passage
    has no cues or no best sentence."""
    if citation.kind != "recording" or best_start is None or citation.start is None:
        return citation
    second = moment(best_start, cue_starts(flat, len(text)), citation.window_end, len(text))
    if second is None:
        return citation
    start = math.floor(second)
    if start <= citation.start or (citation.end is not None and start >= citation.end):
        return citation  # said in the window's first second: the window's start, as is
    citation.start = start
    citation.timestamp = f"{clock(start)}–{clock(citation.end)}" if citation.end is not None else clock(start)
    return citation
