"""The push records: `push_ledger` (intent and outcome per row), `push_rejects`, `push_runs`.

They live in a dataset of their own beside the data (`<dataset>_push`, `antbot_push` by default): a BI
tool pointed at the data's dataset lists the data alone, a load's `--full-refresh` never touches them,
and the people who follow the pushes find every record in one place.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from antbot_source.destination.comments import COLUMNS_QUERY, COMMENTS, comment_statements, sql_literal
from antbot_source.push.read import Warehouse, qualified, quote_ident
from antbot_source.push.validate import Item, Kind, Reject

log = logging.getLogger(__name__)

RECORDS_SUFFIX = "_push"
LEDGER = "push_ledger"
REJECTS = "push_rejects"
RUNS = "push_runs"

# Row outcomes. `sending` is written before a request goes out; a key whose last status is still
# `sending` (the push died) or `unknown` (no answer) is looked up at the API before anything is resent.
SENDING, CREATED, UPDATED, PRESENT, FAILED, UNKNOWN = "sending", "created", "updated", "present", "failed", "unknown"
OPEN_STATUSES = (SENDING, UNKNOWN)
OUTCOMES = (CREATED, UPDATED, PRESENT, FAILED, UNKNOWN)

_TS = "TIMESTAMP WITH TIME ZONE"
_DDL = {
    LEDGER: f"""(run_id VARCHAR, kind VARCHAR, seq BIGINT, key VARCHAR, target BIGINT, number VARCHAR,
        action VARCHAR, status VARCHAR, http_status INTEGER, error VARCHAR, attempts INTEGER, recorded_at {_TS})""",
    REJECTS: f"(run_id VARCHAR, kind VARCHAR, row_no INTEGER, row_data VARCHAR, reason VARCHAR, recorded_at {_TS})",
    RUNS: f"""(run_id VARCHAR, kind VARCHAR, started_at {_TS}, finished_at {_TS}, dry_run BOOLEAN,
        source VARCHAR, input_rows INTEGER, rejected INTEGER, present INTEGER, created INTEGER,
        updated INTEGER, failed INTEGER, unknown INTEGER, requests INTEGER, exit_code INTEGER)""",
}
_LEDGER_COLS = ("run_id", "kind", "seq", "key", "target", "number", "action", "status", "http_status",
                "error", "attempts", "recorded_at")


def records_dataset(dataset: str) -> str:
    """The dataset of the push records of pushes from `dataset`."""
    return f"{dataset}{RECORDS_SUFFIX}"


def _now() -> datetime:
    return datetime.now(UTC)


class PushLedger:
    """Writes one push run's records; every write is committed before the caller goes on. Its tables are
    created when the run starts: a push refused before (a bad option) leaves the dataset as it was."""

    def __init__(self, warehouse: Warehouse, kind: Kind, run_id: str | None = None):
        self.wh = warehouse
        self.records = records_dataset(warehouse.dataset)
        self.kind = kind
        self.run_id = run_id or uuid.uuid4().hex[:16]
        self._seq = 0

    def _next_seq(self) -> int:
        # nanosecond clock, forced monotonic: orders records across runs and within one
        self._seq = max(time.time_ns(), self._seq + 1)
        return self._seq

    def record(self, items: Iterable[Item], action: str, status: str, http_status: int | None = None,
               error: str | None = None, attempts: int = 1) -> None:
        """Append one record per item (one statement for all of them)."""
        at = _now()
        rows = [(self.run_id, self.kind, self._next_seq(), it.key, it.target, it.number, action, status,
                 http_status, (error or None) and error[:1_000], attempts, at) for it in items]
        if rows:
            self.wh.insert_rows(qualified(self.records, LEDGER), _LEDGER_COLS, rows)

    def open_keys(self) -> dict[str, str]:
        """Keys of this kind whose last record, over all runs, is `sending` or `unknown`: {key: status}."""
        if not self.wh.query("SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                             (self.records, LEDGER)):
            return {}  # no push ran from this dataset yet
        table = qualified(self.records, LEDGER)
        rows = self.wh.query(
            f"""SELECT key, status FROM (SELECT key, status, row_number() OVER (PARTITION BY key ORDER BY seq DESC)
                AS rn FROM {table} WHERE kind = ?) AS last WHERE rn = 1""", (self.kind,))
        return {r["key"]: r["status"] for r in rows if r["status"] in OPEN_STATUSES}

    def rejects(self, rejects: Sequence[Reject]) -> None:
        """Record the rejected input rows with their reasons."""
        at = _now()
        rows = [(self.run_id, self.kind, r.row_no, json.dumps(r.row, default=str, ensure_ascii=False), r.reason, at)
                for r in rejects]
        if rows:
            self.wh.insert_rows(qualified(self.records, REJECTS), ("run_id", "kind", "row_no", "row_data", "reason", "recorded_at"), rows)

    def start_run(self, source: str, dry_run: bool) -> None:
        """Create the records' dataset and tables if need be, with their descriptions, and record that the run started."""
        self.wh.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.records)}")
        for table, ddl in _DDL.items():
            self.wh.execute(f"CREATE TABLE IF NOT EXISTS {qualified(self.records, table)} {ddl}")
        self._describe()
        self.wh.insert_rows(qualified(self.records, RUNS), ("run_id", "kind", "started_at", "dry_run", "source"),
                            [(self.run_id, self.kind, _now(), dry_run, source)])

    def finish_run(self, counts: Mapping[str, Any], exit_code: int) -> None:
        """Record the run's counts per outcome and its exit code."""
        cols = ("input_rows", "rejected", "present", "created", "updated", "failed", "unknown", "requests")
        sets = ", ".join(f"{c} = ?" for c in (*cols, "exit_code", "finished_at"))
        self.wh.execute(f"UPDATE {qualified(self.records, RUNS)} SET {sets} WHERE run_id = ?",
                        [int(counts.get(c, 0)) for c in cols] + [exit_code, _now(), self.run_id])

    def _describe(self) -> None:
        """The data dictionary's descriptions of the records' tables as comments, where they differ."""
        query = COLUMNS_QUERY.format(dataset=sql_literal(self.records), **COMMENTS[self.wh.kind])
        columns = [tuple(row.values()) for row in self.wh.query(query)]
        try:
            for statement in comment_statements(columns, lambda t: qualified(self.records, t), quote_ident):  # type: ignore[arg-type]
                self.wh.execute(statement)
        except Exception as exc:  # noqa: BLE001 - duckdb.Error and psycopg2.Error share no base class
            log.warning("the push records' comments were not written: %s", str(exc).partition("\n")[0])
