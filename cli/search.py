"""Searching from the command line: `kmh search` prints cited passages, `kmh eval` measures retrieval quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import console, err, load_settings, open_catalog_and_store
from kmh.language import LANGUAGES


# kmh.catalog.models.DOC_TYPES, written out: the catalog's models would bring SQLAlchemy into every `kmh` command's
# start (tests/integration/test_cli.py checks that the help names each of them).
DOC_TYPES = ("report", "knowledge_paper", "handbook", "news", "seminar_page", "recording", "other")
# The query parameters of GET /api/search that `kmh search` passes, and its option for each (errors name the option).
OPTIONS = {"q": "QUERY", "k": "--k", "mode": "--mode", "lang": "--lang", "type": "--type", "country": "--country",
           "year_from": "--year-from", "year_to": "--year-to", "topic": "--topic", "seminar": "--seminar"}


def search(
    query: Annotated[str, typer.Argument(help="The question, in French or English.", show_default=False)],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="Number of passages (hits per page).")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid (dense + BM25, fused), dense or keyword.")] = "hybrid",
    lang: Annotated[Optional[str], typer.Option("--lang", help=f"Only passages in this language, ISO 639-1, in any "
                                                f"case: {', '.join(LANGUAGES)} or any other a document was given."
                                                )] = None,
    doc_type: Annotated[Optional[str], typer.Option("--type", help=f"Only this document type, in any case: "
                                                    f"{', '.join(DOC_TYPES)}.")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="Only documents about this country, e.g. "
                                                   "Senegal (any case and accents: senegal, Sénégal and SENEGAL are "
                                                   "the same).")] = None,
    year_from: Annotated[Optional[int], typer.Option("--year-from", min=1000, max=9999,
                                                     help="Only documents published in or after this year.")] = None,
    year_to: Annotated[Optional[int], typer.Option("--year-to", min=1000, max=9999,
                                                   help="Only documents published in or before this year.")] = None,
    topic: Annotated[Optional[str], typer.Option("--topic", help="Only passages confirmed for this topic id (any "
                                                 "case), e.g. integrated-approach.")] = None,
    seminar: Annotated[Optional[str], typer.Option("--seminar", help="Only passages of this seminar id (any case): "
                                                   "its page and recordings.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Search the index and print cited passages; a recording's from the second its best sentence is said.

    Opens the index of the data folder (KMH_DATA_DIR), or asks the KMH server that holds it (GET /api/search)."""
    if mode not in ("hybrid", "dense", "keyword"):
        err.print(f"[red]error:[/red] --mode must be hybrid, dense or keyword, not {mode!r}")
        raise typer.Exit(2)
    if year_from is not None and year_to is not None and year_from > year_to:
        err.print(f"[red]error:[/red] --year-from must not be after --year-to ({year_from} > {year_to})")
        raise typer.Exit(2)
    params = {"q": query, "k": k, "mode": mode, "lang": lang, "type": doc_type, "country": country,
              "year_from": year_from, "year_to": year_to, "topic": topic, "seminar": seminar}
    settings = load_settings()
    server = _server_holding(settings)
    if server is not None:
        hits, total = _search_server(server, params)
    else:
        hits, total = _search_here(settings, params)
    if as_json:
        print(json.dumps(hits, ensure_ascii=False, indent=2))
        return
    filters = [f"{OPTIONS[name].lstrip('-')} {value}" for name, value in params.items()
               if name not in ("q", "k", "mode") and value is not None and value != ""]
    console.print(f"[dim]{query!r} · {mode}" + "".join(f" · {f}" for f in filters)
                  + (f" · via {server}" if server else "") + "[/dim]", highlight=False, soft_wrap=True)
    if not hits:
        console.print("No passage found.")
        return
    for rank, h in enumerate(hits, 1):
        c = h["citation"]
        section = c["section"] if c["section"] and c["section"].replace("’", "'") != h["title"].replace("’", "'") \
            else None
        where = " · ".join(x for x in (h["filename"], f"p. {c['page']}" if c["page"] else None, section) if x)
        console.print(f"[bold]{rank}. {h['title']}[/bold]", highlight=False)
        span = c["timestamp"] if c.get("timestamp") else f"chars {c['start']}–{c['end']}"
        console.print(f"   [dim]{where} · {span} · score {h['score']:.3f} · {c['url']}[/dim]", highlight=False)
        console.print(f"   {h['text']}\n", highlight=False, markup=False)
    console.print(f"[dim]{total} candidate passages[/dim]", highlight=False)


def _fail(name: str, reason: str) -> typer.Exit:
    """Print the error of parameter ``name`` naming its option (and options in ``reason``); the exit to raise."""
    for param, option in OPTIONS.items():
        if "_" in param:
            reason = reason.replace(param, option)
    err.print(f"[red]error:[/red] {OPTIONS.get(name, name)} {reason}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _server_holding(settings) -> str | None:
    """The URL of the live KMH server that holds the index of the data folder, else None (the index is free: this
    process opens it; the lock is only tried, nothing is opened)."""
    from api.server import running_server
    from kmh.runtime import open_vector_store
    from kmh.store import StoreLockedError

    server = running_server(settings)
    if server is None:
        return None
    try:
        open_vector_store(settings).close()
    except StoreLockedError:
        return server["url"]
    return None


def _search_here(settings, params: dict) -> tuple[list[dict], int]:
    """Search in this process: the hits as the API answers them, and the passages above the floor."""
    from api.schemas import Hit
    from search.searcher import Searcher, SearchQuery
    from services.errors import InvalidParameter
    from services.search import search as run_search

    catalog, store = open_catalog_and_store(settings)
    try:
        searcher = Searcher(settings, catalog, store)
        searcher.warm_up()
        try:
            asked = SearchQuery(q=params["q"], k=params["k"], mode=params["mode"], lang=params["lang"],
                                doc_type=params["type"], country=params["country"], year_from=params["year_from"],
                                year_to=params["year_to"], topic=params["topic"], seminar=params["seminar"])
            results = run_search(searcher=searcher, query=asked)
        except InvalidParameter as exc:
            raise _fail(exc.name, exc.reason) from exc
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    finally:
        store.close()
        catalog.close()
    return [Hit.from_record(h).model_dump(mode="json") for h in results.hits], results.total


def _search_server(server: str, params: dict) -> tuple[list[dict], int]:
    """Search through the server that holds the index (GET /api/search, the filters as its query parameters)."""
    import httpx

    try:
        r = httpx.get(f"{server}/api/search", params={k: v for k, v in params.items() if v is not None}, timeout=120)
    except httpx.HTTPError as exc:
        err.print(f"[red]error:[/red] the KMH server at {server} holds the index but did not answer: {exc}",
                  highlight=False)
        raise typer.Exit(3) from exc
    if r.status_code == 422:
        problem = r.json()
        for p in problem.get("invalid_params") or []:
            raise _fail(p["name"], p["reason"])
        err.print(f"[red]error:[/red] {problem.get('detail')}", highlight=False)
        raise typer.Exit(2)
    if r.status_code != 200:
        err.print(f"[red]error:[/red] the KMH server at {server} answered {r.status_code}: {r.text[:500]}",
                  highlight=False)
        raise typer.Exit(3)
    body = r.json()
    return body["hits"], body["total"]


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
