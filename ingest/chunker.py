"""Cut a parsed document into passages along its structure.

Passages are runs of whole sentences of roughly ``min_words``..``max_words`` words.
A passage never spans two pages; it carries its page, its section trail (the headings
above it) and its character span in the document's parsed text, so a citation can point
exactly at it. Consecutive passages overlap by up to ``overlap_words`` words of whole
sentences on the same page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ingest.model import Block
from kmh.text import trim_spans

BLOCK_SEPARATOR = "\n\n"
SECTION_SEPARATOR = " › "
_WORD = re.compile(r"\S+")
# A sentence end followed by more text: without one, a block is a single sentence.
_INNER_BOUNDARY = re.compile(r"[.!?…:;][»\"')\]]*\s+\S")


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


def sentence_spans(text: str, language: str | None) -> list[tuple[int, int]]:
    """Sentence (start, end) spans in ``text``, whitespace trimmed."""
    if len(_WORD.findall(text)) <= 12 or not _INNER_BOUNDARY.search(text.rstrip()):
        spans = [(0, len(text))]  # one sentence: skip the (slow) segmenter
    else:
        spans = [(s.start, s.end) for s in _segmenter(language or "en").segment(text)]
        if not spans:
            spans = [(0, len(text))]
    return trim_spans(text, spans)


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

    def units(self, blocks: list[Block], language: str | None) -> tuple[str, list[_Unit]]:
        text, spans = join_blocks(blocks)
        units: list[_Unit] = []
        trail: list[tuple[int, str]] = []  # (level, heading)
        for block, (b0, _b1) in zip(blocks, spans):
            if block.kind == "title":
                trail = [t for t in trail if t[0] < block.level] + [(block.level, block.text.strip())]
                # A heading belongs to the section it opens.
                section = tuple(h for _, h in trail)
                units.append(_Unit(b0, b0 + len(block.text), len(_WORD.findall(block.text)), block.page, section, True))
                continue
            section = tuple(h for _, h in trail)
            if block.kind in ("list_item", "table"):
                pieces = [(0, len(block.text))]
            else:
                pieces = sentence_spans(block.text, language)
            for a, b in pieces:
                units.extend(self._split_long(text, b0 + a, b0 + b, block.page, section))
        return text, units

    def _split_long(self, text: str, a: int, b: int, page, section) -> list[_Unit]:
        """A sentence longer than max_words is cut at word boundaries."""
        words = [(m.start() + a, m.end() + a) for m in _WORD.finditer(text[a:b])]
        if len(words) <= self.max_words:
            return [_Unit(a, b, len(words), page, section, False)]
        step = self.max_words
        return [
            _Unit(words[i][0], words[min(i + step, len(words)) - 1][1], min(step, len(words) - i), page, section, False)
            for i in range(0, len(words), step)
        ]

    def split(self, blocks: list[Block], language: str | None = None) -> tuple[str, list[Passage]]:
        """Return the parsed text and its passages."""
        text, units = self.units(blocks, language)
        groups: list[list[_Unit]] = []
        current: list[_Unit] = []
        carried = 0  # units at the head of `current` repeated from the previous passage

        def words(us: list[_Unit]) -> int:
            return sum(u.words for u in us)

        def flush() -> None:
            nonlocal current, carried
            body = [u for u in current if not u.is_title]
            if body:
                groups.append(current)
                # Overlap: trailing whole sentences of this passage, same page, not headings.
                tail: list[_Unit] = []
                for u in reversed(body):
                    if u.is_title or words(tail) + u.words > self.overlap_words:
                        break
                    tail.insert(0, u)
                current = tail
            else:
                current = [u for u in current if u.is_title]
            carried = len(current)

        for unit in units:
            if current and unit.page != current[-1].page:
                flush()
                current = [u for u in current if u.page == unit.page]  # never carry overlap across pages
                carried = len(current)
            if unit.is_title and carried and len(current) == carried:
                current, carried = [], 0  # a new section does not start with the last one's overlap
            new_body = words([u for u in current if not u.is_title])
            if current and new_body + unit.words > self.max_words:
                flush()
            elif current and unit.is_title and new_body >= self.min_words:
                # A new section starts: close a passage that is already long enough.
                flush()
                current, carried = [], 0
            current.append(unit)
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
