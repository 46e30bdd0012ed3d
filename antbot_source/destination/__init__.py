"""Resources -> destination: one run at a time per pipeline, DuckDB file and warehouse dataset."""
