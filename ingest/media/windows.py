"""Cut a recording's cues into passages of about ``min_seconds``..``max_seconds``.

A window is a run of whole cues (captions or transcript segments). It is closed before a
cue that would take it past ``max_seconds``, going back to the last cue that ends a sentence
(., ?, !, …) once the window is ``min_seconds`` long, else to the longest pause. It is never
continued across a session boundary, nor across a change of speaker once ``min_seconds`` long.
A cue longer than ``max_seconds`` stays whole, in a window of its own. Each window carries the
character spans of its sentences (built from cues, split at sentence ends inside a cue), which
the sentence embedder uses like a document passage's ``sentences``, and where each of its cues starts in its text and
in the recording (``cues``), from which search tells the second a sentence is said (search.moments).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kmh.text import trim_spans

from ingest.media.captions import Cue

CUE_SEPARATOR = " "
# A sentence span running longer than this is cut at the next cue boundary (unpunctuated captions).
MAX_SENTENCE_WORDS = 50
_WORD = re.compile(r"\S+")
_SPACES = re.compile(r"\s+")
_CLOSERS = "\"'»”’)]"
# A sentence-final mark, then closing quotes and brackets (French typography puts a space before "»").
_MARK = rf"[.!?…]+(?:[{re.escape(_CLOSERS)}]|\s[»”])*"
_END = re.compile(_MARK + "$")
_INNER_END = re.compile(_MARK + r"(?=\s+[^\s»”])")
# Words ending in a dot that rarely end a sentence: "M. Diallo", "Dr. Smith", "Mme Sow" written "Mme.", "e.g.".
_ABBREVIATION = re.compile(r"(?:^|\s)(?:[A-Z][a-z]?|Mme|Mlle|Mmes|Mrs|Prof|e\.g|i\.e|cf|vs)\.$")


class TimedText(Protocol):
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Session:
    """A part of a recording (a seminar session): its number, time range in seconds and speakers if known."""

    number: int
    start: float
    end: float
    speakers: tuple[str, ...] = ()


@dataclass
class RecordingWindow:
    index: int
    start: float  # seconds from the start of the recording
    end: float
    text: str
    session: int | None
    speaker: str | None
    # (start, end) of each sentence, relative to ``text``.
    sentences: list[tuple[int, int]] = field(default_factory=list)
    # (offset in ``text``, start second in the recording) of each cue, in order: with Whisper's timed words a cue is
    # a sentence (cues_from_words), so its start is its first word's.
    cues: list[tuple[int, float]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class _Unit:
    cue: Cue
    speaker: str | None  # the cue's speaker, else the last one given before it in the session
    session: Session | None

    @property
    def start(self) -> float:
        return self.cue.start


def _real_end(text: str, m: re.Match) -> bool:
    """A sentence-final mark, unless it is the single dot of an abbreviation."""
    return m.group().rstrip(_CLOSERS + " \u00a0\u202f") != "." or not _ABBREVIATION.search(text[: m.start() + 1])


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends with a sentence-final mark (closing quotes and brackets allowed after it)."""
    text = text.rstrip()
    m = _END.search(text)
    return bool(m) and _real_end(text, m)


def _inner_ends(text: str) -> list[int]:
    """Offsets just after each sentence end inside ``text`` (not at its very end)."""
    return [m.end() for m in _INNER_END.finditer(text) if _real_end(text, m)]


def cues_from_words(words: Iterable[TimedText], max_seconds: float = 15.0, pause: float = 1.5) -> list[Cue]:
    """Sentence cues from timed words (whisper's, whose texts carry their leading space): a cue ends at a
    sentence end, at a pause longer than ``pause`` seconds or before it would pass ``max_seconds``."""
    cues: list[Cue] = []
    current: list[TimedText] = []

    def close() -> None:
        text = _SPACES.sub(" ", "".join(w.text for w in current)).strip()
        if text:
            cues.append(Cue(current[0].start, max(w.end for w in current), text))
        current.clear()

    for word in words:
        if current and (word.start - current[-1].end > pause or word.end - current[0].start > max_seconds):
            close()
        current.append(word)
        if ends_sentence(word.text):
            close()
    if current:
        close()
    return cues


