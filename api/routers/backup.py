"""A backup of a running server (admin): ``GET /api/backup`` streams the archive that ``kmh backup`` writes.

The server holds the embedded index, so ``kmh backup`` cannot open it while the server runs; this route makes the
same archive from the server's own catalog and store. Publishing jobs and caption replacements wait while it is
written (services.backup holds the write lock), so the catalog and the index in it agree.
"""

from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone
from typing import Annotated

import anyio
from fastapi import APIRouter, Query
from starlette.responses import StreamingResponse

from api.auth import AdminDep
from api.deps import ReadyDep
from api.errors import problem_responses
from kmh.catalog import KeyRecord
from services.backup import write_backup
from services.runtime import Runtime

router = APIRouter(prefix="/api", tags=["access"])

CHUNK = 1 << 20
STALLED_S = 600  # a client that reads nothing for this long is given up
_END = object()


@router.get(
    "/backup",
    response_class=StreamingResponse,
    responses={200: {"description": "The archive (a tar, gzip-compressed with gzip=true), as `kmh backup` writes "
                                    "it; `kmh restore` reads it", "content": {"application/x-tar": {},
                                                                                "application/gzip": {}}},
               **problem_responses(401, 403, 503)},
    summary="A backup of the catalog, the index and the kept originals (admin), streamed as it is written",
    description="The archive ends with its manifest; an archive cut short (a failure on the server, a lost "
                "connection) has none and `kmh restore` refuses it. `kmh backup --server URL --key KEY FILE` "
                "downloads it and checks it.",
)
async def get_backup(rt: ReadyDep, admin: AdminDep,
                     gzip: Annotated[bool, Query(description="gzip-compress the archive")] = False):
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = f"kmh-backup-{stamp}.tar" + (".gz" if gzip else "")
    pipe = _Pipe()
    thread = threading.Thread(target=_write, args=(rt, pipe, gzip, admin), name="kmh-backup", daemon=True)
    thread.start()
    return StreamingResponse(pipe.chunks(), media_type="application/gzip" if gzip else "application/x-tar",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})


def _write(rt: Runtime, pipe: _Pipe, gzip: bool, admin: KeyRecord) -> None:
    import logging

    try:
        write_backup(runtime=rt, out=pipe, compress=gzip, actor=admin)  # type: ignore[arg-type]  (write and tell)
        pipe.finish()
    except _Gone:
        pass
    except BaseException as exc:  # the response is cut short: without its manifest, no restore accepts it
        logging.getLogger("kmh.api").error("the backup stream failed", exc_info=exc)
        pipe.finish(exc)


class _Gone(Exception):
    """The client went away: stop writing."""


class _Pipe:
    """A write-only file for the archive writer (in a thread) whose bytes the response reads, a few MB at most
    in between."""

    def __init__(self):
        self.queue: queue.Queue = queue.Queue(maxsize=8)
        self.buffer = bytearray()
        self.written = 0
        self.gone = threading.Event()

    # the writer's side
    def write(self, data) -> int:
        self.buffer += data
        self.written += len(data)
        if len(self.buffer) >= CHUNK:
            self._put(bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        pass

    def finish(self, error: BaseException | None = None) -> None:
        try:
            if error is None and self.buffer:
                self._put(bytes(self.buffer))
            self._put(error if error is not None else _END)
        except _Gone:
            pass

    def _put(self, item) -> None:
        waited = 0.0
        while True:
            if self.gone.is_set() or waited > STALLED_S:  # the client left, or reads nothing: free the write lock
                raise _Gone
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                waited += 0.5

    # the response's side
    async def chunks(self):
        try:
            while True:
                item = await anyio.to_thread.run_sync(self.queue.get, abandon_on_cancel=True)
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise RuntimeError("the backup could not be written; the archive is incomplete") from item
                yield item
        finally:
            self.gone.set()
