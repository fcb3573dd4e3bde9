"""A file's own metadata: PDF Info and XMP, DOCX/PPTX core properties, HTML ``<title>`` and ``<meta>`` tags.

``read_properties(path, data, fmt)`` answers a small dict of text values, under these keys when found:

* ``title``: the title the file gives itself (PDF /Title or XMP dc:title, core dc:title, HTML og:title or
  DC.title); ``page_title``: an HTML page's ``<title>`` (site name cut off);
* ``published``: an HTML page's publication date (article:published_time, ``<meta name="date">``, DC.date,
  ``<time datetime>`` of the article), as written (ISO);
* ``created``, ``modified``: the file's creation and modification dates (YYYY-MM-DD);
* ``subject``, ``keywords``, ``og:type``.

It is read after the file parsed, so the package checks (zip bombs, DTDs) are done; it never fails: a broken
property is left out. Whether a value is meaningful (not "Microsoft Word - x.docx") is ``ingest.metadata``'s call.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path

VALUE_MAX_CHARS = 500
_ISO_DATE_RE = re.compile(r"((?:19|20)\d\d)(?:-(\d\d)(?:-(\d\d))?)?")


def read_properties(path: Path, data: bytes, fmt: str) -> dict[str, str]:
    """The file's own metadata (see the module), empty when it has none or cannot be read."""
    reader = {"pdf": _pdf, "docx": _ooxml, "pptx": _ooxml, "html": _html}.get(fmt)
    if reader is None:
        return {}
    try:
        found = reader(path, data)
    except Exception:  # noqa: BLE001 - a file's properties are optional; the parse already succeeded
        return {}
    out: dict[str, str] = {}
    for key, value in found.items():
        if value is None:
            continue
        text = re.sub(r"\s+", " ", str(value)).strip().strip("\x00")
        if text:
            out[key] = text[:VALUE_MAX_CHARS]
    return out


def _day(value: object) -> str | None:
    """YYYY-MM-DD of a datetime, a date or an ISO-like text; None when it holds no plausible date."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat() if 1900 < value.year < 2100 else None
    if isinstance(value, str):
        match = _ISO_DATE_RE.match(value.strip().removeprefix("D:"))
        if match:
            return match.group(0)
    return None


def _pdf(path: Path, data: bytes) -> dict[str, str | None]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        reader.decrypt("")
    out: dict[str, str | None] = {}
    info = reader.metadata
    if info is not None:
        out["title"] = info.title
        out["subject"] = info.subject
        out["keywords"] = info.get("/Keywords")
        for key, attr, raw in (("created", "creation_date", "/CreationDate"), ("modified", "modification_date", "/ModDate")):
            try:
                out[key] = _day(getattr(info, attr))
            except Exception:  # noqa: BLE001 - a malformed date string
                out[key] = _day(str(info.get(raw, "")))
    if not out.get("title") or not out.get("created"):
        try:
            xmp = reader.xmp_metadata
        except Exception:  # noqa: BLE001
            xmp = None
        if xmp is not None:
            if not out.get("title") and xmp.dc_title:
                out["title"] = next(iter(xmp.dc_title.values()), None)
            if not out.get("created"):
                out["created"] = _day(xmp.xmp_create_date)
    return out


_CORE_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
}


def _ooxml(path: Path, data: bytes) -> dict[str, str | None]:
    import zipfile

    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if "docProps/core.xml" not in zf.namelist():
            return {}
        info = zf.getinfo("docProps/core.xml")
        if info.file_size > 1024 * 1024:
            return {}
        raw = zf.read(info)
    if re.search(rb"<!\s*(DOCTYPE|ENTITY)", raw, re.IGNORECASE):
        return {}
    root = etree.fromstring(raw, parser=etree.XMLParser(resolve_entities=False, no_network=True))

    def text(xpath: str) -> str | None:
        node = root.find(xpath, _CORE_NS)
        return node.text if node is not None and node.text else None

    return {
        "title": text("dc:title"),
        "subject": text("dc:subject"),
        "keywords": text("cp:keywords"),
        "created": _day(text("dcterms:created") or ""),
        "modified": _day(text("dcterms:modified") or ""),
    }


_META_TITLE = ("og:title", "dc.title", "dcterms.title", "twitter:title")
_META_DATE = ("article:published_time", "og:article:published_time", "date", "dc.date", "dcterms.date",
              "dc.date.issued", "dcterms.issued", "pubdate", "publishdate", "publication_date", "citation_date",
              "citation_publication_date")
_META_MODIFIED = ("article:modified_time", "og:updated_time", "last-modified", "dcterms.modified")


def _html(path: Path, data: bytes) -> dict[str, str | None]:
    from .html import decode_html, parse_dom

    root = parse_dom(path, decode_html(path, data))
    if root is None:
        return {}
    metas: dict[str, str] = {}
    for node in root.iter("meta"):
        key = (node.get("property") or node.get("name") or node.get("itemprop") or "").strip().lower()
        content = node.get("content")
        if key and content and key not in metas:
            metas[key] = content
    out: dict[str, str | None] = {"title": next((metas[k] for k in _META_TITLE if metas.get(k)), None)}
    head_title = root.find(".//head/title")
    if head_title is not None:
        out["page_title"] = re.split(r"\s+[|–—]\s+|\s+-\s+", head_title.text_content().strip())[0]
    published = next((metas[k] for k in _META_DATE if metas.get(k)), None)
    if published is None:
        for node in root.iter("time"):
            if node.get("datetime") and (node.get("itemprop") == "datePublished" or "pub" in (node.get("class") or "")):
                published = node.get("datetime")
                break
    if published is not None and _ISO_DATE_RE.match(published.strip()):
        out["published"] = _ISO_DATE_RE.match(published.strip()).group(0)  # type: ignore[union-attr]
    modified = next((metas[k] for k in _META_MODIFIED if metas.get(k)), None)
    out["modified"] = _day(modified) if modified else None
    out["subject"] = metas.get("description") or metas.get("og:description")
    out["keywords"] = metas.get("keywords")
    out["og:type"] = metas.get("og:type")
    return out
