"""Analyzers: adapters of the `Analyzer` port."""
