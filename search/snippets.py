"""Snippets: the one to three sentences of a passage that best answer the question, the best one in ``<b>``.

The best sentence is the one whose stored e5 vector (the passage's "sentences" multivector, in the order of its
``sentence_spans``) is closest to the question's vector, so it is found across languages. Without vectors (a
store or passage without them, keyword mode where no question vector is computed) it is the sentence holding the
most distinct query terms. Headings are never sentences: the stored spans leave them out, and without spans the
lines a passage starts with that do not end like a sentence, and the lines naming its section, are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kmh.text import trim_spans
from search.sentences import Mark, Span, best_by_terms, body_sentences

if TYPE_CHECKING:
    from kmh.store import VectorStore
    from search.highlight import Highlighter
    from search.results import SearchHit

# Snippets stay under about this many characters (the best sentence alone may be cut to it).
SNIPPET_CHARS = 320
ELLIPSIS = "…"


def stored_spans(flat: Any, text: str) -> list[Span]:
    """The payload's flat [start0, end0, start1, end1, ...] as spans; [] when missing or not spans of ``text``."""
    if not isinstance(flat, (list, tuple)) or not flat or len(flat) % 2:
        return []
    spans = []
    last = 0
    for a, b in zip(flat[::2], flat[1::2]):
        if not (isinstance(a, int) and isinstance(b, int) and last <= a < b <= len(text)):
            return []
        spans.append((a, b))
        last = b
    return spans


def best_by_vector(query: np.ndarray, multivector: Any, count: int) -> int | None:
    """Index of the sentence whose vector has the largest cosine with ``query`` (a unit vector); ``multivector`` is
    the passage's own vector then one per sentence. None when it does not hold ``count`` sentence vectors."""
    if multivector is None or count < 1:
        return None
    m = np.asarray(multivector, dtype=np.float32)
    if m.ndim != 2 or m.shape[0] != count + 1 or m.shape[1] != query.shape[0]:
        return None
    sentences = m[1:]
    norms = np.linalg.norm(sentences, axis=1)
    norms[norms == 0] = 1.0
    return int(np.argmax(sentences @ query / norms))


def window(text: str, sentences: Sequence[Span], best: int, limit: int = SNIPPET_CHARS) -> list[Span]:
    """The best sentence and up to two of its neighbours, the next one first, while the whole stays within
    ``limit`` characters; a neighbour across anything but whitespace (a heading) is not taken."""
    first = last = best
    size = sentences[best][1] - sentences[best][0]
    for _ in range(2):
        for i in (last + 1, first - 1):
            if not 0 <= i < len(sentences):
                continue
            a, b = sorted((i, first if i < first else last))
            gap = text[sentences[a][1]: sentences[b][0]]
            extra = sentences[i][1] - sentences[i][0] + 1
            if gap.strip() or size + extra > limit:
                continue
            size += extra
            first, last = min(first, i), max(last, i)
            break
    return list(sentences[first: last + 1])


def cut(text: str, span: Span, marks: Sequence[Mark], limit: int = SNIPPET_CHARS) -> Span:
    """At most ``limit`` characters of an overlong sentence, at word boundaries: from its start, or from a little
    before its first marked word when that word would be cut off."""
    a, b = span
    if b - a <= limit:
        return span
    inside = [m for m in marks if m[0] >= a and m[1] <= b]
    start = a
    if inside and inside[0][1] > a + limit * 3 // 4:
        start = max(a, inside[0][0] - limit // 4)
        space = text.find(" ", start, inside[0][0])
        start = space + 1 if space >= 0 else inside[0][0]
    end = min(b, start + limit)
    if end < b:
        space = text.rfind(" ", start, end + 1)
        if space > start:
            end = space
    return trim_spans(text, [(start, end)])[0]


class Snippets:
    """Fills ``highlight`` and ``snippet`` of a page of hits, reading their sentence vectors in one batch."""

    def __init__(self, store: VectorStore, highlighter: Highlighter):
        self.store = store
        self.highlighter = highlighter

    def fill(self, hits: Sequence[SearchHit], terms: frozenset[str], query: Sequence[float] | None,
             spans: dict[str, Any]) -> dict[str, Span | None]:
        """``spans``: each hit's payload ``sentence_spans`` by passage id; ``query``: the question's dense vector,
        None for the fallback (best sentence by query terms). Returns each hit's best sentence (the one in ``<b>``),
        None where no sentence answers, by passage id."""
        texts = {h.passage_id: h.text for h in hits}
        sentences = {i: stored_spans(spans.get(i), t) for i, t in texts.items()}
        with_vectors = [i for i, s in sentences.items() if s]
        vectors: dict[str, Any] = {}
        q = None
        if query is not None and with_vectors and self.store.has_sentences:
            vectors = self.store.sentence_vectors(with_vectors)
            q = np.asarray(query, dtype=np.float32)
            q /= np.linalg.norm(q) or 1.0
        best: dict[str, Span | None] = {}
        for h in hits:
            h.highlight, h.snippet, best[h.passage_id] = self.best(h.text, terms, sentences[h.passage_id],
                                                                   vectors.get(h.passage_id), q, h.citation.section)
        return best

    def make(self, text: str, terms: frozenset[str], sentences: list[Span], multivector: Any = None,
             query: np.ndarray | None = None, section: str | None = None) -> tuple[str, str]:
        """(highlight, snippet) of one passage; ``sentences`` are its stored spans ([] when it has none)."""
        return self.best(text, terms, sentences, multivector, query, section)[:2]

    def best(self, text: str, terms: frozenset[str], sentences: list[Span], multivector: Any = None,
             query: np.ndarray | None = None, section: str | None = None) -> tuple[str, str, Span | None]:
        """(highlight, snippet, best sentence) of one passage, like ``make``; the best sentence is None when none
        answers."""
        hl = self.highlighter
        marks = hl.marks(text, terms)
        best = best_by_vector(query, multivector, len(sentences)) if query is not None and sentences else None
        if not sentences:
            sentences = body_sentences(text, section)
        if best is None:
            best = best_by_terms(sentences, marks)
        if not sentences:
            return hl.render(text, marks), "", None
        if best is None:  # nothing matches: the opening sentences, none in bold
            return hl.render(text, marks), snippet(hl, text, sentences, 0, marks, bold=False), None
        return hl.render(text, marks, sentences[best]), snippet(hl, text, sentences, best, marks), sentences[best]

    def lead(self, text: str, spans: Any = None, section: str | None = None) -> str:
        """The snippet of a passage shown without a question: its opening sentences, nothing marked."""
        return self.make(text, frozenset(), stored_spans(spans, text), section=section)[1]


def snippet(hl: Highlighter, text: str, sentences: Sequence[Span], best: int, marks: Sequence[Mark], *,
            bold: bool = True, limit: int = SNIPPET_CHARS) -> str:
    """The HTML snippet: the window of sentences around ``best``, each rendered by the highlighter, joined by
    spaces; an overlong best sentence cut with ellipses."""
    span = sentences[best]
    if span[1] - span[0] > limit:
        a, b = cut(text, span, marks, limit)
        body = hl.render(text, marks, (a, b) if bold else None, a, b)
        return (ELLIPSIS if a > span[0] else "") + body + (ELLIPSIS if b < span[1] else "")
    return " ".join(hl.render(text, marks, s if bold and s == span else None, s[0], s[1])
                    for s in window(text, sentences, best, limit))
