"""HTML: page chrome removed from the DOM, then unstructured's ``partition_html`` for the elements.

Removed before partitioning (rules in ``boilerplate``): script/style/nav/aside/form/..., page-level
header and footer, ARIA landmarks for navigation/banner/contentinfo/complementary, hidden elements,
elements whose class/id names chrome (cookie banners, share bars, related posts, comments), and
every section-stop heading ("A lire aussi", "Articles similaires", "Laissez un commentaire", ...)
together with everything after it in its container. h1–h6 become titles of level 1–6.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
from lxml import etree

from ingest.model import Block, IngestError

from . import boilerplate
from ._common import clean_line, decode_text, elements_to_blocks, strip_bullet, table_element_to_text

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_KEEP_ALWAYS = {"html", "body", "main", "article"}
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_STOP_CANDIDATE_TAGS = set(_HEADINGS) | {"p", "div", "span", "strong", "b", "em", "section", "header", "dt", "summary"}


def decode_html(path: Path, data: bytes) -> str:
    """Decode with the declared charset when there is one, else as UTF-8 text."""
    match = _CHARSET_RE.search(data[:4096])
    if match and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        encoding = match.group(1).decode("ascii", "replace")
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            if b"\x00" in data:
                raise IngestError(path, "binary content, not text")
            try:
                return data.decode(encoding, errors="replace")
            except LookupError:
                pass
    return decode_text(path, data)


def parse_dom(path: Path, text: str):
    text = _XML_DECL_RE.sub("", text, count=1)
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
    try:
        return lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError):
        if not text.strip():
            return None
        raise IngestError(path, "unreadable HTML") from None


def parse(path: Path, data: bytes) -> list[Block]:
    root = parse_dom(path, decode_html(path, data))
    if root is None:
        return []
    return blocks_from_dom(root, flat=False)


def blocks_from_dom(root, *, flat: bool) -> list[Block]:
    """Clean ``root`` in place and turn it into blocks (also used by the Markdown parser)."""
    page_title = _page_title(root)
    body = root.find("body")
    if body is None:
        body = root
    clean_dom(body, flat=flat)
    blocks = _partition(body)
    blocks = boilerplate.drop_boilerplate_blocks(blocks, web=True)
    if page_title and not any(b.kind == "title" and b.level == 1 for b in blocks):
        blocks.insert(0, Block(text=page_title, kind="title", level=1))
    return blocks


def _page_title(root) -> str | None:
    node = root.find(".//head/title")
    if node is None:
        return None
    title = clean_line(node.text_content())
    # "Article title | Site name" / "Article title – Site"
    title = re.split(r"\s+[|–—]\s+|\s+-\s+", title)[0].strip()
    return title or None


# ---------------------------------------------------------------------------------------------
# cleaning
# ---------------------------------------------------------------------------------------------


def _drop(el) -> None:
    if el.getparent() is not None:
        el.drop_tree()  # keeps the element's tail text


def clean_dom(body, *, flat: bool) -> None:
    to_drop = []
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in boilerplate.DROP_TAGS:
            to_drop.append(el)
            continue
        if tag in boilerplate.PAGE_CHROME_TAGS and not any(
            a.tag in ("article", "main") for a in el.iterancestors()
        ):
            to_drop.append(el)
            continue
        if (el.get("role") or "").lower() in boilerplate.DROP_ROLES and tag not in _KEEP_ALWAYS:
            to_drop.append(el)
            continue
        if el.get("hidden") is not None or (el.get("aria-hidden") or "").lower() == "true":
            to_drop.append(el)
            continue
        if _HIDDEN_STYLE_RE.search(el.get("style") or ""):
            to_drop.append(el)
            continue
        if tag not in _KEEP_ALWAYS and boilerplate.is_boilerplate_container(
            f"{el.get('class') or ''} {el.get('id') or ''}"
        ):
            to_drop.append(el)
    for el in to_drop:
        # an ancestor may already be gone; dropping a detached subtree is harmless
        _drop(el)
    _drop_section_stops(body, flat=flat)


def _text(el) -> str:
    return clean_line(el.text_content())


def _heading_rank(el) -> int | None:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    return int(tag[1]) if tag in _HEADINGS else None


def _drop_section_stops(body, *, flat: bool) -> None:
    while True:
        stop = None
        for el in body.iter():
            if not isinstance(el.tag, str) or el.tag.lower() not in _STOP_CANDIDATE_TAGS:
                continue
            text = _text(el)
            if len(text) > 60 or not boilerplate.is_section_stop(text):
                continue
            # the deepest element carrying the phrase
            if any(isinstance(c.tag, str) and _text(c) == text for c in el):
                continue
            stop = el
            break
        if stop is None:
            return
        rank = _heading_rank(stop)
        # climb out of wrappers that hold nothing but the heading (<div class="t"><h3>...</h3></div>)
        node = stop
        while True:
            parent = node.getparent()
            if parent is None or parent is body or parent.tag in _KEEP_ALWAYS:
                break
            if _text(parent) != _text(stop):
                break
            node = parent
        parent = node.getparent()
        following = list(node.itersiblings())
        node.tail = None  # loose text after the heading belongs to the dropped section
        _drop(node)
        for sibling in following:
            if flat and rank is not None:
                sib_rank = _heading_rank(sibling)
                if sib_rank is not None and sib_rank <= rank:
                    break
            if sibling.getparent() is parent:
                sibling.tail = None
                _drop(sibling)


# ---------------------------------------------------------------------------------------------
# partitioning
# ---------------------------------------------------------------------------------------------


def _partition(body) -> list[Block]:
    from ._unstructured import partition_html

    html = lxml.html.tostring(body, encoding="unicode", method="html")
    try:
        elements = partition_html(text=f"<html>{html}</html>", languages=[""])
    except Exception:  # noqa: BLE001 - fall back to a plain DOM walk
        elements = None
    if elements:
        blocks = elements_to_blocks(elements)
        if any(b.text.strip() for b in blocks):
            return blocks
    return _walk(body)


_BLOCK_TAGS = {"p", "div", "section", "blockquote", "pre", "dd", "dt", "figcaption", "address", "td", "th", "caption"}


def _walk(body) -> list[Block]:
    """Minimal DOM walk used when unstructured returns nothing."""
    blocks: list[Block] = []

    def visit(el) -> None:
        if not isinstance(el.tag, str):
            return
        tag = el.tag.lower()
        rank = _heading_rank(el)
        if rank is not None:
            blocks.append(Block(text=_text(el), kind="title", level=rank))
            return
        if tag == "table":
            blocks.append(Block(text=table_element_to_text(el), kind="table"))
            return
        if tag == "li":
            blocks.append(Block(text=strip_bullet(_text(el)), kind="list_item"))
            return
        children = [c for c in el if isinstance(c.tag, str)]
        has_block_child = any(
            c.tag.lower() in _BLOCK_TAGS | set(_HEADINGS) | {"ul", "ol", "li", "table"} for c in children
        )
        if not has_block_child:
            text = _text(el)
            if text:
                blocks.append(Block(text=text, kind="text"))
            return
        if el.text and el.text.strip():
            blocks.append(Block(text=el.text, kind="text"))
        for child in children:
            visit(child)
            if child.tail and child.tail.strip():
                blocks.append(Block(text=child.tail, kind="text"))

    visit(body)
    return blocks
