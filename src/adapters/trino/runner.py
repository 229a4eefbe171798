"""One Trino session that runs statements and says what happened, never raising on SQL.

The lab, the scorer and the tests all need the same thing from Trino: run a statement, and
get back its rows, how long it took (wall time, as a user waits for it), how many bytes it
read from storage, and Trino's own error when it failed — a rejected statement is a result to
report, not an exception to crash on. Connection trouble (the server is gone) does raise.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import trino
from trino.exceptions import TrinoQueryError

__all__ = ["Outcome", "TrinoRunner"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one statement did. `rows` is empty when not fetched or when it failed."""

    sql: str
    error: str | None = None
    error_name: str | None = None
    seconds: float = 0.0
    rows: Sequence[Sequence[Any]] = field(default=(), repr=False)
    row_count: int = 0
    physical_input_bytes: int = 0
    query_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class TrinoRunner:
    """Runs statements on one Trino coordinator as one user, each in its own query."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str = "dbanalysis-lab",
        catalog: str | None = None,
        schema: str | None = None,
        session_properties: Mapping[str, str] | None = None,
        request_timeout: float = 600.0,
    ) -> None:
        self._connection = trino.dbapi.Connection(
            host=host,
            port=port,
            user=user,
            catalog=catalog,
            schema=schema,
            session_properties=dict(session_properties or {}),
            request_timeout=request_timeout,
            max_attempts=1,  # an INSERT must not be sent twice
        )

    def run(self, sql: str, *, keep_rows: bool = True) -> Outcome:
        """Run `sql`; an error Trino answers with is returned, not raised."""
        cursor = self._connection.cursor()
        started = time.perf_counter()
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        except TrinoQueryError as error:
            return Outcome(
                sql,
                error=error.message or str(error),
                error_name=error.error_name,
                seconds=time.perf_counter() - started,
                query_id=error.query_id,
            )
        finally:
            cursor.close()
        seconds = time.perf_counter() - started
        stats = cursor.stats or {}
        return Outcome(
            sql,
            seconds=seconds,
            rows=rows if keep_rows else (),
            row_count=len(rows),
            physical_input_bytes=int(stats.get("physicalInputBytes") or 0),
            query_id=cursor.query_id,
        )

    def rows(self, sql: str) -> list[list[Any]]:
        """The rows of `sql`; raises when Trino refuses it (for the lab's own statements)."""
        outcome = self.run(sql)
        if outcome.error is not None:
            raise LabError(f"{outcome.error} (in: {sql[:300]})")
        return [list(row) for row in outcome.rows]

    def close(self) -> None:
        self._connection.close()  # type: ignore[no-untyped-call]


class LabError(RuntimeError):
    """A statement of the lab's own failed: the lab cannot go on."""
