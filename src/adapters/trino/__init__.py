"""Trino: the lab that runs and measures advice on a real Trino with Iceberg."""
