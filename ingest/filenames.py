"""Safe names for uploaded files (placeholder until the full sanitiser lands)."""

from __future__ import annotations

import re
import unicodedata

_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_filename(name: str, fallback: str = "upload") -> str:
    """The last path component of ``name`` without control characters or leading dots; never empty."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _BAD.sub("", name).strip().lstrip(".").strip()
    if name in ("", ".", ".."):
        name = fallback
    return name[:200]
