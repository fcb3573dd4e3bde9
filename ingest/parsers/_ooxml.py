"""Safety checks for Office Open XML (docx, pptx) packages before any parser opens them.

* zip bombs: refuse when the uncompressed sizes declared in the central directory add up to more
  than ``MAX_UNCOMPRESSED`` or a large member (or the whole archive) inflates more than
  ``MAX_RATIO`` times. Python's ``zipfile`` never inflates a member past its declared size, so
  checking the declared sizes bounds what the parsers can be made to inflate.
* XML entity expansion ("billion laughs", external entities): OOXML parts never carry a DTD, so any
  ``<!DOCTYPE``/``<!ENTITY`` in an XML part is refused before lxml sees it. (python-docx/pptx parse
  with ``resolve_entities=False`` anyway; this makes the refusal explicit and cheap.) OPC allows only
  UTF-8 and UTF-16 in XML parts: UTF-16 parts are decoded before the scan, and a part in any other
  encoding that would hide a declaration from a byte scan (UTF-32, UTF-7, EBCDIC) is refused.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
import zlib
from pathlib import Path

from ingest.model import IngestError

MAX_UNCOMPRESSED = 200 * 1024 * 1024  # bytes, all members together
MAX_RATIO = 100  # uncompressed / compressed
RATIO_MIN_SIZE = 10 * 1024 * 1024  # members smaller than this may compress well (XML does)
MAX_MEMBERS = 10_000
_DTD_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DTD_TEXT_RE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARED_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)", re.IGNORECASE)
# Encodings in which "<!DOCTYPE" is the same bytes as in ASCII, so the byte scan sees it.
_ASCII_COMPATIBLE_RE = re.compile(
    r"(utf-?8|us-?ascii|ascii|iso[-_]?8859[-_]?\d+|latin-?1|(windows|cp)-?125\d)", re.IGNORECASE
)


def open_zip(path: Path, data: bytes, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise IngestError(path, f"corrupt or truncated {what} file (not a valid zip archive)") from None


def check_package(path: Path, data: bytes, what: str) -> None:
    """Raise IngestError when the OOXML package ``data`` is a zip bomb or carries XML entity declarations."""
    with open_zip(path, data, what) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise IngestError(path, f"refused {what}: {len(infos)} zip members (limit {MAX_MEMBERS})")
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > MAX_UNCOMPRESSED:
            raise IngestError(
                path,
                f"refused {what}: possible zip bomb, {total} bytes uncompressed "
                f"(limit {MAX_UNCOMPRESSED // (1024 * 1024)} MB)",
            )
        for info in infos:
            if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise IngestError(
                    path,
                    f"refused {what}: possible zip bomb, member {info.filename} inflates "
                    f"{info.file_size // max(info.compress_size, 1)}x (limit {MAX_RATIO}x)",
                )
        if total > RATIO_MIN_SIZE and total > MAX_RATIO * max(packed, 1):
            raise IngestError(
                path, f"refused {what}: possible zip bomb, inflates {total // max(packed, 1)}x (limit {MAX_RATIO}x)"
            )
        for info in infos:
            name = info.filename.lower()
            if not (name.endswith(".xml") or name.endswith(".rels") or name.endswith(".vml")):
                continue
            if _has_dtd(path, zf, info, what):
                raise IngestError(
                    path,
                    f"refused {what}: XML part {info.filename} declares a DTD/entities (possible entity-expansion attack)",
                )


def _utf16(head: bytes) -> str | None:
    """The UTF-16 codec of an XML part from its first bytes (BOM or "<" as two bytes), else None."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"<\x00\x00\x00", b"\x00\x00\x00<")):
        return None  # UTF-32: refused by the encoding check
    if head.startswith(b"\xff\xfe") or head.startswith(b"<\x00"):
        return "utf-16-le"
    if head.startswith(b"\xfe\xff") or head.startswith(b"\x00<"):
        return "utf-16-be"
    return None


def _has_dtd(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> bool:
    """Scan a whole XML part (in chunks) for a markup declaration; well-formed content cannot hold one."""
    tail: bytes | str = b""
    decoder = None
    try:
        with zf.open(info) as fh:
            first = True
            while chunk := fh.read(1024 * 1024):
                if first:
                    first = False
                    codec = _utf16(chunk[:4])
                    if codec is not None:
                        decoder = codecs.getincrementaldecoder(codec)("replace")
                        tail = ""
                    else:
                        _check_encoding(path, info, chunk, what)
                if decoder is not None:
                    text = decoder.decode(chunk)
                    if _DTD_TEXT_RE.search(tail + text):
                        return True
                    tail = text[-16:]
                    continue
                if _DTD_RE.search(tail + chunk):
                    return True
                tail = chunk[-16:]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError, ValueError):
        raise IngestError(path, f"corrupt or truncated {what} file (unreadable member {info.filename})") from None
    return False


def _check_encoding(path: Path, info: zipfile.ZipInfo, head: bytes, what: str) -> None:
    """Refuse a part whose bytes do not start like ASCII-compatible XML or that declares another encoding."""
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    stripped = body.lstrip(b" \t\r\n")
    declared = _DECLARED_RE.match(body)
    if (stripped and not stripped.startswith(b"<")) or (
        declared and not _ASCII_COMPATIBLE_RE.fullmatch(declared.group(1).decode("ascii"))
        and not declared.group(1).lower().startswith(b"utf-16")
    ):
        raise IngestError(
            path, f"refused {what}: XML part {info.filename} is not encoded in UTF-8 or UTF-16 as OOXML requires"
        )
