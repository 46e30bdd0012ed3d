"""AntBotClient: one httpx client per run, bearer token from `get-token/`, retries, and the `next` walk."""

from __future__ import annotations

import copy
import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self, TypeVar

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from antbot_source.api.budget import RequestBudget
from antbot_source.api.pages import Linked, ListPage, describe, parse_json, raise_on_error_body
from antbot_source.api.stats import RequestStats
from antbot_source.errors import (
    ApiError,
    AuthError,
    ConfigError,
    UnreachableError,
    check_positive,
    hide_userinfo,
)

log = logging.getLogger(__name__)
P = TypeVar("P", bound=Linked)

TOKEN_KEYS = ("access", "access_token", "token")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# renewals of the token for one request, when other requests in flight keep spending the new ones
MAX_RENEWALS = 3
# the connection check before a run: a host that does not accept the first connection within this fails the run at once
CHECK_CONNECT_S = 10.0
# what OpenSSL says when an https request meets a server answering plain http
PLAIN_HTTP_ANSWERS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"})
# a Retry-After longer than this is not honoured as given (a stuck header must not stall a load for hours)
MAX_RETRY_AFTER_S = 120.0


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """Everything needed to build an AntBotClient, as `config.AntBotSettings.client()` takes it from the
    settings (which declare, default and document these fields); picklable and dlt-free, so walker
    processes build their own clients from it."""

    base_url: str
    username: str | None
    password: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    token_path: str
    page_size: int
    timeout: float
    max_attempts: int
    max_requests_per_second: float | None
    # a walker's: the budget file of the run that started it (api/budget.py)
    budget_path: str | None = None

    def __post_init__(self) -> None:
        shown = hide_userinfo(self.base_url)
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://: {shown!r}")
        authority = self.base_url.split("://", 1)[1].split("/", 1)[0].rpartition("@")[2]
        if authority.count(":") > 1 and not authority.startswith("["):
            raise ConfigError(f"base_url: an IPv6 address goes in brackets, as in http://[::1]:8000/rest-api: {shown!r}")
        try:
            host = httpx.URL(self.base_url).host
        except httpx.InvalidURL as exc:
            raise ConfigError(f"base_url is not a valid URL ({exc}): {shown!r}") from None
        if not host:
            raise ConfigError(f"base_url names no host: {shown!r}")
        if "://" in self.token_path or self.token_path.startswith("//"):
            raise ConfigError(f"token_path: a path under base_url, not a URL: {hide_userinfo(self.token_path)!r}")
        for setting in ("page_size", "timeout", "max_attempts"):
            check_positive(setting, getattr(self, setting))
        if self.max_requests_per_second is not None:
            check_positive("max_requests_per_second", self.max_requests_per_second)
        if not (self.access_token or (self.username and self.password)):
            raise ConfigError(
                "no AntBot credentials: set SOURCES__ANTBOT__USERNAME and SOURCES__ANTBOT__PASSWORD "
                "(or SOURCES__ANTBOT__ACCESS_TOKEN)"
            )

    def connect(self) -> AntBotClient:
        """A new client of a session of its own (close it, or use it in a `with` block)."""
        return AccountSession(self).connect()


class _Retryable(Exception):
    """A transient answer (429, 5xx): retried, waiting `retry_after` seconds when the server said so."""

    def __init__(self, response: httpx.Response, retry_after: float | None):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


def _retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds (delta-seconds or an HTTP date), capped; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class _WaitRetryAfter:
    """Exponential back-off with jitter, replaced by the server's `Retry-After` when it sent one."""

    def __init__(self) -> None:
        self._backoff = wait_exponential_jitter(initial=0.25, max=30.0, jitter=0.25)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(state)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, _Retryable | httpx.TimeoutException | httpx.TransportError)


