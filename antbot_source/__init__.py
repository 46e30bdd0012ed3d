"""antbot-dlt: the AntBot (Alice) API as a dlt source, loaded, pushed back and analysed.

The flow, one subpackage a step: `api` (the HTTP client and the API's page rules) -> `rows` (row
shaping, schemas, Arrow tables) -> `resources` (the dlt source: full-table reads, subscribers, delete
detection, the CDR read in `resources/cdr`) -> `destination` (one run at a time) -> `pipeline`
(the library entry point), every setting declared once in `config`. Back: `push` (table -> plan -> API). Beside them: `analytics`, `sandbox`.

Importing this package imports nothing else: the names below load their modules (and dlt) on first
use, so walker processes and the sandbox import only what they need.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "antbot": "antbot_source.resources.source",
    "to_utc": "antbot_source.resources.source",
    "load": "antbot_source.pipeline",
    "build_pipeline": "antbot_source.destination.target",
    "run_load": "antbot_source.pipeline",
    "LoadSummary": "antbot_source.pipeline",
    "AntBotSettings": "antbot_source.config",
    "TABLE_NAMES": "antbot_source.settings",
    "ENDPOINTS": "antbot_source.settings",
}

__all__ = ["ENDPOINTS", "TABLE_NAMES", "AntBotSettings", "LoadSummary", "antbot", "build_pipeline", "load",
           "run_load", "to_utc"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'antbot_source' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
