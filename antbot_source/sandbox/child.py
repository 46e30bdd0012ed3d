"""Child-process entry of `run_sandbox`: serve a sandbox described by a JSON argument.

Run as a script: importing the package imports nothing, so the sandbox loads only its own modules
(not dlt, about a second).
"""

import json
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parents[2])  # the package's root, not this directory
    from antbot_source.sandbox.habits import Habits
    from antbot_source.sandbox.server import serve

    config = json.loads(sys.argv[1])
    serve(habits=Habits(**config.pop("habits")), announce=lambda info: print(json.dumps(info), flush=True), **config)
