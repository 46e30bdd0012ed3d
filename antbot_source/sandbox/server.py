"""Running the sandbox: `serve()` in this process, or `run_sandbox()` in a child process with a handle."""

from __future__ import annotations

import dataclasses
import gc
import json
import secrets
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from antbot_source.errors import ConfigError
from antbot_source.sandbox.app import Sandbox
from antbot_source.sandbox.habits import Habits
from antbot_source.sandbox.world import Account, World, check_world


def serve(host: str = "127.0.0.1", port: int = 8000, seed: int = 7, cdrs: int = 2_000,
          habits: Habits | None = None, other_cdrs: int | None = None,
          announce: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Seed a world and serve it until interrupted; announce the base URL and accounts (on stdout unless
    `announce` takes them)."""
    import uvicorn

    check_world(seed, cdrs, other_cdrs)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host} port {port}: {getattr(exc, 'strerror', None) or exc}") from None
    sock.listen(1024)  # connections wait in the backlog until uvicorn accepts them
    world = World(seed, cdrs, habits, other_cdrs=other_cdrs)
    gc.freeze()  # the world's millions of objects stay out of every later garbage collection
    admin_key = secrets.token_urlsafe(16)
    shown_host = f"[{host}]" if ":" in host else host
    root = f"http://{shown_host}:{sock.getsockname()[1]}"
    accounts = [dataclasses.asdict(a.account) for a in world.accounts.values()]
    if announce:
        announce({"root": root, "admin_key": admin_key, "accounts": accounts})
    else:
        print(f"AntBot sandbox serving {root}/rest-api  (seed {seed}, {cdrs:,} CDRs)")
        for a in accounts:
            print(f"  account  {a['username']} / {a['password']}")
        print(f"  admin    header X-Sandbox-Key: {admin_key}", flush=True)
    config = uvicorn.Config(Sandbox(world, admin_key, seed).app(), loop="uvloop", http="httptools",
                            access_log=False, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class SandboxHandle:
    """A running sandbox: where it is, who may log in, and its admin controls (over HTTP)."""

    root: str
    admin_key: str
    accounts: list[Account]
    pid: int
    _admin: httpx.Client = field(repr=False)

    @property
    def base_url(self) -> str:
        return self.root + "/rest-api"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self._admin.request(method, path, **kwargs)
        r.raise_for_status()
        return orjson.loads(r.content)

    def truth(self, account: str = "demo") -> dict[str, dict[str, Any]]:
        """{table: {"count": n, "ids": set of ids}} for every table of the account, as the server holds it."""
        raw = self._call("GET", "/_sandbox/truth", params={"account": account})
        return {t: {"count": v["count"], "ids": set(v["ids"])} for t, v in raw.items()}

    def rows(self, table: str, account: str = "demo") -> list[dict]:
        """Every current row of a table (destination name), rendered as the API renders it, in id order."""
        return self._call("GET", "/_sandbox/rows", params={"account": account, "table": table})

    def advance(self, account: str = "demo", **changes: Any) -> dict[str, Any]:
        """Time passes (new_cdrs, late_cdrs, subscriber_changes, new/edited/deleted_contacts, late_by_s): ids
        of what changed."""
        return self._call("POST", "/_sandbox/advance", params={"account": account}, json=changes)

    def plant_cdrs(self, calls: list[dict[str, Any]], account: str = "demo") -> list[int]:
        """CDRs exactly as given (see World.plant_cdrs); their ids in the order given."""
        return self._call("POST", "/_sandbox/plant-cdrs", params={"account": account}, json={"calls": calls})["cdr_ids"]

    def set_habits(self, **changes: Any) -> Habits:
        """Change habits at run time; returns the habits now in force."""
        return Habits(**self._call("PUT", "/_sandbox/habits", json=changes))

    def habits(self) -> Habits:
        return Habits(**self._call("GET", "/_sandbox/habits"))

    def stats(self) -> dict[str, Any]:
        """What the server saw of /rest-api/ since the last reset_stats():

        {"requests": {"GET /rest-api/cdr/": n, ...}, "statuses": {"200": n, ...},
         "writes": n (counted writes handled since the start, for wait_for_writes),
         "in_flight": n (received, not yet answered), "max_in_flight": n (the most at once),
         "delayed": n (requests held by latency_ms), "delay_ms": n (what they were held for, summed),
         "throttled": n (429 answers, either limiter),
         "by_user": {"demo": {"requests": n, "throttled": n}, "address:127.0.0.1": {...}, ...}}

        A user is the account of the request's token, else the client's address (get-token/, no token).
        """
        return self._call("GET", "/_sandbox/stats")

    def reset_stats(self) -> None:
        """Start the counts of stats() again (max_in_flight from the requests in flight now; not writes)."""
        self._call("POST", "/_sandbox/stats")

    def freeze_clock(self, frozen: bool = True) -> dict[str, Any]:
        """Stop the server's clock (token lifetimes, the throttle's window, the rate limiter) where it is, or
        let it run on from there; skip_clock() still moves it. The world's data keeps to the wall clock."""
        return self._call("POST", "/_sandbox/clock", json={"frozen": frozen})

    def skip_clock(self, seconds: float) -> dict[str, Any]:
        """Jump the server's clock forward: tokens age and throttle windows pass without waiting."""
        return self._call("POST", "/_sandbox/clock", json={"skip_s": seconds})

    def wait_for_writes(self, n: int, timeout: float = 30.0) -> int:
        """Block until the server has handled n counted writes (POSTs to contact/, bulkcontact/, dnc-contact/
        and campaigns/, PUTs to campaigns/{id}/, POSTs to campaigns/{id}/status/)."""
        got = self._call("GET", "/_sandbox/wait-writes", params={"n": n, "timeout": timeout},
                         timeout=timeout + 10)
        if not got["reached"]:
            raise TimeoutError(f"only {got['writes']} of {n} create POSTs within {timeout} s")
        return got["writes"]

    def wait_for_held(self, n: int, timeout: float = 30.0) -> int:
        """Block until the server holds (hold_cdr_pages) n CDR list pages, counted since it started."""
        got = self._call("GET", "/_sandbox/wait-held", params={"n": n, "timeout": timeout}, timeout=timeout + 10)
        if not got["reached"]:
            raise TimeoutError(f"only {got['held']} of {n} CDR pages held within {timeout} s")
        return got["held"]


