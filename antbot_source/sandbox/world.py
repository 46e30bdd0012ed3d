"""The sandbox's world: every account's tables, the queries the API answers, and the mutations."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import orjson

from antbot_source.errors import ConfigError
from antbot_source.sandbox import fields as F
from antbot_source.sandbox.generate import DAY, DAY_NAMES, AccountGenerator, IdSequence, hms, obj_array, uuids
from antbot_source.sandbox.habits import Habits
from antbot_source.sandbox.table import NULL_INT, NULL_TS, US, VN_OFFSET_US, Table

VN = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class Account:
    """Credentials of one sandbox account."""

    username: str
    password: str


ACCOUNTS = [(Account("demo", "demo-pass"), 101), (Account("other", "other-pass"), 102)]


class ApiProblem(Exception):
    """A request the API refuses: HTTP status and the DRF-style body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def now_us() -> int:
    return time.time_ns() // 1000


def parse_datetime(text: str, naive_as_local: bool) -> int:
    """Epoch microseconds of an ISO-8601 value; a naive one is Vietnam time (or UTC with the habit off)."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=VN if naive_as_local else UTC)
    return int(dt.timestamp() * 1_000_000)


# query filters per endpoint: param -> (operation, field or fields)
FILTERS: dict[str, dict[str, tuple[str, Any]]] = {
    "cdr": {
        **{p: ("eq", p) for p in ("callid", "callerid", "phone_number", "duration", "billsec", "disposition",
                                  "hangup_cause", "sip_term_status", "sip_term_cause", "endpoint_disposition",
                                  "campaign", "alarm", "otp")},
        "from_date": ("gte", "starting_date"), "to_date": ("lte", "starting_date"),
    },
    "subscriber-list": {"campaign": ("eq", "campaign"), "contact": ("eq", "duplicate_contact"),
                        "status": ("eq", "status"), "duration": ("eq", "duration"), "billsec": ("eq", "billsec")},
    "campaigns": {"name": ("icontains", ("name",)), "phonebook": ("has", "phonebook"), "status": ("eq", "status")},
    "survey-template": {"search": ("icontains", ("name",)), "description": ("icontains", ("description",)),
                        "is_onboarding": ("eq", "is_onboarding"), "user": ("eq", "user")},
    "phonebook": {"search": ("icontains", ("name",))},
    "contact": {"phonebook": ("eq", "phonebook"), "search": ("icontains", ("contact", "first_name", "last_name"))},
    "survey-list": {"search": ("icontains", ("name",)), "tts_language": ("eq", "tts_language"),
                    "description": ("icontains", ("description",)), "campaign": ("eq", "campaign")},
}
PAGING_PARAMS = {"page", "page_size"}

# hard deletes cascade: table -> [(child table, column holding the parent id)]
CASCADE: dict[str, list[tuple[str, str]]] = {
    "phonebooks": [("contacts", "phonebook")],
    "contacts": [("subscribers", "contact")],
    "subscribers": [("cdr", "subscriber")],
    "campaigns": [("subscribers", "campaign"), ("surveys", "campaign"), ("cdr", "campaign")],
    "dnc_lists": [("dnc_contacts", "dnc")],
    "survey_templates": [("section_templates", "survey")],
    "calendar_settings": [("calendar_users", "calendar_setting")],
    "calendar_users": [("calendars", "user"), ("events", "creator")],
    "calendars": [("events", "calendar")],
    "events": [("alarms", "event")],
}

# writable endpoints: field -> (required, related table or None); other fields get defaults
WRITES: dict[str, dict[str, tuple[bool, str | None]]] = {
    "contact": {"phonebook": (True, "phonebooks"), "contact": (True, None), "status": (True, None),
                "email": (False, None), "last_name": (False, None), "first_name": (False, None),
                "description": (False, None), "address": (False, None), "city": (False, None),
                "country": (False, None), "additional_vars": (False, None)},
    "phonebook": {"name": (True, None), "description": (False, None)},
    "dnc-list": {"name": (True, None), "description": (False, None)},
    "dnc-contact": {"phone_number": (True, None), "dnc": (True, "dnc_lists")},
    "survey-template": {"name": (True, None), "tts_language": (False, None), "description": (False, None)},
    "section-template": {"type": (True, None), "survey": (True, "survey_templates"), "question": (True, None),
                         "script": (False, None)},
    "campaigns": {"name": (True, None), "description": (False, None), "callerid": (False, None),
                  "phonebook": (True, "phonebooks"), "aleg_gateway": (True, "gateways"),
                  "object_id": (True, "survey_templates"), "frequency": (True, None), "startingdate": (True, None),
                  "expirationdate": (True, None), "daily_start_time": (True, None), "daily_stop_time": (True, None)},
    "calendar-setting": {"label": (True, None), "callerid": (False, None), "caller_name": (False, None),
                         "call_timeout": (True, None), "survey": (True, "survey_templates"),
                         "aleg_gateway": (True, "gateways")},
    "calendar-user": {"username": (True, None), "password": (True, None),
                      "calendar_setting": (True, "calendar_settings")},
    "calendar": {"name": (True, None), "user": (True, "calendar_users")},
    # an event needs its calendar and a creator among the account's calendar users (the relation check)
    "event": {"title": (True, None), "description": (False, None), "start": (True, None), "end": (True, None),
              "creator": (True, "calendar_users"), "calendar": (True, "calendars")},
    "alarm": {"alarm_phonenumber": (True, None), "date_start_notice": (False, None),
              "phonenumber_transfer": (False, None), "event": (True, "events")},
}
UPDATABLE = {"contact", "phonebook", "section-template", "campaigns", "event", "alarm"}
# the writes counted by wait_for_writes and hung by hang_writes_after: these creates, and campaign updates (PUT) and
# status actions
CREATE_COUNTED = {"contact", "bulkcontact", "dnc-contact", "event", "alarm", "campaigns"}
CAMPAIGN_WAITING = 2  # read scale: a new campaign is created unstarted


@dataclass
class AccountData:
    """One account's tables plus what the API has served it."""

    account: Account
    user_id: int
    tables: dict[str, Table]
    newest_served: int = NULL_TS  # the newest CDR starting_date any page has shown
    numbers_version: int = -1
    numbers: set[str] = field(default_factory=set)


