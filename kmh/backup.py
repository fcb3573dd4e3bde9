"""Backup and restore of a data folder: the catalog, the index's passages with their vectors, the kept originals.

One archive file, a tar (gzip-compressed when its name ends in .gz or .tgz):

    kmh-backup.txt          marks the file as a KMH backup
    catalog/<table>.jsonl   every row of every catalog table, one JSON object a line
    index/<n>.npz           the passages, one page a file: ids, dense, sparse and sentence vectors, payloads
    originals/...           the kept original files (captions included), as under the data folder
    manifest.json           format, date, versions, Alembic revision, counts, size and sha256 of each member above
    manifest.sha256         sha256 of manifest.json

The index part does not depend on the backend: a backup of the embedded store restores into a Qdrant server and
the other way round. Transcripts live in the catalog (their cues), captions among the originals.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO
from uuid import UUID

import numpy as np
import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from kmh import __version__
from kmh.settings import Settings
from kmh.store import SparseVector, StoredPassage, StoreError

if TYPE_CHECKING:
    from kmh.catalog import Catalog
    from kmh.store import VectorStore

FORMAT = "kmh-backup"
FORMAT_VERSION = 1
MARKER = "kmh-backup.txt"
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
PAGE = 512  # passages per index member
ROWS = 500  # catalog rows per insert
CHUNK = 1 << 20
log = logging.getLogger("kmh.backup")
_MARKER_TEXT = f"KMH Search backup, format {FORMAT_VERSION}. See manifest.json.\n".encode()
_TABLE_NAME = re.compile(r"[A-Za-z0-9_]+")
_INDEX_MEMBER = re.compile(r"index/\d{6,}\.npz")
_CATALOG_MEMBER = re.compile(r"catalog/[A-Za-z0-9_]+\.jsonl")

# progress(step, done, total): step is "catalog" (rows), "index" (passages), "originals" or "verify" (bytes).
Progress = Callable[[str, int, int], None]


class BackupError(Exception):
    """A backup or a restore could not be done; the message says why and names the file."""


@dataclass
class BackupSummary:
    """What a backup wrote."""

    file: Path
    revision: str
    documents: int
    passages: int
    files: int  # kept originals
    original_bytes: int
    bytes: int  # size of the archive
    seconds: float


@dataclass
class RestoreSummary:
    """What a restore read back."""

    file: Path
    revision: str
    documents: int
    passages: int
    files: int  # kept originals
    original_bytes: int
    bytes: int  # size of the archive
    seconds: float


def _quiet(step: str, done: int, total: int) -> None:
    pass


@contextmanager
def _opened(settings: Settings, catalog: Catalog, store: VectorStore) -> Iterator[tuple[Catalog, VectorStore]]:
    """The catalog and store given, or those of the settings, opened here and closed after."""
    from kmh.runtime import open_catalog, open_vector_store

    own = []
    try:
        if catalog is None:
            catalog = open_catalog(settings)
            own.append(catalog)
        if store is None:
            store = open_vector_store(settings)
            own.append(store)
        yield catalog, store
    finally:
        for thing in reversed(own):
            thing.close()


# -- backup ------------------------------------------------------------------------------------------------------


def _archive_path(file: Path | str, overwrite: bool) -> Path:
    """The archive file to write, absolute, checked before anything is read: not a folder, in a folder that
    exists, not replacing an archive unless ``overwrite``."""
    file = Path(file).expanduser().absolute()
    if file.is_dir():
        raise BackupError(f"{file} is a folder: give the name of the archive file to write")
    if not file.parent.is_dir():
        raise BackupError(f"cannot write {file}: the folder {file.parent} does not exist")
    if file.exists() and not overwrite:
        raise BackupError(f"{file} already exists: choose another name, or use --force to replace it")
    return file


def backup(settings: Settings, file: Path | str, *, catalog: Catalog | None = None, store: VectorStore | None = None,
           progress: Progress | None = None, overwrite: bool = False) -> BackupSummary:
    """Write the catalog, the index and the kept originals of the data folder to the archive ``file``.

    ``catalog`` and ``store``: open ones to read (else those of the settings are opened, and closed after).
    The archive is written under a temporary name beside ``file`` and renamed at the end: a failed or
    interrupted backup never leaves a partial ``file``. An existing ``file`` is kept unless ``overwrite``.
    """
    progress = progress or _quiet
    started = time.perf_counter()
    file = _archive_path(file, overwrite)
    originals = settings.originals_dir
    if file.resolve().is_relative_to(originals.resolve()):
        raise BackupError(f"cannot write {file} inside the originals folder it backs up ({originals})")
    with _opened(settings, catalog, store) as (catalog, store):
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as raw:
                counts = write_archive(raw, settings, catalog, store, compress=file.name.endswith((".gz", ".tgz")),
                                       spool=file.parent, progress=progress)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, file)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, (OSError, StoreError)):
                raise BackupError(f"could not write {file}: {exc}") from exc
            raise
    _fsync_dir(file.parent)
    return BackupSummary(file, counts["revision"], counts["documents"], counts["passages"], counts["files"],
                         counts["bytes"], file.stat().st_size, time.perf_counter() - started)


def write_archive(raw: BinaryIO, settings: Settings, catalog: Catalog, store: VectorStore, *, compress: bool,
                  spool: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Write the archive to the open binary file ``raw`` (only ``write`` and ``tell`` are used, so it may be a
    stream); ``spool``: a folder for the temporary copies of catalog tables. Returns the manifest's counts and
    the Alembic revision."""
    progress = progress or _quiet
    out = _ArchiveWriter(raw, compress=compress)
    out.add_bytes(MARKER, _MARKER_TEXT)
    revision, tables, dialect = _dump_catalog(catalog, out, spool, progress)
    index = _dump_index(store, settings, out, progress)
    files, original_bytes = _dump_originals(settings.originals_dir, out, progress)
    documents = next((t["rows"] for t in tables if t["name"] == "documents"), 0)
    counts = {"documents": documents, "passages": index["passages"], "files": files, "bytes": original_bytes}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "kmh_version": __version__,
        "alembic_revision": revision,
        "counts": counts,
        "catalog": {"dialect": dialect, "tables": tables},
        "index": index,
        "members": dict(out.members),
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    out.add_bytes(MANIFEST, text)
    out.add_bytes(MANIFEST_SUM, f"{hashlib.sha256(text).hexdigest()}  {MANIFEST}\n".encode())
    out.close()
    return {**counts, "revision": revision}


