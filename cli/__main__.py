"""``python -m cli`` runs the `kmh` command."""

from cli.main import app

app()
