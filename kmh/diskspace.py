"""Free space in the data folder: enough for the index at start, enough for a job's writes, and failed writes.

The embedded index (qdrant-edge) keeps its data in memory-mapped files that are created sparse: their full size is
reserved on paper but taken on the volume only as pages are touched (loading a shard touches most of them). A
touch that finds the volume full is not an error the program can catch: the process gets SIGBUS and dies. So the
room the index's files may still take counts as used here, before the store is opened and before each job.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

from kmh.settings import Settings

MB = 2**20
# Full (apparent) size of the files of a new, empty shard: 214 MB measured with qdrant-edge-py 0.9.0 (a first open
# takes 57 MB of it on tmpfs, opening it again 115 MB, passages the rest), rounded up.
NEW_INDEX_BYTES = 240 * MB
# How kmh.store.edge tells that a folder holds a shard (without importing qdrant_edge).
_SHARD_MARKERS = ("edge_config.json", "segments")
PROBE_FILE = ".kmh-write-probe"

# The texts of the errors a full or failing volume gives: OSError (ENOSPC, EDQUOT, EIO), SQLite, Rust (qdrant-edge).
_DISK_FAILURE = re.compile(
    r"no space left on device|database or disk is full|disk i/o error|disk quota exceeded|input/output error"
    r"|\b(?:errno|os error) (?:5|28|122)\b|\bENOSPC\b|\bEDQUOT\b", re.IGNORECASE)
_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO)


class NoRoomForIndex(RuntimeError):
    """The volume of the data folder cannot hold the index: opening it could kill the process (SIGBUS)."""


def is_disk_failure(error: BaseException | str | None) -> bool:
    """Whether an exception (or any in its chain), or an error text, says the volume is full or failing."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, str):
            return bool(_DISK_FAILURE.search(error))
        if isinstance(error, OSError) and error.errno in _DISK_ERRNOS or _DISK_FAILURE.search(str(error)):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _existing(path: Path) -> Path:
    """``path``, or its nearest parent that exists (a data folder not made yet is on its parent's volume)."""
    path = Path(path)
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def free_bytes(path: Path) -> int:
    """Free space (for this user) on the volume of ``path``, or of its nearest existing parent."""
    return shutil.disk_usage(_existing(path)).free


def reserved_bytes(folder: Path) -> int:
    """What the sparse files under ``folder`` may still take on the volume: full size minus what they take now."""
    total = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += reserved_bytes(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                total += max(0, st.st_size - st.st_blocks * 512)
        except OSError:
            continue
    return total


def _has_shard(index: Path) -> bool:
    return any((index / name).exists() for name in _SHARD_MARKERS)


def index_need(settings: Settings) -> int:
    """Bytes the embedded index may still take on its volume: a new shard's full size, or what the existing
    shard's files have reserved and not filled yet. 0 with a Qdrant server (the index is not here)."""
    if settings.store_backend != "edge":
        return 0
    index = settings.index_path
    return reserved_bytes(index) if _has_shard(index) else NEW_INDEX_BYTES


def index_room_problem(settings: Settings) -> str | None:
    """Why the data folder's volume cannot hold the index (checked before opening it), or None."""
    need = index_need(settings)
    if need == 0:
        return None
    free = free_bytes(settings.index_path)
    if free >= need:
        return None
    if _has_shard(settings.index_path):
        what = f"the index needs {_mb(need)} MB more on the volume of the data folder (room its files have " \
               f"reserved but not filled yet)"
    else:
        what = f"a new index needs {_mb(need)} MB on the volume of the data folder"
    return (f"not enough free disk space for the search index: {what} and {_mb(free)} MB are free; free space there "
            f"or set KMH_DATA_DIR to a larger volume")


def check_index_room(settings: Settings) -> None:
    """Raise NoRoomForIndex when the volume cannot hold the index."""
    problem = index_room_problem(settings)
    if problem is not None:
        raise NoRoomForIndex(problem)


def low_space_problem(settings: Settings) -> str | None:
    """Why a job may not write now (free space under KMH_MIN_FREE_MB), or None."""
    free = free_bytes(settings.data_dir)
    reserved = 0
    if settings.store_backend == "edge" and _same_volume(settings.data_dir, settings.index_path):
        reserved = reserved_bytes(settings.index_path)
    room = free - reserved
    if room >= settings.min_free_mb * MB:
        return None
    text = f"not enough free disk space in the data folder: {_mb(max(room, 0))} MB free, KMH_MIN_FREE_MB is " \
           f"{settings.min_free_mb}"
    if reserved:
        text += f" (of {_mb(free)} MB free on the volume, the index's files have reserved {_mb(reserved)} MB)"
    return text


def _same_volume(a: Path, b: Path) -> bool:
    try:
        return _existing(a).stat().st_dev == _existing(b).stat().st_dev
    except OSError:
        return True


def probe_write(folder: Path, size: int = 64 * 1024) -> bool:
    """Whether ``folder`` takes a small write now (written, synced and removed)."""
    path = Path(folder) / PROBE_FILE
    try:
        with path.open("wb") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        return True
    except OSError:
        return False
    finally:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


class DiskGuard:
    """Whether the data folder can take writes: free space over KMH_MIN_FREE_MB and, once a write failed, a probe
    write that succeeds again (a full volume, a quota or an I/O error that the free space does not show)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.failure: str | None = None

    def write_failed(self, reason: str) -> None:
        self.failure = reason

    def check(self) -> str | None:
        """The reason writes must wait, or None."""
        problem = low_space_problem(self.settings)
        if problem is not None:
            return problem
        if self.failure is not None:
            if not probe_write(self.settings.data_dir):
                return self.failure
            self.failure = None
        return None


def _mb(n: int) -> int:
    return int(n // MB)