def check_archive(file: Path | str, progress: Progress | None = None) -> dict[str, Any]:
    """Read the whole archive ``file`` once, checking every member against its manifest (as a restore does
    first); returns the manifest. A BackupError says what is wrong."""
    file = Path(file).expanduser().absolute()
    if not file.is_file():
        raise BackupError(f"{file} does not exist" if not file.exists() else f"{file} is not a file")
    with open(file, "rb") as raw:
        manifest, _infos = _verify(_open_archive(raw, file), raw, file, progress or _quiet)
    return manifest


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Hashing(io.RawIOBase):
    """Reads from ``fh`` while hashing what it reads and reporting the running count to ``on_read``."""

    def __init__(self, fh: BinaryIO, on_read: Callable[[int], None] | None = None):
        self.fh = fh
        self.digest = hashlib.sha256()
        self.count = 0
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.digest.update(data)
        self.count += len(data)
        if self.on_read is not None and data:
            self.on_read(self.count)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class _ArchiveWriter:
    """A tar being written, with the size and sha256 of each member."""

    def __init__(self, raw: BinaryIO, compress: bool):
        kwargs = {"compresslevel": 6} if compress else {}
        self.tar = tarfile.open(fileobj=raw, mode="w:gz" if compress else "w", format=tarfile.PAX_FORMAT, **kwargs)
        self.members: dict[str, dict[str, Any]] = {}
        self.mtime = int(time.time())

    def add_bytes(self, name: str, data: bytes) -> None:
        self.add_stream(name, io.BytesIO(data), len(data))

    def add_stream(self, name: str, fh: BinaryIO, size: int, on_read: Callable[[int], None] | None = None) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, self.mtime, 0o644
        reader = _Hashing(fh, on_read)
        self.tar.addfile(info, reader)  # reads exactly size bytes (an OSError if there are fewer)
        self.members[name] = {"size": size, "sha256": reader.digest.hexdigest()}

    def close(self) -> None:
        self.tar.close()


# catalog


@lru_cache(maxsize=1)
def _model_tables() -> dict[str, sa.Table]:
    from kmh.catalog.models import Base

    return dict(Base.metadata.tables)


def _schema(conn: sa.Connection) -> list[sa.Table]:
    """The catalog's tables as the database has them now (Alembic's own left out): parents before children, and
    last the tables with no foreign key to or from another (so that a state row which triggers update, like the
    generation, goes in after the rows that fire them)."""
    meta = sa.MetaData()
    meta.reflect(conn)
    tables = [t for t in meta.sorted_tables if t.name != "alembic_version"]
    related = {fk.column.table.name for t in tables for fk in t.foreign_keys} | {t.name for t in tables
                                                                                  if t.foreign_keys}
    return [t for t in tables if t.name in related] + [t for t in tables if t.name not in related]


