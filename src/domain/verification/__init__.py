"""Verification by execution: what to check, how results compare, how the result changes.

model   the request, the checks and what a verifier found
checks  per query, the candidates to try (the rewrite, then the plain retarget)
judge   whether two results hold the same rows (order, LIMIT and ties)
data    the generated data shaped by the tables' statistics
merge   the result as verified: rewrites that differ replaced, the report told
"""
