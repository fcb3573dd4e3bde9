"""`kmh serve`: the web pages and the HTTP API in one server process."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import err, load_settings


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

    settings = load_settings()
    problem = index_room_problem(settings)  # checked before the index's files are mapped: no SIGBUS on a full volume
    if problem is not None:
        err.print(f"[red]error:[/red] {problem} (data folder {settings.data_dir})", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    run(host=host, port=port, settings=settings, factory=create_app)
