"""Receiving uploaded files: a cap on request bodies (per route), staging on disk, content sniffing and safe names.

An upload is streamed into ``data_dir/staging/<random>/<safe name>`` while it is hashed; its type is decided
from its content (``ingest.parsers.sniff``), and its name gets the extension of that type, so a PDF sent as
``report.docx`` is kept and served as ``report.pdf``. Nothing of it reaches the catalog or the index here: the
staged file goes to ``services.publishing.queue_upload``. ``FileField`` and ``UploadMeta`` are the upload form's
fields, for the API and the staff pages alike.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import Depends, File, Form, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import InvalidParameter, PayloadTooLarge, UnsupportedType
from api.schemas import DocType
from services.publishing import Metadata, StagedFile, upload_metadata

CHUNK = 1 << 20
# The canonical extension of each sniffed format.
FORMAT_EXTENSIONS = {"pdf": ".pdf", "docx": ".docx", "pptx": ".pptx", "html": ".html", "md": ".md", "txt": ".txt"}


# The body of a route not listed in LARGE_BODIES (JSON, forms, no body) may hold at most this many bytes: sign-in,
# metadata edits, topic decisions, new keys and the web forms other than uploads send a few hundred bytes.
SMALL_BODY_BYTES = 16 * 1024
# Room for the multipart form around an uploaded file: its metadata fields and part headers.
MULTIPART_MARGIN = 64 * 1024
# A caption file (WebVTT or SRT) sent for a recording may hold at most this many bytes.
CAPTIONS_MAX_BYTES = 5 * 1024 * 1024
# A batch of topic decisions (services.topics.MAX_DECISIONS, 500, of about 150 bytes each at most) as JSON.
DECISIONS_MAX_BYTES = 128 * 1024
# The routes whose bodies may be larger, as (method, path template): "upload" (KMH_MAX_FILE_MB plus the form around
# the file), "media" (a recording: KMH_MAX_MEDIA_MB plus its captions and the form) or "captions"
# (CAPTIONS_MAX_BYTES) or "decisions" (DECISIONS_MAX_BYTES). Any other route gets SMALL_BODY_BYTES.
LARGE_BODIES = {
    ("POST", "/api/documents"): "upload",
    ("PUT", "/api/documents/{doc_id}/file"): "upload",
    ("POST", "/staff/upload"): "upload",
    ("POST", "/staff/documents/{doc_id}/file"): "upload",
    ("PUT", "/api/recordings/{recording_id}/captions"): "captions",
    ("POST", "/api/recordings"): "media",
    ("PUT", "/api/recordings/{recording_id}/media"): "media",
    ("POST", "/staff/recordings"): "media",
    ("POST", "/staff/recordings/{recording_id}/media"): "media",
    ("POST", "/staff/recordings/{recording_id}/captions"): "captions",
    ("POST", "/api/topics/review/decisions"): "decisions",
}
_UNLIMITED_METHODS = ("GET", "HEAD", "OPTIONS")


def body_limit(kind: str, max_file_bytes: int, max_media_bytes: int | None = None) -> tuple[int, str]:
    """The most bytes a body of this kind ("upload", "media", "captions", "decisions" or "small") may hold, and what
    sets it."""
    if kind == "upload":
        return max_file_bytes + MULTIPART_MARGIN, "KMH_MAX_FILE_MB"
    if kind == "media":
        return (max_media_bytes or max_file_bytes) + CAPTIONS_MAX_BYTES + MULTIPART_MARGIN, "KMH_MAX_MEDIA_MB"
    if kind == "captions":
        return CAPTIONS_MAX_BYTES, "captions"
    if kind == "decisions":
        return DECISIONS_MAX_BYTES, "a batch of topic decisions"
    return SMALL_BODY_BYTES, "forms and JSON"


class BodyLimit:
    """Refuse request bodies over their route's limit (``LARGE_BODIES``, else ``SMALL_BODY_BYTES``) with a 413:
    at once when Content-Length says so, else as soon as the streamed body passes the limit. A small body is read
    whole here before the route runs, so that no route can take more than the limit, whether or not it reads it.

    The 413 is the app's own error response for PayloadTooLarge: problem details on the API, the error page on
    web pages; the connection is closed after it, the rest of the body unread."""

    def __init__(self, app: ASGIApp, max_file_bytes: int, max_media_bytes: int | None = None):
        from starlette.routing import compile_path

        self.app = app
        self.max_file_bytes = max_file_bytes
        self.max_media_bytes = max_media_bytes
        self.routes = [(method, compile_path(path)[0], kind) for (method, path), kind in LARGE_BODIES.items()]

    def limit_for(self, method: str, path: str) -> tuple[int, str]:
        """The limit of a request's body and what sets it."""
        kind = next((k for m, regex, k in self.routes if m == method and regex.match(path)), "small")
        return body_limit(kind, self.max_file_bytes, self.max_media_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _UNLIMITED_METHODS:
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        limit, what = self.limit_for(scope["method"], path)
        detail = (f"the request body is over the limit of {_size(limit)} for {scope['method']} {path} "
                  f"({what})")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, detail)
            return
        if limit <= SMALL_BODY_BYTES:
            body = await _read_small(receive, limit)
            if body is None:
                await _refuse(scope, receive, send, detail)
                return
            receive = _replay(body, receive)
        await self._streamed(scope, receive, send, limit, detail)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, limit: int, detail: str) -> None:
        """Run the app, counting the body it reads; past the limit, its reads fail and its answer (whatever the
        failed read made of it: a 400 from FastAPI's form parsing, say) is replaced by the 413."""
        seen, over, started, refused = 0, False, False, False

        async def limited() -> Message:
            nonlocal seen, over
            if over:
                raise PayloadTooLarge(detail)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise PayloadTooLarge(detail)
            return message

        async def guarded(message: Message) -> None:
            nonlocal started, refused
            if over and not started:
                if not refused:
                    refused = True
                    await _refuse(scope, receive, send, detail)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except PayloadTooLarge:
            if started:
                raise
            if not refused:
                await _refuse(scope, receive, send, detail)


