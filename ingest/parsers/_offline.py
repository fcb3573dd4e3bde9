"""Opt-outs that keep ``unstructured`` off the network; set before anything imports it.

``import unstructured`` sends an analytics ping unless ``DO_NOT_TRACK`` or ``SCARF_NO_ANALYTICS``
is non-empty, and each ``partition_*`` call sends a telemetry event under the same rule.
Importing ``ingest.parsers`` sets them, so an import of unstructured anywhere later stays quiet.
"""

from __future__ import annotations

import os

OPT_OUTS = {
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
}


def set_opt_outs() -> None:
    for key, value in OPT_OUTS.items():
        # an empty inherited value does not opt out
        if not os.environ.get(key, "").strip():
            os.environ[key] = value
