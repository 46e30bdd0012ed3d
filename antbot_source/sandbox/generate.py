"""The deterministic seeded world of one account: vectorised numpy generation of every table."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import orjson

from antbot_source.sandbox import fields as F
from antbot_source.sandbox.table import NULL_INT, NULL_TS, US, VN_OFFSET_US, Table

DAY = 86_400 * US
HOUR = 3_600 * US
MOBILE_PREFIXES = np.array([32, 33, 34, 35, 36, 37, 38, 39, 56, 58, 59, 70, 76, 77, 78, 79,
                            81, 82, 83, 84, 85, 86, 88, 89, 90, 91, 93, 94, 96, 97, 98])
LAST_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
              "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE_NAMES = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hữu", "Quốc", "Thu", "Đức", "Hoài"]
FIRST_NAMES = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương",
               "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Ngọc", "Phương", "Quang", "Tâm",
               "Thảo", "Thu", "Trang", "Tuấn", "Việt", "Vy", "Yến"]
CITIES = ["Hồ Chí Minh", "Hà Nội", "Đà Nẵng", "Cần Thơ", "Hải Phòng", "Biên Hòa", "Nha Trang"]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "fpt.vn", "vnpt.vn"]
ALL_DAYS = (True,) * 7
WEEKDAYS_ONLY = (True,) * 5 + (False, False)
MON_SAT = (True,) * 6 + (False,)
WEEKEND = (False,) * 5 + (True, True)
DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass(frozen=True)
class CampaignSpec:
    """The shape of one seeded campaign (dates in days relative to now)."""

    name: str
    status: int
    window: tuple[str, str]
    days: tuple[bool, ...]
    gateway: int  # index into the account's gateways
    template: int  # index into the account's survey templates
    phonebooks: tuple[int, ...]  # indexes into the account's phonebooks
    start_days: float
    end_days: float
    calls_until_days: float = 0.0  # no calls after now + this (paused / ended campaigns)
    amd: bool = True
    broken: bool = False  # every call fails (congestion): a campaign with no answered call


CAMPAIGNS = [
    CampaignSpec("Nhắc phí tháng này", 1, ("08:00:00", "21:00:00"), ALL_DAYS, 0, 0, (0,), -30, 30),
    CampaignSpec("Khảo sát CSKH", 1, ("09:00:00", "18:00:00"), MON_SAT, 1, 1, (1, 2), -29, 20, amd=False),
    CampaignSpec("Xác nhận đơn hàng", 1, ("06:00:00", "22:00:00"), ALL_DAYS, 0, 2, (3,), -30, 45),
    CampaignSpec("Tái tục bảo hiểm", 4, ("08:00:00", "20:00:00"), WEEKDAYS_ONLY, 2, 0, (4,), -30, -6, -6),
    CampaignSpec("Khuyến mãi cuối tuần", 5, ("08:00:00", "21:00:00"), WEEKEND, 1, 4, (5,), -28, -1, -1),
    CampaignSpec("Thu hồi nợ nhóm 2", 3, ("08:00:00", "20:00:00"), ALL_DAYS, 3, 3, (2,), -20, 10, -3,
                 broken=True),
    CampaignSpec("Chiến dịch Tết (chờ chạy)", 2, ("08:00:00", "20:00:00"), ALL_DAYS, 0, 2, (6,), 3, 40),
]
PHONEBOOK_NAMES = ["Khách hàng HCM", "Khách hàng Hà Nội", "Nợ quá hạn", "Đơn hàng online", "Bảo hiểm",
                   "Khách hàng thân thiết", "Khách hàng Tết", "Danh sách mới"]
GATEWAY_NAMES = ["AliceGW-Viettel", "AliceGW-Mobifone", "AliceGW-Vinaphone", "AliceGW-Backup"]
SURVEY_TEMPLATE = 1  # "Khảo sát hài lòng": its campaigns collect several answers
# collected_data as some deployments write it: empty, cut short, not JSON, a bare value
ODD_COLLECTED = ["", "{}", '{"q1": "2", "rating": ', "q1=2;rating=4", "5", '["1", "4"]']
TEMPLATES = [("Nhắc phí", "vi", True), ("Khảo sát hài lòng", "vi", False), ("Xác nhận đơn hàng", "vi", False),
             ("Nhắc nợ", "vi", False), ("Appointment reminder", "en", False)]


class IdSequence:
    """One id sequence per table, shared by all accounts (ids are global, as in one database)."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str, n: int) -> np.ndarray:
        start = self.next.get(table, 1)
        self.next[table] = start + n
        return np.arange(start, start + n, dtype=np.int64)


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as S36 bytes."""
    b = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    nib = np.empty((n, 32), dtype=np.uint8)
    nib[:, 0::2] = b >> 4
    nib[:, 1::2] = b & 15
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nib]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for dst, src in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        width = 12 if dst == 24 else (8 if dst == 0 else 4)
        out[:, dst:dst + width] = chars[:, src:src + width]
    return out.view("S36").ravel()


def phone_numbers(rng: np.random.Generator, n: int, mixed: bool = True) -> np.ndarray:
    """Vietnamese mobile numbers as lists hold them: 0912345678, +84912345678 or 84912345678."""
    nsn = rng.choice(MOBILE_PREFIXES, n) * 10_000_000 + rng.integers(0, 10_000_000, n)
    style = rng.choice(3, n, p=[0.6, 0.25, 0.15]) if mixed else np.zeros(n, dtype=int)
    prefix = ("0", "+84", "84")
    return obj_array([prefix[s] + str(v) for s, v in zip(style.tolist(), nsn.tolist(), strict=True)])


def reformat(number: str) -> str:
    """The same Vietnamese number in another of the three formats."""
    nsn = number.removeprefix("+").removeprefix("84") if not number.startswith("0") else number[1:]
    return "+84" + nsn if number.startswith("0") else "0" + nsn


def obj_array(values: list) -> np.ndarray:
    return np.fromiter(values, dtype=object, count=len(values))


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d")).encode("ascii", "ignore").decode()


def hms(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return (h * 3600 + m * 60 + s) * US


def window_times(rng: np.random.Generator, n: int, start: int, end: int, window: tuple[str, str],
                 days: tuple[bool, ...]) -> np.ndarray:
    """n call times (epoch us) between start and end, on allowed weekdays, inside the daily window (VN time)."""
    first, last = (start + VN_OFFSET_US) // DAY, (end + VN_OFFSET_US) // DAY
    all_days = np.arange(first, last + 1)
    allowed = all_days[np.array(days)[(all_days + 3) % 7]]  # 1970-01-01 was a Thursday
    if len(allowed) == 0 or n == 0:
        return np.full(n, max(start, end - HOUR), dtype=np.int64)
    lo, hi = hms(window[0]), hms(window[1])
    t = rng.choice(allowed, n) * DAY + rng.integers(lo, hi, n) - VN_OFFSET_US
    bad = (t < start) | (t > end)
    inner = allowed[(allowed > first) & (allowed < last)]
    if bad.any() and len(inner):
        t[bad] = rng.choice(inner, int(bad.sum())) * DAY + rng.integers(lo, hi, int(bad.sum())) - VN_OFFSET_US
    return np.clip(t, start, end)


class AccountGenerator:
    """Builds every table of one account into `tables`, drawing ids from the shared sequence."""

    def __init__(self, tables: dict[str, Table], ids: IdSequence, seed: int, account_no: int, user_id: int,
                 n_cdrs: int, now_us: int) -> None:
        self.t = tables
        self.ids = ids
        self.rng = np.random.default_rng([seed, account_no])
        self.seed_key = [seed, account_no]  # extra streams of draws (`extra_rng`) leave self.rng's draws as they were
        self.user = user_id
        self.n_cdrs = n_cdrs
        self.now = now_us
        self.tag = "" if account_no == 0 else f" ({account_no})"

    def extra_rng(self, stream: int) -> np.random.Generator:
        """A random generator of its own, for draws added to the world after self.rng's sequence was set."""
        return np.random.default_rng([*self.seed_key, stream])

    def past(self, n: int, lo_days: float, hi_days: float) -> np.ndarray:
        """n timestamps between now - hi_days and now - lo_days."""
        return self.now - (self.rng.uniform(lo_days, hi_days, n) * DAY).astype(np.int64)

    def build(self) -> None:
        self.gateways()
        self.templates()
        self.phonebooks()
        self.contacts()
        self.campaigns()
        self.dnc()
        self.calendar()
        self.cdrs()

    def gateways(self) -> None:
        n = len(GATEWAY_NAMES)
        created = self.past(n, 300, 700)
        names = [g + self.tag.replace(" ", "") for g in GATEWAY_NAMES]
        self.t["gateways"].append({
            "id": self.ids.take("gateways", n), "name": names, "status": [1, 1, 1, 1], "description": names,
            "addprefix": [""] * n, "removeprefix": ["", "", "84", ""], "gateways": [f"sofia/gateway/{g}/" for g in names],
            "subdomain": ["company"] * n, "gateway_codecs": ["PCMA,PCMU"] * n, "gateway_timeouts": ["10"] * n,
            "gateway_retries": ["", "2", "", ""], "originate_dial_string": [""] * n, "secondused": [None] * n,
            "created_date": created, "updated_date": created + (self.rng.uniform(0, 200, n) * DAY).astype(np.int64),
            "addparameter": [""] * n, "count_call": self.rng.integers(0, 40, n), "count_in_use": [None] * n,
            "maximum_call": [30, 30, 20, None], "is_trial": [False, False, False, True], "failover": [None] * n,
        })

    def templates(self) -> None:
        n = len(TEMPLATES)
        created = self.past(n, 60, 200)
        tids = self.ids.take("survey_templates", n)
        self.t["survey_templates"].append({
            "id": tids, "name": [t[0] for t in TEMPLATES], "tts_language": [t[1] for t in TEMPLATES],
            "description": [f"Kịch bản {t[0].lower()}" for t in TEMPLATES], "is_onboarding": [t[2] for t in TEMPLATES],
            "user": [self.user] * n, "created_date": created, "updated_date": created + DAY,
        })
        per = self.rng.integers(3, 6, n)
        m = int(per.sum())
        stype = self.rng.choice([1, 2, 3, 4, 5, 6, 7, 9, 10], m, p=[0.3, 0.2, 0.1, 0.1, 0.05, 0.1, 0.1, 0.03, 0.02])
        order = np.concatenate([np.arange(1, k + 1) for k in per.tolist()])
        sec_created = np.repeat(created, per) + HOUR
        self.t["section_templates"].append({
            "id": self.ids.take("section_templates", m), "type": stype, "survey": np.repeat(tids, per),
            "question": [f"Câu {o}" for o in order.tolist()],
            "script": [f"Xin chào, đây là tin nhắn số {o} từ AntBuddy." for o in order.tolist()],
            "order": order, "created_date": sec_created, "updated_date": sec_created,
        })

    def phonebooks(self) -> None:
        n = len(PHONEBOOK_NAMES)
        created = self.past(n, 40, 150)
        self.t["phonebooks"].append({
            "id": self.ids.take("phonebooks", n), "name": [p + self.tag for p in PHONEBOOK_NAMES],
            "description": [f"Danh bạ {p.lower()}" for p in PHONEBOOK_NAMES], "user": [self.user] * n,
            "created_date": created, "updated_date": created + (self.rng.uniform(0, 30, n) * DAY).astype(np.int64),
        })

    def contacts(self) -> None:
        rng = self.rng
        n = int(np.clip(self.n_cdrs * 0.4, 120, 400_000))
        pb_ids = self.t["phonebooks"].ids()
        weights = np.array([0.2, 0.12, 0.1, 0.2, 0.12, 0.1, 0.12, 0.04])
        pb = np.sort(rng.choice(pb_ids, n, p=weights / weights.sum()))
        phones = phone_numbers(rng, n)
        dup = rng.random(n) < 0.02  # the same number in two lists, as real lists have
        phones[dup] = phones[rng.integers(0, n, int(dup.sum()))]
        mid_i = rng.integers(0, len(MIDDLE_NAMES), n)
        first_i = rng.integers(0, len(FIRST_NAMES), n)
        combos = obj_array([f"{m} {f}" for m in MIDDLE_NAMES for f in FIRST_NAMES])
        first = combos[mid_i * len(FIRST_NAMES) + first_i]
        first_ascii = [_ascii(f).lower() for f in FIRST_NAMES]
        last_ascii = [_ascii(n).lower() for n in LAST_NAMES]
        has_mail = rng.random(n) < 0.7
        dom = rng.integers(0, len(EMAIL_DOMAINS), n)
        num = rng.integers(1, 9999, n)
        li = rng.integers(0, len(LAST_NAMES), n)
        last = obj_array(LAST_NAMES)[li]
        emails = obj_array([
            f"{first_ascii[f]}.{last_ascii[x]}{k}@{EMAIL_DOMAINS[d]}" if m else ""
            for f, x, k, d, m in zip(first_i.tolist(), li.tolist(), num.tolist(), dom.tolist(), has_mail.tolist(),
                                     strict=True)
        ])
        amount = rng.integers(1, 500, n) * 10_000
        with_vars = rng.random(n) < 0.8
        code = rng.integers(1, 999_999, n)
        avars = obj_array([
            orjson.dumps({"ma_kh": f"KH{c:06d}", "so_tien": str(a)}).decode() if w else "{}"
            for c, a, w in zip(code.tolist(), amount.tolist(), with_vars.tolist(), strict=True)
        ])
        created = self.past(n, 35, 120)
        updated = np.minimum(created + (rng.exponential(5, n) * DAY).astype(np.int64), self.now - HOUR)
        self.t["contacts"].append({
            "id": self.ids.take("contacts", n), "phonebook": pb, "contact": phones,
            "status": (rng.random(n) < 0.93).astype(np.int64), "last_name": last, "first_name": first,
            "email": emails, "description": obj_array(["", "Khách VIP", "Khách mới"])[rng.choice(3, n, p=[0.85, 0.05, 0.1])],
            "address": [""] * n, "city": obj_array(CITIES)[rng.integers(0, len(CITIES), n)], "country": ["VN"] * n,
            "additional_vars": avars, "created_date": created, "updated_date": np.maximum(updated, created),
        })

    def campaigns(self) -> None:
        rng, specs = self.rng, CAMPAIGNS
        n = len(specs)
        pb_ids = self.t["phonebooks"].ids()
        gw_ids = self.t["gateways"].ids()
        tpl_ids = self.t["survey_templates"].ids()
        cids = self.ids.take("campaigns", n)
        contacts = self.t["contacts"].cols
        sub_rows: dict[str, list] = {k: [] for k in ("campaign", "contact", "duplicate_contact", "created_date")}
        for cid, spec in zip(cids.tolist(), specs, strict=True):
            pbs = pb_ids[list(spec.phonebooks)]
            sel = np.flatnonzero(np.isin(contacts["phonebook"], pbs) & (contacts["status"] == 1))
            start = self.now + int(spec.start_days * DAY)
            sub_rows["campaign"].append(np.full(len(sel), cid))
            sub_rows["contact"].append(contacts["id"][sel])
            sub_rows["duplicate_contact"].append(contacts["contact"][sel])
            sub_rows["created_date"].append(np.full(len(sel), min(start, self.now - DAY)) + rng.integers(0, HOUR, len(sel)))
        sub = {k: np.concatenate(v) for k, v in sub_rows.items()}
        m = len(sub["campaign"])
        sub.update({
            "id": self.ids.take("subscribers", m), "status": np.ones(m, dtype=np.int64),
            "count_attempt": np.zeros(m, dtype=np.int64), "completion_count_attempt": np.zeros(m, dtype=np.int64),
            "last_attempt": np.full(m, NULL_TS), "duration": np.zeros(m, dtype=np.int64),
            "billsec": np.zeros(m, dtype=np.int64), "disposition": obj_array([None] * m), "collected_data": obj_array(["{}"] * m),
            "updated_date": sub["created_date"].copy(),
        })
        self.subs = sub  # filled in by cdrs(), appended to the table there
        self.t["campaigns"].append({
            "id": cids, "name": [s.name + self.tag for s in specs], "description": [f"Chiến dịch {s.name.lower()}" for s in specs],
            "callerid": [f"0287300{1000 + i}" for i in range(n)], "caller_name": ["AntBuddy"] * n,
            "status": [s.status for s in specs], "phonebook": [pb_ids[list(s.phonebooks)].tolist() for s in specs],
            "aleg_gateway": [gw_ids[s.gateway] for s in specs], "object_id": [tpl_ids[s.template] for s in specs],
            "frequency": rng.choice([10, 20, 30, 60], n), "callmaxduration": [1800] * n,
            "maxretry": rng.integers(2, 4, n), "intervalretry": [3600] * n, "completion_maxretry": [1] * n,
            "completion_intervalretry": [3600] * n,
            "startingdate": [self.now + int(s.start_days * DAY) for s in specs],
            "expirationdate": [self.now + int(s.end_days * DAY) for s in specs],
            "daily_start_time": [s.window[0] for s in specs], "daily_stop_time": [s.window[1] for s in specs],
            **{d: [s.days[i] for s in specs] for i, d in enumerate(DAY_NAMES)},
            "totalcontact": np.zeros(n, dtype=np.int64), "completed": np.zeros(n, dtype=np.int64),
        })
        scre = self.past(n, 30, 31)
        self.t["surveys"].append({
            "id": self.ids.take("surveys", n), "name": [f"{TEMPLATES[s.template][0]} - {s.name}" for s in specs],
            "tts_language": [TEMPLATES[s.template][1] for s in specs], "description": [s.name for s in specs],
            "campaign": cids, "user": [self.user] * n, "created_date": scre, "updated_date": scre,
        })

    def dnc(self) -> None:
        rng = self.rng
        created = self.past(2, 50, 90)
        dnc_ids = self.ids.take("dnc_lists", 2)
        self.t["dnc_lists"].append({
            "id": dnc_ids, "name": ["DNC khách từ chối", "DNC nội bộ"], "description": ["Khách yêu cầu không gọi", "Số nội bộ"],
            "user": [self.user] * 2, "created_date": created, "updated_date": created,
        })
        m = len(self.subs["id"])
        k = max(3, m // 100)
        picked = rng.choice(m, min(k, m), replace=False)
        exact = rng.random(len(picked)) < 0.8  # the rest is stored in another format: exact matching misses it
        numbers = [n if e else reformat(n) for n, e in zip(self.subs["duplicate_contact"][picked].tolist(), exact.tolist(),
                                                           strict=True)]
        extra = phone_numbers(rng, max(2, k // 4)).tolist()
        numbers += extra
        self.dnc_blocked = picked[exact]
        self.subs["status"][self.dnc_blocked] = 7
        n = len(numbers)
        created = self.past(n, 1, 40)
        self.t["dnc_contacts"].append({
            "id": self.ids.take("dnc_contacts", n), "dnc": rng.choice(dnc_ids, n, p=[0.85, 0.15]),
            "phone_number": numbers, "created_date": created, "updated_date": created,
        })

    def calendar(self) -> None:
        rng = self.rng
        gw = self.t["gateways"].ids()
        tpl = self.t["survey_templates"].ids()
        created = self.past(2, 100, 200)
        set_ids = self.ids.take("calendar_settings", 2)
        self.t["calendar_settings"].append({
            "id": set_ids, "label": ["Lịch hẹn phòng khám", "Lịch giao hàng"], "callerid": ["02873009999", "02873008888"],
            "caller_name": ["", "Giao hàng"], "call_timeout": [60, 45], "survey": [tpl[4], tpl[2]],
            "aleg_gateway": [gw[0], gw[1]], "user": [self.user] * 2, "created_date": created, "updated_date": created,
        })
        uids = self.ids.take("calendar_users", 3)
        self.t["calendar_users"].append({
            "id": uids, "username": [f"cal-user-{i}{self.tag.strip(' ()')}" for i in range(1, 4)],
            "calendar_setting": [set_ids[0], set_ids[0], set_ids[1]], "created_date": self.past(3, 90, 100),
        })
        cal_ids = self.ids.take("calendars", 3)
        self.t["calendars"].append({
            "id": cal_ids, "name": ["Phòng khám Q1", "Phòng khám Q3", "Kho Thủ Đức"], "user": uids,
            "max_concurrent": [5, 5, 10], "created_date": self.past(3, 80, 90),
        })
        n = int(np.clip(self.n_cdrs // 50, 10, 2000))
        ev_ids = self.ids.take("events", n)
        start = self.now + (rng.uniform(-30, 7, n) * DAY).astype(np.int64)
        past = start < self.now
        status = np.where(past, rng.choice([2, 3], n, p=[0.9, 0.1]), rng.choice([1, 3], n, p=[0.9, 0.1]))
        parent = np.where(rng.random(n) < 0.1, np.roll(ev_ids, 1), NULL_INT)
        parent[0] = NULL_INT
        phones = phone_numbers(rng, n, mixed=False)
        self.t["events"].append({
            "id": ev_ids, "title": [f"Lịch hẹn #{i}" for i in ev_ids.tolist()], "description": [""] * n,
            "start": start, "end": start + rng.choice([30, 45, 60], n) * 60 * US, "creator": rng.choice(uids, n),
            "calendar": rng.choice(cal_ids, n), "status": status,
            "data": [orjson.dumps({"phone": p, "note": "tái khám"}).decode() for p in phones.tolist()],
            "created_on": np.minimum(start - DAY, self.now - HOUR), "parent_event": parent,
            "occ_count": np.where(parent == NULL_INT, 0, 1),
        })
        a_status = np.where(past, rng.choice([5, 3, 4], n, p=[0.7, 0.2, 0.1]), 1)
        if past.any():  # the latest reminder due is being called (in process)
            a_status[np.flatnonzero(past)[np.argmax(start[past])]] = 2
        result = np.where(a_status == 5, rng.choice([1, 2, 3], n, p=[0.7, 0.2, 0.1]), 0)
        attempts = np.where(past, rng.integers(1, 4, n), 0)
        a_created = start - 2 * DAY
        self.t["alarms"].append({
            "id": self.ids.take("alarms", n), "alarm_phonenumber": phones, "date_start_notice": start - HOUR,
            "phonenumber_transfer": obj_array(["", "19001234"])[rng.choice(2, n, p=[0.8, 0.2])], "event": ev_ids,
            "status": a_status, "result": result, "survey": [tpl[4]] * n, "maxretry": [3] * n,
            "retry_count": np.maximum(attempts - 1, 0), "num_attempt": attempts,
            "created_date": np.minimum(a_created, self.now - HOUR),
            "updated_date": np.minimum(np.where(past, start, a_created), self.now - HOUR),
        })
        self.alarm_phones = phones

    def cdrs(self) -> None:
        rng, n_total = self.rng, self.n_cdrs
        n_alarm, n_otp, n_bleg = round(n_total * 0.03), round(n_total * 0.03), round(n_total * 0.01)
        n_campaign = max(n_total - n_alarm - n_otp - n_bleg, 0)
        camps = self.t["campaigns"].cols
        subs = self.subs
        calling = [i for i, s in enumerate(CAMPAIGNS) if s.start_days < 0]
        eligible_by_c = {}
        blocked = np.zeros(len(subs["id"]), dtype=bool)
        blocked[self.dnc_blocked] = True
        for i in calling:
            eligible_by_c[i] = np.flatnonzero((subs["campaign"] == camps["id"][i]) & ~blocked)
        sizes = np.array([len(eligible_by_c[i]) for i in calling], dtype=float)
        share = sizes / sizes.sum() if sizes.sum() else np.full(len(calling), 1 / max(len(calling), 1))
        per_c = rng.multinomial(n_campaign, share) if calling else []
        parts = []
        for i, m in zip(calling, per_c, strict=True):
            if m and len(eligible_by_c[i]):
                parts.append(self._campaign_calls(i, int(m), eligible_by_c[i]))
            elif m:
                n_otp += int(m)
        camp = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else None
        bleg = self._b_legs(camp, n_bleg) if camp is not None else None
        n_otp += n_bleg - (len(bleg["id_order"]) if bleg is not None else 0)
        pieces = [p for p in (camp, bleg, self._loose_calls(n_alarm, alarm=True), self._loose_calls(n_otp, alarm=False))
                  if p is not None]
        cdr = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
        n = len(cdr["starting_date"])
        # ids follow the order rows were written (after hangup, by parallel workers): nearly, not exactly, by date
        written = cdr["starting_date"] + (cdr["duration"] * US) + rng.integers(0, 120 * US, n)
        ids = np.empty(n, dtype=np.int64)
        ids[np.argsort(written, kind="stable")] = self.ids.take("cdr", n)
        cdr.pop("id_order")
        cdr.update({"id": ids, "callid": uuids(rng, n), "request_uuid": uuids(rng, n), "user": np.full(n, self.user)})
        self.t["cdr"].append(cdr)
        self._finish_subscribers()

    def _campaign_calls(self, ci: int, m: int, eligible: np.ndarray) -> dict[str, np.ndarray]:
        """m calls of campaign ci to its eligible subscribers; the subscribers' aggregates are updated."""
        rng, spec, subs = self.rng, CAMPAIGNS[ci], self.subs
        camps = self.t["campaigns"].cols
        start = self.now + int(spec.start_days * DAY)
        end = min(self.now + int(spec.calls_until_days * DAY), self.now + int(spec.end_days * DAY)) - 60 * US
        sub = rng.choice(eligible, m)
        t = window_times(rng, m, start, end, spec.window, spec.days)
        order = np.lexsort((t, sub))
        sub, t = sub[order], t[order]
        is_last = np.append(sub[1:] != sub[:-1], True)
        u = rng.random(m)
        answered = np.where(is_last, u < 0.8, u < 0.35) & (not spec.broken)
        weights = F.BROKEN_WEIGHTS if spec.broken else F.NOANSWER_WEIGHTS
        cause = np.where(answered, F.ANSWER, 1 + rng.choice(len(weights), m, p=weights / weights.sum()))
        if spec.amd:
            amd = np.where(is_last, rng.choice([1, 3], m, p=[0.93, 0.07]), rng.choice([2, 1], m, p=[0.75, 0.25]))
            amd = np.where(answered, amd, NULL_INT)
        else:
            amd = np.full(m, NULL_INT)
        talk = np.clip(rng.lognormal(np.log(45), 1.0, m), 1, 1800).astype(np.int64)
        short = rng.integers(3, 25, m)
        billsec = np.where(answered, np.where(is_last & (amd != 2), talk, short), 0)
        duration = self._ring(cause) + billsec
        # subscriber aggregates: attempts, answered attempts, the last call's outcome
        first = np.flatnonzero(np.insert(sub[1:] != sub[:-1], 0, True))
        counts = np.diff(np.append(first, m))
        n_answered = np.add.reduceat(answered.astype(np.int64), first)
        last = np.flatnonzero(is_last)
        who = sub[last]
        subs["count_attempt"][who] = counts
        subs["completion_count_attempt"][who] = np.maximum(n_answered - 1, 0)
        subs["last_attempt"][who] = t[last] + duration[last] * US
        subs["duration"][who] = duration[last]
        subs["billsec"][who] = billsec[last]
        subs["disposition"][who] = F.DISPOSITION[cause[last]]
        subs["updated_date"][who] = np.where(rng.random(len(last)) < 0.8, t[last] + duration[last] * US,
                                             subs["updated_date"][who])
        done = answered[last]
        completed = done & (rng.random(len(last)) < 0.7)
        maxretry = int(camps["maxretry"][ci])
        status = np.where(completed, 8, np.where(done, 5, np.where(counts > maxretry, 4, 1)))
        if spec.status in (4, 5):
            status = np.where(status == 1, 4, status)
        subs["status"][who] = status
        answers = [{"q1": str(a), "rating": str(r)}
                   for a, r in zip(rng.integers(1, 3, int(completed.sum())).tolist(),
                                   rng.integers(1, 6, int(completed.sum())).tolist(), strict=True)]
        subs["collected_data"][who[completed]] = self._collected(ci, answers)
        return {
            "starting_date": t, "duration": duration, "billsec": billsec, "cause": cause.astype(np.int16),
            "leg_type": np.ones(m, dtype=np.int64), "amd_status": amd,
            "campaign": np.full(m, camps["id"][ci]), "subscriber": subs["id"][sub],
            "used_gateway": np.full(m, camps["aleg_gateway"][ci]), "alarm": np.zeros(m, dtype=bool),
            "otp": np.zeros(m, dtype=bool), "callerid": np.full(m, camps["callerid"][ci], dtype=object),
            "phone_number": subs["duplicate_contact"][sub], "id_order": np.zeros(m, dtype=np.int64),
        }

    def _collected(self, ci: int, answers: list[dict]) -> list[str]:
        """The `collected_data` text of completed subscribers: their answers as JSON, except a few that
        come empty, malformed or as a bare value; the survey campaign asks more, one answer nested."""
        rng = self.extra_rng(100 + ci)
        n = len(answers)
        if CAMPAIGNS[ci].template == SURVEY_TEMPLATE:
            recommend = rng.choice(["yes", "no", "maybe"], n, p=[0.6, 0.3, 0.1]).tolist()
            topic = rng.choice(["price", "service", "delivery"], n).tolist()
            callback = (rng.random(n) < 0.3).tolist()
            answers = [{**a, "recommend": r, "feedback": {"topic": t, "callback": c}}
                       for a, r, t, c in zip(answers, recommend, topic, callback, strict=True)]
        texts = [orjson.dumps(a).decode() for a in answers]
        odd = rng.choice(len(ODD_COLLECTED), n)
        for i in np.flatnonzero(rng.random(n) < 0.05).tolist():
            texts[i] = ODD_COLLECTED[odd[i]]
        return texts

    def _ring(self, cause: np.ndarray) -> np.ndarray:
        lo = np.array([F.DURATION_RING[d][0] for d in F.DISPOSITION])
        hi = np.array([F.DURATION_RING[d][1] for d in F.DISPOSITION])
        return (lo[cause] + self.rng.random(len(cause)) * (hi[cause] - lo[cause])).astype(np.int64)

    def _b_legs(self, camp: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray] | None:
        """Transfers: B-legs of answered person calls that talked for more than 30 s."""
        cand = np.flatnonzero((camp["cause"] == F.ANSWER) & (camp["billsec"] > 30) & (camp["amd_status"] != 2))
        if n == 0 or len(cand) == 0:
            return None
        pick = self.rng.choice(cand, min(n, len(cand)), replace=False)
        k = len(pick)
        b = {c: v[pick].copy() for c, v in camp.items()}
        into = (b["billsec"] * self.rng.uniform(0.2, 0.8, k)).astype(np.int64)
        b["starting_date"] = b["starting_date"] + (b["duration"] - b["billsec"] + into) * US
        b["billsec"] = b["billsec"] - into
        b["duration"] = b["billsec"] + self.rng.integers(2, 10, k)
        b["leg_type"][:] = 2
        b["amd_status"][:] = NULL_INT
        b["callerid"] = b["phone_number"]
        b["phone_number"] = obj_array(["19001234"] * k)
        return b

    def _loose_calls(self, n: int, alarm: bool) -> dict[str, np.ndarray] | None:
        """Calls outside campaigns: appointment alarms (07:00-20:00) or OTP calls (any hour)."""
        if n == 0:
            return None
        rng = self.rng
        start = self.now - 30 * DAY
        if alarm:
            t = window_times(rng, n, start, self.now - 60 * US, ("07:00:00", "20:00:00"), ALL_DAYS)
            phones = self.alarm_phones[rng.integers(0, len(self.alarm_phones), n)]
            answered = rng.random(n) < 0.65
            setting = 0
        else:
            t = start + rng.integers(0, 30 * DAY - 60 * US, n)
            phones = phone_numbers(rng, n, mixed=False)
            answered = rng.random(n) < 0.75
            setting = 1
        w = F.NOANSWER_WEIGHTS
        cause = np.where(answered, F.ANSWER, 1 + rng.choice(len(w), n, p=w / w.sum()))
        billsec = np.where(answered, rng.integers(8, 40 if not alarm else 120, n), 0)
        cs = self.t["calendar_settings"].cols
        return {
            "starting_date": t, "duration": self._ring(cause) + billsec, "billsec": billsec,
            "cause": cause.astype(np.int16), "leg_type": np.ones(n, dtype=np.int64),
            "amd_status": np.full(n, NULL_INT), "campaign": np.full(n, NULL_INT), "subscriber": np.full(n, NULL_INT),
            "used_gateway": np.full(n, cs["aleg_gateway"][setting]), "alarm": np.full(n, alarm),
            "otp": np.full(n, not alarm), "callerid": np.full(n, cs["callerid"][setting] if alarm else "AntOTP", dtype=object),
            "phone_number": phones, "id_order": np.zeros(n, dtype=np.int64),
        }

    def _finish_subscribers(self) -> None:
        subs = self.subs
        camps = self.t["campaigns"]
        for i, spec in enumerate(CAMPAIGNS):
            mine = subs["campaign"] == camps.cols["id"][i]
            if spec.status in (4, 5):  # finished campaigns: whoever was never called was aborted
                subs["status"][mine & (subs["status"] == 1)] = 3
            camps.cols["totalcontact"][i] = int(mine.sum())
            camps.cols["completed"][i] = int((mine & (subs["status"] == 8)).sum())
        self.t["subscribers"].append(subs)
