"""Sandboxes and `antbot` commands in processes forked from one that imported them once.

A new interpreter importing the package costs about a second of CPU (dlt) and the sandbox's half of one,
and the suite starts hundreds of each. This module starts the standard library's forkserver once per
test worker, with the package imported and the environment the worker began with, and forks sandboxes
(`sandbox`, what `run_sandbox` gives) and `antbot` commands (`antbot`) from it. Each is still a process
of its own (pid, exit code, its own environment, working dir and output files); only the imports are
skipped. Commands a test talks to while they run (signals, output read line by line) stay
`subprocess.Popen`.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.forkserver
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from antbot_source.sandbox.habits import Habits
from antbot_source.sandbox.server import SandboxHandle, sandbox_config, sandbox_handle, serve

PRELOAD = [
    "pipelines.cli", "pipelines.load", "pipelines.push_cmd", "antbot_source.pipeline",
    "dlt.destinations.impl.duckdb.duck", "dlt.destinations.impl.postgres.postgres",
    "antbot_source.sandbox.server", "uvicorn", "uvicorn.loops.uvloop", "uvicorn.protocols.http.httptools_impl",
]
_PROCESSES = multiprocessing.get_context("forkserver")


@functools.cache
def start_forkserver() -> None:
    """The worker's forkserver, with PRELOAD imported (conftest.py starts it before the first test, in the
    environment and working dir the worker began with)."""
    multiprocessing.set_forkserver_preload(PRELOAD)
    multiprocessing.forkserver.ensure_running()


@contextmanager
def sandbox(**kwargs: Any) -> Iterator[SandboxHandle]:
    """A sandbox server in a forked process, as `run_sandbox(**kwargs)` starts one in a new interpreter."""
    config = sandbox_config(**kwargs)
    start_forkserver()
    ours, theirs = _PROCESSES.Pipe(duplex=False)
    process = _PROCESSES.Process(target=_serve, args=(config, theirs), name="antbot-sandbox", daemon=True)
    process.start()
    theirs.close()
    try:
        try:
            info = ours.recv()
        except EOFError:
            process.join()
            raise RuntimeError(f"the sandbox did not start (exit code {process.exitcode})") from None
        with sandbox_handle(info, process.pid) as handle:
            yield handle
    finally:
        process.terminate()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()
        ours.close()


def _serve(config: dict[str, Any], announce: Connection) -> None:
    serve(habits=Habits(**config.pop("habits")), announce=announce.send, **config)


def antbot(*args: str, env: dict[str, str] | None = None, cwd: Path | str | None = None,
           timeout: float = 240) -> subprocess.CompletedProcess:
    """Run `antbot ARGS` in a process of its own, as `subprocess.run(..., capture_output=True, text=True)`
    would (the environment: `env`, else this process's)."""
    start_forkserver()
    argv = ["antbot", *args]
    with tempfile.TemporaryDirectory(prefix="antbot-out-") as out:
        stdout, stderr = Path(out, "stdout"), Path(out, "stderr")
        process = _PROCESSES.Process(target=_run_antbot, name="antbot", args=(
            argv, dict(os.environ if env is None else env), str(cwd or os.getcwd()), str(stdout), str(stderr)))
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(argv, timeout)
        return subprocess.CompletedProcess(argv, process.exitcode, stdout.read_text(encoding="utf-8"),
                                           stderr.read_text(encoding="utf-8"))


def _run_antbot(argv: list[str], env: dict[str, str], cwd: str, stdout: str, stderr: str) -> None:
    """In the forked process: its environment, working dir and output files, then the command."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, path in ((1, stdout), (2, stderr)):
        file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(file, fd)
        os.close(file)
    sys.argv = argv
    from pipelines.cli import app

    app()
