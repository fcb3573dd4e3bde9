"""Looking after the data: `kmh check` (the index against the catalog), `kmh keys` (API keys), `kmh backup` and
`kmh restore`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cli.common import console, err, load_settings, open_catalog_and_store, record_json

if TYPE_CHECKING:
    from rich.progress import Progress

    from kmh.backup import Progress as OnProgress
    from kmh.check import Report


def check(
    full: Annotated[bool, typer.Option("--full", help="Compare every passage's vector and text with what was "
                                                      "written (default: counts and a sample of 32).")] = False,
    repair: Annotated[bool, typer.Option("--repair", help="Remove orphan passages, embed missing or damaged ones "
                                                          "again from the kept originals, record missing checks; "
                                                          "with the server stopped.")] = False,
) -> None:
    """Compare the catalog with the index: passages per document version, orphans (passages of versions the
    catalog does not hold), missing passages, vectors or texts no longer as written. Exit status 1 names what is
    wrong, per document; --repair fixes it (stop the server first)."""
    from kmh.check import check as run_check
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.store import StoreError, StoreLockedError

    settings = load_settings()
    catalog = open_catalog(settings)
    try:
        try:
            store = open_vector_store(settings)
        except StoreLockedError:
            catalog.close()
            open_catalog_and_store(settings)  # says who holds it, and exits
            raise
        except StoreError as exc:
            err.print(f"[red]index:[/red] the index at {settings.index_path} cannot be opened: {exc}",
                      highlight=False, soft_wrap=True)
            if not repair or settings.store_backend != "edge":
                err.print("run `kmh check --repair` (with the server stopped) to rebuild it from the kept originals",
                          highlight=False)
                raise typer.Exit(1) from exc
            from ingest.repair import set_aside_index

            moved = set_aside_index(settings)
            err.print(f"moved it to {moved}; rebuilding the index from the kept originals", highlight=False)
            store = open_vector_store(settings)
        try:
            report = run_check(catalog, store, full=full or repair, where=f"({settings.catalog_db_url})")
            _print_report(report)
            if repair and (report.problems or report.unverified):
                from ingest.repair import repair_store

                report, store = repair_store(settings, catalog, store, report,
                                             say=lambda line: console.print(f"repair: {line}", highlight=False))
                console.print("after the repair:")
                _print_report(report)
        finally:
            store.close()
    finally:
        catalog.close()
    if report.problems:
        raise typer.Exit(1)


def _print_report(report: Report) -> None:
    for f in report.findings:
        label = "[yellow]unverified[/yellow]" if f.kind == "unverified" else f"[red]{f.kind}[/red]"
        console.print(f"{label}: {f.line()}", highlight=False, soft_wrap=True)
    checked = f"{report.vectors_checked} vectors compared ({'all' if report.full else 'a sample'})"
    state = "ok" if report.ok else f"{len(report.problems)} problems"
    extra = f", {len(report.unverified)} documents unverified" if report.unverified else ""
    console.print(f"{report.documents} documents, {report.passages} passages in the index, {checked}: "
                  f"{state}{extra}", highlight=False)
    if report.problems:
        console.print("run `kmh check --repair` (with the server stopped) to repair it", highlight=False)
    elif report.unverified:
        console.print("run `kmh check --repair` to record the checks of the unverified documents", highlight=False)


# -- API keys -------------------------------------------------------------------------------------------------

def keys_create(
    role: Annotated[str, typer.Option(help="reader, staff (publish, update, retract documents), organiser (topic "
                                           "links, captions) or admin (everything, keys, audit log).",
                                      show_default=False)],
    name: Annotated[str, typer.Option(help="Who or what the key is for, e.g. 'Aïcha, KMH staff'.",
                                      show_default=False)],
) -> None:
    """Create an API key and print it once: only its hash is kept, so note it now."""
    from kmh.catalog import ROLES
    from kmh.runtime import open_catalog
    from services.access import create_key
    from services.errors import InvalidParameter

    if role not in ROLES:
        err.print(f"[red]error:[/red] --role must be one of {', '.join(ROLES)}, not {role!r}")
        raise typer.Exit(2)
    catalog = open_catalog(load_settings())
    try:
        new = create_key(catalog=catalog, name=name, role=role, actor=None)
    except InvalidParameter as exc:
        err.print(f"[red]error:[/red] {exc.reason}")
        raise typer.Exit(2) from exc
    finally:
        catalog.close()
    rec, key = new.record, new.secret
    err.print(f"created key {rec.id} ({rec.role}) for {rec.name}; it is shown only now:", highlight=False)
    print(key)


def keys_list(as_json: Annotated[bool, typer.Option("--json", help="Print the keys as JSON.")] = False) -> None:
    """List API keys (never the keys themselves): id, name, role, when created and last used, revoked or not."""
    from rich.table import Table

    from kmh.runtime import open_catalog
    from services.access import list_keys

    catalog = open_catalog(load_settings())
    try:
        keys = list_keys(catalog=catalog)
    finally:
        catalog.close()
    if as_json:
        print(json.dumps([record_json(k) for k in keys], ensure_ascii=False, indent=2))
        return
    table = Table()
    for col in ("id", "name", "role", "created", "last used", "state"):
        table.add_column(col)
    for k in keys:
        table.add_row(k.id, k.name, k.role, f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
                      "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d}")
    console.print(table)


def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from kmh keys list).", show_default=False)]
                ) -> None:
    """Revoke an API key: it stops working at once and its web sessions end; it stays listed for the audit log."""
    from kmh.runtime import open_catalog
    from services.access import revoke_key
    from services.errors import KeyNotFound

    catalog = open_catalog(load_settings())
    try:
        rec = revoke_key(catalog=catalog, key_id=key_id.strip(), actor=None)
    except KeyNotFound:
        err.print(f"[red]error:[/red] no API key with id {key_id!r} (see kmh keys list)")
        raise typer.Exit(1) from None
    finally:
        catalog.close()
    console.print(f"revoked key {rec.id} ({rec.role}, {rec.name})", highlight=False)


# -- backup and restore ---------------------------------------------------------------------------------------


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _backup_bars() -> tuple[Progress, OnProgress]:
    """Rich progress bars, one per step, and the progress callback that drives them."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    labels = {"verify": "check archive", "catalog": "catalog rows", "index": "passages", "originals": "originals",
              "download": "download"}
    bars = Progress(TextColumn("[bold]{task.description:<14}"), BarColumn(), TextColumn("{task.fields[amount]}"),
                    TimeElapsedColumn(), console=err, transient=False)
    tasks: dict[str, int] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bars.add_task(labels.get(step, step), total=total, amount="")
        if step == "download":  # the size is known only at the end
            bars.update(tasks[step], completed=done, total=None, amount=_size(done))
            return
        amount = f"{_size(done)} / {_size(total)}" if step in ("verify", "originals") else f"{done} / {total}"
        bars.update(tasks[step], completed=done, total=max(total, 1), amount=amount)

    return bars, update


