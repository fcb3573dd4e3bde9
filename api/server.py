"""Run the API with uvicorn: ``serve(host, port, settings)`` (``kmh serve`` calls it)."""

from __future__ import annotations

import copy
import logging

from kmh.settings import Settings


def log_config(level: str = "info") -> dict:
    """uvicorn's logging, plus the JSON access lines of ``kmh.access`` on stdout (uvicorn's own access log is off)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["json_lines"] = {"format": "%(message)s"}
    config["handlers"]["kmh_access"] = {
        "class": "logging.StreamHandler",
        "formatter": "json_lines",
        "stream": "ext://sys.stdout",
    }
    config["handlers"]["kmh"] = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    config["loggers"]["kmh.access"] = {"handlers": ["kmh_access"], "level": "INFO", "propagate": False}
    config["loggers"]["kmh.api"] = {"handlers": ["kmh"], "level": level.upper(), "propagate": False}
    config["loggers"]["kmh.worker"] = {"handlers": ["kmh"], "level": level.upper(), "propagate": False}
    return config


def serve(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None, *,
          log_level: str = "info", factory=None) -> None:
    """Serve until interrupted. The port opens at once; /readyz turns 200 when the model and index are loaded.

    ``factory(settings, background_load=True)`` builds the app: ``api.app.create_app`` (the API alone) by default;
    ``kmh serve`` passes ``web.app.create_app`` (the API and the web pages).
    """
    import uvicorn

    if factory is None:
        from api.app import create_app as factory

    settings = settings or Settings()
    app = factory(settings, background_load=True)
    logging.captureWarnings(True)
    info = write_server_info(settings, f"http://{host}:{port}")
    try:
        uvicorn.run(app, host=host, port=port, log_config=log_config(log_level), log_level=log_level,
                    access_log=False, proxy_headers=True)
    finally:
        info.unlink(missing_ok=True)


SERVER_INFO = "server.json"


def write_server_info(settings: Settings, url: str):
    """``data_dir/server.json``: which process serves this data folder, so that `kmh ingest` can say so."""
    import json
    import os

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / SERVER_INFO
    path.write_text(json.dumps({"pid": os.getpid(), "url": url}))
    return path


def running_server(settings: Settings) -> dict | None:
    """The server.json of a live server process on this data folder, or None."""
    import json
    import os

    try:
        info = json.loads((settings.data_dir / SERVER_INFO).read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info
