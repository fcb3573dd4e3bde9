"""Highlighting: the query terms of a passage in ``<mark>``, the sentence holding the most of them in ``<b>``, the
rest HTML-escaped. Terms are matched as BM25 analyses them (stemmed in French and English, accents and case folded).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

from kmh.sparse import Bm25Encoder
from search.sentences import Mark, Span, best_by_terms, body_sentences

# Words, and numbers with their digit groups ("11.300", "11 300") or decimals, as the BM25 tokenizer reads them.
_WORD = re.compile(r"\d{1,3}(?:([.,\u00a0\u202f ])\d{3})(?:\1\d{3})*(?:[.,]\d+)?(?!\d)|\d+(?:[.,]\d+)?|[^\W\d_]+")


class Highlighter:
    """Marks query terms (analysed like BM25: stemmed in French and English, accents folded, case folded)
    and the best-matching sentence. The text is HTML-escaped; only the tags are markup."""

    LANGUAGES = ("fr", "en")

    def __init__(self, encoder: Bm25Encoder):
        self.encoder = encoder
        self._word_terms = lru_cache(maxsize=50_000)(self._terms_of_word)
        self._prefixes = lru_cache(maxsize=1024)(_prefix_pattern)

    def query_terms(self, q: str) -> frozenset[str]:
        return frozenset(t for lang in self.LANGUAGES for t in self.encoder.terms(q, lang))

    def _terms_of_word(self, word: str) -> frozenset[str]:
        return frozenset(t for lang in self.LANGUAGES for t in self.encoder.terms(word, lang))

    def highlight(self, text: str, terms: frozenset[str]) -> str:
        """The whole text, query terms in <mark>, the sentence holding the most of them (never a heading) in <b>."""
        marks = self.marks(text, terms)
        best = self._best_sentence(text, marks)
        return self.render(text, marks, best)

    def marks(self, text: str, terms: frozenset[str]) -> list[Mark]:
        """(start, end, query terms) of each word of ``text`` that carries query terms, in text order."""
        marks: list[Mark] = []
        if terms:
            word_terms = self._word_terms
            for start, end in self._candidates(text, terms):
                found = word_terms(text[start:end].lower())
                if not found.isdisjoint(terms):
                    marks.append((start, end, found & terms))
        return marks

    @staticmethod
    def render(text: str, marks: Sequence[Mark], best: Span | None = None, start: int = 0, end: int | None = None
               ) -> str:
        """text[start:end] HTML-escaped, the marks inside it in <mark>, ``best`` (clipped to it) in <b>."""
        end = len(text) if end is None else end
        tags: list[tuple[int, int, str]] = []  # (position, order, tag): closing tags before opening ones
        if best is not None and best[0] < end and best[1] > start:
            tags += [(max(best[0], start), 1, "<b>"), (min(best[1], end), 0, "</b>")]
        for s, e, _ in marks:
            if s >= start and e <= end:
                tags += [(s, 2, "<mark>"), (e, -1, "</mark>")]
        tags.sort()
        out, pos = [], start
        for at, _, tag in tags:
            out.append(html.escape(text[pos:at]))
            out.append(tag)
            pos = at
        out.append(html.escape(text[pos:end]))
        return "".join(out)

    def _candidates(self, text: str, terms: frozenset[str]) -> Iterator[Span]:
        """Spans of the words that may carry a query term: every word, or, when the query has no number, the
        words whose first three letters (lowercased, accents folded) start a query term, found by one regex
        over a folded copy of the text (same length, so the spans hold for the original)."""
        pattern = self._prefixes(terms)
        lowered = text.lower()
        if pattern is None or len(lowered) != len(text):
            return (m.span() for m in _WORD.finditer(text))
        return (m.span() for m in pattern.finditer(lowered.translate(_fold_table())))

    @staticmethod
    def _best_sentence(text: str, marks: Sequence[Mark]) -> Span | None:
        """The sentence holding the most distinct query terms, headings left out (search.sentences.best_by_terms)."""
        sentences = body_sentences(text)
        best = best_by_terms(sentences, marks)
        return sentences[best] if best is not None else None


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Lowercase Latin letters with accents -> their base letter, one character for one (œ, æ, ß stay)."""
    import unicodedata

    table = {}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(code))
        if len(base) > 1 and base[0].isascii() and base[0].isalpha():
            table[code] = base[0].lower()
    return table


def _prefix_pattern(terms: frozenset[str]) -> re.Pattern | None:
    """A regex of the words that may analyse to one of ``terms`` (see Highlighter._candidates); None when a term
    is a number (digit groups are read differently by the tokenizer: scan every word)."""
    if not terms or any(t[:1].isdigit() for t in terms):
        return None
    prefixes = set()
    for t in terms:
        # Stems are folded ("oeuvr"); the folded text keeps ligatures ("œuvre"): add their spellings too.
        for variant in {t, t.replace("oe", "œ"), t.replace("ae", "æ"), t.replace("ss", "ß")}:
            prefixes.add(variant[:3])
    alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
    return re.compile(rf"(?<![^\W\d_])(?:{alternatives})[^\W\d_]*")
