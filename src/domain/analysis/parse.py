"""Parse pass: read every DDL statement and query once, as Trino SQL, and keep what failed.

Decides which input is SQL the engine can work on. Everything else is kept, with the parser's
message, so that the report can say what was skipped and the query can come back unchanged:
nothing the user sends makes the engine raise, and no query is ever dropped.

- Errors are raised by the parser (`ErrorLevel.RAISE`) instead of being silently repaired.
- A statement sqlglot only reads as a raw `Command` (SHOW, EXPLAIN, CALL…) or as a bare
  expression (``garbage here`` parses as an alias!) is treated as unparsed: the engine
  cannot see its table references.
- A DDL entry may hold several statements separated by `;` (a pasted dump); a query must be
  exactly one statement.

>>> parse_query(Query("q1", "SELECT * FROM orders")).error is None
True
>>> parse_query(Query("q2", "SELECT * FROM")).error
'Expected table name but got the end of the statement (line 1, column 13)'
>>> parse_query(Query("q3", "garbage here")).error
'not a SQL statement (it parses as a bare expression: Alias)'
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError
from sqlglot.parser import Parser
from sqlglot.tokens import Tokenizer

from domain.analysis.findings import Issue, Severity
from domain.analysis.names import TRINO
from domain.workload import DdlStatement, Query

__all__ = [
    "ParsedDdl",
    "ParsedQuery",
    "parse_ddl",
    "parse_issues",
    "parse_queries",
    "parse_query",
    "parse_statements",
    "parse_trino",
]

# Statements Trino runs. A parse that yields anything else (a column, an alias…) is not SQL
# the engine should trust.
_STATEMENTS: tuple[type[exp.Expr], ...] = (
    exp.Query,
    exp.Values,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Describe,
    exp.Use,
    exp.Set,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Grant,
    exp.Revoke,
    exp.Comment,
    exp.Analyze,
)

_local = threading.local()

_MAX_MESSAGE = 300
# sqlglot names the offending token by its repr: `<Token token_type: …, text: FROM, line: …>`.
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: .*?>")


@dataclass(frozen=True, slots=True)
class ParsedDdl:
    """One DDL entry: the statements it holds, or why it could not be read."""

    index: int
    text: str
    statements: tuple[exp.Expr, ...]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """One query of the workload, parsed once; `statement` is None when `error` says why."""

    index: int
    query: Query
    statement: exp.Expr | None
    error: str | None = None

    @property
    def queryid(self) -> str:
        return self.query.queryid

    @property
    def text(self) -> str:
        return self.query.query


def parse_trino(text: str) -> list[exp.Expr | None]:
    """`TRINO.parse(text, error_level=ErrorLevel.RAISE)`, with one tokenizer and one parser
    per thread: the dialect builds both anew on every call (each reset itself when it
    starts), which costs a tenth of parsing a short query."""
    pair: tuple[Tokenizer, Parser] | None = getattr(_local, "pair", None)
    if pair is None:
        pair = _local.pair = (TRINO.tokenizer(), TRINO.parser(error_level=ErrorLevel.RAISE))
    tokenizer, parser = pair
    return parser.parse(tokenizer.tokenize(text), text)


def parse_statements(text: str) -> tuple[tuple[exp.Expr, ...], str | None]:
    """The statements in `text` (Trino dialect), or the reason it cannot be read."""
    if not isinstance(text, str) or not text.strip():
        return (), "empty statement"
    try:
        parsed = parse_trino(text)
    except ParseError as error:
        return (), _parse_error_message(error)
    except SqlglotError as error:  # the tokenizer's errors: unterminated string or comment…
        return (), _clip(str(error))
    except RecursionError:
        return (), "statement nested too deeply to parse"
    except Exception as error:  # parser bugs must not fail the task
        return (), _clip(f"{type(error).__name__}: {error}")
    statements = tuple(s for s in parsed if s is not None)
    if not statements:
        return (), "empty statement"
    for statement in statements:
        if isinstance(statement, exp.Command):
            return (), (
                "unsupported statement: Trino SQL expected "
                "(sqlglot could only read it as a raw command)"
            )
        if not isinstance(statement, _STATEMENTS):
            return (), (
                f"not a SQL statement (it parses as a bare expression: {type(statement).__name__})"
            )
    return statements, None


def parse_query(query: Query, index: int = 0) -> ParsedQuery:
    """Parse one query; more than one statement is an error (one queryid, one statement)."""
    statements, error = parse_statements(query.query)
    if error is None and len(statements) != 1:
        error = f"expected one statement, found {len(statements)}"
    if error is not None:
        return ParsedQuery(index, query, None, error)
    return ParsedQuery(index, query, statements[0])


# How many queries `parse_batches` parses in a row.
BATCH = 32


def parse_batches(
    queries: Sequence[Query], size: int = BATCH
) -> Iterator[list[tuple[int, Query, ParsedQuery | None]]]:
    """The queries `size` at a time, each with its position and its parse; None for a text
    parsed before (a query repeated): the passes take the first query's findings for it.

    A batch is parsed in a row, and the engine runs each of its per-query passes over the
    whole batch before the next pass (see `engine._passes`). sqlglot's compiled parser and
    the passes each work over their own code and tables; run one query at a time, each
    evicted the others' from the processor's caches: on the engine's benchmark (1,000
    tables, 9,110 distinct queries) parsing a batch in a row saved a tenth of the time, and
    running each pass over the batch another tenth. The trees held at once cost memory:
    more of them outlive the young collections, and their garbage waits for a full one
    (peak 320 MiB against 231 one query at a time; 269 in batches of 16, a tenth slower).

    >>> [[(i, p is None) for i, _, p in b] for b in parse_batches([Query("a", "SELECT 1"),
    ...     Query("b", "SELECT 2"), Query("c", "SELECT 1")], size=2)]
    [[(0, False), (1, False)], [(2, True)]]
    """
    seen: set[str] = set()
    for start in range(0, len(queries), size):
        batch: list[tuple[int, Query, ParsedQuery | None]] = []
        for index in range(start, min(start + size, len(queries))):
            query = queries[index]
            text = query.query
            if isinstance(text, str) and text in seen:
                batch.append((index, query, None))
                continue
            if isinstance(text, str):
                seen.add(text)
            batch.append((index, query, parse_query(query, index)))
        yield batch


def parse_queries(queries: Sequence[Query]) -> list[ParsedQuery]:
    return [parse_query(query, index) for index, query in enumerate(queries)]


def parse_ddl(ddl: Sequence[DdlStatement]) -> list[ParsedDdl]:
    parsed = []
    for index, entry in enumerate(ddl):
        statements, error = parse_statements(entry.statement)
        parsed.append(ParsedDdl(index, entry.statement, statements, error))
    return parsed


def parse_issues(ddl: Sequence[ParsedDdl], queries: Sequence[ParsedQuery]) -> list[Issue]:
    """One `parse_error` issue per statement that could not be read, DDL first."""
    issues = [
        Issue(
            code="parse_error",
            severity=Severity.ERROR,
            title=f"DDL statement {d.index + 1} could not be parsed",
            rationale=(
                "The statement is not Trino SQL the engine can read, so the table it may "
                "define is not part of the new schema."
            ),
            risk="Queries reading that table keep reading the old schema.",
            details={"kind": "ddl", "index": d.index, "queryid": None, "message": d.error},
        )
        for d in ddl
        if d.error is not None
    ]
    issues.extend(
        Issue(
            code="parse_error",
            severity=Severity.ERROR,
            title=f"Query {q.queryid} could not be parsed",
            rationale=(
                "The query is not Trino SQL the engine can read, so it is returned unchanged "
                "and still reads the old tables."
            ),
            queryids=(q.queryid,),
            risk="The unchanged query does not read the new schema.",
            details={"kind": "query", "index": q.index, "queryid": q.queryid, "message": q.error},
        )
        for q in queries
        if q.error is not None
    )
    return issues


def _parse_error_message(error: ParseError) -> str:
    # The first error is the one the user needs; its `description` leaves out the highlighted
    # excerpt (terminal escape codes and a copy of the statement) that `str(error)` carries.
    if error.errors:
        first = error.errors[0]
        where = ""
        if first.get("line") is not None:
            where = f" (line {first['line']}, column {first.get('col')})"
        return _clip(f"{first.get('description') or 'syntax error'}{where}")
    return _clip(str(error))


def _token(match: re.Match[str]) -> str:
    return "the end of the statement" if match[1] == "SENTINEL" else repr(match[2])


def _clip(message: str) -> str:
    message = _TOKEN_REPR.sub(_token, " ".join(message.split()))
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"
