"""Applying a plan: batched, bounded-concurrency writes, each announced in the ledger before it is sent.

Exactly-once effect rests on three rules: a row is written to the ledger as `sending` before its
request leaves; a request whose effect is unknown (timeout, 5xx, a bulk call that failed part-way)
is never resent blindly but settled by reading the target back; and every run plans against what
the API holds now, so a push killed at any point and run again creates only what is missing.

`bulkcontact/` stops at the first number held by any phonebook of the account, so a batch is sent as
a stream of windows: a stop halves the window, a full answer doubles it, and a window of one becomes
a run of `contact/` creates (which take such numbers) that doubles each time the trial of two after it
stops again. Each row is announced once while it waits, whatever the number of stops: the ledger
and the requests grow linearly with the batch even when every number is held elsewhere.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from antbot_source.errors import ApiError, UnreachableError
from antbot_source.push import ledger as L
from antbot_source.push.ledger import PushLedger
from antbot_source.push.plan import PUSH_TARGETS, Client, Plan, Update, read_existing
from antbot_source.push.validate import Item, number_key

BULK, SINGLE, DNC, PUT = "bulk_create", "single_create", "dnc_create", "update"
MAX_ROUNDS = 3  # send, settle by looking, resend what is missing: at most this many times per row
T = TypeVar("T")
_DUPLICATE = re.compile(r"duplicat\w*\s*\(([^)]*)\)", re.IGNORECASE)


@dataclass
class Task:
    """One unit of work for a worker thread: a bulk call, or a run of single requests."""

    action: str
    target: int
    items: list[Item]
    updates: list[Update] = field(default_factory=list)
    rest: list[Item] = field(default_factory=list)  # a bulk stream: the batch's rows still to send after these
    singles: int = 1  # a bulk stream: the length of its next run of single creates


@dataclass
class Result:
    """What a task did: per item created/updated, failed (not applied) or unknown (maybe applied)."""

    done: list[Item] = field(default_factory=list)
    failed: list[tuple[Item, int | None, str]] = field(default_factory=list)
    unknown: list[tuple[Item, int | None, str]] = field(default_factory=list)
    duplicate_at: int | None = None  # bulk: index of the number the API called a duplicate
    requests: int = 0


def contact_payload(item: Item) -> dict[str, Any]:
    """The body of one contact as `contact/` and `bulkcontact/` take it."""
    return {"contact": item.number, "status": 1, **item.fields}


def _status_of(exc: Exception) -> int | None:
    return getattr(exc, "status_code", None)


def _definitive(exc: Exception) -> bool:
    """A refusal that certainly did not apply the write (validation error), as opposed to no answer."""
    status = _status_of(exc)
    return isinstance(exc, ApiError) and status is not None and 400 <= status < 500 and status not in (408, 429)


def _run_bulk(client: Client, task: Task) -> Result:
    body = {"phonebook": task.target, "contacts": [contact_payload(it) for it in task.items]}
    res = Result(requests=1)
    try:
        client.request("POST", "bulkcontact/", json=body, safe_retry=False)
    except (ApiError, UnreachableError) as exc:  # settled by looking
        match = _DUPLICATE.search(f"{exc} {getattr(exc, 'body', '')}")
        if match:
            named = number_key(match.group(1))
            index = next((i for i, it in enumerate(task.items) if it.phone.key == named), None)
            if index is not None:
                # the bulk call creates one by one and stops here: those before it exist now
                res.done, res.duplicate_at = task.items[:index], index
                return res
        # a bulk call that failed part-way leaves an unknown prefix created
        res.unknown = [(it, _status_of(exc), str(exc)) for it in task.items]
        return res
    res.done = list(task.items)
    return res


def _run_singles(client: Client, task: Task) -> Result:
    res = Result()
    for i, item in enumerate(task.items):
        if task.action == DNC:
            method, path, body = "POST", "dnc-contact/", {"phone_number": item.number, "dnc": task.target}
        elif task.action == PUT:
            upd = task.updates[i]
            method, path, body = "PUT", f"contact/{upd.contact_id}/", {"phonebook": task.target, **upd.changes}
        else:
            method, path, body = "POST", "contact/", {"phonebook": task.target, **contact_payload(item)}
        res.requests += 1
        try:
            client.request(method, path, json=body, safe_retry=method == "PUT")
        except (ApiError, UnreachableError) as exc:
            bucket = res.failed if _definitive(exc) or method == "PUT" else res.unknown
            bucket.append((item, _status_of(exc), str(exc)))
            continue
        res.done.append(item)
    return res


def _batches(values: list[T], target_of: Callable[[T], int], size: int) -> Iterable[tuple[int, list[T]]]:
    """(target, up to `size` values of that target), in input order."""
    by_target: dict[int, list[T]] = {}
    for value in values:
        by_target.setdefault(target_of(value), []).append(value)
    for target, group in by_target.items():
        for start in range(0, len(group), size):
            yield target, group[start : start + size]


def _chunks(action: str, items: list[Item], size: int) -> list[Task]:
    return [Task(action, target, batch) for target, batch in _batches(items, lambda it: it.target, size)]


def _stream(target: int, items: list[Item], window: int, singles: int) -> list[Task]:
    """The next request of a batch's stream: a bulk call of `window` rows, or a run of `singles` single
    creates once the window is down to one."""
    if not items:
        return []
    if window > 1:
        return [Task(BULK, target, items[:window], rest=items[window:], singles=singles)]
    return [Task(SINGLE, target, items[:singles], rest=items[singles:], singles=singles)]


@dataclass
class Applier:
    """Runs a plan's writes and keeps the ledger and the counts per outcome."""

    client: Client
    plan: Plan
    ledger: PushLedger
    batch_size: int = 500
    concurrency: int = 4
    on_progress: Callable[[int], None] | None = None
    counts: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    announced: set[str] = field(default_factory=set)  # keys whose last record is this run's `sending`

    def run(self) -> Counter[str]:
        """Apply the plan; returns counts per outcome (created, updated, present, failed, unknown, requests)."""
        self.ledger.record(self.plan.present, "none", L.PRESENT)
        self.counts[L.PRESENT] += len(self.plan.present)
        first = BULK if self.plan.kind == "contacts" else DNC
        tasks = list(_chunks(first, self.plan.create, self.batch_size))
        for target, updates in _batches(self.plan.update, lambda u: u.item.target, self.batch_size):
            tasks.append(Task(PUT, target, [u.item for u in updates], updates))
        for _ in range(MAX_ROUNDS):
            to_settle = self._run_tasks(tasks)
            if not to_settle:
                break
            tasks = self._settle(to_settle)
        else:
            missing = [it for task in tasks for it in task.items]
            self._settled(missing, "look", L.FAILED, error=f"still missing after {MAX_ROUNDS} attempts")
            self.counts[L.FAILED] += len(missing)
        return self.counts

    def _announce(self, task: Task) -> None:
        """Record `sending` for the task's rows that are not already waiting as `sending` (committed first)."""
        for it in task.items:
            self.attempts[it.key] += 1
        fresh = [it for it in task.items if it.key not in self.announced]
        self.ledger.record(fresh, task.action, L.SENDING, attempts=self._attempt(task))
        self.announced.update(it.key for it in fresh)

    def _settled(self, items: list[Item], action: str, status: str, http_status: int | None = None,
                 error: str | None = None, attempts: int = 1) -> None:
        self.ledger.record(items, action, status, http_status, error, attempts)
        self.announced.difference_update(it.key for it in items)

    def _run_tasks(self, tasks: list[Task]) -> list[tuple[Item, bool]]:
        """Run tasks with bounded concurrency; returns the items to settle and whether they need `contact/`."""
        queue = list(reversed(tasks))
        to_settle: list[tuple[Item, bool]] = []
        running: dict[Future[Result], Task] = {}
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="antbot-push") as pool:
            while queue or running:
                while queue and len(running) < self.concurrency:
                    task = queue.pop()
                    self._announce(task)  # committed before the request leaves
                    runner = _run_bulk if task.action == BULK else _run_singles
                    running[pool.submit(runner, self.client, task)] = task
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = running.pop(fut)
                    follow_up, settle = self._record(task, fut.result())
                    queue.extend(follow_up)
                    to_settle.extend(settle)
        return to_settle

    def _attempt(self, task: Task) -> int:
        return max(self.attempts[it.key] for it in task.items)

    def _record(self, task: Task, res: Result) -> tuple[list[Task], list[tuple[Item, bool]]]:
        """Write a task's outcomes to the ledger; returns follow-up tasks and items to settle."""
        self.counts["requests"] += res.requests
        outcome = L.UPDATED if task.action == PUT else L.CREATED
        self._settled(res.done, task.action, outcome, attempts=self._attempt(task))
        self.counts[outcome] += len(res.done)
        for item, status, error in res.failed:
            self._settled([item], task.action, L.FAILED, status, error, self.attempts[item.key])
            self.counts[L.FAILED] += 1
        for item, status, error in res.unknown:
            self._settled([item], task.action, L.UNKNOWN, status, error, self.attempts[item.key])
        if self.on_progress:
            self.on_progress(len(res.done) + len(res.failed))
        settle = [(it, task.action == SINGLE) for it, _, _ in res.unknown]
        if res.duplicate_at is None:
            if task.action == BULK:  # a full answer doubles the window (no answer keeps it)
                window = min(self.batch_size, len(task.items) * (1 if res.unknown else 2))
                return _stream(task.target, task.rest, window, 1), settle
            # a run of single creates ends with a trial of two; if it stops, the next run is twice as long
            return _stream(task.target, task.rest, 2, min(self.batch_size, 2 * task.singles)), settle
        dup = task.items[res.duplicate_at]
        # the number exists in another phonebook: bulkcontact/ cannot add it, contact/ can
        self._settled([dup], task.action, L.UNKNOWN, 200, "duplicate in another phonebook", self.attempts[dup.key])
        # the rows after it were not sent: they wait as `sending` for the next, halved, window
        rest = task.items[res.duplicate_at + 1 :] + task.rest
        return _stream(task.target, rest, len(task.items) // 2, task.singles), [*settle, (dup, True)]

    def _settle(self, items: list[tuple[Item, bool]]) -> list[Task]:
        """Look at the API for items whose fate is unknown; returns tasks that resend what is missing."""
        ep = PUSH_TARGETS[self.plan.kind]
        existing = read_existing(self.client, ep, {it.target for it, _ in items})
        present = [it for it, _ in items if it.key in existing]
        self._settled(present, "look", L.PRESENT)
        self.counts[L.PRESENT] += len(present)
        missing = [(it, single) for it, single in items if it.key not in existing]
        if self.plan.kind == "dnc":
            return list(_chunks(DNC, [it for it, _ in missing], self.batch_size))
        return [*_chunks(SINGLE, [it for it, single in missing if single], self.batch_size),
                *_chunks(BULK, [it for it, single in missing if not single], self.batch_size)]
