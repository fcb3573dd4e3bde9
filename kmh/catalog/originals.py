"""Content-addressed keep of original files under ``data_dir/originals``."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SUFFIX = re.compile(r"(\.[a-z0-9]{1,16})?")


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def original_relpath(sha256: str, suffix: str = "") -> Path:
    """Where an original with this hash is kept, relative to the data folder."""
    return Path("originals", sha256[:2], sha256[2:4], f"{sha256}{suffix}")


def store_original(data_dir: Path, data: bytes, suffix: str) -> Path:
    """Keep ``data`` as ``originals/ab/cd/<sha256><suffix>`` and return that path relative to ``data_dir``.

    The file is written to a temporary file and renamed into place; an existing copy is left alone.
    ``suffix`` is like ".pdf" (lower-cased) or "".
    """
    suffix = suffix.lower()
    if not _SUFFIX.fullmatch(suffix):
        raise ValueError(f"bad file suffix: {suffix!r}")
    rel = original_relpath(sha256_bytes(data), suffix)
    dest = Path(data_dir) / rel
    if dest.is_file():
        return rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rel
