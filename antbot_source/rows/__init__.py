"""Row shaping: API objects as destination rows, the column types of every table, typed Arrow tables."""
