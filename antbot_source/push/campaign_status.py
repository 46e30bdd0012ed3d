"""Campaign status, the one home of its two scales: the list reports 1 started, 2 waiting, 3 paused,
4 ended, 5 completed; `POST campaigns/{id}/status/` takes the action 1 start, 2 pause, 3 abort, 4 end."""

from __future__ import annotations

STARTED, WAITING, PAUSED, ENDED, COMPLETED = 1, 2, 3, 4, 5  # read scale
READ_LABELS = {STARTED: "started", WAITING: "waiting", PAUSED: "paused", ENDED: "ended", COMPLETED: "completed"}
# desired state (the `status` column) -> the action that reaches it, its verb, the read statuses that satisfy it
ACTIONS = {"started": 1, "paused": 2, "aborted": 3, "ended": 4}
VERBS = {"started": "start", "paused": "pause", "aborted": "abort", "ended": "end"}
REACHED = {"started": {STARTED}, "paused": {PAUSED}, "aborted": {ENDED, COMPLETED}, "ended": {ENDED, COMPLETED}}
FINISHED = {ENDED, COMPLETED}  # a finished campaign is never started or paused again


def read_label(status: object) -> str:
    """The read-scale status as a word (`paused`), or the raw value when unknown."""
    try:
        return READ_LABELS[int(str(status))]
    except (KeyError, ValueError):
        return str(status)
