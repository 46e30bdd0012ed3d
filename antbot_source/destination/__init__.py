"""Resources -> destination: where the data goes (`target`), one run at a time per pipeline, DuckDB file
and warehouse dataset (`locks`, `access`), the data dictionary as comments, the published copy."""
