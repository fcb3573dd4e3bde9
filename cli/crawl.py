"""`kmh crawl URL`: import a website's pages and the documents they link, with a progress bar and a summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import console, err, load_settings

if TYPE_CHECKING:
    from kmh.settings import Settings
    from services.crawls import CrawlSummary


def crawl(
    url: Annotated[str, typer.Argument(help="The start page (http or https); its whole site is crawled.",
                                       show_default=False)],
    depth: Annotated[int | None, typer.Option(
        "--depth", "-d", min=0, max=10, help="Links away from the start page, when the site has no sitemap "
        "[default: KMH_CRAWL_DEPTH, 2]", show_default=False)] = None,
    include: Annotated[list[str] | None, typer.Option(
        "--include", "-i", help="Only URL paths matching this pattern: a glob (/news/*) or a regular expression "
        "after re: (repeatable)", show_default=False)] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", "-x", help="Leave out URL paths matching this pattern (repeatable)", show_default=False)] = None,
    delay: Annotated[float | None, typer.Option(
        "--delay", min=0, help="Seconds between two requests [default: KMH_CRAWL_DELAY, 1]; robots.txt's "
        "Crawl-delay wins when longer", show_default=False)] = None,
    max_pages: Annotated[int | None, typer.Option(
        "--max-pages", min=1, help="The most URLs to fetch [default: KMH_CRAWL_MAX_PAGES, 1000]",
        show_default=False)] = None,
    key: Annotated[str | None, typer.Option(
        "--key", envvar="KMH_API_KEY", help="A staff API key: when a running server holds the index, the crawl is "
        "handed to it as a job", show_default=False)] = None,
) -> None:
    """Import a website: its HTML pages (page chrome dropped) and the PDF, DOCX and PPTX files they link.

    The pages are those of the site's sitemap (named in robots.txt, else /sitemap.xml), or else the same-site links
    of the start page to --depth links away. robots.txt is obeyed and requests are spaced by --delay seconds. Each
    page keeps its URL as its source (search citations link to it) and its own metadata (title, date, language,
    og: and article: tags).

    Run it again to update: known pages are asked with If-None-Match / If-Modified-Since, so an unchanged page costs
    one request; a changed page becomes a new version of its document, a page that answers 404 or 410 is retracted.
    A page that fails (network error, 5xx) is left as it was and reported; the crawl goes on. The exit status is 1
    when any page failed.

    While a server holds the index, the crawl is queued on that server with --key (or KMH_API_KEY).
    """
    from services.crawls import crawl_options
    from services.errors import InvalidParameter

    settings = load_settings()
    try:
        options = crawl_options(settings=settings, url=url, depth=depth, include=include or (),
                                exclude=exclude or (), delay=delay, max_pages=max_pages)
    except InvalidParameter as exc:
        err.print(f"[red]error:[/red] {exc.detail.replace('parameter ', 'option ')}", highlight=False)
        raise typer.Exit(2) from exc
    store = _open_store_or_hand_over(settings, options.url, options.depth, list(options.include),
                                     list(options.exclude), key)
    summary = _crawl_here(settings, store, options)
    _print_summary(summary)
    if summary.count("failed"):
        raise typer.Exit(1)


def _open_store_or_hand_over(settings: Settings, url: str, depth: int, include: list[str], exclude: list[str],
                             key: str | None):
    """The open store; when a server holds it, the crawl is queued there (with a key) and the command ends."""
    from kmh.runtime import open_vector_store
    from kmh.store import StoreLockedError

    try:
        return open_vector_store(settings)
    except StoreLockedError as exc:
        from api.server import running_server

        server = running_server(settings)
        if server is None:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(3) from exc
        if not key:
            err.print(f"[red]error:[/red] the KMH server (pid {server['pid']}, {server['url']}) holds the index in "
                      f"{settings.data_dir}: only one process may write it.\nHand the crawl to the server with a "
                      f"staff key (kmh keys create --role staff --name NAME):\n  kmh crawl {url} --key KEY   (or "
                      f"KMH_API_KEY=KEY)\nor POST {{\"url\": \"{url}\"}} to {server['url']}/api/crawls, or stop the "
                      f"server and run this command again.", highlight=False, soft_wrap=True)
            raise typer.Exit(3) from exc
        _hand_over(server["url"], key, url, depth, include, exclude)
        raise typer.Exit(0) from None


def _hand_over(server: str, key: str, url: str, depth: int, include: list[str], exclude: list[str]) -> None:
    """Queue the crawl on the running server (POST /api/crawls) and say where to follow it."""
    import httpx

    try:
        r = httpx.post(f"{server}/api/crawls", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                       json={"url": url, "depth": depth, "include": include, "exclude": exclude})
    except httpx.HTTPError as exc:
        err.print(f"[red]error:[/red] the server at {server} did not answer: {exc}", highlight=False)
        raise typer.Exit(3) from exc
    if r.status_code != 202:
        try:
            detail = r.json().get("detail") or r.text
        except ValueError:
            detail = r.text
        err.print(f"[red]error:[/red] the server refused the crawl ({r.status_code}): {detail}", highlight=False,
                  soft_wrap=True)
        raise typer.Exit(3 if r.status_code >= 500 else 2)
    body = r.json()
    console.print(f"The server is crawling {url} (job {body['id']}); follow it at {server}{body['url']} or on "
                  f"{server}/staff/crawls", highlight=False, soft_wrap=True)


def _crawl_here(settings: Settings, store, options) -> CrawlSummary:
    """Crawl in this process, with a progress bar: URLs done out of those known so far, pages per second, time
    left at that pace."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ingest.crawl import CrawlError
    from ingest.indexer import Indexer
    from ingest.pending import PendingLog
    from ingest.progress import short_duration
    from kmh.embedding import ModelMissingError
    from kmh.runtime import open_catalog
    from services.crawls import CrawlProgress, run_crawl

    catalog = open_catalog(settings)
    made: list[Indexer] = []

    def indexer() -> Indexer:  # loaded when the first page changed: a re-crawl that finds nothing new loads no model
        if not made:
            ix = Indexer(settings, catalog, store)
            ix.pending = PendingLog(settings.data_dir)
            try:
                ix.warm_up()
            except ModelMissingError as exc:
                err.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(2) from exc
            made.append(ix)
        return made[0]

    try:
        _recover(settings, catalog, store)
        columns = (TextColumn("[bold]crawl"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                   TimeElapsedColumn(), TextColumn("{task.fields[left]}"), TextColumn("{task.fields[current]}"))
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("crawl", total=None, rate="", left="", current="")

            def on_progress(p: CrawlProgress) -> None:
                if p.last.outcome == "failed":
                    err.print(f"[red]failed[/red] {p.last.url}: {p.last.reason}", soft_wrap=True, highlight=False)
                progress.update(task, completed=p.done, total=p.done + p.waiting,
                                rate=f"{p.rate:.1f} pages/s" if p.rate is not None else "",
                                left=f"about {short_duration(p.eta)} left" if p.eta is not None else "",
                                current=p.last.url[-50:])

            try:
                return run_crawl(catalog=catalog, store=store, settings=settings, options=options, indexer=indexer,
                                 actor=None, on_progress=on_progress)
            except CrawlError as exc:
                err.print(f"[red]error:[/red] {exc}", highlight=False)
                raise typer.Exit(1) from exc
    finally:
        for ix in made:
            ix.close()
        store.close()
        catalog.close()


def _recover(settings: Settings, catalog, store) -> None:
    """Settle the versions an earlier `kmh ingest` or `kmh crawl` wrote but never catalogued (as cli.ingest)."""
    from ingest.pending import recover

    for doc_id, version, what in recover(settings.data_dir, catalog, store,
                                         exclusive=settings.store_backend == "edge"):
        err.print(f"document {doc_id}, version {version}: {what} (an earlier run stopped before it was done)",
                  highlight=False, soft_wrap=True)


def _print_summary(summary: CrawlSummary) -> None:
    from rich.table import Table

    style = {"new": "green", "updated": "cyan", "unchanged": "dim", "retracted": "yellow", "failed": "red"}
    table = Table(title=f"Crawled {summary.site} in {summary.seconds:.1f} s")
    for col in ("url", "status", "doc id", "reason"):
        table.add_column(col, overflow="fold")
    for p in summary.pages:
        if p.outcome != "skipped":
            table.add_row(p.url, f"[{style[p.outcome]}]{p.outcome}", p.doc_id or "", p.reason or "")
    console.print(table)
    counts = summary.counts
    console.print(", ".join(f"{n} {s}" for s, n in counts.items()), highlight=False)
    for reason, n in sorted(summary.skipped.items()):
        console.print(f"  skipped {n}: {reason}", highlight=False)
    for f in summary.failures:
        console.print(f"  failed {f.url}: {f.reason}", highlight=False, soft_wrap=True)
    source = "its sitemap" if summary.from_sitemap else "its links"
    console.print(f"{summary.requests} requests; {summary.pages_per_second:.1f} pages/s; pages from {source}",
                  highlight=False)

