"""The engine end to end: the contract on every example, and no input that makes it raise."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable

import pytest

from domain.analysis import analyze
from domain.result import AnalysisResult
from domain.workload import AnalysisOptions, DdlStatement, Query, Workload
from tests.unit.analysis.contract import assert_result_obeys_contract, parse_trino
from tests.unit.analysis.support import EXAMPLES, WorkloadFactory, layout_only

Loader = Callable[[str], Workload]


def finding(result: AnalysisResult, code: str, **details: object) -> list[str]:
    """The ids of the findings with `code` whose details include `details`."""
    return [
        f.id
        for f in result.report.findings
        if f.code == code and all(f.details.get(k) == v for k, v in details.items())
    ]


def query(result: AnalysisResult, queryid: str) -> str:
    return next(q.query for q in result.queries if q.queryid == queryid)


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_every_example_obeys_the_contract(load_example: Loader, name: str) -> None:
    workload = load_example(name)
    assert_result_obeys_contract(workload, analyze(workload))


def test_a_redacted_workload_obeys_the_contract_against_the_original_url(
    load_example: Loader,
) -> None:
    sent = load_example("messy")
    workload = Workload.from_request(sent.url, sent.ddl, sent.queries, sent.options)
    assert_result_obeys_contract(workload, analyze(workload), original_url=sent.url)


def test_the_flights_example_is_retargeted_to_flights_optimized(load_example: Loader) -> None:
    result = analyze(load_example("flights"))
    assert result.ddl[0].statement == "CREATE SCHEMA flights.optimized"
    assert result.migrations[0].statement.startswith("INSERT INTO flights.optimized.flights ")
    assert result.migrations[0].statement.endswith("FROM flights.public.flights")
    assert all("flights.optimized.flights" in q.query for q in result.queries)
    assert not [f for f in result.report.findings if f.severity == "error"]


def test_the_tickets_line_comment_keeps_ending_its_line_only(load_example: Loader) -> None:
    # given `... where customer_id = 77 -- latest first` followed by `order by` on the next line
    result = analyze(load_example("tickets"))
    rewritten = query(result, "k-customer")
    # then only the table name changed, and the ORDER BY after the comment still applies
    assert rewritten == (
        "select ticket_id, subject, opened_at from support.optimized.tickets "
        "where customer_id = 77 -- latest first\norder by opened_at desc"
    )
    assert parse_trino(rewritten).args.get("order") is not None


class TestTheMessyExample:
    """examples/messy.json: the things real workloads get wrong, all at once."""

    @pytest.fixture
    def result(self, load_example: Loader) -> AnalysisResult:
        return analyze(layout_only(load_example("messy")))

    def test_same_named_tables_in_two_schemas_are_told_apart(self, result: AnalysisResult) -> None:
        created = [s.statement.split(" (")[0] for s in result.ddl[1:]]
        assert "CREATE TABLE lake.optimized.sales_orders" in created
        assert "CREATE TABLE lake.optimized.hr_orders" in created
        assert finding(result, "name_collision")

    def test_names_written_with_one_two_or_three_parts_reach_the_same_new_table(
        self, result: AnalysisResult
    ) -> None:
        assert query(result, "m-qualified-mix").count("lake.optimized.sales_orders") == 2
        assert "lake.optimized.customers" in query(result, "m-qualified-mix")
        assert "lake.optimized.sales_orders o join lake.optimized.customers c" in query(
            result, "m-oneline-comment"
        )

    def test_comments_and_quoted_identifiers_survive(self, result: AnalysisResult) -> None:
        assert query(result, "m-oneline-comment").endswith(
            "-- only open ones order by o.order_ts desc"
        )
        assert 'c."Name"' in query(result, "m-oneline-comment")
        assert "/* outer */" in query(result, "m-qualified-mix")
        assert "-- repeat buyers\n" in query(result, "m-qualified-mix")

    def test_the_cte_shadowing_a_table_stays_a_cte(self, result: AnalysisResult) -> None:
        assert query(result, "m-cte-shadow") == (
            "WITH orders AS (SELECT * FROM lake.optimized.sales_orders AS orders "
            "WHERE status = 'paid')\n"
            'SELECT customer_id, sum("TotalAmount") AS "Total" FROM orders GROUP BY customer_id'
        )

    def test_unparsable_statements_are_reported_and_queries_returned_unchanged(
        self, result: AnalysisResult
    ) -> None:
        assert finding(result, "parse_error", kind="ddl", index=6)
        for queryid, index in (("m-unparseable", 9), ("m-show", 10), ("m-empty", 11)):
            assert finding(result, "parse_error", kind="query", index=index, queryid=queryid)
        assert query(result, "m-unparseable") == "SELEC order_id FRM orders"
        assert query(result, "m-empty") == ""

    def test_a_table_outside_the_ddl_is_left_and_reported(self, result: AnalysisResult) -> None:
        assert query(result, "m-unknown-table").startswith(
            "SELECT r.amount, o.order_id FROM lake.sales.refunds r "
            "JOIN lake.optimized.sales_orders o"
        )
        assert [
            (f.table, f.queryids) for f in result.report.findings if f.code == "unknown_table"
        ] == [
            ("lake.sales.refunds", ("m-unknown-table",)),
            ("lake.sales.lake.sales.orders", ("m-qualified-twice",)),
        ]

    def test_a_write_is_retargeted_and_reported(self, result: AnalysisResult) -> None:
        assert query(result, "m-insert").startswith("INSERT INTO lake.optimized.daily_revenue ")
        assert finding(result, "non_select", statement="INSERT")

    def test_source_ddl_quirks_are_handled_and_reported(self, result: AnalysisResult) -> None:
        ddl = "\n".join(s.statement for s in result.ddl)
        assert "location" not in ddl.lower()
        assert "partitioning = ARRAY['status']" in ddl  # the workload's, not the source's
        assert "AS SELECT day, revenue FROM lake.sales.daily_revenue WITH NO DATA" in ddl
        assert "kind INTEGER, at TIMESTAMP(6)" in ddl
        codes = {f.code for f in result.report.findings}
        assert {
            "unsupported_ddl",
            "dropped_property",
            "type_widened",
            "columns_from_source",
        } <= codes

    def test_no_credential_reaches_the_result(self, result: AnalysisResult) -> None:
        text = json.dumps(result.to_dict())
        assert "s3cr3t-pw" not in text
        assert "analyst" not in text


def test_each_pass_is_announced_in_order(make_workload: WorkloadFactory) -> None:
    seen: list[tuple[str, int]] = []
    analyze(make_workload(["CREATE TABLE t (x int)"]), on_stage=lambda s, p: seen.append((s, p)))
    assert [s for s, _ in seen] == ["parse", "profile", "recommend", "rewrite", "report"]
    assert [p for _, p in seen] == sorted(p for _, p in seen)
    assert all(0 <= p <= 100 for _, p in seen)


def test_the_same_workload_always_gives_the_same_result(load_example: Loader) -> None:
    workload = load_example("messy")
    assert analyze(workload).to_dict() == analyze(workload).to_dict()


def test_meta_says_the_rules_engine_made_every_part(make_workload: WorkloadFactory) -> None:
    meta = analyze(make_workload(), version="1.2.3").meta
    assert (meta.engine, meta.model, meta.version, meta.duration_ms) == ("rules", None, "1.2.3", 0)
    assert meta.parts == {
        "ddl": "rules",
        "migrations": "rules",
        "queries": "rules",
        "report": "rules",
    }


def test_the_result_survives_a_round_trip_through_json(load_example: Loader) -> None:
    result = analyze(load_example("messy"))
    assert AnalysisResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


@pytest.mark.parametrize(
    "ddl",
    [
        [],
        [""],
        ["CREATE TABLE (", "not sql", "DROP TABLE x"],
        ["SELECT 1"],
    ],
)
def test_without_a_usable_table_the_result_is_still_valid(
    make_workload: WorkloadFactory, ddl: list[str]
) -> None:
    workload = make_workload(ddl, [("q1", "SELECT * FROM orders"), ("q2", "SELECT 1")])
    result = analyze(workload)
    assert [s.statement for s in result.ddl] == ["CREATE SCHEMA lake.optimized"]
    assert result.migrations == ()
    assert_result_obeys_contract(workload, result)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        ";;",
        "\x00",
        "SELECT",
        "SELECT 'x",
        "SELECT * FROM a.b.c.d.e",
        "SELECT * FROM TABLE(sequence(1, 3))",
        "WITH RECURSIVE",
        "(" * 3000 + "SELECT 1" + ")" * 3000,
        "EXPLAIN SELECT 1",
        "CALL system.sync_partition_metadata('s', 't', 'FULL')",
        "DELETE FROM orders WHERE id IN (SELECT id FROM orders)",
        "MERGE INTO orders t USING orders s ON t.id = s.id WHEN MATCHED THEN DELETE",
        "UPDATE orders SET id = 1",
        "CREATE TABLE x AS SELECT * FROM orders",
        "DROP TABLE orders",
        "VALUES 1, 2",
        "SELECT * FROM orders FOR VERSION AS OF 1",
        'SELECT * FROM "orders$snapshots"',
        "🙂",
    ],
)
def test_no_query_text_makes_the_engine_raise(make_workload: WorkloadFactory, text: str) -> None:
    workload = make_workload(
        ["CREATE TABLE orders (id bigint)"], [("q", text), ("after", "SELECT 1")]
    )
    result = analyze(workload)
    assert [q.queryid for q in result.queries] == ["q", "after"]
    assert_result_obeys_contract(workload, result)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "jdbc:trino://",
        "jdbc:trino://[::1",
        "jdbc:trino://h:notaport/lake",
        "http://u:p@h/lake/sales?password=p",
    ],
)
def test_no_url_makes_the_engine_raise(url: str) -> None:
    workload = Workload(
        url=url,
        ddl=(DdlStatement("CREATE TABLE s.t (x int)"),),
        queries=(Query("q", "SELECT x FROM s.t"),),
        options=AnalysisOptions(target_schema=""),
    )
    result = analyze(workload)
    assert result.ddl[0].statement.startswith("CREATE SCHEMA ")
    assert result.queries[0].query.endswith(".optimized.t")


def test_an_engine_bug_gives_a_safe_result_not_an_exception(
    make_workload: WorkloadFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a layout pass that fails unexpectedly
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("domain.analysis.engine.plan_layout", broken)
    workload = make_workload(["CREATE TABLE t (x int)"], [("q1", "SELECT x FROM t")])
    # when the workload is analysed
    result = analyze(workload)
    # then every query comes back unchanged, the failure is reported, the contract holds
    assert [q.query for q in result.queries] == ["SELECT x FROM t"]
    assert [(f.code, f.details["message"]) for f in result.report.findings] == [
        ("internal_error", "RuntimeError: boom")
    ]
    assert result.ddl[0].statement == "CREATE SCHEMA lake.optimized"
    assert_result_obeys_contract(workload, result)


def test_what_the_stage_callback_raises_is_the_callers(make_workload: WorkloadFactory) -> None:
    class Cancelled(Exception):
        pass

    def cancel(stage: str, _: int) -> None:
        if stage == "rewrite":
            raise Cancelled

    with pytest.raises(Cancelled):
        analyze(make_workload(), on_stage=cancel)


def test_analyze_restores_the_garbage_collector_thresholds(
    make_workload: WorkloadFactory,
) -> None:
    # given the process's thresholds
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    # when an analysis runs (full collections are made rare meanwhile)
    analyze(
        make_workload(["CREATE TABLE t (id bigint)"], [("q", "SELECT id FROM t")]),
        on_stage=lambda stage, percent: seen.append(gc.get_threshold()),
    )
    # then they are what they were, and only the oldest generation's was raised
    assert gc.get_threshold() == before
    assert all(t[:2] == before[:2] and t[2] >= before[2] for t in seen)
