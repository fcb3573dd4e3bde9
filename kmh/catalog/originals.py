"""Content-addressed keep of original files under ``data_dir/originals``."""

from __future__ import annotations

import hashlib
import os
import shutil
import re
import tempfile
from pathlib import Path

_SUFFIX = re.compile(r"(\.[a-z0-9]{1,16})?")


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file, read in chunks (recordings can be gigabytes)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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
    return _keep(data_dir, sha256_bytes(data), suffix, lambda fh: fh.write(data))


def store_original_file(data_dir: Path, source: Path, sha256: str, suffix: str) -> Path:
    """``store_original`` for a file on disk whose hash is known, copied in chunks instead of read whole."""
    suffix = suffix.lower()
    if not _SUFFIX.fullmatch(suffix):
        raise ValueError(f"bad file suffix: {suffix!r}")

    def copy(fh) -> None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, fh, 1 << 20)

    return _keep(data_dir, sha256, suffix, copy)


def _keep(data_dir: Path, sha256: str, suffix: str, write) -> Path:
    rel = original_relpath(sha256, suffix)
    dest = Path(data_dir) / rel
    if dest.is_file():
        return rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rel
