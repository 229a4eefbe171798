"""Composition roots and processes: the API, the worker, the embedded server and the CLI."""
