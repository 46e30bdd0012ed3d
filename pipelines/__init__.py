"""Runnable pipelines and the `antbot` command."""
