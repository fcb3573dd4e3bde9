"""Cut a parsed document into passages along its structure.

Passages are runs of whole sentences of roughly ``min_words``..``max_words`` words.
A passage never spans two pages; it carries its page, its section trail (the headings
above it) and its character span in the document's parsed text, so a citation can point
exactly at it. Consecutive passages overlap by up to ``overlap_words`` words of whole
sentences on the same page.

Every step is linear in the size of the text: the sentence segmenter (pysbd, whose cost grows with the square of
what it is given) only sees windows of at most ``SEGMENT_WINDOW`` characters, cut at a sentence end where there is
one and at a word boundary otherwise; a run of text without sentence ends is cut into passages at word boundaries,
and a "word" longer than a passage (``max_words * CHARS_PER_WORD`` characters) is cut hard. ``Chunker.split`` takes
an optional deadline and raises ``ChunkingTimeout`` past it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import lru_cache

from ingest.model import Block
from kmh.text import trim_spans

BLOCK_SEPARATOR = "\n\n"
SECTION_SEPARATOR = " › "
_WORD = re.compile(r"\S+")
# A sentence end followed by more text: without one, a block (or a window of it) is a single sentence.
_INNER_BOUNDARY = re.compile(r"[.!?…:;][»\"')\]]*\s+\S")
# Where a window handed to the segmenter may end: a sentence end after a word of two letters or more ("M. Diallo"
# and "p. 12" are left alone), followed by more text.
_WINDOW_END = re.compile(r"(?<=\w\w)[.!?…]+[»\"'’”)\]]*\s+(?=\S)")
_SPACE = re.compile(r"\s+")
SEGMENT_WINDOW = 2000  # characters the segmenter sees at most at once
CHARS_PER_WORD = 10  # a passage holds at most max_words words and max_words * CHARS_PER_WORD characters
MAX_LEADING_HEADINGS = 8  # headings kept in front of a passage's first sentence (a run of headings keeps its last)


class ChunkingTimeout(TimeoutError):
    """Splitting a document into passages ran past its deadline."""


@dataclass
class Passage:
    index: int
    text: str
    start: int  # character offsets in the parsed text
    end: int
    page: int | None
    section_path: list[str] = field(default_factory=list)
    # (start, end) of each sentence, list item or table, relative to ``text``; headings left out.
    sentences: list[tuple[int, int]] = field(default_factory=list)

    @property
    def section(self) -> str | None:
        return SECTION_SEPARATOR.join(self.section_path) or None

    @property
    def words(self) -> int:
        return len(_WORD.findall(self.text))


@dataclass
class _Unit:
    """A sentence, list item or heading: the smallest piece a passage is built from."""

    start: int
    end: int
    words: int
    page: int | None
    section: tuple[str, ...]
    is_title: bool


def join_blocks(blocks: list[Block]) -> tuple[str, list[tuple[int, int]]]:
    """The parsed text of a document and each block's span in it."""
    parts, spans, pos = [], [], 0
    for block in blocks:
        if parts:
            pos += len(BLOCK_SEPARATOR)
        spans.append((pos, pos + len(block.text)))
        parts.append(block.text)
        pos += len(block.text)
    return BLOCK_SEPARATOR.join(parts), spans


@lru_cache(maxsize=8)
def _segmenter(language: str):
    import pysbd

    lang = language if language in {"fr", "en", "es", "de", "it", "nl", "ar", "ru"} else "en"
    return pysbd.Segmenter(language=lang, clean=False, char_span=True)