def sandbox_config(seed: int = 7, cdrs: int = 2_000, habits: Habits | None = None, token_ttl: float | None = None,
                   other_cdrs: int | None = None, host: str = "127.0.0.1") -> dict[str, Any]:
    """The arguments of `serve` for a child process on a free port (checked here, not in the child: its
    traceback would reach the caller's stderr)."""
    check_world(seed, cdrs, other_cdrs)
    habits = habits or Habits()
    if token_ttl is not None:
        habits = habits.updated(token_ttl_s=token_ttl)
    return {"host": host, "port": 0, "seed": seed, "cdrs": cdrs, "other_cdrs": other_cdrs, "habits": habits.to_dict()}


@contextmanager
def sandbox_handle(info: dict[str, Any], pid: int) -> Iterator[SandboxHandle]:
    """The handle of a started server, from what it announced."""
    # a connection per admin call: the server closes a connection idle for 5 s (uvicorn's keep-alive), and a
    # call sent on a pooled one as the server closes it fails ("Server disconnected without sending a response")
    with httpx.Client(base_url=info["root"], headers={"X-Sandbox-Key": info["admin_key"]}, timeout=120,
                      limits=httpx.Limits(max_keepalive_connections=0)) as admin:
        yield SandboxHandle(info["root"], info["admin_key"], [Account(**a) for a in info["accounts"]], pid, admin)


@contextmanager
def run_sandbox(seed: int = 7, cdrs: int = 2_000, habits: Habits | None = None, token_ttl: float | None = None,
                other_cdrs: int | None = None, host: str = "127.0.0.1") -> Iterator[SandboxHandle]:
    """Start a sandbox server in a child process on a free port; stop it when the block ends."""
    config = sandbox_config(seed, cdrs, habits, token_ttl, other_cdrs, host)
    cmd = [sys.executable, str(Path(__file__).with_name("child.py")), json.dumps(config)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox did not start (exit code {proc.wait()})")
        with sandbox_handle(json.loads(line), proc.pid) as handle:
            yield handle
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
