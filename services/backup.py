"""A backup of a running service: the archive ``kmh backup`` writes, made from the runtime's own catalog and store.

Publishing jobs and caption replacements wait while it is written (it holds the write lock), so the catalog and
the index in it agree. The transport streams what is written to ``out`` (``api.routers.backup``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from kmh.catalog import KeyRecord
    from services.runtime import Runtime


def write_backup(*, runtime: Runtime, out: BinaryIO, compress: bool, actor: KeyRecord | None) -> None:
    """Write the archive of the catalog, the index and the kept originals to ``out`` (only ``write`` and ``tell``
    are used), under the write lock; audited as ``backup.download`` before the first byte."""
    from kmh.backup import write_archive

    runtime.catalog.audit(actor, "backup.download", None, gzip=compress)
    with runtime.write_lock:
        write_archive(out, runtime.settings, runtime.catalog, runtime.store, compress=compress,
                      spool=runtime.settings.data_dir)
