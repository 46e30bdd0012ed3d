"""Habits: every switchable behaviour of the real AntBot service that the sandbox reproduces."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Habits:
    """Switches for the real service's habits.

    The cheap, realistic ones are on by default; the disruptive ones are off (0 / None).
    """

    # rendering and reading
    vn_offset: bool = True  # timestamps rendered with +07:00 (off: UTC with "Z")
    naive_as_local: bool = True  # naive filter datetimes read as Vietnam time (off: as UTC)
    cdr_newest_first: bool = True  # CDR lists ordered newest first (off: oldest first)
    json_as_string: bool = True  # additional_vars / collected_data / data as JSON-encoded strings
    ignore_unknown_params: bool = True  # unknown query parameters silently ignored (off: 400)
    # shapes the doc does not show (older builds, other endpoints)
    token_key: str = "access"  # get-token/ answers the token under this key: access, access_token or token
    urls_not_ids: bool = False  # rows carry `url` instead of `id`, relations are absolute URLs (older builds)
    bare_lists: list[str] = field(default_factory=list)  # endpoints answering a bare list of every row
    # pagination (DRF's PageNumberPagination; `next` keeps the page_size the client sent, and every page it
    # leads to is cut down again, so a walk that follows `next` stays at the capped size)
    default_page_size: int = 100  # page size when the client sends no page_size (or 0, or not a number)
    max_page_size: int = 1000  # a larger page_size is cut down to this, silently
    fixed_page_size: int | None = None  # when set, page_size is ignored and this size is used
    last_page_alias: bool = True  # `page=last` is the last page, as in DRF (off: 404, an invalid page)
    # writes
    bulk_stop_at_duplicate: bool = True  # bulkcontact/ stops at the first existing number, HTTP 200 error
    post_duplicates: bool = True  # POSTs create duplicates (off: 400 for an existing number)
    cascade_deletes: bool = True  # deletes cascade to dependants (off: only the row itself goes)
    # campaign names are not unique upstream (a second one of the same name is created); some deployments
    # refuse it with HTTP 400 (on)
    campaign_names_unique: bool = False
    # disruptive, off by default
    rate_limit_per_s: float | None = None  # above this many /rest-api/ requests a second, from all clients: 429
    retry_after_s: int = 1  # the Retry-After header of a rate_limit_per_s 429
    # the per-user throttle of DRF's UserRateThrottle: a sliding window of throttle_requests requests per
    # throttle_period_s seconds for each user. A request is refused (429, `Retry-After` the whole seconds,
    # rounded up and at least 1, until the window frees a slot) when that user's requests let through in the
    # last throttle_period_s seconds already number throttle_requests; refused requests do not count. The
    # user is the account of the bearer token, judged after authentication (a 401 uses no budget);
    # get-token/ is anonymous, as in DRF, so logins count for the client's address, apart from any account.
    # The window reads the server's clock (sb.freeze_clock / sb.skip_clock).
    throttle_requests: int | None = None  # N: requests per window for each user (None: no throttle)
    throttle_period_s: float = 60.0  # S: the window's length in seconds (DRF's "N/min" is 60)
    error_rate: float = 0.0  # share of /rest-api/ requests answered 502 or 503 (nothing applied)
    # every /rest-api/ request takes this long more, as a round trip far away does: half before the server
    # handles it, half before the answer leaves; requests wait at once, none holds up another
    latency_ms: int = 0
    late_cdrs_per_page: int = 0  # each served CDR page inserts N CDRs 5-60 min behind the newest served
    live_inserts_per_page: int = 0  # each served CDR page inserts N CDRs (new ones and some with old dates)
    token_ttl_s: float = 86_400.0  # lifetime of a token from get-token/
    token_uses: int | None = None  # a token expires after this many requests (a lifetime counted, not timed)
    hang_writes_after: int | None = None  # counted writes (world.CREATE_COUNTED) after this many are never answered
    hang_applies_write: bool = True  # a hung create POST is applied before it hangs (off: not applied)
    # CDR list pages (not counts: page_size 1) wait until this is switched off (wait_for_held counts them)
    hold_cdr_pages: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The habits as a plain dict (JSON-ready)."""
        return dataclasses.asdict(self)

    def updated(self, **changes: Any) -> Habits:
        """A copy with `changes` applied; an unknown habit name raises ValueError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown habits: {sorted(unknown)}")
        return dataclasses.replace(self, **changes)
