"""Searching from the command line: `kmh search` prints cited passages, `kmh eval` measures retrieval quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import console, err, load_settings, open_catalog_and_store


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
    from services.errors import InvalidParameter
    from services.search import search as run_search

    if mode not in ("hybrid", "dense", "keyword"):
        err.print(f"[red]error:[/red] --mode must be hybrid, dense or keyword, not {mode!r}")
        raise typer.Exit(2)
    settings = load_settings()
    catalog, store = open_catalog_and_store(settings)
    try:
        searcher = Searcher(settings, catalog, store)
        searcher.warm_up()
        try:
            asked = SearchQuery(q=query, k=k, mode=mode, lang=lang, doc_type=doc_type,  # type: ignore[arg-type]
                                country=country, year_from=year_from, year_to=year_to)
            results = run_search(searcher=searcher, query=asked)
        except (InvalidParameter, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    finally:
        store.close()
        catalog.close()
    hits = results.hits
    if as_json:
        print(json.dumps([Hit.from_record(h).model_dump(mode="json") for h in hits], ensure_ascii=False, indent=2))
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
        url = citation_url(h.doc_id, kind=c.kind, page=c.page, start=c.start, web_url=c.web_url)
        console.print(f"   [dim]{where} · {span} · score {h.score:.3f} · {url}[/dim]", highlight=False)
        console.print(f"   {h.text}\n", highlight=False, markup=False)
    console.print(f"[dim]{results.total} candidate passages[/dim]", highlight=False)


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
    settings = load_settings()
    if no_floor:
        settings = settings.model_copy(update={"relevance_floor": 0.0, "relevance_floor_cross": 0.0})
    catalog, store = open_catalog_and_store(settings)
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
