"""Child-process entry of `run_sandbox`: serve a sandbox described by a JSON argument.

Run as a script so that the connector package's own imports (dlt, about a second) are skipped:
the sandbox needs none of them, and tests start many sandboxes.
"""

import json
import sys
import types
from pathlib import Path

if __name__ == "__main__":
    sys.path.pop(0)  # this directory: its module names (app, table, ...) must not shadow others
    if "antbot_source" not in sys.modules:
        stub = types.ModuleType("antbot_source")
        stub.__path__ = [str(Path(__file__).resolve().parents[1])]
        sys.modules["antbot_source"] = stub
    from antbot_source.sandbox.habits import Habits
    from antbot_source.sandbox.server import serve

    config = json.loads(sys.argv[1])
    serve(habits=Habits(**config.pop("habits")), announce_json=True, **config)