async def _read_small(receive: Receive, limit: int) -> list[Message] | None:
    """The messages of a whole body of at most ``limit`` bytes, or None as soon as it is longer."""
    messages, seen = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        seen += len(message.get("body", b""))
        if seen > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _refuse(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
    """The app's answer to PayloadTooLarge (an HTML page on page paths), closing the connection."""
    from starlette.requests import Request

    from api.errors import ServiceError, problem_response

    exc = PayloadTooLarge(detail, headers={"Connection": "close"})
    request = Request(scope)
    handler = getattr(scope.get("app"), "exception_handlers", {}).get(ServiceError)
    try:
        response = await handler(request, exc)
    except Exception:  # no handler, or the error page could not be made: the problem document is always possible
        response = problem_response(request, 413, title=exc.title, detail=detail, slug=exc.kind)
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


async def _copy(upload: UploadFile, path: Path, max_bytes: int, setting: str, what: str = "") -> tuple[str, int]:
    """Write ``upload`` to ``path`` chunk by chunk: its sha256 and size. 413 past ``max_bytes``, 422 when empty."""
    digest, size = hashlib.sha256(), 0
    with path.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"{path.name} is over the limit of {max_bytes / 2**20:.1f} MB {what}({setting})")
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise InvalidParameter("file", f"{path.name} is empty (0 bytes)", "body")
    return digest.hexdigest(), size


async def stage(upload: UploadFile, data_dir: Path, staging_dir: Path, max_bytes: int) -> StagedFile:
    """Copy ``upload`` into the staging folder, checking its size and type. Raises 413, 415 or 422 problems."""
    import anyio

    from ingest.filenames import safe_filename

    name = safe_filename(upload.filename or "")
    folder = staging_dir / secrets.token_hex(8)
    folder.mkdir(parents=True)
    path = folder / name
    try:
        digest, size = await _copy(upload, path, max_bytes, "KMH_MAX_FILE_MB")
        fmt = await anyio.to_thread.run_sync(_sniff, path)
        wanted = FORMAT_EXTENSIONS[fmt]
        if fmt not in ("md", "txt") and Path(name).suffix.lower() != wanted:
            renamed = folder / (Path(name).stem + wanted if Path(name).suffix else name + wanted)
            path = path.rename(renamed)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return StagedFile(path, str(path.relative_to(data_dir)), path.name, fmt, size, digest)


