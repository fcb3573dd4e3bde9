"""Receiving uploaded files: a cap on request bodies, staging on disk, content sniffing and safe names.

An upload is streamed into ``data_dir/staging/<random>/<safe name>`` while it is hashed; its type is decided
from its content (``ingest.parsers.sniff``), and its name gets the extension of that type, so a PDF sent as
``report.docx`` is kept and served as ``report.pdf``. Nothing of it reaches the catalog or the index here.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import InvalidParameter, PayloadTooLarge, UnsupportedType

CHUNK = 1 << 20
# The canonical extension of each sniffed format.
FORMAT_EXTENSIONS = {"pdf": ".pdf", "docx": ".docx", "pptx": ".pptx", "html": ".html", "md": ".md", "txt": ".txt"}


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with a 413: at once when Content-Length says so, else as soon
    as the streamed body passes the limit (the endpoint's read fails with PayloadTooLarge)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            from starlette.requests import Request

            from api.errors import problem_response

            response = problem_response(Request(scope), 413, title="Payload too large", slug="payload-too-large",
                                        detail=self._detail(), headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLarge(self._detail())
            return message

        await self.app(scope, limited, send)

    def _detail(self) -> str:
        return f"the request body is over the limit of {self.limit / 2**20:.1f} MB (KMH_MAX_FILE_MB)"


@dataclass
class Staged:
    """An upload waiting on disk: where (relative to the data folder), its safe name, type, size and hash."""

    path: Path
    relative: str
    filename: str
    format: str
    size: int
    sha256: str

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


async def stage(upload: UploadFile, data_dir: Path, staging_dir: Path, max_bytes: int) -> Staged:
    """Copy ``upload`` into the staging folder, checking its size and type. Raises 413, 415 or 422 problems."""
    import anyio

    from ingest.filenames import safe_filename

    name = safe_filename(upload.filename or "")
    folder = staging_dir / secrets.token_hex(8)
    folder.mkdir(parents=True)
    path = folder / name
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("wb") as out:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(f"{name} is over the limit of {max_bytes / 2**20:.1f} MB (KMH_MAX_FILE_MB)")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidParameter("file", f"{name} is empty (0 bytes)", "body")
        fmt = await anyio.to_thread.run_sync(_sniff, path)
        wanted = FORMAT_EXTENSIONS[fmt]
        if fmt not in ("md", "txt") and Path(name).suffix.lower() != wanted:
            renamed = folder / (Path(name).stem + wanted if Path(name).suffix else name + wanted)
            path = path.rename(renamed)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Staged(path, str(path.relative_to(data_dir)), path.name, fmt, size, digest.hexdigest())


def _sniff(path: Path) -> str:
    from ingest.model import IngestError
    from ingest.parsers import sniff

    try:
        return sniff(path, path.read_bytes())
    except IngestError as exc:
        raise UnsupportedType(f"{path.name}: {exc.reason}; supported: PDF, DOCX, PPTX, HTML, Markdown, plain text "
                              "(UTF-8)", filename=path.name) from None
