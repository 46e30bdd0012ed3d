"""Applying a campaign plan, exactly once: each write announced in the ledger before it is sent; a create
that got no answer, or was refused, is looked up by name before anything is sent again (some deployments
refuse a second campaign of the same name with HTTP 400, others create a duplicate)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from antbot_source.api.pages import object_id
from antbot_source.errors import ApiError, UnreachableError
from antbot_source.push import campaign_status as S
from antbot_source.push import ledger as L
from antbot_source.push.campaign_plan import CampaignChange, CampaignPlan
from antbot_source.push.ledger import PushLedger
from antbot_source.push.plan import Client
from antbot_source.push.targets import named

MAX_ATTEMPTS = 3


def _refused(exc: Exception) -> bool:
    status = getattr(exc, "status_code", None)
    return isinstance(exc, ApiError) and status is not None and 400 <= status < 500 and status not in (408, 429)


@dataclass
class CampaignApplier:
    """Runs a campaign plan's writes: pauses, ends and aborts first, then creates and updates, starts last."""

    client: Client
    plan: CampaignPlan
    ledger: PushLedger
    counts: Counter[str] = field(default_factory=Counter)

    def run(self) -> Counter[str]:
        """Apply the plan; counts per outcome (created, updated, started, paused..., failed, requests)."""
        self.counts[L.PRESENT] += len(self.plan.unchanged)
        ordered = sorted(self.plan.changes, key=lambda c: (not c.reduces_calls, c.status == "started"))
        for change in ordered:
            stop_first = change.reduces_calls and not change.create  # fewer calls before anything else changes
            if stop_first and not self._status(change):
                continue
            if change.create and not self._create(change):
                continue
            if change.put and not self._write(change, "update", "PUT", f"campaigns/{change.campaign_id}/",
                                              change.put):
                continue
            if change.status and not stop_first:
                self._status(change)
        return self.counts

    def _write(self, change: CampaignChange, action: str, method: str, path: str, body: dict) -> bool:
        """An idempotent write (PUT, status action): sent again by the client's retries; False when it failed."""
        self.ledger.record([change], action, L.SENDING)
        self.counts["requests"] += 1
        try:
            self.client.request(method, path, json=body, safe_retry=True)
        except (ApiError, UnreachableError) as exc:
            self.ledger.record([change], action, L.FAILED, getattr(exc, "status_code", None), str(exc))
            self.counts[L.FAILED] += 1
            return False
        self.ledger.record([change], action, L.UPDATED)
        self.counts["updated" if action == "update" else change.status or ""] += 1
        return True

    def _status(self, change: CampaignChange) -> bool:
        status = change.status or ""
        return self._write(change, S.VERBS[status], "POST", f"campaigns/{change.campaign_id}/status/",
                           {"status": S.ACTIONS[status]})

    def _create(self, change: CampaignChange) -> bool:
        """POST campaigns/ once: a create without an answer, or refused, is looked up by name first."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.ledger.record([change], "create", L.SENDING, attempts=attempt)
            self.counts["requests"] += 1
            try:
                answer = self.client.request("POST", "campaigns/", json=change.body, safe_retry=False)
            except (ApiError, UnreachableError) as exc:
                status, error = getattr(exc, "status_code", None), str(exc)
                self.ledger.record([change], "create", L.UNKNOWN, status, error, attempt)
                found = named(self.client, "campaigns/", change.name, search="name")
                if found:
                    change.campaign_id = min(object_id(c) or 0 for c in found)
                    self.ledger.record([change], "look", L.PRESENT, attempts=attempt)
                    self.counts[L.CREATED] += 1
                    return True
                if _refused(exc) or attempt == MAX_ATTEMPTS:
                    self.ledger.record([change], "look", L.FAILED, status, error, attempt)
                    self.counts[L.FAILED] += 1
                    return False
                continue
            change.campaign_id = object_id(answer)
            self.ledger.record([change], "create", L.CREATED, attempts=attempt)
            self.counts[L.CREATED] += 1
            return True
        return False
