"""The domain: the Task aggregate, the workload and result models, and the analysis engine.

Pure Python: no I/O, no frameworks. Everything here can be run and tested in isolation.
"""
