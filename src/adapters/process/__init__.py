"""Work run in other processes: the CPU-bound steps of an analysis."""

from adapters.process.pool import ProcessPool

__all__ = ["ProcessPool"]