def backup(
    file: Annotated[Path, typer.Argument(help="The archive to write: a tar, gzip-compressed when the name ends in "
                                              ".gz or .tgz.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    server: Annotated[Optional[str], typer.Option(
        "--server", help="Back up a running server through its API (GET /api/backup), e.g. http://127.0.0.1:8000; "
        "needs --key.", show_default=False)] = None,
    key: Annotated[Optional[str], typer.Option(
        "--key", envvar="KMH_API_KEY", help="An admin API key, for --server (or the KMH_API_KEY variable).",
        show_default=False)] = None,
) -> None:
    """Back up the data folder into one file: the catalog (documents, versions, seminars, transcripts, topics and
    their links), the index's passages with their vectors, and the kept originals (captions included).

    A running server holds the embedded index: back it up through the server with --server URL --key KEY (an admin
    key), or stop it first. The archive restores into either store backend (`kmh restore`).
    """
    from kmh.backup import BackupError
    from kmh.backup import backup as run

    if server is not None:
        _backup_from_server(server, key, file, force)
        return
    settings = load_settings()
    catalog, store = open_catalog_and_store(settings, held_hint=lambda info: (
        f"Back it up through the server, with an admin key (kmh keys create --role admin --name NAME):\n"
        f"  kmh backup --server {info['url']} --key KEY {file}\nor stop the server and run this command again."))
    try:
        bars, update = _backup_bars()
        with bars:
            summary = run(settings, file, catalog=catalog, store=store, progress=update, overwrite=force)
    except BackupError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    finally:
        store.close()
        catalog.close()
    console.print(f"backed up {summary.documents} documents, {summary.passages} passages, {summary.files} files "
                  f"({_size(summary.original_bytes)}) to {summary.file}: {_size(summary.bytes)} in "
                  f"{summary.seconds:.1f} s", highlight=False)


def _backup_from_server(server: str, key: str | None, file: Path, force: bool) -> None:
    from kmh.backup import BackupError, download

    if not key:
        err.print("[red]error:[/red] --server needs --key KEY (or KMH_API_KEY): an admin API key")
        raise typer.Exit(2)
    try:
        bars, update = _backup_bars()
        with bars:
            summary = download(server, key, file, overwrite=force, progress=update)
    except BackupError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"backed up {summary.documents} documents, {summary.passages} passages, {summary.files} files "
                  f"({_size(summary.original_bytes)}) from {server} to {summary.file}: {_size(summary.bytes)} in "
                  f"{summary.seconds:.1f} s", highlight=False)


def restore(
    file: Annotated[Path, typer.Argument(help="An archive written by `kmh backup`.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace what the data folder and index already hold.")
                     ] = False,
) -> None:
    """Restore a backup into the data folder (KMH_DATA_DIR) and the configured index, which must be empty unless
    --force. The whole archive is checked first; a corrupt or foreign file changes nothing."""
    from kmh.backup import BackupError
    from kmh.backup import restore as run

    settings = load_settings()
    catalog, store = open_catalog_and_store(settings)
    try:
        bars, update = _backup_bars()
        with bars:
            summary = run(settings, file, force=force, catalog=catalog, store=store, progress=update)
    except BackupError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    finally:
        store.close()
        catalog.close()
    console.print(f"restored {summary.documents} documents, {summary.passages} passages, {summary.files} files "
                  f"({_size(summary.original_bytes)}) from {summary.file} ({_size(summary.bytes)}) in "
                  f"{summary.seconds:.1f} s", highlight=False)