class Windower:
    """Cue windows for recording passages; arguments are checked here, not at run time."""

    def __init__(self, min_seconds: float = 30.0, max_seconds: float = 60.0):
        if not 0 < min_seconds < max_seconds:
            raise ValueError(f"need 0 < min_seconds < max_seconds, got {min_seconds} and {max_seconds}")
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds

    def split(
        self, cues: Sequence[Cue], sessions: Sequence[Session | tuple] | None = None
    ) -> list[RecordingWindow]:
        """The windows of ``cues``; ``sessions`` are Session or (number, start, end[, speakers]) ranges."""
        ranges = _sessions(sessions or [])
        units = _units(sorted(cues, key=lambda c: c.start), ranges)
        groups: list[list[_Unit]] = []
        run: list[_Unit] = []
        for unit in units:
            if run and unit.session is not run[-1].session:
                groups += self._split_run(run)
                run = []
            run.append(unit)
        if run:
            groups += self._split_run(run)
        groups = self._merge_short(groups)
        return [self._window(i, g) for i, g in enumerate(groups)]

    # ------------------------------------------------------------------ cutting

    def _split_run(self, units: list[_Unit]) -> list[list[_Unit]]:
        """Windows of the cues of one session (or of the time outside every session)."""
        groups: list[list[_Unit]] = []
        current: list[_Unit] = []
        for unit in units:
            if current and unit.speaker != current[-1].speaker and _span(current) >= self.min_seconds:
                groups.append(current)
                current = []
            while current and max(_end(current), unit.cue.end) - current[0].start > self.max_seconds:
                k = self._cut(current, unit)
                groups.append(current[:k])
                current = current[k:]
            current.append(unit)
        if current:
            groups.append(current)
        return groups

    def _cut(self, current: list[_Unit], following: _Unit) -> int:
        """How many cues of ``current`` close the window: the last sentence end at min_seconds or more,
        else the longest pause after min_seconds, else all of them."""
        candidates = [k for k in range(1, len(current) + 1) if _span(current[:k]) >= self.min_seconds]
        if not candidates:
            return len(current)
        sentence_ends = [k for k in candidates if ends_sentence(current[k - 1].cue.text)]
        if sentence_ends:
            return sentence_ends[-1]

        def pause(k: int) -> float:
            nxt = current[k] if k < len(current) else following
            return nxt.start - _end(current[:k])

        return max(reversed(candidates), key=pause)  # the latest of equal pauses

    def _merge_short(self, groups: list[list[_Unit]]) -> list[list[_Unit]]:
        """Fold a window shorter than min_seconds into its neighbour in the same session and with the same
        speaker at the junction, when the two fit in max_seconds."""

        def fits(a: list[_Unit], b: list[_Unit]) -> bool:
            return (
                a[-1].session is b[0].session
                and a[-1].speaker == b[0].speaker
                and max(_end(a), _end(b)) - a[0].start <= self.max_seconds
            )

        out: list[list[_Unit]] = []
        i = 0
        while i < len(groups):
            g = groups[i]
            if _span(g) < self.min_seconds:
                if out and fits(out[-1], g):
                    out[-1] = out[-1] + g
                    i += 1
                    continue
                if i + 1 < len(groups) and fits(g, groups[i + 1]):
                    groups[i + 1] = g + groups[i + 1]
                    i += 1
                    continue
            out.append(g)
            i += 1
        return out

    # ------------------------------------------------------------------ output

    def _window(self, index: int, group: list[_Unit]) -> RecordingWindow:
        texts = [u.cue.text.strip() for u in group]
        text = CUE_SEPARATOR.join(texts)
        session = group[0].session
        speaker = group[0].speaker
        if speaker is None and session is not None and len(session.speakers) == 1:
            speaker = session.speakers[0]
        return RecordingWindow(
            index=index,
            start=group[0].start,
            end=_end(group),
            text=text,
            session=session.number if session else None,
            speaker=speaker,
            sentences=sentence_spans(texts),
            cues=cue_offsets(texts, [u.cue.start for u in group]),
        )


def cue_offsets(texts: list[str], starts: list[float]) -> list[tuple[int, float]]:
    """(offset in ``CUE_SEPARATOR.join(texts)``, start second) of each cue."""
    out, pos = [], 0
    for t, start in zip(texts, starts):
        out.append((pos, start))
        pos += len(t) + len(CUE_SEPARATOR)
    return out


def sentence_spans(texts: list[str], max_words: int = MAX_SENTENCE_WORDS) -> list[tuple[int, int]]:
    """Sentence spans in ``CUE_SEPARATOR.join(texts)``: sentences run across cues until one ends a sentence,
    split at sentence ends inside a cue, and cut at a cue boundary once longer than ``max_words``."""
    text = CUE_SEPARATOR.join(texts)
    cuts: list[int] = []
    pos, words = 0, 0
    for t in texts:
        n = len(_WORD.findall(t))
        if words and words + n > max_words:
            cuts.append(pos - len(CUE_SEPARATOR))  # end of the previous cue
            words = 0
        inner = _inner_ends(t)
        cuts += [pos + e for e in inner]
        words = len(_WORD.findall(t[inner[-1] :])) if inner else words + n
        end = pos + len(t)
        if ends_sentence(t):
            cuts.append(end)
            words = 0
        pos = end + len(CUE_SEPARATOR)
    bounds = [0] + sorted(set(c for c in cuts if 0 < c < len(text))) + [len(text)]
    return trim_spans(text, zip(bounds, bounds[1:]))


def _sessions(sessions: Sequence[Session | tuple]) -> list[Session]:
    out = []
    for s in sessions:
        if not isinstance(s, Session):
            number, start, end, *rest = s
            s = Session(int(number), float(start), float(end), tuple(rest[0]) if rest and rest[0] else ())
        if s.end <= s.start:
            raise ValueError(f"session {s.number} ends ({s.end:g} s) before it starts ({s.start:g} s)")
        out.append(s)
    out.sort(key=lambda s: s.start)
    for a, b in zip(out, out[1:]):
        if b.start < a.end:
            raise ValueError(f"sessions {a.number} and {b.number} overlap ({b.start:g} s < {a.end:g} s)")
    return out


def _units(cues: list[Cue], sessions: list[Session]) -> list[_Unit]:
    units: list[_Unit] = []
    speaker: str | None = None
    previous: Session | None = None
    for cue in cues:
        middle = (cue.start + cue.end) / 2
        session = next((s for s in sessions if s.start <= middle < s.end), None)
        if session is not previous:
            speaker = None  # a speaker is not carried into another session
            previous = session
        speaker = cue.speaker or speaker
        units.append(_Unit(cue, speaker, session))
    return units


def _end(units: list[_Unit]) -> float:
    return max(u.cue.end for u in units)


def _span(units: list[_Unit]) -> float:
    return _end(units) - units[0].start
