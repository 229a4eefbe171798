"""Verifiers: a result's statements run on generated data (DuckDB embedded)."""
