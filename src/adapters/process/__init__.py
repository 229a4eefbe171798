"""Work run in other processes: the CPU-bound steps of an analysis."""

from adapters.process.pool import ProcessPool, StageSink
from adapters.process.verifier import ProcessPoolVerifier

__all__ = ["ProcessPool", "ProcessPoolVerifier", "StageSink"]