def _never_arrived(exc: BaseException) -> bool:
    """A failure after which the server certainly did not act: 429, or no connection was made."""
    if isinstance(exc, _Retryable):
        return exc.response.status_code == 429
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _transport_cause(exc: httpx.TransportError) -> str:
    """What failed under a transport error: its type, or the TLS handshake and why."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return type(exc).__name__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"TLS handshake failed: {cause.verify_message or cause.reason}"
    hint = ": is the server speaking http, not https?" if cause.reason in PLAIN_HTTP_ANSWERS else ""
    return f"TLS handshake failed ({cause.reason or cause}){hint}"


def _retry_cause(exc: BaseException | None) -> str:
    """The RequestStats counter of a transient failure."""
    if isinstance(exc, _Retryable):
        return "retries_429" if exc.response.status_code == 429 else "retries_5xx"
    return "retries_timeout"


class _Tokens:
    """The bearer token of a session: the current one, and how often it was renewed."""

    def __init__(self, token: str | None):
        self.token = token
        self.generation = 0
        self.lock = threading.Lock()


class AccountSession:
    """One session of an account, owned by a load, a source instance or a push: its request budget and
    its bearer token, shared by every client of the session in every thread (the connection check's
    token serves the load's runs; a renewal by one client serves them all), and by no other session."""

    def __init__(self, config: ClientConfig):
        self.config = config
        self.budget = RequestBudget(config.max_requests_per_second)
        if config.budget_path:  # a walker: the budget file of the run that started it
            self.budget.attach(config.budget_path)
        self.tokens = _Tokens(config.access_token)

    def connect(self, *, connection_check: bool = False) -> AntBotClient:
        """A new client of this session (close it, or use it in a `with` block)."""
        return AntBotClient(self, connection_check=connection_check)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS context of every client of the process, as httpx makes it (certifi's CA bundle, or
    SSL_CERT_FILE / SSL_CERT_DIR): httpx would load the bundle for each client, 25 ms of CPU each."""
    return httpx.create_ssl_context()


class AntBotClient:
    """The one HTTP client of a run: authenticated, retrying, and walking paginated lists.

    One `httpx.Client` stays open until `close()`; it is shared safely by the extract threads.
    `stats` counts what its requests cost; `counted()` gives a view counting into other stats.
    """

    def __init__(self, account: AccountSession, *, connection_check: bool = False,
                 transport: httpx.BaseTransport | None = None):
        """`transport`: where requests go (None: the network; a test may serve them in process)."""
        config = self.config = account.config
        self._connection_check = connection_check
        self._base = config.base_url.rstrip("/") + "/"
        self._http = httpx.Client(
            base_url=self._base,
            # a connection check gives up connecting after CHECK_CONNECT_S; the run's requests keep the configured timeout
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, CHECK_CONNECT_S))
            if connection_check else config.timeout,
            headers={"Accept": "application/json", "User-Agent": "antbot-dlt"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            verify=tls_context(),
            transport=transport,
        )
        self._budget = account.budget
        self._tokens = account.tokens
        self.stats = RequestStats()

    def counted(self, stats: RequestStats) -> AntBotClient:
        """This client (connections, token and budget shared) counting its requests into `stats`."""
        view = copy.copy(self)
        view.stats = stats
        return view

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------------
    def _send(self, method: str, url: str, *, params: dict | None, json: Any, token: str | None,
              safe_retry: bool = True) -> httpx.Response:
        """One request with retries on 429, 5xx, timeouts and dropped connections (only 429 and failed
        connections when `safe_retry` is False: a write the server may have applied is not resent)."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        retryable = _is_transient if safe_retry else _never_arrived
        stats = self.stats

        def before_sleep(state: RetryCallState) -> None:
            cause = _retry_cause(state.outcome.exception() if state.outcome else None)
            stats.add(cause)
            if cause == "retries_429" and state.next_action is not None:
                stats.add("throttled_s", state.next_action.sleep)

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.config.max_attempts)),
            wait=_WaitRetryAfter(),
            retry=retry_if_exception(
                (lambda exc: retryable(exc) and not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout))
                if self._connection_check else retryable
            ),
            reraise=True,
            before_sleep=before_sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    waited = time.monotonic()
                    self._budget.wait()
                    stats.add("throttled_s", time.monotonic() - waited)
                    stats.add("requests")
                    response = self._http.request(method, url, params=params, json=json, headers=headers)
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                    self._budget.answered(response.status_code, retry_after)
                    if response.status_code in RETRY_STATUSES:
                        raise _Retryable(response, retry_after)
        except _Retryable as exc:
            return exc.response
        except httpx.TransportError as exc:
            tries = "" if self._connection_check else f" after {self.config.max_attempts} attempts"
            target = httpx.URL(url)
            where = f"{target.scheme}://{target.netloc.decode()}/" if target.is_absolute_url else self._base
            raise UnreachableError(f"cannot reach AntBot at {hide_userinfo(where)} ({_transport_cause(exc)}){tries}") \
                from None
        return response

    def _fetch_token(self, seen_generation: int) -> tuple[str, int]:
        """A fresh token from `get-token/`, unless another thread renewed it since `seen_generation`."""
        tokens = self._tokens
        with tokens.lock:
            if tokens.generation != seen_generation and tokens.token:
                return tokens.token, tokens.generation
            cfg = self.config
            if not (cfg.username and cfg.password):
                raise AuthError(
                    "AntBot refused the access token and no username/password is configured to renew it"
                    if cfg.access_token
                    else "no AntBot credentials: set username and password, or access_token"
                )
            response = self._send(
                "POST", cfg.token_path, params=None, json={"username": cfg.username, "password": cfg.password},
                token=None,
            )
            if response.status_code in (400, 401, 403):
                raise AuthError(f"AntBot refused the credentials of user {cfg.username!r} "
                                f"(HTTP {response.status_code} from {describe(cfg.token_path)})")
            body = self._parse(response, cfg.token_path)
            token = next((body[k] for k in TOKEN_KEYS if isinstance(body, dict) and body.get(k)), None)
            if not isinstance(token, str):
                raise AuthError(f"AntBot answered {describe(cfg.token_path)} without a token "
                                f"(expected one of {', '.join(TOKEN_KEYS)})")
            if tokens.token is not None:
                self.stats.add("token_renewals")
            tokens.token = token
            tokens.generation += 1
            return token, tokens.generation

    def token(self) -> str:
        """The account's current token, fetched from `get-token/` if there is none yet (for walker
        processes to start with: a login each would cost a request and a round trip)."""
        return self._current_token()[0]

    def _current_token(self) -> tuple[str, int]:
        with self._tokens.lock:
            token, generation = self._tokens.token, self._tokens.generation
        if token is None:
            return self._fetch_token(generation)
        return token, generation

    @staticmethod
    def _check_status(response: httpx.Response, path_or_url: str) -> None:
        if response.status_code >= 400:
            raise ApiError(
                f"AntBot answered HTTP {response.status_code} to {response.request.method} {describe(path_or_url)}",
                status_code=response.status_code,
                body=response.text[:500],
            )

    @classmethod
    def _parse(cls, response: httpx.Response, path_or_url: str) -> Any:
        cls._check_status(response, path_or_url)
        if not response.content:
            return None
        where = describe(path_or_url)
        body = parse_json(response.content, where)
        raise_on_error_body(body, where)
        return body

    def _authorized(self, method: str, path_or_url: str, params: dict | None, json: Any,
                    safe_retry: bool = True) -> httpx.Response:
        """The response to one request sent with the current token; a 401 renews it and replays.

        A token renewed by this request and refused at once is a credentials error. One renewed by
        another thread may already be spent by the other requests in flight (a token good for a few
        requests): then it is renewed again, at most MAX_RENEWALS times."""
        token, generation = self._current_token()
        response = self._send(method, path_or_url, params=params, json=json, token=token, safe_retry=safe_retry)
        for _ in range(MAX_RENEWALS):
            if response.status_code != 401:
                return response
            with self._tokens.lock:
                mine = self._tokens.generation == generation  # nobody renewed it since: this request will
            token, generation = self._fetch_token(generation)
            response = self._send(method, path_or_url, params=params, json=json, token=token,
                                  safe_retry=safe_retry)
            if response.status_code == 401 and mine:
                break
        if response.status_code == 401:
            raise AuthError(f"AntBot refused a fresh token for {method} {describe(path_or_url)} (HTTP 401)")
        return response

    def request(self, method: str, path_or_url: str, *, params: dict | None = None, json: Any = None,
                safe_retry: bool = True) -> Any:
        """Send one authenticated request and return its parsed JSON body.

        A 401 renews the token once and replays the request; a second 401 raises AuthError.
        Transient failures are retried with back-off; what remains raises ApiError or UnreachableError,
        as does an HTTP 200 body carrying `error`. `safe_retry=False` (non-idempotent writes such as
        create POSTs) retries only what the server cannot have applied: 429 and failed connections.
        """
        return self._parse(self._authorized(method, path_or_url, params, json, safe_retry), path_or_url)

    def get_bytes(self, path_or_url: str, *, params: dict | None = None) -> bytes:
        """The raw body of an authenticated GET (same token, retry and error rules as `request`,
        except that an HTTP 200 body carrying `error` is for the caller to detect)."""
        response = self._authorized("GET", path_or_url, params, None)
        self._check_status(response, path_or_url)
        return response.content

    def walk(self, path: str, params: dict[str, Any], parse: Callable[[bytes], P]) -> Iterator[P]:
        """Every page of a list at `path`, each parsed by `parse`, following its `next` link to the
        end. A 404 on a followed link ends the walk: the list shrank while it was
        walked, and the API answers 404 for a page past the end."""
        url: str | None = path
        query: dict[str, Any] | None = params
        while url:
            try:
                body = self.get_bytes(url, params=query)
            except ApiError as exc:
                if exc.status_code == 404 and query is None:
                    log.warning("%s: next page answered 404, the list shrank during the walk", describe(path))
                    return
                raise
            page = parse(body)
            yield page
            url, query = page.next, None

    def iter_pages(self, path: str, params: dict | None = None) -> Iterator[list[dict]]:
        """The rows of every page of a list endpoint (a bare list is one page, a bare object a page of
        one row). Sends `page_size` but never relies on it, nor on `count`."""
        query = {**(params or {}), "page_size": self.config.page_size}
        for page in self.walk(path, query, lambda body: ListPage.parse(body, describe(path))):
            if page.rows:
                yield page.rows


def check_connection(account: AccountSession, path: str) -> None:
    """One authenticated GET of `path` before a run, as mature connectors check a connection first:
    bad credentials, a host that refuses or does not accept the first connection, or an answer that
    is not a list fail here, in seconds, instead of after every back-off of the run."""
    with account.connect(connection_check=True) as client:
        ListPage.parse(client.get_bytes(path, params={"page_size": 1}), describe(path))


class SharedClient:
    """One AntBotClient shared by the resources of a source run: opened by the first user, closed by the last."""

    def __init__(self, account: AccountSession):
        self.account = account
        self._client: AntBotClient | None = None
        self._users = 0
        self._lock = threading.Lock()

    @contextmanager
    def use(self, stats: RequestStats | None = None) -> Iterator[AntBotClient]:
        """The shared client, kept open while any resource is still using it (counting into `stats`)."""
        with self._lock:
            if self._client is None:
                self._client = self.account.connect()
            self._users += 1
            client = self._client
        try:
            yield client if stats is None else client.counted(stats)
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._client is not None:
                    self._client.close()
                    self._client = None
