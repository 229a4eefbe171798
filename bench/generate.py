"""Synthetic workloads for the engine's benchmark: tables with temporal, id and status
columns, and queries with realistic filters, joins, CTEs and comments.

    uv run python bench/generate.py 100 1000 > workload.json

Deterministic for a given seed, so runs are comparable.
"""

from __future__ import annotations

import json
import random
import sys

from domain.workload import AnalysisOptions, DdlStatement, Query, Workload

__all__ = ["workload"]

_STATUS = ["'open'", "'paid'", "'shipped'", "'cancelled'"]


def _table(index: int) -> str:
    return f"lake.sales.t{index}"


def _ddl(index: int) -> str:
    return (
        f"CREATE TABLE {_table(index)} (id bigint, customer_id bigint, created_at timestamp(6), "
        "day date, status varchar, region varchar, amount decimal(12, 2), note varchar, "
        "ds varchar)"
    )


def _query(rng: random.Random, tables: int) -> str:
    t = _table(rng.randrange(tables))
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    shapes = [
        f"SELECT status, count(*) AS n FROM {t} WHERE created_at >= TIMESTAMP "
        f"'2024-{month:02d}-01 00:00:00' AND created_at < TIMESTAMP '2024-{month:02d}-{day:02d} "
        "00:00:00' GROUP BY status",
        f"SELECT * FROM {t} WHERE customer_id = {rng.randint(1, 10**6)} -- lookup\n"
        "ORDER BY created_at DESC LIMIT 10",
        f"SELECT region, sum(amount) FROM {t} WHERE year(created_at) = 2024 AND status = "
        f"{rng.choice(_STATUS)} GROUP BY region",
        f"WITH recent AS (SELECT id, amount FROM {t} WHERE CAST(created_at AS date) = "
        f"DATE '2024-{month:02d}-{day:02d}' ORDER BY amount) SELECT count(*) FROM recent",
        f"SELECT a.id, b.amount FROM {t} a JOIN {_table(rng.randrange(tables))} b "
        f"ON a.customer_id = b.customer_id WHERE a.day BETWEEN DATE '2024-01-01' AND "
        f"DATE '2024-03-31' /* quarter */",
        f"SELECT count(*) FROM {t} WHERE ds >= '2024-{month:02d}-01' AND region IN ('eu', 'us')",
        f"SELECT id FROM {t} WHERE note LIKE 'refund%' AND id IN (SELECT id FROM {t} "
        "WHERE amount > 100)",
    ]
    shapes += [
        f"SELECT id, amount FROM {t} WHERE status = {rng.choice(_STATUS)} AND amount > 10",
        f"SELECT region, count(*) FROM {t} GROUP BY region",
    ]
    return rng.choice(shapes)


def workload(tables: int, queries: int, seed: int = 7) -> Workload:
    rng = random.Random(seed)
    return Workload(
        url="jdbc:trino://bench:8080/lake/sales",
        ddl=tuple(DdlStatement(_ddl(i)) for i in range(tables)),
        queries=tuple(
            Query(
                f"q{i}", _query(rng, tables), rng.randint(1, 5000), rng.choice([None, 0.5, 3, 40])
            )
            for i in range(queries)
        ),
        options=AnalysisOptions(target_schema="optimized", use_llm=False),
    )


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:3]] or [10, 100]
    json.dump(workload(*sizes).to_dict(), sys.stdout, indent=1)