def check_world(seed: int, cdrs: int, other_cdrs: int | None = None) -> None:
    """A ConfigError for a world that cannot be generated: a negative seed, an account without CDRs."""
    if seed < 0:
        raise ConfigError(f"--seed must not be negative: {seed}")
    for option, value in (("--cdrs", cdrs), ("--other-cdrs", other_cdrs)):
        if value is not None and value < 1:
            raise ConfigError(f"{option} must be at least 1: {value}")


class World:
    """All accounts of one sandbox, seeded deterministically, plus the current habits."""

    def __init__(self, seed: int, cdrs: int, habits: Habits | None = None, other_cdrs: int | None = None,
                 now: int | None = None) -> None:
        self.habits = habits or Habits()
        self.ids = IdSequence()
        self.rng = np.random.default_rng([seed, 999])
        now = now if now is not None else now_us()
        self.accounts: dict[str, AccountData] = {}
        sizes = [cdrs, other_cdrs if other_cdrs is not None else max(100, min(cdrs // 20, 20_000))]
        for no, ((acc, user_id), n) in enumerate(zip(ACCOUNTS, sizes, strict=True)):
            tables = {name: F.new_table(name) for name in F.TABLES}
            AccountGenerator(tables, self.ids, seed, no, user_id, n, now).build()
            self.accounts[acc.username] = AccountData(acc, user_id, tables)
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()  # query key -> positions
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()  # page key -> rows rendered ahead

    # ---- reading ----
    def table(self, account: str, endpoint: str) -> Table:
        return self.accounts[account].tables[F.TABLE_OF_PATH[endpoint]]

    def query(self, account: str, endpoint: str, params: dict[str, str]) -> np.ndarray:
        """Positions of the rows a list request selects, in the order the API serves them."""
        return self._positions(account, endpoint, *self._query_key(account, endpoint, params))

    def _positions(self, account: str, endpoint: str, key: tuple, active: tuple) -> np.ndarray:
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        pos = self._select(self.table(account, endpoint), endpoint, dict(active))
        if key[4]:  # newest first
            pos = pos[::-1]
        self._cache[key] = pos
        if len(self._cache) > 32:
            self._cache.popitem(last=False)
        return pos

    def _query_key(self, account: str, endpoint: str, params: dict[str, str]) -> tuple[tuple, tuple]:
        """What a list's rows and order depend on (the table's version included), and its known filters."""
        known = FILTERS.get(endpoint, {})
        unknown = sorted(set(params) - set(known) - PAGING_PARAMS)
        if unknown and not self.habits.ignore_unknown_params:
            raise ApiProblem(400, {p: ["Unknown query parameter."] for p in unknown})
        active = tuple(sorted((p, v) for p, v in params.items() if p in known))
        newest_first = endpoint == "cdr" and self.habits.cdr_newest_first
        version = self.table(account, endpoint).version
        return (account, endpoint, active, version, newest_first, self.habits.naive_as_local), active

    def _select(self, tbl: Table, endpoint: str, params: dict[str, str]) -> np.ndarray:
        lo, hi = 0, len(tbl)
        ops = FILTERS.get(endpoint, {})
        for p in ("from_date", "to_date"):
            if p in params:
                try:
                    t = parse_datetime(params[p], self.habits.naive_as_local)
                except ValueError:
                    raise ApiProblem(400, {p: ["Enter a valid date/time."]}) from None
                key = tbl.cols["starting_date"]
                if p == "from_date":
                    lo = max(lo, int(np.searchsorted(key, t, side="left")))
                else:
                    hi = min(hi, int(np.searchsorted(key, t, side="right")))
        if lo >= hi:
            return np.arange(0)
        mask = None
        for p, raw in params.items():
            op, target = ops[p]
            if op in ("gte", "lte"):
                continue
            m = self._match(tbl, lo, hi, p, op, target, raw)
            mask = m if mask is None else mask & m
        return np.arange(lo, hi) if mask is None else lo + np.flatnonzero(mask)

    def _match(self, tbl: Table, lo: int, hi: int, param: str, op: str, target: Any, raw: str) -> np.ndarray:
        if op == "icontains":
            needle = raw.lower()
            cols = [tbl.cols[c][lo:hi] for c in target]
            return np.fromiter((any(needle in (v or "").lower() for v in vals) for vals in zip(*cols, strict=True)),
                               dtype=bool, count=hi - lo)
        if op == "has":
            x = _as_int(param, raw)
            return np.fromiter((x in v for v in tbl.cols[target][lo:hi]), dtype=bool, count=hi - lo)
        f = tbl.field_by_name[target]
        col = tbl.cols[f.col][lo:hi]
        if f.kind in ("int", "nint"):
            return col == _as_int(param, raw)
        if f.kind == "bool":
            return col == _as_bool(param, raw)
        if f.kind == "cat":
            return np.isin(col, np.flatnonzero(f.lookup == raw))
        if f.kind == "uuid":
            return col == raw.encode()
        return col == raw

    def rows(self, account: str, table: str) -> list[dict]:
        """Every current row of a table, rendered as the API renders it, in id order."""
        tbl = self.accounts[account].tables[table]
        order = np.argsort(tbl.ids(), kind="stable")
        return tbl.render(order, self.habits.vn_offset, self.habits.json_as_string)

    def truth(self, account: str) -> dict[str, dict[str, Any]]:
        return {name: {"count": len(t), "ids": t.ids().tolist()} for name, t in self.accounts[account].tables.items()}

    def page_json(self, account: str, endpoint: str, params: dict[str, str], start: int, stop: int) -> bytes:
        """Rows `start:stop` of the list `params` selects, as the JSON array the API serves.

        Served CDR pages are remembered (late CDRs land behind them).
        """
        key, idx = self._page(account, endpoint, params, start, stop)
        rows = self._pages.pop(key, None)
        if rows is None:
            rows = self.render_json(account, endpoint, idx)
        if endpoint == "cdr" and len(idx):
            acc = self.accounts[account]
            served = int(self.table(account, endpoint).cols["starting_date"][idx].max())
            acc.newest_served = max(acc.newest_served, served)
        return rows

    def prerender(self, account: str, endpoint: str, params: dict[str, str], start: int, stop: int) -> None:
        """Render rows `start:stop` ahead of their request: a client following `next` asks for them next,
        and the server renders while the client reads the page before. Changes nothing a client sees."""
        key, idx = self._page(account, endpoint, params, start, stop)
        if key not in self._pages:
            self._pages[key] = self.render_json(account, endpoint, idx)
            while len(self._pages) > 4:
                self._pages.popitem(last=False)

    def _page(self, account: str, endpoint: str, params: dict[str, str], start: int, stop: int) -> tuple[tuple, np.ndarray]:
        """What the JSON of rows `start:stop` of a list depends on, and their positions."""
        key, active = self._query_key(account, endpoint, params)
        idx = self._positions(account, endpoint, key, active)[start:stop]
        return (key, start, stop, self.habits.vn_offset, self.habits.json_as_string), idx

    def render_json(self, account: str, endpoint: str, idx: np.ndarray | list[int]) -> bytes:
        """The rows at positions `idx` as the JSON array the API renders."""
        return self.table(account, endpoint).render_json(idx, self.habits.vn_offset, self.habits.json_as_string)

    # ---- time passes ----
    def after_cdr_page(self, account: str) -> None:
        """The habits that insert CDRs while a client walks the pages."""
        h, acc = self.habits, self.accounts[account]
        newest = self._newest(acc)
        if h.late_cdrs_per_page:
            self.add_cdrs(account, newest - self.rng.integers(5 * 60 * US, 60 * 60 * US, h.late_cdrs_per_page))
        if h.live_inserts_per_page:
            n = h.live_inserts_per_page
            key = acc.tables["cdr"].cols["starting_date"]
            old = self.rng.random(n) < 0.4
            times = np.where(old, self.rng.integers(int(key[0]), newest + 1, n) if len(key) else newest,
                             max(newest, now_us()) + self.rng.integers(1, 60 * US, n))
            self.add_cdrs(account, times)

    def _newest(self, acc: AccountData) -> int:
        key = acc.tables["cdr"].cols["starting_date"]
        newest = int(key[-1]) if len(key) else now_us()
        return max(newest, acc.newest_served)

    def add_cdrs(self, account: str, times: np.ndarray, calls: str = "in_window") -> dict[str, list[int]]:
        """New CDRs at these starting dates: campaign calls when a started campaign is inside its daily
        window (`calls="any_hour"`: whatever the hour; "none": never), their subscribers changing status
        to agree, else OTP calls."""
        acc = self.accounts[account]
        t = acc.tables
        rng = self.rng
        times = np.sort(np.asarray(times, dtype=np.int64))
        n = len(times)
        camps, subs = t["campaigns"], t["subscribers"]
        rows: dict[str, list] = {k: [] for k in ("campaign", "subscriber", "phone_number", "callerid", "used_gateway",
                                                  "cause", "billsec", "duration", "amd_status", "otp")}
        changed: list[int] = []
        for ts in times.tolist():
            ci, sp = (None, None) if calls == "none" else self._pick_subscriber(camps, subs, ts, calls == "any_hour")
            answered = rng.random() < 0.5
            cause = F.ANSWER if answered else 1 + int(rng.choice(12, p=F.NOANSWER_WEIGHTS / F.NOANSWER_WEIGHTS.sum()))
            billsec = int(np.clip(rng.lognormal(np.log(45), 1.0), 1, 1800)) if answered else 0
            ring = F.DURATION_RING[F.DISPOSITION[cause]]
            duration = int(rng.integers(ring[0], ring[1] + 1)) + billsec
            if ci is None:
                rows["campaign"].append(NULL_INT)
                rows["subscriber"].append(NULL_INT)
                rows["phone_number"].append("0" + str(int(rng.integers(900_000_000, 999_999_999))))
                rows["callerid"].append("AntOTP")
                rows["used_gateway"].append(int(t["gateways"].cols["id"][0]))
                rows["otp"].append(True)
                rows["amd_status"].append(NULL_INT)
            else:
                rows["campaign"].append(int(camps.cols["id"][ci]))
                rows["subscriber"].append(int(subs.cols["id"][sp]))
                rows["phone_number"].append(subs.cols["duplicate_contact"][sp])
                rows["callerid"].append(camps.cols["callerid"][ci])
                rows["used_gateway"].append(int(camps.cols["aleg_gateway"][ci]))
                rows["otp"].append(False)
                rows["amd_status"].append(1 if answered else NULL_INT)
            rows["cause"].append(cause)
            rows["billsec"].append(billsec)
            rows["duration"].append(duration)
            if ci is not None:
                self._subscriber_called(subs, sp, ts, duration, billsec, cause, int(camps.cols["maxretry"][ci]))
                changed.append(int(subs.cols["id"][sp]))
        ids = self.ids.take("cdr", n)
        t["cdr"].append({
            **rows, "id": ids, "callid": uuids(rng, n), "request_uuid": uuids(rng, n), "starting_date": times,
            "leg_type": np.ones(n, dtype=np.int64), "alarm": np.zeros(n, dtype=bool), "user": np.full(n, acc.user_id),
        })
        return {"cdr_ids": ids.tolist(), "subscriber_ids": sorted(set(changed))}

    def plant_cdrs(self, account: str, calls: list[dict[str, Any]]) -> list[int]:
        """CDRs exactly as given (`starting_date` ISO-8601 with an offset, `phone_number`, and optionally
        `campaign`, `leg_type`, `otp`, `alarm`), answered, for tests of what the warehouse makes of calls;
        the dialer's subscribers are left as they are. Returns the new ids in the order given."""
        acc = self.accounts[account]
        n = len(calls)
        ids = self.ids.take("cdr", n)
        campaign = [int(c["campaign"]) if c.get("campaign") is not None else NULL_INT for c in calls]
        acc.tables["cdr"].append({
            "id": ids, "callid": uuids(self.rng, n), "request_uuid": uuids(self.rng, n),
            "callerid": ["planted"] * n, "phone_number": [str(c["phone_number"]) for c in calls],
            "starting_date": np.array([parse_datetime(c["starting_date"], True) for c in calls], dtype=np.int64),
            "duration": np.full(n, 40), "billsec": np.full(n, 30), "cause": np.full(n, F.ANSWER),
            "leg_type": [int(c.get("leg_type", 1)) for c in calls], "amd_status": np.full(n, 1),
            "campaign": campaign, "subscriber": np.full(n, NULL_INT),
            "used_gateway": np.full(n, int(acc.tables["gateways"].cols["id"][0])),
            "alarm": [bool(c.get("alarm", False)) for c in calls], "otp": [bool(c.get("otp", False)) for c in calls],
            "user": np.full(n, acc.user_id),
        })
        return ids.tolist()

    def _pick_subscriber(self, camps: Table, subs: Table, ts: int, any_hour: bool = False,
                         ) -> tuple[int | None, int | None]:
        """A started campaign inside its daily window at ts (`any_hour`: any started campaign) and one of
        its pending subscribers."""
        local = ts + VN_OFFSET_US
        tod, weekday = local % DAY, int((local // DAY + 3) % 7)
        for ci in self.rng.permutation(len(camps)).tolist():
            c = camps.cols
            if c["status"][ci] != 1:
                continue
            in_window = c[DAY_NAMES[weekday]][ci] and hms(c["daily_start_time"][ci]) <= tod < hms(c["daily_stop_time"][ci])
            if not (in_window or any_hour):
                continue
            pending = np.flatnonzero((subs.cols["campaign"] == c["id"][ci]) & np.isin(subs.cols["status"], (1, 6)))
            if len(pending):
                return ci, int(self.rng.choice(pending))
        return None, None

    def _subscriber_called(self, subs: Table, sp: int, ts: int, duration: int, billsec: int, cause: int,
                           maxretry: int) -> None:
        """A subscriber got a call: attempts grow; when it is the latest call, the outcome and status follow it."""
        c = subs.cols
        c["count_attempt"][sp] += 1
        subs.version += 1
        if ts + duration * US < c["last_attempt"][sp]:  # a late row for an older attempt
            return
        c["last_attempt"][sp] = ts + duration * US
        c["duration"][sp], c["billsec"][sp] = duration, billsec
        c["disposition"][sp] = F.DISPOSITION[cause]
        if cause == F.ANSWER:
            c["status"][sp] = 8 if self.rng.random() < 0.7 else 5
        else:
            c["status"][sp] = 4 if c["count_attempt"][sp] > maxretry else 1
        if self.rng.random() < 0.8:  # some transitions do not bump updated_date
            c["updated_date"][sp] = ts + duration * US

    def advance(self, account: str, new_cdrs: int = 0, late_cdrs: int = 0, subscriber_changes: int = 0,
                new_contacts: int = 0, edited_contacts: int = 0, deleted_contacts: int = 0,
                campaign_calls: int = 0, otp_cdrs: int = 0, late_by_s: list[float] | None = None) -> dict[str, Any]:
        """Time passes: new and late CDRs, subscriber status changes, contact creates, edits and deletes.
        `campaign_calls`: new CDRs that are calls of started campaigns whatever the hour, `otp_cdrs` new
        CDRs that are not (new_cdrs are campaign calls only inside a campaign's daily window, as at AntBot). `late_by_s`: CDRs written now
        whose starting_date lies these many seconds behind the newest (ids in the same order as `late_by_ids`)."""
        acc = self.accounts[account]
        rng, now = self.rng, now_us()
        newest = self._newest(acc)
        out: dict[str, Any] = {}
        new_t = max(now, newest + 1000) + np.sort(rng.integers(0, 60 * US, new_cdrs))
        late_t = newest - rng.integers(5 * 60 * US, 60 * 60 * US, late_cdrs)
        new = self.add_cdrs(account, new_t) if new_cdrs else {"cdr_ids": [], "subscriber_ids": []}
        for n, kind in ((campaign_calls, "any_hour"), (otp_cdrs, "none")):
            if n:
                more = self.add_cdrs(account, max(now, newest + 1000) + np.sort(rng.integers(0, 60 * US, n)), kind)
                new = {k: new[k] + more[k] for k in new}
        late = self.add_cdrs(account, late_t) if late_cdrs else {"cdr_ids": [], "subscriber_ids": []}
        out["new_cdr_ids"], out["late_cdr_ids"] = new["cdr_ids"], late["cdr_ids"]
        deep = [self.add_cdrs(account, np.array([newest - round(s * US)])) for s in late_by_s or ()]
        out["late_by_ids"] = [row["cdr_ids"][0] for row in deep]
        subs = acc.tables["subscribers"]
        camps = acc.tables["campaigns"].cols
        started = camps["id"][camps["status"] == 1]
        queued = np.flatnonzero((subs.cols["status"] == 1) & np.isin(subs.cols["campaign"], started))
        pick = rng.choice(queued, min(subscriber_changes, len(queued)), replace=False)
        subs.cols["status"][pick] = 6  # pending -> in process: queued for a call, no call yet
        subs.version += 1
        out["changed_subscriber_ids"] = sorted(set(new["subscriber_ids"]) | set(late["subscriber_ids"])
                                               | {i for row in deep for i in row["subscriber_ids"]}
                                               | set(subs.cols["id"][pick].tolist()))
        contacts = acc.tables["contacts"]
        out["new_contact_ids"], out["new_subscriber_ids"] = [], []
        pbs = acc.tables["phonebooks"].ids()
        for _ in range(new_contacts):
            body = {"phonebook": int(rng.choice(pbs)), "contact": "0" + str(int(rng.integers(900_000_000, 999_999_999))),
                    "status": 1, "first_name": "Mới", "last_name": "Khách"}
            row_id, sub_ids = self._create_contact(acc, body)
            out["new_contact_ids"].append(row_id)
            out["new_subscriber_ids"] += sub_ids
        edit = rng.choice(len(contacts), min(edited_contacts, len(contacts)), replace=False)
        for pos in edit.tolist():
            contacts.cols["first_name"][pos] = contacts.cols["first_name"][pos] + " (sửa)"
            contacts.cols["email"][pos] = f"edited{int(contacts.cols['id'][pos])}@example.vn"
            contacts.cols["updated_date"][pos] = now
        contacts.version += 1
        out["edited_contact_ids"] = sorted(contacts.cols["id"][edit].tolist())
        # delete contacts nobody has called: the CDR table keeps its rows (an explicit DELETE cascades fully)
        called = np.unique(subs.cols["contact"][subs.cols["count_attempt"] > 0])
        fresh = set(out["new_contact_ids"]) | set(out["edited_contact_ids"])
        free = np.flatnonzero(~np.isin(contacts.cols["id"], called) & ~np.isin(contacts.cols["id"], list(fresh)))
        doomed = contacts.cols["id"][rng.choice(free, min(deleted_contacts, len(free)), replace=False)]
        gone = self.delete_ids(acc, "contacts", doomed)
        out["deleted_contact_ids"] = sorted(gone.get("contacts", []))
        out["deleted_subscriber_ids"] = sorted(gone.get("subscribers", []))
        return out

    # ---- writes ----
    def delete_ids(self, acc: AccountData, table: str, ids: np.ndarray) -> dict[str, list[int]]:
        """Hard-delete rows by id, cascading to dependants when the habit is on; returns ids per table."""
        tbl = acc.tables[table]
        pos = np.flatnonzero(np.isin(tbl.ids(), ids))
        gone = {table: tbl.delete(pos).tolist()}
        if not gone[table] or not self.habits.cascade_deletes:
            return gone
        if table == "phonebooks":
            camps = acc.tables["campaigns"]
            camps.cols["phonebook"] = obj_array([[p for p in v if p not in gone[table]] for v in camps.cols["phonebook"]])
            camps.version += 1
        for child, col in CASCADE.get(table, []):
            ctbl = acc.tables[child]
            hit = np.isin(ctbl.cols[col], gone[table])
            if hit.any():
                for t, i in self.delete_ids(acc, child, ctbl.ids()[hit]).items():
                    gone.setdefault(t, []).extend(i)
        return gone

    def numbers(self, acc: AccountData) -> set[str]:
        """Every number the account's contacts hold (as stored), for the duplicate checks."""
        contacts = acc.tables["contacts"]
        if acc.numbers_version != contacts.version:
            acc.numbers = set(contacts.cols["contact"].tolist())
            acc.numbers_version = contacts.version
        return acc.numbers

    def create(self, account: str, endpoint: str, body: Any) -> dict:
        """POST to a list endpoint: the created row as rendered."""
        acc = self.accounts[account]
        if endpoint == "contact":
            values = self._validate(acc, endpoint, body, partial=False)
            if not self.habits.post_duplicates and values["contact"] in self.numbers(acc):
                raise ApiProblem(400, {"contact": ["contact with this contact already exists."]})
            row_id, _ = self._create_contact(acc, values)
        else:
            values = self._validate(acc, endpoint, body, partial=False)
            if endpoint == "campaigns":
                camps = acc.tables["campaigns"].cols
                if self.habits.campaign_names_unique and values["name"] in camps["name"].tolist():
                    raise ApiProblem(400, {"name": ["campaign with this name already exists."]})
                values["status"] = CAMPAIGN_WAITING
            if endpoint == "dnc-contact" and not self.habits.post_duplicates:
                d = acc.tables["dnc_contacts"].cols
                if np.any((d["phone_number"] == values["phone_number"]) & (d["dnc"] == values["dnc"])):
                    raise ApiProblem(400, {"phone_number": ["This number is already in the DNC list."]})
            row_id = self._insert_many(acc, F.TABLE_OF_PATH[endpoint], [values])[0]
        return self._rendered(acc, F.TABLE_OF_PATH[endpoint], row_id)

    def bulk_create(self, account: str, body: Any) -> tuple[int, dict]:
        """bulkcontact/: contacts created one by one; with the habit, stop at the first existing number."""
        acc = self.accounts[account]
        if not isinstance(body, dict) or not isinstance(body.get("contacts"), list):
            raise ApiProblem(400, {"contacts": ["This field is required."]})
        batch: list[dict[str, Any]] = []
        seen = set(self.numbers(acc)) if self.habits.bulk_stop_at_duplicate else set()
        duplicate = None
        for item in body["contacts"]:
            try:
                if not isinstance(item, dict):
                    raise ApiProblem(400, {"contacts": ["Each contact must be an object."]})
                values = self._validate(acc, "contact", {"status": 1, **item, "phonebook": body.get("phonebook")},
                                        partial=False)
            except ApiProblem:
                self._create_contacts(acc, batch)  # the contacts before a bad one stay created
                raise
            if self.habits.bulk_stop_at_duplicate and values["contact"] in seen:
                duplicate = values["contact"]
                break
            seen.add(values["contact"])
            batch.append(values)
        self._create_contacts(acc, batch)  # one by one in effect: everything before the duplicate stays
        if duplicate is not None:
            return 200, {"error": f"The contact duplicated ({duplicate})!"}
        return 201, {"result": "Bulk contacts created", "count": len(batch)}

    def update(self, account: str, endpoint: str, row_id: int, body: Any) -> dict:
        """PUT on a detail endpoint: the given fields change (partial update), updated_date moves."""
        acc = self.accounts[account]
        table = F.TABLE_OF_PATH[endpoint]
        tbl = acc.tables[table]
        pos = tbl.pos_of(row_id)
        if pos is None:
            raise ApiProblem(404, {"detail": "Not found."})
        values = self._validate(acc, endpoint, body, partial=True)
        for name, value in values.items():
            f = tbl.field_by_name.get(name)
            if f is not None:
                tbl.cols[f.col][pos] = value
        if "updated_date" in tbl.cols:
            tbl.cols["updated_date"][pos] = now_us()
        tbl.version += 1
        return self._rendered(acc, table, row_id)

    def delete(self, account: str, endpoint: str, row_id: int) -> dict[str, list[int]]:
        acc = self.accounts[account]
        table = F.TABLE_OF_PATH[endpoint]
        if acc.tables[table].pos_of(row_id) is None:
            raise ApiProblem(404, {"detail": "Not found."})
        return self.delete_ids(acc, table, np.array([row_id]))

    def campaign_status(self, account: str, row_id: int, body: Any) -> dict:
        """campaigns/{id}/status/: action 1 start, 2 pause, 3 abort, 4 end (read scale 1, 3, 4, 4). A start
        enrols the active contacts of the campaign's phonebooks as pending subscribers; the first one copies
        the survey template into a survey of the campaign's own, which `object_id` names from then on."""
        acc = self.accounts[account]
        tbl = acc.tables["campaigns"]
        pos = tbl.pos_of(row_id)
        if pos is None:
            raise ApiProblem(404, {"detail": "Not found."})
        action = body.get("status") if isinstance(body, dict) else None
        try:
            new = {1: 1, 2: 3, 3: 4, 4: 4}[int(action)]
        except (KeyError, TypeError, ValueError):
            raise ApiProblem(400, {"status": [f'"{action}" is not a valid choice.']}) from None
        if new == 1:
            self._first_start(acc, pos, row_id)
            self._enrol(acc, pos, row_id)
        tbl.set(pos, "status", new)
        return {"id": row_id, "status": new}

    def _first_start(self, acc: AccountData, pos: int, row_id: int) -> None:
        surveys, templates, camps = acc.tables["surveys"], acc.tables["survey_templates"], acc.tables["campaigns"]
        if np.any(surveys.cols["campaign"] == row_id):
            return
        tpos = templates.pos_of(int(camps.cols["object_id"][pos]))
        name = str(templates.cols["name"][tpos]) if tpos is not None else ""
        survey = self._insert_many(acc, "surveys", [{"name": name, "campaign": row_id}])[0]
        camps.set(pos, "object_id", survey)

    def _enrol(self, acc: AccountData, pos: int, row_id: int) -> None:
        """The active contacts of the campaign's phonebooks not yet subscribed, as pending subscribers."""
        camps, contacts, subs = acc.tables["campaigns"], acc.tables["contacts"], acc.tables["subscribers"]
        c = contacts.cols
        active = np.flatnonzero(np.isin(c["phonebook"], list(camps.cols["phonebook"][pos])) & (c["status"] == 1))
        known = set(subs.cols["contact"][subs.cols["campaign"] == row_id].tolist())
        enrol = [{"campaign": row_id, "contact": int(c["id"][i]), "status": 1, "duplicate_contact": c["contact"][i],
                  "disposition": None, "last_attempt": NULL_TS} for i in active if int(c["id"][i]) not in known]
        if enrol:
            self._insert_many(acc, "subscribers", enrol)
            camps.set(pos, "totalcontact", int(camps.cols["totalcontact"][pos]) + len(enrol))

    def _validate(self, acc: AccountData, endpoint: str, body: Any, partial: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiProblem(400, {"non_field_errors": ["Invalid data. Expected a dictionary."]})
        spec = WRITES[endpoint]
        tbl = acc.tables[F.TABLE_OF_PATH[endpoint]]
        errors: dict[str, list[str]] = {}
        out: dict[str, Any] = {}
        for name, (required, related) in spec.items():
            if name not in body or body[name] in (None, ""):
                if required and not partial:
                    errors[name] = ["This field is required."]
                continue
            try:
                out[name] = self._value(acc, tbl, name, body[name], related)
            except ValueError as exc:
                errors[name] = [str(exc)]
        if errors:
            raise ApiProblem(400, errors)
        return out

    def _value(self, acc: AccountData, tbl: Table, name: str, raw: Any, related: str | None) -> Any:
        if related:
            many = isinstance(raw, list)
            vals = [_int(v) for v in (raw if many else [raw])]
            for v in vals:
                if acc.tables[related].pos_of(v) is None:
                    raise ValueError(f'Invalid pk "{v}" - object does not exist.')
            return vals if many or (name == "phonebook" and tbl.name == "campaigns") else vals[0]
        f = tbl.field_by_name.get(name)
        kind = f.kind if f else "obj"
        if kind in ("int", "nint"):
            return _int(raw)
        if kind == "bool":
            return _as_bool(name, str(raw))
        if kind == "ts":
            try:
                return parse_datetime(str(raw), self.habits.naive_as_local)
            except ValueError:
                raise ValueError("Datetime has wrong format.") from None
        if kind == "json":
            if isinstance(raw, str):
                try:
                    orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise ValueError("Value must be valid JSON.") from None
                return raw
            return orjson.dumps(raw).decode()
        return str(raw)

    def _create_contact(self, acc: AccountData, values: dict[str, Any]) -> tuple[int, list[int]]:
        ids, sub_ids = self._create_contacts(acc, [values])
        return ids[0], sub_ids

    def _create_contacts(self, acc: AccountData, batch: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
        """Insert contacts; an active one is enrolled at once in every started campaign using its phonebook."""
        if not batch:
            return [], []
        ids = self._insert_many(acc, "contacts", batch)
        camps = acc.tables["campaigns"]
        enrol = []
        for row_id, values in zip(ids, batch, strict=True):
            if int(values.get("status", 1)) != 1:
                continue
            for ci in range(len(camps)):
                if camps.cols["status"][ci] == 1 and values["phonebook"] in camps.cols["phonebook"][ci]:
                    enrol.append({"campaign": int(camps.cols["id"][ci]), "contact": row_id, "status": 1,
                                  "duplicate_contact": values["contact"], "disposition": None,
                                  "last_attempt": NULL_TS})
                    camps.cols["totalcontact"][ci] += 1
        return ids, self._insert_many(acc, "subscribers", enrol) if enrol else []

    def _insert_many(self, acc: AccountData, table: str, batch: list[dict[str, Any]]) -> list[int]:
        """Append rows given as field dicts; missing fields get defaults, dates now. Returns the new ids."""
        tbl = acc.tables[table]
        now = now_us()
        ids = self.ids.take(table, len(batch))
        columns: dict[str, list] = {}
        for c, kind in tbl.kinds.items():
            if c == "id":
                columns[c] = ids
                continue
            if c == "user":
                default = acc.user_id
            elif c in DEFAULTS:
                default = DEFAULTS[c]
            elif kind == "ts":
                # an alarm without date_start_notice rings now, as the API page says
                default = now if c in ("created_date", "updated_date", "created_on", "date_start_notice") else NULL_TS
            else:
                default = {"int": 0, "nint": NULL_INT, "bool": False, "json": "{}", "obj": ""}.get(kind, 0)
            columns[c] = [values.get(c, default) for values in batch]
        if table == "campaigns":
            columns["phonebook"] = [v if isinstance(v, list) else [v] for v in columns["phonebook"]]
        contacts_fresh = table == "contacts" and acc.numbers_version == tbl.version
        tbl.append(columns)
        if contacts_fresh:  # keep the duplicate-check set current without rebuilding it
            acc.numbers.update(columns["contact"])
            acc.numbers_version = tbl.version
        return ids.tolist()

    def _rendered(self, acc: AccountData, table: str, row_id: int) -> dict:
        tbl = acc.tables[table]
        return tbl.render(np.array([tbl.pos_of(row_id)]), self.habits.vn_offset, self.habits.json_as_string)[0]


DEFAULTS: dict[str, Any] = {"status": 1, "tts_language": "vi", "country": "", "caller_name": "", "secondused": None,
                            "count_in_use": None, "maximum_call": None, "failover": None, "max_concurrent": 5,
                            "callmaxduration": 1800, "maxretry": 0, "intervalretry": 3600,
                            "completion_maxretry": 0, "completion_intervalretry": 3600}


def _int(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValueError("A valid integer is required.") from None


def _as_int(param: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ApiProblem(400, {param: ["Enter a number."]}) from None


def _as_bool(param: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise ApiProblem(400, {param: ["Select a valid choice."]})
