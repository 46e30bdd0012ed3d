"""The sandbox's ASGI app: AntBot's routes under /rest-api/ and the admin routes under /_sandbox/."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from antbot_source.sandbox import fields as F
from antbot_source.sandbox.world import CREATE_COUNTED, UPDATABLE, WRITES, ApiProblem, World

Handler = Callable[[Request, str], Awaitable[Response]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


class Clock:
    """The server's clock (monotonic nanoseconds): token lifetimes, the throttle's window and the rate limiter
    read it. It runs with real time unless frozen, and the admin route can jump it forward; the world's data
    (CDR dates, `advance`) keeps to the wall clock."""

    def __init__(self) -> None:
        self.offset_ns = 0  # added to time.monotonic_ns() while running
        self.frozen_ns: int | None = None  # the time it shows while frozen
        self.skipped_ns = 0  # every jump forward, for the admin route's answer

    def ns(self) -> int:
        return self.frozen_ns if self.frozen_ns is not None else time.monotonic_ns() + self.offset_ns

    def seconds(self) -> float:
        return self.ns() / 1e9

    def skip(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"the clock only goes forward, not by {seconds!r} s")
        step = round(seconds * 1e9)
        self.skipped_ns += step
        if self.frozen_ns is not None:
            self.frozen_ns += step
        else:
            self.offset_ns += step

    def freeze(self, frozen: bool) -> None:
        """Stop the clock where it is (frozen) or let it run on from there."""
        if frozen and self.frozen_ns is None:
            self.frozen_ns = self.ns()
        elif not frozen and self.frozen_ns is not None:
            self.offset_ns = self.frozen_ns - time.monotonic_ns()
            self.frozen_ns = None


@dataclass
class ServerState:
    """What the server remembers between requests: tokens, counters, the limiters."""

    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (account, issued at)
    token_uses: Counter = field(default_factory=Counter)  # token -> requests it authenticated
    requests: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    writes_received: int = 0  # create POSTs handled (applied or not), for wait_for_writes
    writes_ok: int = 0  # create POSTs answered 2xx, for hang_writes_after
    bucket: float = 0.0
    bucket_at: float = 0.0
    writes_changed: asyncio.Condition | None = None
    held: int = 0  # CDR list pages held by hold_cdr_pages, for wait_for_held
    held_changed: asyncio.Condition | None = None
    # the per-user throttle: user -> clock times (ns) of the requests it let through, oldest first
    history: dict[str, deque[int]] = field(default_factory=dict)
    # what the stats report beside requests and statuses (reset with them)
    in_flight: int = 0  # /rest-api/ requests received and not yet answered
    max_in_flight: int = 0  # the most at once since the last reset
    delayed: int = 0  # requests held by latency_ms
    delay_ms: int = 0  # the latency they were held for, summed
    by_user: dict[str, Counter] = field(default_factory=dict)  # user -> {"requests": n, "throttled": n}

    def reset_stats(self) -> None:
        self.requests.clear()
        self.statuses.clear()
        self.by_user.clear()
        self.max_in_flight = self.in_flight
        self.delayed = self.delay_ms = 0


class Sandbox:
    """The routes of one sandbox over one world."""

    def __init__(self, world: World, admin_key: str, seed: int = 0) -> None:
        self.world = world
        self.admin_key = admin_key
        self.state = ServerState()
        self.chaos = random.Random(seed)
        self.hung: set[asyncio.Future] = set()
        self.clock = Clock()

    # ---- the guard every /rest-api/ request passes ----
    async def guarded(self, request: Request, key: str, handler: Handler, auth: bool = True) -> Response:
        st = self.state
        st.requests[key] += 1
        st.in_flight += 1
        st.max_in_flight = max(st.max_in_flight, st.in_flight)
        try:
            return await self._guarded(request, handler, auth)
        finally:
            st.in_flight -= 1

    async def _guarded(self, request: Request, handler: Handler, auth: bool) -> Response:
        h, st = self.world.habits, self.state
        # who the request is from: the account of its token (valid or not), else the client's address
        address = f"address:{request.client.host if request.client else 'unknown'}"
        entry = self.state.tokens.get(_bearer(request)) if auth else None
        user = st.by_user.setdefault(entry[0] if entry else address, Counter())
        user["requests"] += 1
        # a round trip to a far-away service: half of it on the way in, half on the way out (so a write is
        # applied before its answer leaves); each request waits on its own, none holds up another
        latency = h.latency_ms
        if latency:
            st.delayed += 1
            st.delay_ms += latency
            await asyncio.sleep(latency / 2000)
        response = self._rate_limit()
        if response is None and h.error_rate and self.chaos.random() < h.error_rate:
            status = self.chaos.choice((502, 503))
            response = Response(b"<html><body><h1>%d Bad Gateway</h1></body></html>" % status if status == 502 else
                                b"<html><body><h1>503 Service Unavailable</h1></body></html>",
                                status_code=status, media_type="text/html")
        account = None
        if response is None and auth:
            account, response = self._authenticate(request)
        if response is None:  # as DRF does: authentication first, then the throttle
            response = self._throttle_user(account if auth else address)
        if response is None:
            try:
                response = await handler(request, account or "")
            except ApiProblem as problem:
                response = json_response(problem.body, problem.status)
        if latency:
            await asyncio.sleep((latency - latency / 2) / 1000)
        st.statuses[str(response.status_code)] += 1
        if response.status_code == 429:
            user["throttled"] += 1
        return response

    def _rate_limit(self) -> Response | None:
        """rate_limit_per_s: a token bucket shared by every client (a proxy's limit in front of the app)."""
        rate = self.world.habits.rate_limit_per_s
        if not rate:
            return None
        st, now = self.state, self.clock.seconds()
        st.bucket = min(rate, st.bucket + (now - st.bucket_at) * rate) if st.bucket_at else rate
        st.bucket_at = now
        if st.bucket < 1:
            return _throttled(self.world.habits.retry_after_s)
        st.bucket -= 1
        return None

    def _throttle_user(self, user: str) -> Response | None:
        """throttle_requests per throttle_period_s for each user, as DRF's SimpleRateThrottle counts: a history
        of the times of the requests it let through; refused ones are not recorded."""
        h = self.world.habits
        if h.throttle_requests is None:
            return None
        now, period = self.clock.ns(), round(h.throttle_period_s * 1e9)
        history = self.state.history.setdefault(user, deque())
        while history and history[0] <= now - period:
            history.popleft()
        if len(history) >= h.throttle_requests:
            # the wait until the window frees a slot: until the request that must leave it is period old
            # (the oldest one, unless throttle_requests was lowered while the history was fuller)
            leaving = history[len(history) - h.throttle_requests] if h.throttle_requests else now
            return _throttled(max(1, math.ceil((leaving + period - now) / 1e9)))
        history.append(now)
        return None

    def _authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        if not request.headers.get("authorization", ""):
            return None, self._unauthorized({"detail": "Authentication credentials were not provided."})
        token = _bearer(request)
        entry = self.state.tokens.get(token)
        h = self.world.habits
        # the lifetime in force now applies, so shortening token_ttl_s expires tokens already handed out
        if entry is None or entry[1] + h.token_ttl_s <= self.clock.seconds() or (
            h.token_uses is not None and self.state.token_uses[token] >= h.token_uses
        ):
            return None, self._unauthorized({"detail": "Given token not valid for any token type",
                                             "code": "token_not_valid"})
        self.state.token_uses[token] += 1
        return entry[0], None

    @staticmethod
    def _unauthorized(body: dict) -> Response:
        return json_response(body, 401, {"WWW-Authenticate": 'Bearer realm="api"'})

    # ---- /rest-api/ ----
    async def get_token(self, request: Request) -> Response:
        async def handler(req: Request, _: str) -> Response:
            body = await _body(req)
            missing = {k: ["This field is required."] for k in ("username", "password") if not body.get(k)}
            if missing:
                return json_response(missing, 400)
            acc = self.world.accounts.get(str(body["username"]))
            if acc is None or not _same(acc.account.password, str(body["password"])):
                return json_response({"detail": "No active account found with the given credentials"}, 401)
            token = secrets.token_urlsafe(32)
            self.state.tokens[token] = (acc.account.username, self.clock.seconds())
            key = self.world.habits.token_key
            return json_response({"refresh": secrets.token_urlsafe(32), key: token} if key == "access" else {key: token})

        return await self.guarded(request, "POST /rest-api/get-token/", handler, auth=False)

    async def collection(self, request: Request) -> Response:
        endpoint = request.path_params["endpoint"]
        key = f"{request.method} /rest-api/{endpoint}/"
        if endpoint not in F.TABLE_OF_PATH:
            return await self.guarded(request, key, _not_found)
        if request.method == "GET":
            return await self.guarded(request, key, lambda req, acc: self._list(req, acc, endpoint))
        if endpoint not in WRITES:
            return await self.guarded(request, key, _not_allowed)

        async def create(req: Request, acc: str) -> Response:
            body = await _body(req)
            return json_response(self.world.create(acc, endpoint, body), 201)

        return await self.guarded(request, key, self._counted(create) if endpoint in CREATE_COUNTED else create)

    async def bulk(self, request: Request) -> Response:
        async def handler(req: Request, acc: str) -> Response:
            status, body = self.world.bulk_create(acc, await _body(req))
            return json_response(body, status)

        return await self.guarded(request, "POST /rest-api/bulkcontact/", self._counted(handler))

    async def detail(self, request: Request) -> Response:
        endpoint, row_id = request.path_params["endpoint"], request.path_params["id"]
        key = f"{request.method} /rest-api/{endpoint}/{{id}}/"
        if endpoint not in F.TABLE_OF_PATH:
            return await self.guarded(request, key, _not_found)

        async def handler(req: Request, acc: str) -> Response:
            tbl = self.world.table(acc, endpoint)
            if req.method == "GET":
                pos = tbl.pos_of(row_id)
                if pos is None:
                    raise ApiProblem(404, {"detail": "Not found."})
                row = self._shaped(req, endpoint, self.world.render_json(acc, endpoint, [pos]))[1:-1]
                return Response(row, media_type="application/json")
            if req.method == "PUT":
                if endpoint not in UPDATABLE:
                    return await _not_allowed(req, acc)
                return json_response(self.world.update(acc, endpoint, row_id, await _body(req)))
            self.world.delete(acc, endpoint, row_id)
            return Response(status_code=204)

        counted = request.method == "PUT" and endpoint == "campaigns"  # campaign updates are counted writes
        return await self.guarded(request, key, self._counted(handler) if counted else handler)

    async def campaign_status(self, request: Request) -> Response:
        async def handler(req: Request, acc: str) -> Response:
            return json_response(self.world.campaign_status(acc, req.path_params["id"], await _body(req)))

        return await self.guarded(request, "POST /rest-api/campaigns/{id}/status/", self._counted(handler))

    async def _list(self, request: Request, account: str, endpoint: str) -> Response:
        h = self.world.habits
        params = dict(request.query_params)
        if endpoint == "cdr" and h.hold_cdr_pages and params.get("page_size") != "1":
            await self._hold()
        pos = self.world.query(account, endpoint, params)
        if endpoint in h.bare_lists:
            return Response(self._shaped(request, endpoint, self.world.page_json(account, endpoint, params, 0, len(pos))),
                            media_type="application/json")
        size = h.fixed_page_size or _page_size(params.get("page_size"), h.default_page_size, h.max_page_size)
        count = len(pos)
        pages = max(1, math.ceil(count / size))
        raw_page = params.get("page", "1")
        page = pages if raw_page == "last" and h.last_page_alias else (int(raw_page) if raw_page.isdigit() else 0)
        if not 1 <= page <= pages:
            raise ApiProblem(404, {"detail": "Invalid page."})
        results = self._shaped(request, endpoint, self.world.page_json(account, endpoint, params, (page - 1) * size, page * size))
        url = request.url
        nxt = str(url.include_query_params(page=page + 1)) if page < pages else None
        prev = None
        if page > 1:
            prev = str(url.remove_query_params("page") if page == 2 else url.include_query_params(page=page - 1))
        body = b'{"count":%d,"next":%s,"previous":%s,"results":%s}' % (count, orjson.dumps(nxt), orjson.dumps(prev), results)
        if endpoint == "cdr" and (h.late_cdrs_per_page or h.live_inserts_per_page):
            self.world.after_cdr_page(account)
        ahead = None
        if nxt is not None and count > 10 * size:  # a long walk: the next page is rendered once this one is sent
            ahead = BackgroundTask(self._render_ahead, account, endpoint, params, page * size, (page + 1) * size)
        return Response(body, media_type="application/json", background=ahead)

    def _shaped(self, request: Request, endpoint: str, rows: bytes) -> bytes:
        """The rows of a JSON array as an older build renders them when `urls_not_ids` is on: `url` in place
        of `id` and relations as absolute URLs."""
        if not self.world.habits.urls_not_ids:
            return rows
        base = str(request.base_url).rstrip("/") + "/rest-api/"
        relations = F.RELATIONS.get(F.TABLE_OF_PATH[endpoint], {})

        def link(target: str, value: Any) -> Any:
            if isinstance(value, list):
                return [link(target, v) for v in value]
            return value if value is None else f"{base}{target}/{value}/"

        shaped = []
        for row in orjson.loads(rows):
            out = {"url": link(endpoint, row.pop("id"))}
            out.update({k: link(relations[k], v) if k in relations else v for k, v in row.items()})
            shaped.append(out)
        return orjson.dumps(shaped)

    async def _render_ahead(self, account: str, endpoint: str, params: dict[str, str], start: int, stop: int) -> None:
        """Async, so it runs on the event loop after the response is sent, never beside a request."""
        self.world.prerender(account, endpoint, params, start, stop)

    def _counted(self, handler: Handler) -> Handler:
        """A counted write (world.CREATE_COUNTED): counted for wait_for_writes, hung for ever past
        hang_writes_after."""

        async def run(request: Request, account: str) -> Response:
            h, st = self.world.habits, self.state
            hang = h.hang_writes_after is not None and st.writes_ok >= h.hang_writes_after
            try:
                if hang and not h.hang_applies_write:
                    response = None
                else:
                    response = await handler(request, account)
            finally:
                await self._wrote()
            if hang:
                forever = asyncio.get_running_loop().create_future()
                self.hung.add(forever)
                await forever  # never answered; other requests go on being served
            if response is not None and 200 <= response.status_code < 300:
                st.writes_ok += 1
            return response

        return run

    async def _hold(self) -> None:
        """hold_cdr_pages: counted, then held until the habit is switched off."""
        cond = self._held_cond()
        async with cond:
            self.state.held += 1
            cond.notify_all()
            await cond.wait_for(lambda: not self.world.habits.hold_cdr_pages)

    def _held_cond(self) -> asyncio.Condition:
        if self.state.held_changed is None:
            self.state.held_changed = asyncio.Condition()
        return self.state.held_changed

    async def _wrote(self) -> None:
        cond = self._writes_cond()
        async with cond:
            self.state.writes_received += 1
            cond.notify_all()

    def _writes_cond(self) -> asyncio.Condition:
        if self.state.writes_changed is None:
            self.state.writes_changed = asyncio.Condition()
        return self.state.writes_changed

    # ---- /_sandbox/ ----
    def admin(self, handler: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            if not _same(request.headers.get("x-sandbox-key", ""), self.admin_key):
                return json_response({"detail": "X-Sandbox-Key missing or wrong."}, 403)
            try:
                return json_response(await handler(request))
            except (KeyError, ValueError, TypeError) as exc:
                return json_response({"detail": f"bad admin request: {exc!r}"}, 400)

        return run

    async def a_truth(self, request: Request) -> Any:
        return self.world.truth(request.query_params.get("account", "demo"))

    async def a_rows(self, request: Request) -> Any:
        q = request.query_params
        return self.world.rows(q.get("account", "demo"), q["table"])

    async def a_advance(self, request: Request) -> Any:
        return self.world.advance(request.query_params.get("account", "demo"), **(await _body(request)))

    async def a_plant_cdrs(self, request: Request) -> Any:
        body = await _body(request)
        return {"cdr_ids": self.world.plant_cdrs(request.query_params.get("account", "demo"), body["calls"])}

    async def a_habits(self, request: Request) -> Any:
        if request.method == "PUT":
            self.world.habits = self.world.habits.updated(**(await _body(request)))
            cond = self._held_cond()
            async with cond:  # hold_cdr_pages switched off lets the held pages go
                cond.notify_all()
        return self.world.habits.to_dict()

    async def a_stats(self, request: Request) -> Any:
        st = self.state
        if request.method == "POST":
            st.reset_stats()
        return {"requests": dict(st.requests), "statuses": dict(st.statuses), "writes": st.writes_received,
                "in_flight": st.in_flight, "max_in_flight": st.max_in_flight,
                "delayed": st.delayed, "delay_ms": st.delay_ms,
                "throttled": st.statuses["429"],
                "by_user": {u: {"requests": c["requests"], "throttled": c["throttled"]} for u, c in st.by_user.items()}}

    async def a_clock(self, request: Request) -> Any:
        body = await _body(request)
        if "frozen" in body:
            self.clock.freeze(bool(body["frozen"]))
        self.clock.skip(float(body.get("skip_s", 0)))
        return {"frozen": self.clock.frozen_ns is not None, "skipped_s": self.clock.skipped_ns / 1e9}

    async def a_wait_writes(self, request: Request) -> Any:
        writes = await _waited(request, self._writes_cond(), lambda: self.state.writes_received)
        return {"writes": writes, "reached": writes >= int(request.query_params["n"])}

    async def a_wait_held(self, request: Request) -> Any:
        held = await _waited(request, self._held_cond(), lambda: self.state.held)
        return {"held": held, "reached": held >= int(request.query_params["n"])}

    def app(self) -> Starlette:
        a = self.admin
        return Starlette(routes=[
            Route("/rest-api/get-token/", self.get_token, methods=["POST"]),
            Route("/rest-api/bulkcontact/", self.bulk, methods=["POST"]),
            Route("/rest-api/campaigns/{id:int}/status/", self.campaign_status, methods=["POST"]),
            Route("/rest-api/{endpoint}/", self.collection, methods=["GET", "POST"]),
            Route("/rest-api/{endpoint}/{id:int}/", self.detail, methods=["GET", "PUT", "DELETE"]),
            Route("/_sandbox/truth", a(self.a_truth)),
            Route("/_sandbox/rows", a(self.a_rows)),
            Route("/_sandbox/advance", a(self.a_advance), methods=["POST"]),
            Route("/_sandbox/plant-cdrs", a(self.a_plant_cdrs), methods=["POST"]),
            Route("/_sandbox/habits", a(self.a_habits), methods=["GET", "PUT"]),
            Route("/_sandbox/stats", a(self.a_stats), methods=["GET", "POST"]),
            Route("/_sandbox/clock", a(self.a_clock), methods=["POST"]),
            Route("/_sandbox/wait-writes", a(self.a_wait_writes)),
            Route("/_sandbox/wait-held", a(self.a_wait_held)),
        ])


async def _waited(request: Request, cond: asyncio.Condition, value: Callable[[], int]) -> int:
    """`value` once it reaches the request's `n`, or when its `timeout` (seconds) has passed."""
    n, timeout = int(request.query_params["n"]), float(request.query_params.get("timeout", "30"))
    async with cond:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cond.wait_for(lambda: value() >= n), timeout)
    return value()


def _bearer(request: Request) -> str:
    """The token of an `Authorization: Bearer <token>` header ("" for none or another scheme)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _throttled(wait: int) -> Response:
    """DRF's answer to a throttled request: 429, `Retry-After` in whole seconds."""
    unit = "second" if wait == 1 else "seconds"
    return json_response({"detail": f"Request was throttled. Expected available in {wait} {unit}."}, 429,
                         {"Retry-After": str(wait)})


def _page_size(raw: str | None, default: int, maximum: int) -> int:
    if raw is None or not raw.isdigit() or int(raw) < 1:
        return default
    return min(int(raw), maximum)


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison of two secrets of any characters (compare_digest takes only ASCII `str`)."""
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


async def _body(request: Request) -> Any:
    """The request body: JSON, or a form; {} when empty."""
    raw = await request.body()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("utf-8", errors="replace")))
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiProblem(400, {"detail": "JSON parse error"}) from None


async def _not_found(request: Request, account: str) -> Response:
    return json_response({"detail": "Not found."}, 404)


async def _not_allowed(request: Request, account: str) -> Response:
    return json_response({"detail": f'Method "{request.method}" not allowed.'}, 405)
