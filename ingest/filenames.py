"""Safe names for uploaded files: what a client sends as a filename is data, never a path.

``safe_filename`` keeps the last component of the name (``/`` and ``\\`` both separate folders, so
``../../etc/passwd`` and ``..\\..\\x.pdf`` lose their folders), removes control characters (C0, DEL,
C1) and bidirectional controls (``report\\u202Efdp.exe`` would display as "reportexe.pdf"),
replaces the characters Windows forbids, strips leading dots (no hidden files, no ``..``) and
trailing dots and spaces, prefixes reserved Windows device names (``CON``, ``NUL``, ``COM1``, ...),
NFC-normalises, and trims to 200 bytes of UTF-8 keeping the extension. It never returns an empty
name: a name with nothing left becomes ``upload`` plus its extension.
"""

from __future__ import annotations

import re
import unicodedata

MAX_BYTES = 200
FALLBACK = "upload"
# C0 controls, DEL, C1 controls; bidi embeddings/overrides/isolates and the bidi marks (LRM, RLM, ALM).
_INVISIBLE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_WINDOWS_FORBIDDEN_RE = re.compile(r'[<>:"|?*]')
_EXTENSION_RE = re.compile(r"\.[A-Za-z0-9]{1,16}$")
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in "123456789¹²³"}
    | {f"LPT{i}" for i in "123456789¹²³"}
)


def safe_filename(name: str, max_bytes: int = MAX_BYTES) -> str:
    """A file name safe to store and show, derived from an uploaded ``name`` (never empty)."""
    name = unicodedata.normalize("NFC", name or "")
    name = _INVISIBLE_RE.sub("", name)
    name = re.split(r"[/\\]", name)[-1]
    name = _WINDOWS_FORBIDDEN_RE.sub("_", name)
    name = " ".join(name.split())
    match = _EXTENSION_RE.search(name)
    extension = match.group(0) if match else ""
    stem = name[: len(name) - len(extension)].lstrip(". ").rstrip(". ")
    if stem.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        stem = f"_{stem}"
    budget = max(max_bytes - len(extension.encode("utf-8")), 1)
    stem = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip(". ")
    return f"{stem or FALLBACK}{extension}"
