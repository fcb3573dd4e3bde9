"""The `kmh` command line: the application and its commands, in the order `kmh --help` lists them.

Each command lives with the others of its kind (cli.models, cli.ingest, cli.crawl, cli.search, cli.serve, cli.admin,
cli.docs); what they share (settings, opening the catalog and the store, the consoles) is in cli.common.
"""

from __future__ import annotations

import typer

from cli import admin, crawl, docs, ingest, models, search, serve

app = typer.Typer(
    help="KMH Search: ingest publications and recordings, then search cited passages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """KMH Search: ingest publications and recordings, then search cited passages."""


app.command("setup-models")(models.setup_models)
app.command("ingest")(ingest.ingest)
app.command("crawl")(crawl.crawl)
app.command("check")(admin.check)
app.command("search")(search.search)
app.command("synth-seminar")(models.synth_seminar)
app.command("synth-handbook")(models.synth_handbook)
app.command("synth-scan")(models.synth_scan)
app.command("eval")(search.eval_)
app.command("serve")(serve.serve)
app.command("backup")(admin.backup)
app.command("restore")(admin.restore)

keys_app = typer.Typer(help="API keys: who may publish (staff), curate seminars (organiser) or manage keys (admin).",
                       no_args_is_help=True)
keys_app.command("create")(admin.keys_create)
keys_app.command("list")(admin.keys_list)
keys_app.command("revoke")(admin.keys_revoke)
app.add_typer(keys_app, name="keys")

docs_app = typer.Typer(help="List, show and remove documents in the catalog.", no_args_is_help=True)
docs_app.command("list")(docs.docs_list)
docs_app.command("show")(docs.docs_show)
docs_app.command("rm")(docs.docs_rm)
app.add_typer(docs_app, name="docs")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
