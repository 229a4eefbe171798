"""A result and a status as people read them in a terminal, with rich.

The result's JSON stays the contract; this is a view of it: the summary, the estimated gains,
where the workload's weight goes, the findings as a table, then the new DDL, the migrations and
every query with its verification status, the SQL highlighted. Only what the result holds is
shown; a part it lacks is left out rather than invented.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.bar import Bar
from rich.console import Console, Group
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

__all__ = ["render_result", "render_status"]

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
VERIFICATION_STYLE = {
    "rewritten": "green",
    "retargeted": "cyan",
    "partially_retargeted": "yellow",
    "unchanged": "red",
}
STATUS_STYLE = {
    "pending": "yellow",
    "processing": "blue",
    "completed": "green",
    "failed": "bold red",
}


def render_status(console: Console, status: Mapping[str, Any]) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    state = str(status.get("status", ""))
    progress = status.get("progress") or {}
    table.add_row("task", str(status.get("taskid", "")))
    table.add_row("status", Text(state, style=STATUS_STYLE.get(state, "")))
    table.add_row("stage", f"{progress.get('stage', '')} ({progress.get('percent', 0)}%)")
    table.add_row("attempts", str(status.get("attempts", "")))
    table.add_row("created", str(status.get("created_at", "")))
    table.add_row("updated", str(status.get("updated_at", "")))
    error = status.get("error")
    if error:
        table.add_row("error", Text(f"{error.get('code')}: {error.get('message')}", style="red"))
    console.print(table)


def render_result(
    console: Console, result: Mapping[str, Any], originals: Mapping[str, str] | None = None
) -> None:
    """Print `result`; `originals` (queryid → the submitted SQL), when known, is shown beside
    each rewritten query."""
    report = result.get("report") or {}
    estimates = report.get("estimates") or {}
    verification = report.get("verification") or {}
    console.print(_summary(report, result.get("meta") or {}))
    gains = _gains(estimates)
    if gains is not None:
        console.print(gains)
    weights = _weights(estimates)
    if weights is not None:
        console.print(weights)
    findings = report.get("findings") or []
    if findings:
        console.print(_findings(findings))
    _statements(console, "New DDL", result.get("ddl") or [])
    _statements(console, "Migrations", result.get("migrations") or [])
    _queries(console, result.get("queries") or [], verification, originals or {})


def _summary(report: Mapping[str, Any], meta: Mapping[str, Any]) -> Panel:
    produced = f"engine {meta.get('engine', '?')}"
    if meta.get("model"):
        produced += f", model {meta['model']}"
    if meta.get("version"):
        produced += f", version {meta['version']}"
    if meta.get("duration_ms") is not None:
        produced += f", {meta['duration_ms']} ms"
    return Panel(
        Group(Text(str(report.get("summary", ""))), Text(produced, style="dim")),
        title="Summary",
        title_align="left",
    )


def _ratio(before: Any, after: Any) -> str:
    if isinstance(before, int | float) and isinstance(after, int | float) and after > 0:
        return f"{before / after:.1f}×"
    return "–"


def _percent(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else "–"


def _gains(estimates: Mapping[str, Any]) -> Table | None:
    """Estimated share of data read before and after, workload-wide and per new table."""
    data_read = estimates.get("data_read") or {}
    tables = estimates.get("tables") or {}
    if not data_read and not tables:
        return None
    table = Table(title="Estimated gains (share of data read)", title_justify="left")
    table.add_column("Scope")
    table.add_column("Weighted by")
    table.add_column("Before", justify="right")
    table.add_column("After", justify="right")
    table.add_column("Less read", justify="right", style="green")
    for scope, figures in [("whole workload", data_read), *tables.items()]:
        for weighting, label in (
            ("by_runquantity", "runs"),
            ("by_runquantity_x_executiontime", "runs × time"),
        ):
            pair = figures.get(weighting)
            if pair:
                table.add_row(
                    scope,
                    label,
                    _percent(pair.get("before")),
                    _percent(pair.get("after")),
                    _ratio(pair.get("before"), pair.get("after")),
                )
    if estimates.get("model"):
        table.caption = f"model: {estimates['model']}"
    return table


def _weights(estimates: Mapping[str, Any]) -> Table | None:
    """Where the workload's weight goes: tables, columns, join paths and queries, with bars."""
    rows: list[tuple[str, str, float]] = [
        ("table", str(t.get("table", "")), float(t.get("weight_share") or 0.0))
        for t in estimates.get("table_weights") or []
    ]
    rows += [
        ("column", f"{c.get('table', '')}.{c.get('column', '')}", float(c.get("weight_share") or 0))
        for c in estimates.get("column_weights") or []
    ]
    rows += [
        ("join path", str(j.get("path", "")), float(j.get("weight_share") or 0.0))
        for j in estimates.get("join_weights") or []
    ]
    rows += [
        ("query", str(q.get("queryid", "")), float(q.get("weight_share") or 0.0))
        for q in estimates.get("weights") or []
    ]
    if not rows:
        return None
    table = Table(title="Where the workload's weight goes", title_justify="left")
    table.add_column("Kind", style="dim")
    table.add_column("Name")
    table.add_column("Share", justify="right")
    table.add_column("", width=30)
    for kind, name, share in rows:
        table.add_row(kind, name, f"{share:.0%}", Bar(1.0, 0.0, min(share, 1.0), color="blue"))
    return table


