"""Where a load converts rows to Arrow: on dlt's main thread, never on its pool threads.

pyarrow imports pandas on its first conversion, and dlt, on its main thread, takes a pandas that a
pool thread is still importing for a broken module ("partially initialized module 'pandas'"), which
failed loads of large accounts now and then. Which thread imports pandas is what the test pins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json, sys, threading
importers = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            importers.append(threading.current_thread().name)
sys.meta_path.insert(0, Spy())
from antbot_source.pipeline import run_load
from antbot_source.destination.target import build_pipeline
pipeline = build_pipeline(duckdb_path=sys.argv[1] + "/threads.duckdb", pipelines_dir=sys.argv[1])
summary = run_load(pipeline, base_url=sys.argv[2], username=sys.argv[3], password=sys.argv[4])
print(json.dumps({"importers": importers, "contacts": summary.rows["contacts"]}))
"""


def test_rows_become_arrow_on_the_main_thread(sandbox, tmp_path):
    acc = sandbox.accounts[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), sandbox.base_url, acc.username, acc.password],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["contacts"] == sandbox.truth("demo")["contacts"]["count"]
    assert result["importers"] == ["MainThread"], "pandas was imported by a pool thread"
