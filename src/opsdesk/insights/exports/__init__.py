"""Exports of desk data for analysis outside the web app (Parquet for DuckDB and other engines)."""