def _column_type(table: sa.Table, column: str) -> Any:
    """The models' type of a column where they have it (with its conversions, e.g. UTC datetimes), else the
    database's: tables added by later migrations, or unknown to the models, are copied all the same."""
    model = _model_tables().get(table.name)
    if model is not None and column in model.c:
        return model.c[column].type
    return table.c[column].type


def _typed(table: sa.Table, columns: list[str]) -> sa.TableClause:
    return sa.table(table.name, *[sa.column(c, _column_type(table, c)) for c in columns])


def _tag(column_type: Any) -> str:
    """How a column's values are written as JSON."""
    t = column_type.impl_instance if isinstance(column_type, TypeDecorator) else column_type
    for cls, tag in ((sa.JSON, "json"), (sa.DateTime, "datetime"), (sa.Date, "date"), (sa.Time, "time"),
                     (sa.LargeBinary, "bytes"), (sa.Uuid, "uuid"), (sa.Float, "plain")):
        if isinstance(t, cls):
            return tag
    if isinstance(t, sa.Numeric) and t.asdecimal:
        return "decimal"
    return "plain"


def _encode(tag: str, value: Any, where: str) -> Any:
    if value is None or tag == "json":
        return value
    if tag in ("datetime", "date", "time"):
        return value.isoformat()
    if tag == "bytes":
        return base64.b64encode(value).decode()
    if tag in ("decimal", "uuid"):
        return str(value)
    if isinstance(value, (str, int, float, list, dict)):  # bool is an int; lists: e.g. PostgreSQL arrays
        return value
    raise BackupError(f"cannot write the value {value!r} of {where} ({type(value).__name__}) to a backup")


def _decode(tag: str, value: Any) -> Any:
    if value is None or tag in ("json", "plain"):
        return value
    if tag == "datetime":
        return datetime.fromisoformat(value)
    if tag == "date":
        return date.fromisoformat(value)
    if tag == "time":
        return dtime.fromisoformat(value)
    if tag == "bytes":
        return base64.b64decode(value)
    if tag == "decimal":
        return Decimal(value)
    if tag == "uuid":
        return UUID(value)
    raise ValueError(f"unknown column type {tag!r}")


def _dump_catalog(catalog: Catalog, out: _ArchiveWriter, spool: Path,
                  progress: Progress) -> tuple[str, list[dict[str, Any]], str]:
    """Every row of every table, in one read transaction (a consistent snapshot); returns the Alembic revision,
    the tables' descriptions for the manifest and the database's dialect."""
    from alembic.runtime.migration import MigrationContext

    with catalog.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            revision = MigrationContext.configure(conn).get_current_revision()
            if revision is None:
                raise BackupError(f"the catalog {catalog.url.render_as_string()} has no schema: nothing to back up")
            tables = _schema(conn)
            for t in tables:
                if not _TABLE_NAME.fullmatch(t.name):
                    raise BackupError(f"cannot back up the catalog table {t.name!r}: unexpected characters in its name")
            counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables}
            total, done = sum(counts.values()), 0
            progress("catalog", 0, total)
            described = []
            for t in tables:
                columns = [c.name for c in t.columns]
                tags = {c: _tag(_column_type(t, c)) for c in columns}
                typed = _typed(t, columns)
                order = [typed.c[c.name] for c in t.primary_key.columns] or [typed.c[c] for c in columns]
                result = conn.execute(sa.select(typed).order_by(*order).execution_options(yield_per=1000))
                rows = 0
                with tempfile.SpooledTemporaryFile(max_size=16 << 20, dir=spool) as buf:
                    for row in result.mappings():
                        record = {c: _encode(tags[c], row[c], f"{t.name}.{c}") for c in columns}
                        try:
                            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
                        except (TypeError, ValueError) as exc:
                            raise BackupError(f"cannot write a row of the catalog table {t.name} to a backup: "
                                              f"{exc}") from exc
                        buf.write(line.encode())
                        buf.write(b"\n")
                        rows += 1
                        done += 1
                        if done % 1000 == 0:
                            progress("catalog", done, total)
                    size = buf.tell()
                    buf.seek(0)
                    name = f"catalog/{t.name}.jsonl"
                    out.add_stream(name, buf, size)
                described.append({"name": t.name, "file": name, "rows": rows,
                                  "columns": [{"name": c, "type": tags[c]} for c in columns]})
            progress("catalog", done, total)
            return revision, described, conn.dialect.name