def sentence_spans(text: str, language: str | None, deadline: float | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) spans in ``text``, whitespace trimmed; time linear in its length."""
    if len(text) <= SEGMENT_WINDOW:
        return trim_spans(text, _segment(text, 0, len(text), language))
    spans: list[tuple[int, int]] = []
    joined = False  # the previous window was cut inside a sentence: its last span goes on in this window
    for a, b, cut_in_sentence in _windows(text):
        if deadline is not None and time.monotonic() > deadline:
            raise ChunkingTimeout
        window = trim_spans(text, _segment(text, a, b, language))
        if joined and spans and window:
            spans[-1] = (spans[-1][0], window[0][1])
            window = window[1:]
        spans.extend(window)
        joined = cut_in_sentence
    return spans


def _segment(text: str, a: int, b: int, language: str | None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[a:b]`` (offsets in ``text``); the segmenter runs only where a sentence may end."""
    if not _INNER_BOUNDARY.search(text, a, b) or len(_WORD.findall(text, a, b)) <= 12:
        return [(a, b)]  # one sentence: skip the (slow) segmenter
    spans = [(a + s.start, a + s.end) for s in _segmenter(language or "en").segment(text[a:b])]
    return spans or [(a, b)]


def _windows(text: str):
    """(start, end, cut_inside_a_sentence) windows of at most SEGMENT_WINDOW characters covering ``text``.

    A window ends after the last sentence end in its second half; without one, at its last space (the sentence goes
    on in the next window); without a space, at SEGMENT_WINDOW characters."""
    pos, n = 0, len(text)
    while n - pos > SEGMENT_WINDOW:
        limit = pos + SEGMENT_WINDOW
        cut = None
        for m in _WINDOW_END.finditer(text, pos + SEGMENT_WINDOW // 2, limit):
            cut = m.end()
        if cut is not None:
            yield pos, cut, False
            pos = cut
            continue
        space = text.rfind(" ", pos + 1, limit)
        cut = space + 1 if space > pos else limit
        yield pos, cut, True
        pos = cut
    yield pos, n, False


class Chunker:
    """Structure-aware sentence chunker; arguments are checked here, not at run time."""

    def __init__(self, min_words: int = 120, max_words: int = 250, overlap_words: int = 40):
        if not 0 < min_words < max_words:
            raise ValueError(f"need 0 < min_words < max_words, got {min_words} and {max_words}")
        if not 0 <= overlap_words < min_words:
            raise ValueError(f"need 0 <= overlap_words < min_words, got {overlap_words}")
        self.min_words = min_words
        self.max_words = max_words
        self.overlap_words = overlap_words
        self.max_chars = max_words * CHARS_PER_WORD

    def units(self, blocks: list[Block], language: str | None,
              deadline: float | None = None) -> tuple[str, list[_Unit]]:
        text, spans = join_blocks(blocks)
        units: list[_Unit] = []
        trail: list[tuple[int, str]] = []  # (level, heading)
        for block, (b0, b1) in zip(blocks, spans):
            if deadline is not None and time.monotonic() > deadline:
                raise ChunkingTimeout
            if block.kind == "title" and self._fits(text, b0, b1):
                trail = [t for t in trail if t[0] < block.level] + [(block.level, block.text.strip())]
                # A heading belongs to the section it opens.
                section = tuple(h for _, h in trail)
                units.append(_Unit(b0, b1, len(_WORD.findall(block.text)), block.page, section, True))
                continue
            section = tuple(h for _, h in trail)
            if block.kind in ("list_item", "table", "title"):  # a "heading" longer than a passage is text
                pieces = [(0, len(block.text))]
            else:
                pieces = sentence_spans(block.text, language, deadline)
            for a, b in pieces:
                units.extend(self._split_long(text, b0 + a, b0 + b, block.page, section))
        return text, units

    def _fits(self, text: str, a: int, b: int) -> bool:
        """Whether text[a:b] fits in one passage."""
        return b - a <= self.max_chars and len(_WORD.findall(text, a, b)) <= self.max_words

    def _weight(self, words: int, chars: int) -> int:
        """The size of a unit in words; a run of long words counts as the words its characters would make."""
        return max(words, -(-chars * self.max_words // self.max_chars))

    def _split_long(self, text: str, a: int, b: int, page, section) -> list[_Unit]:
        """A sentence longer than a passage is cut at word boundaries, a word longer than a passage is cut hard."""
        if self._fits(text, a, b):
            return [_Unit(a, b, self._weight(len(_WORD.findall(text, a, b)), b - a), page, section, False)]
        out: list[_Unit] = []
        start = end = -1  # the piece being built
        words = 0

        def close() -> None:
            if words:
                out.append(_Unit(start, end, self._weight(words, end - start), page, section, False))

        for m in _WORD.finditer(text, a, b):
            w0, w1 = m.span()
            while w1 - w0 > self.max_chars:  # a "word" longer than a passage
                close()
                start, end, words = w0, w0 + self.max_chars, 1
                close()
                w0 += self.max_chars
                words = 0
            if words and (words >= self.max_words or w1 - start > self.max_chars):
                close()
                words = 0
            if not words:
                start = w0
            end, words = w1, words + 1
        close()
        return out

    def split(self, blocks: list[Block], language: str | None = None,
              deadline: float | None = None) -> tuple[str, list[Passage]]:
        """Return the parsed text and its passages; ChunkingTimeout once ``time.monotonic()`` passes ``deadline``."""
        text, units = self.units(blocks, language, deadline)
        groups: list[list[_Unit]] = []
        current: list[_Unit] = []
        body_words = 0  # words of the sentences (not headings) in `current`
        carried = 0  # units at the head of `current` repeated from the previous passage

        def reset(us: list[_Unit]) -> None:
            nonlocal current, body_words, carried
            current = us
            body_words = sum(u.words for u in us if not u.is_title)
            carried = len(us)

        def flush() -> None:
            body = [u for u in current if not u.is_title]
            if body:
                groups.append(current)
                # Overlap: trailing whole sentences of this passage, same page, not headings.
                tail: list[_Unit] = []
                tail_words = 0
                for u in reversed(body):
                    if tail_words + u.words > self.overlap_words:
                        break
                    tail.append(u)
                    tail_words += u.words
                reset(tail[::-1])
            else:
                reset([u for u in current if u.is_title])

        for i, unit in enumerate(units):
            if deadline is not None and not i % 1024 and time.monotonic() > deadline:
                raise ChunkingTimeout
            if current and unit.page != current[-1].page:
                flush()
                reset([u for u in current if u.page == unit.page])  # never carry overlap across pages
            if unit.is_title and carried and len(current) == carried:
                reset([])  # a new section does not start with the last one's overlap
            if current and body_words + unit.words > self.max_words:
                flush()
            elif current and unit.is_title and body_words >= self.min_words:
                # A new section starts: close a passage that is already long enough.
                flush()
                reset([])
            if unit.is_title and not body_words and len(current) >= MAX_LEADING_HEADINGS:
                del current[0]  # a long run of headings without text: keep the last ones
                carried = max(carried - 1, 0)
            current.append(unit)
            if not unit.is_title:
                body_words += unit.words
        flush()
        groups = self._merge_short_tails(groups)

        passages = []
        for group in groups:
            body = [u for u in group if not u.is_title]
            start, end = group[0].start, group[-1].end
            sentences = [(u.start - start, u.end - start) for u in body]
            passages.append(
                Passage(len(passages), text[start:end], start, end, body[0].page, list(_main_section(body)), sentences)
            )
        return text, passages

    def _merge_short_tails(self, groups: list[list[_Unit]]) -> list[list[_Unit]]:
        """Fold a very short last passage of a page into the previous one when it fits."""
        out: list[list[_Unit]] = []
        for g in groups:
            gw = sum(u.words for u in g if not u.is_title)
            if out and gw < self.min_words // 2 and out[-1][-1].page == g[0].page:
                prev = out[-1]
                extra = [u for u in g if u.start >= prev[-1].end]
                if sum(u.words for u in prev) + sum(u.words for u in extra) <= self.max_words * 1.2:
                    out[-1] = prev + extra
                    continue
            out.append(g)
        return out


def _main_section(body: list[_Unit]) -> tuple[str, ...]:
    """The section holding most of a passage's words (the first one on a tie)."""
    weight: dict[tuple[str, ...], int] = {}
    for u in body:
        weight[u.section] = weight.get(u.section, 0) + u.words
    return max(weight, key=lambda s: weight[s])  # dicts keep insertion order, so ties go to the first