async def stage_media(upload: UploadFile, data_dir: Path, staging_dir: Path, max_bytes: int) -> StagedFile:
    """Copy a recording's media file into the staging folder, checking its size (413 naming KMH_MAX_MEDIA_MB); a
    container recognised by its first bytes gets its extension. Whether it is audio at all, whole, audible and not
    too long is for its job to find (ffprobe and the decoder): its failure says so in plain words."""
    from ingest.filenames import safe_filename
    from ingest.media.audio import HEAD_BYTES, MEDIA_EXTENSIONS, sniff_media

    name = safe_filename(upload.filename or "") or "recording"
    folder = staging_dir / secrets.token_hex(8)
    folder.mkdir(parents=True)
    path = folder / name
    try:
        digest, size = await _copy(upload, path, max_bytes, "KMH_MAX_MEDIA_MB", "for recordings ")
        with path.open("rb") as fh:
            container = sniff_media(fh.read(HEAD_BYTES), path)
        if container is not None and path.suffix.lower() not in MEDIA_EXTENSIONS:
            path = path.rename(folder / f"{path.stem if path.suffix else path.name}.{container}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    fmt = container or path.suffix.lower().lstrip(".") or "unknown"
    return StagedFile(path, str(path.relative_to(data_dir)), path.name, fmt, size, digest)


async def read_captions_field(upload: UploadFile | None) -> tuple[bytes | None, str | None]:
    """The bytes and name of a captions file sent with a recording (at most CAPTIONS_MAX_BYTES), or (None, None)."""
    if upload is None or not upload.filename and not upload.size:
        return None, None
    data = await upload.read(CAPTIONS_MAX_BYTES + 1)
    if len(data) > CAPTIONS_MAX_BYTES:
        raise PayloadTooLarge(f"the captions are over the limit of {CAPTIONS_MAX_BYTES // 2**20} MB")
    return data, upload.filename or "captions"


def _sniff(path: Path) -> str:
    from ingest.model import IngestError
    from ingest.parsers import sniff

    try:
        return sniff(path, path.read_bytes())
    except IngestError as exc:
        raise UnsupportedType(f"{path.name}: {exc.reason}; supported: PDF, DOCX, PPTX, HTML, Markdown, plain text "
                              "(UTF-8)", filename=path.name) from None


# -- the upload form (API and staff pages) ------------------------------------------------------------

FileField = Annotated[UploadFile, File(description="PDF, DOCX, PPTX, HTML, Markdown or text; the type is read "
                                                   "from the content, not the name")]


def upload_meta(
    title: Annotated[str | None, Form(max_length=500)] = None,
    doc_type: Annotated[DocType | None, Form(alias="type")] = None,
    language: Annotated[str | None, Form(max_length=8, description="ISO 639-1, e.g. fr")] = None,
    published: Annotated[str | None, Form(alias="date", max_length=32, description="YYYY, YYYY-MM or YYYY-MM-DD")]
    = None,
    countries: Annotated[list[str] | None, Form(description="Country names (repeat the field or separate by commas)")]
    = None,
    programme: Annotated[str | None, Form(max_length=500)] = None,
    source: Annotated[str | None, Form(max_length=2000, description="A URL or a citation")] = None,
) -> Metadata:
    """The metadata fields sent with an upload, validated like a NAME.meta.yaml sidecar (422 naming the field)."""
    return upload_metadata(title=title, doc_type=doc_type, language=language, published=published,
                           countries=countries, programme=programme, source=source)


UploadMeta = Annotated[Metadata, Depends(upload_meta)]
