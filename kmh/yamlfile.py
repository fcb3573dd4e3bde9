"""Reading a small YAML configuration file (a manifest, a script, the topic taxonomy) with errors that name it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable


def read_yaml(path: Path, error: Callable[[Path, str], Exception], max_bytes: int | None = None) -> Any:
    """The YAML content of ``path``; ``error(path, reason)`` is raised when it cannot be read, is larger than
    ``max_bytes``, is not UTF-8 or is not valid YAML (with the line)."""
    import yaml

    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise error(path, f"cannot read ({exc.strerror or exc})") from None
    if max_bytes is not None and len(raw_bytes) > max_bytes:
        raise error(path, f"too large (limit {max_bytes} bytes)")
    try:
        return yaml.safe_load(raw_bytes.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise error(path, "not UTF-8 text") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise error(path, f"invalid YAML{line}") from None
