"""`kmh docs`: list, show and remove the catalog's documents."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from cli.common import console, err, load_settings, open_catalog_and_store, record_json


def docs_list(
    limit: Annotated[int, typer.Option(min=1, help="Rows per page.")] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    doc_type: Annotated[Optional[str], typer.Option("--type", help="Only this type.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the documents as JSON.")] = False,
) -> None:
    """List documents, newest first."""
    from rich.table import Table

    from kmh.catalog import STAFF
    from kmh.runtime import open_catalog
    from services.publishing import list_documents

    settings = load_settings()
    catalog = open_catalog(settings)
    try:
        rows, total = list_documents(catalog=catalog, audience=STAFF, limit=limit, offset=offset, doc_type=doc_type)
    finally:
        catalog.close()
    if as_json:
        print(json.dumps({"total": total, "documents": [record_json(d) for d in rows]}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{total} documents")
    table.add_column("id", no_wrap=True)
    table.add_column("title", no_wrap=True)
    for col in ("type", "lang", "date", "v.", "passages"):
        table.add_column(col, no_wrap=True)
    room = max(12, console.width - 70)  # the other columns and the borders take 70 characters
    for d in rows:
        title = d.title if len(d.title) <= room else d.title[: room - 1] + "…"
        table.add_row(d.id, title, d.doc_type, d.language or "", d.published_text or "", str(d.version),
                      str(d.passage_count))
    console.print(table)


def docs_show(
    doc_id: Annotated[str, typer.Argument(help="Document id (see `kmh docs list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the document as JSON.")] = False,
) -> None:
    """Show a document's metadata and outline."""
    from kmh.runtime import open_catalog
    from services.errors import DocumentNotFound
    from services.publishing import get_document

    settings = load_settings()
    catalog = open_catalog(settings)
    try:
        d = get_document(catalog=catalog, doc_id=doc_id)
    except DocumentNotFound:
        err.print(f"[red]error:[/red] no document {doc_id!r}")
        raise typer.Exit(1) from None
    finally:
        catalog.close()
    if as_json:
        print(json.dumps(record_json(d), ensure_ascii=False, indent=2))
        return
    for name in ("id", "title", "doc_type", "language", "published", "countries", "programme", "source", "source_url",
                 "status", "version", "passage_count", "filename", "format", "page_count", "sha256",
                 "original_path", "ingested_at", "updated_at"):
        value = d.published_text if name == "published" else getattr(d, name, "")
        console.print(f"[bold]{name:>14}[/bold]  {value}", highlight=False)
    if d.outline:
        console.print("[bold]       outline[/bold]")
        for item in d.outline:
            page = f" (p. {item['page']})" if item.get("page") else ""
            console.print(f"{'':16}{'  ' * (int(item.get('level') or 1) - 1)}{item['section']}{page}", highlight=False)


def docs_rm(
    doc_ids: Annotated[list[str], typer.Argument(help="Document ids.", show_default=False)],
) -> None:
    """Remove documents: their passages leave the index, then their catalog entries are deleted."""
    from services.errors import DocumentNotFound
    from services.publishing import delete_document

    settings = load_settings()
    catalog, store = open_catalog_and_store(settings)
    missing = 0
    try:
        for doc_id in doc_ids:
            try:
                delete_document(catalog=catalog, store=store, doc_id=doc_id, actor=None)
            except DocumentNotFound:
                err.print(f"[red]error:[/red] no document {doc_id!r}")
                missing += 1
                continue
            console.print(f"removed {doc_id}")
    finally:
        store.close()
        catalog.close()
    if missing:
        raise typer.Exit(1)
