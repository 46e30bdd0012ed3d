"""The AntBot client configuration as dlt resolves it (section `sources.antbot`), for commands that
talk to the API outside the source: the connection check before a load, and `antbot push`."""

from __future__ import annotations

from dlt.common.configuration.inject import with_config
from dlt.common.typing import TSecretStrValue

from antbot_source.api.client import ClientConfig
from antbot_source.resources.cdr.resource import CdrTuning
from antbot_source.settings import DEFAULT_BASE_URL


@with_config(sections=("sources", "antbot"))
def client_config(
    base_url: str = DEFAULT_BASE_URL,
    username: str | None = None,
    password: TSecretStrValue | None = None,
    access_token: TSecretStrValue | None = None,
    token_path: str = ClientConfig.token_path,
    page_size: int = ClientConfig.page_size,
    timeout: float = ClientConfig.timeout,
    max_attempts: int = ClientConfig.max_attempts,
    max_requests_per_second: float | None = None,
) -> ClientConfig:
    """The ClientConfig of SOURCES__ANTBOT__* / `[sources.antbot]`, the same keys the source reads: the
    connection check and the push go through the account's request budget under the same cap as the load."""
    return ClientConfig(base_url=base_url, username=username, password=password, access_token=access_token,
                        token_path=token_path, page_size=page_size, timeout=timeout, max_attempts=max_attempts,
                        max_requests_per_second=max_requests_per_second or None)



@with_config(sections=("sources", "antbot"))
def max_concurrency(max_concurrency: int = CdrTuning.concurrency) -> int:
    """SOURCES__ANTBOT__MAX_CONCURRENCY: requests in flight at most, as the load reads it."""
    return max_concurrency
