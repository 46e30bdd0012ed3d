"""The AntBot sandbox: a local, realistic AntBot API server for the demo and the tests.

It needs the `sandbox` extra (`pip install 'antbot-dlt[sandbox]'`: Starlette, uvicorn, NumPy). The
names below load their modules on first use, so `antbot --help` and the connector never import them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Habits": "antbot_source.sandbox.habits",
    "Account": "antbot_source.sandbox.world",
    "SandboxHandle": "antbot_source.sandbox.server",
    "run_sandbox": "antbot_source.sandbox.server",
    "serve": "antbot_source.sandbox.server",
}

__all__ = ["Account", "Habits", "SandboxHandle", "run_sandbox", "serve"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'antbot_source.sandbox' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
