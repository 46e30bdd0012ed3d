"""The AntBot sandbox: a local, realistic AntBot API server for the demo and the tests."""

from antbot_source.sandbox.habits import Habits
from antbot_source.sandbox.server import SandboxHandle, run_sandbox, serve
from antbot_source.sandbox.world import Account

__all__ = ["Account", "Habits", "SandboxHandle", "run_sandbox", "serve"]
