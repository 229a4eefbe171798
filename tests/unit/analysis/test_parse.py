"""Parse pass: every statement is read once; what cannot be read is kept with the reason."""

from __future__ import annotations

import pytest

from domain.analysis.parse import parse_ddl, parse_issues, parse_queries, parse_query
from domain.workload import DdlStatement, Query


def test_a_trino_query_parses_into_exactly_one_statement() -> None:
    # given a valid query
    # when it is parsed
    parsed = parse_query(Query("q1", "SELECT id FROM lake.sales.orders WHERE id > 1"))
    # then it has a tree and no error
    assert parsed.error is None
    assert parsed.statement is not None
    assert parsed.statement.sql(dialect="trino") == (
        "SELECT id FROM lake.sales.orders WHERE id > 1"
    )


def test_a_syntax_error_keeps_the_parsers_message_without_terminal_escapes() -> None:
    parsed = parse_query(Query("q1", "SELECT * FROM"))
    assert parsed.statement is None
    assert (
        parsed.error == "Expected table name but got the end of the statement (line 1, column 13)"
    )
    assert "\x1b" not in parsed.error


@pytest.mark.parametrize("text", ["", "   ", ";", "\n;\n"])
def test_an_empty_statement_is_an_error_not_an_exception(text: str) -> None:
    assert parse_query(Query("q1", text)).error == "empty statement"


def test_a_bare_expression_is_not_a_statement() -> None:
    # sqlglot reads `garbage here` as `garbage AS here`
    assert parse_query(Query("q1", "garbage here")).error == (
        "not a SQL statement (it parses as a bare expression: Alias)"
    )


def test_a_statement_sqlglot_only_reads_as_a_raw_command_counts_as_unparsed() -> None:
    error = parse_query(Query("q1", "SHOW TABLES FROM lake.sales")).error
    assert error is not None
    assert error.startswith("unsupported statement")


@pytest.mark.parametrize(
    "text", ["SELECT 'unterminated", 'SELECT "unterminated', "SELECT /* open", "(" * 5000]
)
def test_tokenizer_errors_and_deep_nesting_are_errors_not_exceptions(text: str) -> None:
    assert parse_query(Query("q1", text)).error


def test_a_query_must_be_one_statement() -> None:
    assert parse_query(Query("q1", "SELECT 1; SELECT 2")).error == "expected one statement, found 2"


def test_a_trailing_semicolon_is_fine() -> None:
    assert parse_query(Query("q1", "SELECT 1;")).error is None


def test_a_ddl_entry_may_hold_several_statements() -> None:
    [entry] = parse_ddl([DdlStatement("CREATE TABLE a (x int); CREATE TABLE b (y int);")])
    assert entry.error is None
    assert len(entry.statements) == 2


def test_parse_issues_say_kind_index_queryid_and_message_ddl_first() -> None:
    # given one bad DDL statement and one bad query among good ones
    ddl = parse_ddl([DdlStatement("CREATE TABLE a (x int)"), DdlStatement("CREATE TABLE (")])
    queries = parse_queries([Query("ok", "SELECT 1"), Query("bad", "SELEC 1 FRM x")])
    # when the issues are collected
    issues = parse_issues(ddl, queries)
    # then there is one per failure, with the details the report promises
    assert [i.code for i in issues] == ["parse_error", "parse_error"]
    assert issues[0].details["kind"] == "ddl"
    assert issues[0].details["index"] == 1
    assert issues[0].details["queryid"] is None
    assert issues[1].details["kind"] == "query"
    assert issues[1].details["index"] == 1
    assert issues[1].details["queryid"] == "bad"
    assert issues[1].queryids == ("bad",)
    assert all(i.details["message"] for i in issues)
