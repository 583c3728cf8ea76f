"""Benchmarks: the platform against a pandas + SQLite peer and a one-script DuckDB floor."""
