"""`kmh ingest`: index files and folders, with a progress bar and a summary table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import console, err, load_settings, open_catalog_and_store

if TYPE_CHECKING:
    from collections.abc import Callable

    from ingest.plan import WorkItem
    from kmh.catalog import Catalog
    from kmh.settings import Settings
    from kmh.store import VectorStore


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively).", show_default=False)],
    language: Annotated[str | None, typer.Option(
        "--language", "-l", help="Language (ISO 639-1, e.g. fr) of audio and video files that have no seminar "
        "manifest or NAME.meta.yaml to say it; never guessed.", show_default=False)] = None,
) -> None:
    """Parse, chunk, embed and index files. Unchanged files are skipped; changed files replace their old version.

    Documents: PDF, DOCX, PPTX, HTML, Markdown, text. A file NAME.meta.yaml beside NAME.pdf gives its metadata
    (title, type, date, country, programme, source, language); otherwise they are inferred.

    Recordings: audio or video files are transcribed (their captions NAME.vtt or NAME.srt are used instead when
    present) and cut into passages of 30 to 60 seconds. A seminar manifest (seminar.yaml) describes a seminar,
    its sessions and recordings; topics.yaml loads the topic taxonomy. The exit status is 1 when any file failed.

    The progress bar counts files; it shows the passages indexed per second (over the files finished in the last
    30 s) and the time left, estimated from the bytes of the files still to do at the pace of the bytes done
    (files found unchanged or failed count in neither). The summary ends with the passages per second of the run.
    """
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ingest.indexer import FileResult, Indexer
    from ingest.pending import PendingLog
    from ingest.plan import plan
    from ingest.progress import IngestMeter, short_duration
    from kmh.embedding import ModelMissingError
    from services.publishing import publish_files

    settings = load_settings()
    if language is not None and not re.fullmatch(r"[a-z]{2}", language):
        err.print(f"[red]error:[/red] --language must be a two-letter code such as fr or en, not {language!r}")
        raise typer.Exit(2)
    items = plan(paths, language)
    recordings = [item for item in items if item.kind == "recording"]
    catalog, store = open_catalog_and_store(settings, _recordings_hint(recordings) if recordings else None)
    indexer = None
    try:
        _recover_ingest(settings, catalog, store)
        try:
            indexer = Indexer(settings, catalog, store)
            indexer.pending = PendingLog(settings.data_dir)
            indexer.warm_up()
        except ModelMissingError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        meter = IngestMeter(_file_sizes(items))
        started = time.perf_counter()
        columns = (
            TextColumn("[bold]ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            TextColumn("{task.fields[current]}"),
        )
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("ingest", total=len(items), rate="", left="", current="")

            def on_result(r: FileResult) -> None:
                if r.status == "failed":
                    err.print(f"[red]failed[/red] {r.path}: {r.reason}", soft_wrap=True, highlight=False)
                for note in r.notes:
                    label = "left out" if _is_page_note(note) else "note"
                    err.print(f"[yellow]{label}[/yellow] {r.path}: {note}", soft_wrap=True, highlight=False)
                meter.finished(_size_key(r.path), r.status in ("new", "updated"), r.passages)
                rate, eta = meter.rate, meter.eta
                progress.update(
                    task,
                    advance=1,
                    rate=f"{rate:.1f} passages/s" if rate is not None else "",
                    left=f"about {short_duration(eta)} left" if eta is not None else "",
                    current=r.path.name[:40],
                )

            results = publish_files(indexer=indexer, catalog=catalog, paths=paths, items=items, on_result=on_result)
        elapsed = time.perf_counter() - started
    finally:
        if indexer is not None:
            indexer.close()  # stops the parse worker
        store.close()
        catalog.close()

    table = Table(title=f"Ingested in {elapsed:.1f} s")
    for col in ("file", "status", "doc id", "passages", "reason"):
        table.add_column(col)
    style = {"new": "green", "updated": "cyan", "unchanged": "dim", "failed": "red"}
    for r in results:
        table.add_row(str(r.path), f"[{style[r.status]}]{r.status}", r.doc_id or "", str(r.passages),
                      "; ".join(filter(None, [r.reason, *r.notes])))
    console.print(table)
    tally = {s: sum(r.status == s for r in results) for s in ("new", "updated", "unchanged", "failed")}
    console.print(", ".join(f"{n} {s}" for s, n in tally.items()))
    noted = [(r, note) for r in results for note in r.notes]
    pages = [(r, note) for r, note in noted if _is_page_note(note)]
    others = [(r, note) for r, note in noted if not _is_page_note(note)]
    for group, heading in ((pages, "page{s} not indexed"), (others, "note{s}")):
        if group:
            console.print(f"{len(group)} {heading.format(s='s' if len(group) > 1 else '')}:", highlight=False)
            for r, note in group:
                console.print(f"  {r.path.name}: {note}", highlight=False, soft_wrap=True)
    console.print(f"{meter.passages} passages in {elapsed:.1f} s: {meter.passages / max(elapsed, 1e-6):.1f} passages/s",
                  highlight=False)
    if tally["failed"]:
        raise typer.Exit(1)


def _recordings_hint(recordings: list[WorkItem]) -> Callable[[dict], str]:
    """What to do instead when a server holds the store and recordings are to be published: send them to it."""
    import shlex

    def hint(server: dict) -> str:
        url = server["url"]
        lines = ["Only one process may write it: publish the recordings through the server instead (no need to stop "
                 "it), with a staff or organiser key (kmh keys create --role organiser --name NAME):"]
        for item in recordings[:3]:
            fields = [f"-F file=@{shlex.quote(str(item.path))}"]
            if item.captions is not None:
                fields.append(f"-F captions=@{shlex.quote(str(item.captions))}")
            if item.language:
                fields.append(f"-F language={item.language}")
            if item.seminar is not None:
                fields.append(f"-F seminar={shlex.quote(item.seminar.seminar_id)}")
            lines.append(f"  curl -H 'Authorization: Bearer KEY' {' '.join(fields)} {url}/api/recordings")
        if len(recordings) > 3:
            lines.append(f"  ... and {len(recordings) - 3} more")
        lines.append(f"or upload them on the page {url}/staff/recordings (the job page shows the seconds "
                     f"transcribed); documents go to {url}/api/documents. Or stop the server and run this command "
                     "again.")
        return "\n".join(lines)

    return hint


def _size_key(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path)


def _file_sizes(items: list[WorkItem]) -> dict[str, int]:
    """The bytes of each planned file, by resolved path (a seminar's recordings are items of their own)."""
    sizes: dict[str, int] = {}
    for item in items:
        try:
            sizes[_size_key(item.path)] = item.path.stat().st_size if item.kind != "failed" else 0
        except OSError:
            sizes[_size_key(item.path)] = 0
    return sizes


def _recover_ingest(settings: Settings, catalog: Catalog, store: VectorStore) -> None:
    """Remove the passages an earlier `kmh ingest` wrote but never catalogued (it was killed before its commit):
    the run that follows would otherwise add them a second time under new ids."""
    from ingest.pending import recover

    exclusive = settings.store_backend == "edge"  # the embedded store is locked by this process
    for doc_id, version, what in recover(settings.data_dir, catalog, store, exclusive=exclusive):
        err.print(f"document {doc_id}, version {version}: {what} (an earlier kmh ingest stopped before it was done)",
                  highlight=False, soft_wrap=True)


def _is_page_note(note: str) -> bool:
    """Whether a result's note is a page left out of the index ("page 3: OCR confidence ..."), not another remark."""
    return note.startswith("page ")
