"""Sentences of a passage: where they are (spans by punctuation and line breaks, headings left out) and which one
holds the most query terms. What the highlighter and the snippets both read."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kmh.text import trim_spans

Span = tuple[int, int]
# (start, end, query terms) of a word carrying query terms (search.highlight.Highlighter.marks).
Mark = tuple[int, int, frozenset[str]]

# A sentence ends at . ! ? … (then optional closing quotes/brackets) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"[.!?…]+[\"»”’)\]]*(?=\s)|\n")
# A line that ends like a sentence (or introduces one): not a heading.
_ENDS_LIKE_SENTENCE = re.compile(r"[.!?…:;,][\"»”’)\]]*\s*$")
# How the section trail's headings are joined in the payload's "section".
SECTION_SEPARATOR = " › "


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text`` by punctuation and line breaks (whitespace trimmed, empty ones dropped)."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    return trim_spans(text, spans)


def body_sentences(text: str, section: str | None = None) -> list[Span]:
    """The sentences of ``text`` without its headings: the whole lines it starts with that do not end like a
    sentence, and any line that is one of the headings of ``section`` (the payload's trail, "A › B"). All of its
    sentences when that would leave none."""
    spans = split_sentences(text)
    titles = {t.strip().casefold() for t in (section or "").split(SECTION_SEPARATOR) if t.strip()}
    out, leading = [], True
    for a, b in spans:
        line = _whole_line(text, a, b)
        piece = text[a:b]
        if line and piece.casefold() in titles:
            continue
        if leading and line and not _ENDS_LIKE_SENTENCE.search(piece):
            continue
        leading = False
        out.append((a, b))
    return out or spans


def _whole_line(text: str, a: int, b: int) -> bool:
    """Whether text[a:b] is a line of its own (only whitespace around it on its line)."""
    end = text.find("\n", b)
    return not text[text.rfind("\n", 0, a) + 1: a].strip() and not text[b: len(text) if end < 0 else end].strip()


def best_by_terms(sentences: Sequence[Span], marks: Sequence[Mark]) -> int | None:
    """Index of the sentence holding the most distinct query terms (each weighs 1, as in the query vector); ties by
    more marked words, then the first. None when no sentence holds any."""
    best, best_key = None, (0, 0)
    for i, (s, e) in enumerate(sentences):
        inside = [m for m in marks if m[0] >= s and m[1] <= e]
        if not inside:
            continue
        key = (len(frozenset().union(*(m[2] for m in inside))), len(inside))
        if key > best_key:
            best, best_key = i, key
    return best