def _findings(findings: list[Mapping[str, Any]]) -> Table:
    table = Table(title="Findings", title_justify="left", show_lines=True, expand=True)
    table.add_column("ID", no_wrap=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Weight", justify="right", no_wrap=True)
    table.add_column("Finding, evidence and expected effect")
    for finding in findings:
        severity = str(finding.get("severity", ""))
        body = Text(str(finding.get("title", "")), style="bold")
        body.append("\n" + str(finding.get("rationale", "")), style="")
        if finding.get("effect"):
            body.append("\nexpected: " + str(finding["effect"]), style="green")
        if finding.get("risk"):
            body.append("\nrisk: " + str(finding["risk"]), style="yellow")
        facts = [f"table {finding['table']}"] if finding.get("table") else []
        if finding.get("queryids"):
            facts.append("queries " + ", ".join(map(str, finding["queryids"])))
        facts.append(str(finding.get("code", "")))
        body.append("\n" + " · ".join(facts), style="dim")
        table.add_row(
            str(finding.get("id", "")),
            Text(severity, style=SEVERITY_STYLE.get(severity, "")),
            _percent(finding.get("weight_share")),
            body,
        )
    return table


def _sql(text: str) -> Syntax:
    return Syntax(text, "sql", word_wrap=True, theme="ansi_dark", background_color="default")


def _statements(console: Console, title: str, statements: list[Mapping[str, Any]]) -> None:
    console.print(Rule(f"{title} ({len(statements)})", align="left"))
    for number, item in enumerate(statements, 1):
        console.print(Text(f"-- {number}", style="dim"))
        console.print(_sql(str(item.get("statement", ""))))


def _queries(
    console: Console,
    queries: list[Mapping[str, Any]],
    verification: Mapping[str, Any],
    originals: Mapping[str, str],
) -> None:
    checks = {str(v.get("queryid")): v for v in verification.get("queries") or []}
    console.print(Rule(f"Queries ({len(queries)})", align="left"))
    for item in queries:
        queryid = str(item.get("queryid", ""))
        heading = Text(queryid, style="bold")
        check = checks.get(queryid)
        if check:
            status = str(check.get("status", ""))
            heading.append(f"  {status}", style=VERIFICATION_STYLE.get(status, ""))
            if check.get("reason"):
                heading.append(f" — {check['reason']}", style="dim")
        console.print(heading)
        if queryid in originals:
            console.print(Text("original:", style="dim"))
            console.print(_sql(originals[queryid]))
            console.print(Text("new:", style="dim"))
        console.print(_sql(str(item.get("query", ""))))
    if verification.get("method"):
        console.print(Text(f"verification: {verification['method']}", style="dim"))
