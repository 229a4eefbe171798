"""What to verify for a result: per query, the candidates to try, best first.

The result's own query comes first. Its fallback is the original only retargeted, made as
the identity answer makes it (`domain.analysis.identity`: the engine's names for the new
tables, nothing else changed); it is tried only when it is another query than the result's
(not the same one written otherwise). A statement that writes is not run; a query returned
exactly as it came needs no verification.

>>> from domain.result import AnalysisResult, Report, RewrittenQuery
>>> from domain.workload import DdlStatement, Query, Workload
>>> w = Workload("jdbc:trino://h:8080/lake/s", (DdlStatement("CREATE TABLE t (a int)"),),
...              (Query("q", "SELECT a FROM t WHERE a > 1"),))
>>> rewrite = RewrittenQuery("q", "SELECT a FROM lake.optimized.t WHERE a >= 2")
>>> r = AnalysisResult((), (), (rewrite,), Report(""))
>>> build_checks(w, r)[0].candidates
('SELECT a FROM lake.optimized.t WHERE a >= 2', 'SELECT a FROM lake.optimized.t WHERE a > 1')
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from domain.analysis.identity import identity_result
from domain.result import AnalysisResult
from domain.verification.model import QueryCheck
from domain.workload import Workload

__all__ = ["build_checks"]

# Functions whose value differs between two runs of the same query on the same data.
_VOLATILE = frozenset(
    {
        "rand",
        "random",
        "uuid",
        "shuffle",
        "now",
        "current_timestamp",
        "localtimestamp",
        "current_time",
        "localtime",
    }
)
_VOLATILE_NODES = (exp.Rand, exp.CurrentTimestamp, exp.CurrentTime, exp.TableSample)


def build_checks(workload: Workload, result: AnalysisResult) -> tuple[QueryCheck, ...]:
    try:
        plain = {
            q.queryid: q.query
            for q in identity_result(workload, target_schema=workload.options.target_schema).queries
        }
    except Exception:  # no fallback is a loss of advice, never of correctness
        plain = {}
    originals = {q.queryid: q.query for q in workload.queries}
    checks = []
    for query in result.queries:
        original = originals.get(query.queryid)
        if original is None:
            continue
        if query.query == original:
            checks.append(QueryCheck(query.queryid, original, (query.query,), unchanged=True))
            continue
        candidates = [query.query]
        fallback = plain.get(query.queryid)
        if fallback is not None and _canonical(fallback) not in (
            _canonical(query.query),
            _canonical(original),
        ):
            candidates.append(fallback)
        checks.append(
            QueryCheck(query.queryid, original, tuple(candidates), skip=_not_run(original))
        )
    return tuple(checks)


def _canonical(sql: str) -> str:
    try:
        tree = sqlglot.parse_one(sql, read="trino")
    except (SqlglotError, ValueError):
        return sql
    return tree.sql(dialect="trino", normalize=True, comments=False) if tree else sql


def _not_run(sql: str) -> str | None:
    try:
        tree = sqlglot.parse_one(sql, read="trino")
    except (SqlglotError, ValueError):
        return "it does not parse as Trino SQL"
    if isinstance(tree, exp.Query):
        volatile = _volatile(tree)
        if volatile:
            return f"it calls {volatile}, whose value changes from run to run"
        return None
    kind = tree.key.upper() if isinstance(tree, exp.Expr) else "unknown"
    return f"an {kind} statement: it writes or changes the catalog, so it is not run"


def _volatile(tree: exp.Expr) -> str | None:
    for node in tree.walk():
        if isinstance(node, exp.TableSample):
            return "TABLESAMPLE"
        volatile = isinstance(node, _VOLATILE_NODES) or (
            isinstance(node, exp.Func)
            and (str(node.this) if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            in _VOLATILE
        )
        if volatile:
            return node.sql(dialect="trino")[:60]
    return None