# index


def _floats(values: Any, dtypes: tuple[Any, ...]) -> np.ndarray:
    """The values in the first of ``dtypes`` that holds them exactly (float64 when none does)."""
    a = np.asarray(values, dtype=np.float64)
    for dt in dtypes:
        b = a.astype(dt)
        if np.array_equal(b.astype(np.float64), a, equal_nan=True):
            return b
    return a


def _pack(page: list[StoredPassage], dim: int) -> bytes:
    """One page of passages as an .npz file; vectors exactly as the store gave them."""
    sentences = [v for p in page for v in (p.sentences or ())]
    arrays = {
        "ids": np.array([p.id for p in page]),
        "dense": _floats([list(p.dense) for p in page], (np.float32,)).reshape(len(page), dim),
        "sparse_counts": np.array([len(p.sparse.indices) for p in page], dtype=np.int64),
        "sparse_indices": np.array([i for p in page for i in p.sparse.indices], dtype=np.uint32),
        "sparse_values": _floats([v for p in page for v in p.sparse.values], (np.float32,)),
        "sentence_counts": np.array([len(p.sentences or ()) for p in page], dtype=np.int64),
        "sentences": _floats([list(v) for v in sentences], (np.float16, np.float32)).reshape(len(sentences), dim),
        "payloads": np.frombuffer(json.dumps([p.payload for p in page], ensure_ascii=False).encode(), dtype=np.uint8),
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _unpack(data: bytes, name: str, file: Path) -> list[StoredPassage]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            ids = z["ids"].tolist()
            dense = z["dense"].tolist()
            sparse_counts, sparse_indices = z["sparse_counts"], z["sparse_indices"].tolist()
            sparse_values = z["sparse_values"].tolist()
            sentence_counts, sentences = z["sentence_counts"], z["sentences"].tolist()
            payloads = json.loads(z["payloads"].tobytes())
        n = len(ids)
        if not (len(dense) == len(sparse_counts) == len(sentence_counts) == len(payloads) == n) or \
                int(sparse_counts.sum()) != len(sparse_indices) or int(sentence_counts.sum()) != len(sentences):
            raise ValueError("its arrays do not agree in length")
    except (ValueError, KeyError, OSError, zlib.error) as exc:
        raise BackupError(f"{file}: the index page {name} cannot be read: {exc}") from exc
    out, s, v = [], 0, 0
    for i in range(n):
        k, m = int(sparse_counts[i]), int(sentence_counts[i])
        sparse = SparseVector(sparse_indices[s: s + k], sparse_values[s: s + k])
        out.append(StoredPassage(ids[i], dense[i], sparse, payloads[i], sentences[v: v + m] or None))
        s, v = s + k, v + m
    return out


def _dump_index(store: VectorStore, settings: Settings, out: _ArchiveWriter, progress: Progress) -> dict[str, Any]:
    total = store.count()
    progress("index", 0, total)
    pages, passages, with_sentences = [], 0, 0
    for page in store.export(PAGE):
        name = f"index/{len(pages):06d}.npz"
        out.add_bytes(name, _pack(page, store.dim))
        pages.append(name)
        passages += len(page)
        with_sentences += sum(1 for p in page if p.sentences)
        progress("index", passages, max(total, passages))
    return {"backend": settings.store_backend, "dim": store.dim, "passages": passages,
            "sentence_passages": with_sentences, "pages": pages}


# originals


def _original_files(root: Path) -> list[Path]:
    """The kept files under ``root``, sorted; unfinished copies (".tmp-" files) and anything not a plain
    file left out."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            p = Path(folder, n)
            if not n.startswith(".tmp-") and p.is_file() and not p.is_symlink():
                found.append(p)
    return found


def _dump_originals(root: Path, out: _ArchiveWriter, progress: Progress) -> tuple[int, int]:
    files = _original_files(root) if root.is_dir() else []
    sizes = [p.stat().st_size for p in files]
    total, done = sum(sizes), 0
    progress("originals", 0, total)
    for p, size in zip(files, sizes):
        name = "originals/" + p.relative_to(root).as_posix()
        try:
            with open(p, "rb") as fh:
                out.add_stream(name, fh, size, lambda n, base=done: progress("originals", base + n, total))
        except OSError as exc:
            raise BackupError(f"cannot read the kept original {p}: {exc}") from exc
        done += size
    progress("originals", done, total)
    return len(files), total


# -- restore -----------------------------------------------------------------------------------------------------


def restore(settings: Settings, file: Path | str, *, force: bool = False, catalog: Catalog | None = None,
            store: VectorStore | None = None, progress: Progress | None = None) -> RestoreSummary:
    """Restore an archive made by ``backup`` into the data folder of the settings (its catalog and index).

    The target must be empty (no catalog rows, no passages) unless ``force``, which replaces what it holds.
    The whole archive is checked (every member's sha256) before anything is written. The catalog is written in
    one transaction, committed only once the passages and the originals are in place: a restore that fails
    leaves the catalog as it was and the index empty (it was empty before, unless ``force``).
    ``catalog`` and ``store``: open ones to write to (else those of the settings are opened, and closed after).
    """
    progress = progress or _quiet
    started = time.perf_counter()
    file = Path(file).expanduser().absolute()
    if not file.is_file():
        raise BackupError(f"{file} does not exist" if not file.exists() else f"{file} is not a file")
    with _opened(settings, catalog, store) as (catalog, store), open(file, "rb") as raw:
        tar = _open_archive(raw, file)
        if not force:
            _check_empty(catalog, store, file)
        manifest, infos = _verify(tar, raw, file, progress)
        _check_fits(manifest, catalog, store, file)
        archive = _Archive(file, tar, manifest, infos)
        try:
            documents, passages, files, original_bytes = _apply(settings, catalog, store, archive, force, progress)
        except (OSError, StoreError) as exc:
            raise BackupError(f"could not restore {file}: {exc}. Nothing of it was kept: the catalog is as it was, "
                              "the index holds none of its passages") from exc
    return RestoreSummary(file, manifest["alembic_revision"], documents, passages, files, original_bytes,
                          file.stat().st_size, time.perf_counter() - started)


_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


def _open_archive(raw: BinaryIO, file: Path) -> tarfile.TarFile:
    """The archive, once its first member shows it is a KMH backup."""
    try:
        tar = tarfile.open(fileobj=raw, mode="r:*")
        first = tar.next()
        head = tar.extractfile(first).read(len(_MARKER_TEXT) + 1) if first is not None and first.isreg() else b""
    except _READ_ERRORS as exc:
        raise BackupError(f"{file} is not a KMH backup (not a readable tar archive: {exc})") from exc
    if first is None or first.name != MARKER or not head.startswith(b"KMH Search backup"):
        raise BackupError(f"{file} is not a KMH backup (it does not start with {MARKER})")
    return tar


def _member_name_ok(name: str) -> bool:
    if name in (MARKER, MANIFEST, MANIFEST_SUM) or _CATALOG_MEMBER.fullmatch(name) or _INDEX_MEMBER.fullmatch(name):
        return True
    path = PurePosixPath(name)
    return (name.startswith("originals/") and str(path) == name and "\\" not in name and "\x00" not in name
            and all(part not in ("", ".", "..") for part in path.parts) and len(path.parts) > 1)


def _verify(tar: tarfile.TarFile, raw: BinaryIO, file: Path,
            progress: Progress) -> tuple[dict[str, Any], dict[str, tarfile.TarInfo]]:
    """Read the whole archive once: every member must be listed in the manifest with its size and sha256.
    Returns the manifest and the members by name."""
    size = os.fstat(raw.fileno()).st_size
    seen: dict[str, dict[str, Any]] = {}
    infos: dict[str, tarfile.TarInfo] = {}
    kept: dict[str, bytes] = {}
    progress("verify", 0, size)
    try:
        for member in tar:
            name = member.name
            if not member.isreg() or not _member_name_ok(name) or name in seen:
                raise BackupError(f"{file} is not a KMH backup, or is corrupt: unexpected member {name!r}")
            digest = hashlib.sha256()
            fh = tar.extractfile(member)
            chunks = []
            while data := fh.read(CHUNK):
                digest.update(data)
                if name in (MANIFEST, MANIFEST_SUM):
                    chunks.append(data)
                progress("verify", min(raw.tell(), size), size)
            seen[name] = {"size": member.size, "sha256": digest.hexdigest()}
            infos[name] = member
            if chunks:
                kept[name] = b"".join(chunks)
    except _READ_ERRORS as exc:
        raise BackupError(f"{file} is corrupt or truncated: {exc}") from exc
    progress("verify", size, size)
    if MANIFEST not in seen or MANIFEST_SUM not in seen:
        raise BackupError(f"{file} is truncated or corrupt: its manifest is missing")
    if kept.get(MANIFEST_SUM, b"").split(b" ")[0].decode(errors="replace") != seen[MANIFEST]["sha256"]:
        raise BackupError(f"{file} is corrupt: {MANIFEST} does not match its checksum")
    try:
        manifest = json.loads(kept[MANIFEST])
        if manifest.get("format") != FORMAT:
            raise ValueError("not a KMH backup manifest")
        expected = manifest["members"]
        listed = [t["file"] for t in manifest["catalog"]["tables"]] + list(manifest["index"]["pages"])
        if any(n not in expected for n in listed):
            raise ValueError("its catalog or index lists members it does not have")
        if not isinstance(manifest["alembic_revision"], str) or not all(
                isinstance(manifest["index"][k], int) for k in ("dim", "passages")):
            raise ValueError("no schema revision, or no index dimensions")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"{file} is not a KMH backup, or is corrupt: bad {MANIFEST} ({exc})") from exc
    if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > FORMAT_VERSION:
        raise BackupError(f"{file} is in backup format {manifest.get('format_version')!r}, newer than this version "
                          f"of KMH reads ({FORMAT_VERSION}): restore it with KMH {manifest.get('kmh_version')} or later")
    found = {n: v for n, v in seen.items() if n not in (MANIFEST, MANIFEST_SUM)}
    missing = [n for n in expected if n not in found]
    if missing:
        raise BackupError(f"{file} is truncated or corrupt: {len(missing)} member(s) missing, e.g. {missing[0]}")
    for name, got in found.items():
        if expected.get(name) != got:
            what = "is not in its manifest" if name not in expected else "does not match its checksum"
            raise BackupError(f"{file} is corrupt: {name} {what}")
    return manifest, infos


@lru_cache(maxsize=1)
def _seeded_tables() -> frozenset[str]:
    """Tables that hold rows right after the migrations ran (e.g. catalog_state): they do not make a catalog
    non-empty."""
    from kmh.catalog import Catalog

    fresh = Catalog("sqlite://")
    try:
        with fresh.engine.connect() as conn:
            return frozenset(t.name for t in _schema(conn)
                             if conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
    finally:
        fresh.close()


def _check_empty(catalog: Catalog, store: VectorStore, file: Path) -> None:
    seeded = _seeded_tables()
    held = []
    with catalog.engine.connect() as conn, conn.begin():
        for t in _schema(conn):
            n = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() if t.name not in seeded else 0
            if n:
                held.append(f"{t.name} {n}")
    held = [f"catalog rows: {', '.join(held)}"] if held else []
    passages = store.count()
    if passages:
        held.append(f"{passages} passages in the index")
    if held:
        raise BackupError(f"not restoring {file}: the target already holds data ({'; '.join(held)}). Restore into an "
                          "empty data folder, or use --force to replace what it holds")


def _revisions(catalog: Catalog) -> list[str]:
    """The revisions this code knows, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(catalog.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _check_fits(manifest: dict[str, Any], catalog: Catalog, store: VectorStore, file: Path) -> None:
    """Refuse an archive the target cannot take, before anything is written."""
    known = _revisions(catalog)
    revision = manifest.get("alembic_revision")
    if revision not in known:
        raise BackupError(f"{file} holds a catalog at schema revision {revision!r}, which this version of KMH does not "
                          f"know (its latest is {known[-1]}): the backup was made by a newer KMH "
                          f"({manifest.get('kmh_version')}); restore it with that version or a later one")
    index = manifest["index"]
    if index["dim"] != store.dim:
        raise BackupError(f"{file} holds {index['dim']}-dimensional vectors, the target index takes {store.dim}")
    if index.get("sentence_passages") and not store.has_sentences:
        raise BackupError(f"{file} holds sentence vectors, but the target index was created before they existed: "
                          "restore into a new index")


@dataclass
class _Archive:
    """A verified archive: its file, the open tar, the manifest and the members by name."""

    file: Path
    tar: tarfile.TarFile
    manifest: dict[str, Any]
    infos: dict[str, tarfile.TarInfo]

    def open(self, name: str, on_read: Callable[[int], None] | None = None) -> _Check:
        return _Check(self, name, on_read)


class _Check:
    """Reads a member of the archive while checking it against the sha256 in the manifest (again: the file could
    change between the check and the restore)."""

    def __init__(self, archive: _Archive, name: str, on_read: Callable[[int], None] | None = None):
        self.name, self.file = name, archive.file
        self.expected = archive.manifest["members"][name]["sha256"]
        self.reader = _Hashing(archive.tar.extractfile(archive.infos[name]), on_read)

    def done(self) -> None:
        if self.reader.digest.hexdigest() != self.expected:
            raise BackupError(f"{self.file} changed while it was being restored: {self.name} no longer matches")


def _apply(settings: Settings, catalog: Catalog, store: VectorStore, archive: _Archive, force: bool,
           progress: Progress) -> tuple[int, int, int, int]:
    store_touched = False
    with catalog.engine.connect() as conn:
        conn.execution_options(kmh_write=True)
        transaction = conn.begin()
        try:
            documents = _restore_catalog(conn, catalog, archive, progress)
            store_touched = True
            if force:
                store.clear()
            passages = _restore_index(store, archive, progress)
            files, original_bytes = _restore_originals(settings.data_dir, archive, progress)
            transaction.commit()
        except BaseException:
            transaction.rollback()
            if store_touched:
                try:
                    store.clear()  # the index was empty before (or, with force, already cleared)
                except Exception:
                    log.exception("could not empty the index after a failed restore")
            raise
    return documents, passages, files, original_bytes


def _restore_catalog(conn: sa.Connection, catalog: Catalog, archive: _Archive, progress: Progress) -> int:
    """Empty the catalog, bring its schema to the backup's revision, insert the rows, then migrate to the latest
    revision; all in the caller's transaction."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from kmh.catalog.catalog import _PG_MIGRATE_LOCK

    manifest, file = archive.manifest, archive.file
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATE_LOCK})")
    known = _revisions(catalog)
    revision = manifest["alembic_revision"]
    current = MigrationContext.configure(conn).get_current_revision()
    if current is not None and current not in known:
        raise BackupError(f"the target catalog is at schema revision {current!r}, which this version of KMH does not "
                          "know: restore with the version that made it")
    for t in reversed(_schema(conn)):  # children first
        conn.execute(t.delete())
    cfg = catalog.alembic_config()
    cfg.attributes["connection"] = conn
    if current is None or known.index(current) < known.index(revision):
        command.upgrade(cfg, revision)
    elif current != revision:
        command.downgrade(cfg, revision)

    archived = {t["name"]: t for t in manifest["catalog"]["tables"]}
    schema = {t.name: t for t in _schema(conn)}
    unknown = [n for n in archived if n not in schema]
    if unknown:
        raise BackupError(f"{file} holds the table {unknown[0]!r}, which the catalog at revision {revision} lacks")
    total, done = sum(t["rows"] for t in archived.values()), 0
    progress("catalog", 0, total)
    for name, table in schema.items():
        entry = archived.get(name)
        if entry is None:
            continue
        columns = [c["name"] for c in entry["columns"]]
        tags = {c["name"]: c["type"] for c in entry["columns"]}
        lacking = [c for c in columns if c not in table.c]
        if lacking:
            raise BackupError(f"{file}: the table {name} has the column {lacking[0]!r}, which the catalog at "
                              f"revision {revision} lacks")
        typed = _typed(table, columns)
        conn.execute(typed.delete())  # rows the migrations seeded, or triggers wrote while earlier tables went in
        check = archive.open(entry["file"])
        rows = 0
        batch: list[dict[str, Any]] = []
        try:
            for line in io.TextIOWrapper(io.BufferedReader(check.reader, CHUNK), encoding="utf-8"):
                record = json.loads(line)
                batch.append({c: _decode(tags[c], record.get(c)) for c in columns})
                if len(batch) >= ROWS:
                    conn.execute(typed.insert(), batch)
                    rows, done, batch = rows + len(batch), done + len(batch), []
                    progress("catalog", done, total)
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{file}: a row of {entry['file']} cannot be read: {exc}") from exc
        if batch:
            conn.execute(typed.insert(), batch)
            rows, done = rows + len(batch), done + len(batch)
        check.done()
        if rows != entry["rows"]:
            raise BackupError(f"{file}: {entry['file']} holds {rows} rows, its manifest says {entry['rows']}")
        progress("catalog", done, total)
    if conn.dialect.name == "postgresql":
        _reset_sequences(conn, [schema[n] for n in archived])
    command.upgrade(cfg, "head")
    return int(archived.get("documents", {}).get("rows", 0))


def _reset_sequences(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Move every serial or identity sequence past the largest value restored (PostgreSQL; SQLite needs nothing:
    a rowid goes on from the largest, and AUTOINCREMENT's counter follows explicit inserts)."""
    quote = conn.dialect.identifier_preparer.quote
    for t in tables:
        for c in t.columns:
            if not isinstance(c.type, sa.Integer):
                continue
            seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": quote(t.name), "c": c.name}).scalar()
            if seq:
                top = f"(SELECT MAX({quote(c.name)}) FROM {quote(t.name)})"
                conn.execute(sa.text(f"SELECT setval(:s, COALESCE({top}, 1), {top} IS NOT NULL)"), {"s": seq})


def _restore_index(store: VectorStore, archive: _Archive, progress: Progress) -> int:
    file, index = archive.file, archive.manifest["index"]
    total, done = index["passages"], 0
    progress("index", 0, total)
    for name in index["pages"]:
        check = archive.open(name)
        data = check.reader.read()
        check.done()
        page = _unpack(data, name, file)
        try:
            store.upsert(page)
        except ValueError as exc:
            raise BackupError(f"{file}: the passages of {name} do not fit the target index: {exc}") from exc
        done += len(page)
        progress("index", done, total)
    if done != total:
        raise BackupError(f"{file}: the index holds {done} passages, its manifest says {total}")
    store.optimize()
    return done


def _restore_originals(data_dir: Path, archive: _Archive, progress: Progress) -> tuple[int, int]:
    """Copy the kept originals into place (each written under a temporary name, then renamed); one already
    there with the same content is left alone."""
    from kmh.catalog import sha256_file

    manifest = archive.manifest
    names = [n for n in manifest["members"] if n.startswith("originals/")]
    total = sum(manifest["members"][n]["size"] for n in names)
    done = 0
    progress("originals", 0, total)
    for name in names:
        dest = data_dir.joinpath(*PurePosixPath(name).parts)
        info = manifest["members"][name]
        if dest.is_file() and dest.stat().st_size == info["size"] and sha256_file(dest) == info["sha256"]:
            done += info["size"]
            progress("originals", done, total)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=dest.suffix)
        try:
            check = archive.open(name, lambda n, base=done: progress("originals", base + n, total))
            with os.fdopen(fd, "wb") as fh:
                while data := check.reader.read(CHUNK):
                    fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            check.done()
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        done += info["size"]
    progress("originals", done, total)
    return len(names), total


# -- from a running server ---------------------------------------------------------------------------------------


def download(server: str, key: str, file: Path | str, *, overwrite: bool = False,
             progress: Progress | None = None) -> BackupSummary:
    """Save the backup that the server at ``server`` streams (``GET /api/backup``, an admin ``key``) to ``file``
    (gzip-compressed when its name ends in .gz or .tgz), then check it whole, as a restore would. As with
    ``backup``, the archive is written under a temporary name and renamed only once checked."""
    import urllib.error
    import urllib.request

    progress = progress or _quiet
    started = time.perf_counter()
    file = _archive_path(file, overwrite)
    base = server.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise BackupError(f"--server {server!r}: give the server's URL, e.g. http://127.0.0.1:8000")
    url = base + "/api/backup" + ("?gzip=true" if file.name.endswith((".gz", ".tgz")) else "")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(request, timeout=600) as answer:
                    done = 0
                    progress("download", 0, 0)
                    while data := answer.read(CHUNK):
                        out.write(data)
                        done += len(data)
                        progress("download", done, 0)
            except urllib.error.HTTPError as exc:
                raise BackupError(f"{url} answered {exc.code}: {_problem_detail(exc)}") from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise BackupError(f"could not back up from {base}: {reason}") from None
            out.flush()
            os.fsync(out.fileno())
        try:
            manifest = check_archive(tmp, progress)
        except BackupError as exc:
            raise BackupError(f"the backup from {base} is incomplete or corrupt, {file} was not written: "
                              f"{exc}") from None
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(file.parent)
    counts = manifest["counts"]
    return BackupSummary(file, manifest["alembic_revision"], counts["documents"], counts["passages"], counts["files"],
                         counts["bytes"], file.stat().st_size, time.perf_counter() - started)


def _problem_detail(exc: Any) -> str:
    """The detail of a problem document in an HTTP error, else its reason; with a hint for 401 and 403."""
    try:
        detail = json.loads(exc.read(65536)).get("detail") or exc.reason
    except (ValueError, OSError, AttributeError):
        detail = exc.reason
    hint = {401: " (the key is wrong or revoked)", 403: " (a backup needs an admin key: kmh keys create --role admin)"}
    return f"{detail}{hint.get(exc.code, '')}"
