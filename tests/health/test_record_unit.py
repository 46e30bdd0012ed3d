"""The load_health rows that wait in the pipeline's working dir until a package holds them
(health/record.py): kept exactly, gone once written, and an unreadable file costs nothing but a warning."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace

from antbot_source.health.record import UNWRITTEN_FILE, health_rows, save_unwritten, unwritten_rows
from antbot_source.health.tally import RunTally

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _rows() -> list[dict]:
    tally = RunTally()
    tally.table("cdr").cdr.update(cursor_before=AT, cursor_after=None, late_rows=3, lateness_warning=True)
    tally.table("cdr").warnings.append("late rows reach 90 % of the look-back")
    return health_rows("1700000000.1", tally, {"cdr": 12, "contacts": 0}, AT)


def test_unwritten_rows_come_back_as_they_were_kept(tmp_path):
    pipeline = SimpleNamespace(working_dir=str(tmp_path))
    rows = _rows()
    save_unwritten(pipeline, rows)
    assert unwritten_rows(pipeline) == rows
    assert isinstance(unwritten_rows(pipeline)[0]["finished_at"], datetime)
    save_unwritten(pipeline, [])
    assert not (tmp_path / UNWRITTEN_FILE).exists()
    assert unwritten_rows(pipeline) == []


def test_an_unreadable_file_gives_no_rows_and_one_warning(tmp_path, caplog):
    pipeline = SimpleNamespace(working_dir=str(tmp_path))
    for text in ('{"load_id": "x"', '[{"finished_at": "not a time"}]', '"a string"'):
        (tmp_path / UNWRITTEN_FILE).write_text(text)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="antbot_source.health"):
            assert unwritten_rows(pipeline) == []
        assert len(caplog.records) == 1 and UNWRITTEN_FILE in caplog.records[0].getMessage()
