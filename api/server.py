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
    return config


def serve(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None, *,
          log_level: str = "info") -> None:
    """Serve until interrupted. The port opens at once; /readyz turns 200 when the model and index are loaded."""
    import uvicorn

    from api.app import create_app

    app = create_app(settings, background_load=True)
    logging.captureWarnings(True)
    uvicorn.run(app, host=host, port=port, log_config=log_config(log_level), log_level=log_level,
                access_log=False, proxy_headers=True)
