"""Which document versions a `kmh ingest` process is writing but has not catalogued yet.

The command line has no job queue to tell, after a crash, which passages were written for versions the catalog
never recorded; this log does. Before a batch's passages are written, its (document id, version) pairs go into
``data_dir/pending/HOST-PID.json``; each leaves it once its catalog commit (or its clean-up) is done, and the
file goes when it is empty. A file whose process is gone (SIGKILL, power cut) is what ``recover`` settles: the
passages of versions the catalog does not hold are removed, those of versions it does hold stay and their older
versions' passages (whose deletion may not have run) go.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

from kmh.store import Filter

log = logging.getLogger("kmh.pending")
FOLDER = "pending"


class PendingLog:
    """The pending versions of this process (see the module's docstring)."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / FOLDER / f"{socket.gethostname()}-{os.getpid()}.json"
        self.versions: set[tuple[str, int]] = set()

    def add(self, versions) -> None:
        self.versions |= {(str(d), int(v)) for d, v in versions}
        self._write()

    def done(self, doc_id: str, version: int) -> None:
        if (doc_id, version) in self.versions:
            self.versions.discard((doc_id, version))
            self._write()

    def _write(self) -> None:
        if not self.versions:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(sorted(self.versions), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


def _alive(name: str) -> bool:
    """Whether the process that wrote the log ``HOST-PID.json`` still runs (another host's: assumed so)."""
    host, _, pid = name.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    if int(pid) == os.getpid():  # recovery runs before this process writes: an earlier process had our pid
        return False              # (a container starts every run with the same pids)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(data_dir: Path, catalog, store, *, exclusive: bool = False) -> list[tuple[str, int, str]]:
    """Settle the logs of `kmh ingest` processes that died; returns (doc id, version, what was done).

    ``exclusive``: this process alone may write the index (the embedded store's lock), so every log left is a dead
    process's, whatever its pid says."""
    folder = Path(data_dir) / FOLDER
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        if not exclusive and _alive(path.stem):
            continue
        try:
            versions = [(str(d), int(v)) for d, v in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring the unreadable pending log %s: %s", path, exc)
            continue
        for doc_id, version in versions:
            doc = catalog.get(doc_id)
            if doc is not None and doc.version == version:
                store.delete(Filter(equals={"doc_id": doc_id}, not_equals={"doc_version": version}))
                out.append((doc_id, version, "catalogued: older passages removed"))
                continue
            n = store.count(Filter(equals={"doc_id": doc_id, "doc_version": version}))
            if doc is None or version > doc.version:
                store.delete(Filter(equals={"doc_id": doc_id, "doc_version": version}))
            out.append((doc_id, version, f"never catalogued: {n} passages removed"))
        path.unlink(missing_ok=True)
    return out
