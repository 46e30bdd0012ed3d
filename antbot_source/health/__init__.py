"""Load health: what each run of each table cost and found, kept in the dataset's `load_health` table.

`tally`: the counters resources fill while a run reads; `lateness`: how late CDRs arrive and the
automatic look-back; `record`: the rows of every run, written by the next; `show`: `antbot health` and the report.
"""
