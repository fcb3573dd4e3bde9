"""Markdown: rendered to HTML with markdown-it-py (CommonMark + tables), then the HTML pipeline.

unstructured's ``partition_md`` needs the ``markdown`` package, which is not a dependency; rendering
with markdown-it-py (already installed) and reusing the HTML parser gives the same element mapping:
``#`` headings → titles with levels, lists → list items, pipe tables → tables. The markdown is a
flat document, so a section-stop heading ("## Articles similaires") only removes its own section,
up to the next heading of the same or a higher rank.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.model import Block

from ._common import decode_text
from .html import blocks_from_dom, parse_dom

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def render(text: str) -> str:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    return md.render(text)


def parse(path: Path, data: bytes) -> list[Block]:
    text = decode_text(path, data)
    text = _FRONT_MATTER_RE.sub("", text.replace("\r\n", "\n"), count=1)
    html = render(text)
    root = parse_dom(path, f"<html><body>{html}</body></html>")
    if root is None:
        return []
    return blocks_from_dom(root, flat=True)
