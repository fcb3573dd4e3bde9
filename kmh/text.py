"""Small text helpers shared by ingestion and search."""

from __future__ import annotations

from collections.abc import Iterable


def trim_spans(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (start, end) spans with surrounding whitespace of ``text`` removed; empty spans dropped."""
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out
