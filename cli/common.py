"""What the commands share: the two consoles, the settings and the open catalog and store, or an exit status
that says why not."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from kmh.catalog import Catalog, DocumentRecord, KeyRecord
    from kmh.settings import Settings
    from kmh.store import VectorStore

console = Console()
err = Console(stderr=True)


def load_settings() -> Settings:
    """The settings from the environment; exit 2 naming each bad variable."""
    from pydantic import ValidationError

    from kmh.settings import Settings, set_offline_env

    set_offline_env()
    try:
        return Settings()
    except ValidationError as exc:
        for e in exc.errors():
            field = "KMH_" + "_".join(str(x) for x in e["loc"]).upper() if e["loc"] else "settings"
            err.print(f"[red]error:[/red] {field}: {e['msg']}")
        raise typer.Exit(2) from exc


def open_catalog_and_store(settings: Settings, held_hint: Callable[[dict], str] | None = None
                           ) -> tuple[Catalog, VectorStore]:
    """The catalog and the store; exit 3 when a server holds the store, saying what to do instead (``held_hint``:
    the server's info -> that advice; by default, publishing through the server)."""
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.store import StoreLockedError

    try:
        store = open_vector_store(settings)
    except StoreLockedError as exc:
        from api.server import running_server

        server = running_server(settings)
        if server is None:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
        elif held_hint is not None:
            err.print(f"[red]error:[/red] the KMH server (pid {server['pid']}, {server['url']}) holds the index in "
                      f"{settings.data_dir}.\n{held_hint(server)}", highlight=False, soft_wrap=True)
        else:
            err.print(f"[red]error:[/red] the KMH server (pid {server['pid']}, {server['url']}) holds the index in "
                      f"{settings.data_dir}: only one process may write it.\n"
                      f"Publish through the server instead, with a staff key (kmh keys create --role staff --name "
                      f"NAME):\n  curl -H 'Authorization: Bearer KEY' -F file=@report.pdf -F type=report "
                      f"{server['url']}/api/documents\nor stop the server and run this command again.",
                      highlight=False, soft_wrap=True)
        raise typer.Exit(3) from exc
    return open_catalog(settings), store


def record_json(record: DocumentRecord | KeyRecord) -> dict:
    """A catalog record (a document, a key) as JSON values; a document's date as given (2019, 2019-09, ...)."""
    from dataclasses import asdict

    from kmh.catalog import DocumentRecord

    out = json.loads(json.dumps(asdict(record), default=str))
    if isinstance(record, DocumentRecord):
        out["published"] = record.published_text
    return out
