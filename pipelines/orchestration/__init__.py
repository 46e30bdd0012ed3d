"""Recipes for schedulers: a Dagster code location (`dagster_assets`) and an Airflow DAG file (`airflow_dag`)."""
