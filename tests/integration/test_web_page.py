"""The web page end to end: headless Chromium (Debian's `chromium`, installed by
scripts/install-browser.sh, driven by Playwright) submits an example through the page served
by a real `dbanalysis serve` process, and the report it shows is the service's result.

The screenshot of the report goes to var/test-artifacts/. Without the browser the test is
skipped on a developer box and fails in CI (`CI` set), like the other integration tests.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.embedded_service import EmbeddedService, embedded_service

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM_ENV = "DBANALYSIS_TEST_CHROMIUM"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = os.environ.get(CHROMIUM_ENV, "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        reason = (
            f"no browser at {path}: run scripts/install-browser.sh (installs Debian's chromium, "
            f"as root) or set {CHROMIUM_ENV}"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedService]:
    with embedded_service(tmp_path_factory.mktemp("serve")) as service:
        yield service


class Visit:
    """A page on the service, and everything it asked for or complained about."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.requests: list[httpx.URL] = []
        self.headers: list[dict[str, str]] = []
        self.errors: list[str] = []
        page.on(
            "request",
            lambda r: (self.requests.append(httpx.URL(r.url)), self.headers.append(r.headers)),
        )
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.goto(base_url + "/")

    def submit(self) -> str:
        self.page.click("#submit")
        self.page.wait_for_selector("#report-section:not([hidden])", timeout=120_000)
        return self.page.text_content("#task-id") or ""


@pytest.fixture
def visit(browser: Browser, service: EmbeddedService) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        yield Visit(context.new_page(), service.base_url)
    finally:
        context.close()


def served_result(service: EmbeddedService, task_id: str) -> dict[str, Any]:
    response = httpx.get(f"{service.base_url}/getresult", params={"taskid": task_id})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_an_example_submitted_through_the_page_shows_the_services_report(
    visit: Visit, service: EmbeddedService, tmp_path: Path
) -> None:
    page = visit.page
    # given an example picked from the list (and an API key typed in)
    page.wait_for_selector("#example option[value=clicks]", state="attached")
    page.select_option("#example", "clicks")
    expect(page.locator("#workload")).to_have_value(re.compile("queryid"))
    workload = json.loads(page.input_value("#workload"))
    assert workload == json.loads((ROOT / "examples" / "clicks.json").read_text())
    page.fill("#api-key", "key-for-the-test")

    # when it is submitted and the task completes
    task_id = visit.submit()

    # then the page shows the service's result
    result = served_result(service, task_id)
    report = result["report"]
    assert page.text_content("#task-status") == "completed"
    assert page.text_content("#summary") == report["summary"]
    findings = page.locator("#findings .finding")
    assert findings.count() == len(report["findings"])
    for index, finding in enumerate(report["findings"]):
        text = findings.nth(index).text_content() or ""
        assert finding["id"] in text
        assert finding["title"] in text
        assert finding["effect"] in text  # the expected gain
    assert page.locator("#ddl pre.sql").count() == len(result["ddl"])
    assert page.locator("#migrations pre.sql").count() == len(result["migrations"])
    ddl = [page.locator("#ddl pre.sql").nth(i).text_content() for i in range(len(result["ddl"]))]
    assert ddl == [s["statement"] for s in result["ddl"]]

    # each query beside its original, with its verification status
    originals = {q["queryid"]: q["query"] for q in workload["queries"]}
    statuses = {v["queryid"]: v["status"] for v in report["verification"]["queries"]}
    for query in result["queries"]:
        article = page.locator(f'#queries article[data-queryid="{query["queryid"]}"]')
        blocks = article.locator("pre.sql")
        assert blocks.nth(0).text_content() == originals[query["queryid"]]
        assert blocks.nth(1).text_content() == query["query"]
        assert article.locator(".badge").text_content() == statuses[query["queryid"]]

    # the chart: one bar per table, column, join path and query the estimates weigh
    estimates = report["estimates"]
    for kind, key in (
        ("table", "table_weights"),
        ("column", "column_weights"),
        ("join", "join_weights"),
        ("query", "weights"),
    ):
        assert page.locator(f"#chart svg g.row-{kind}").count() == len(estimates[key]), kind
    assert page.locator("#gains-table tbody tr").count() >= 1

    # the result JSON downloads as the service gave it
    with page.expect_download() as download:
        page.click("#download")
    saved = tmp_path / "download.json"
    download.value.save_as(saved)
    assert json.loads(saved.read_text()) == result

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-report.png"), full_page=True)

    # the key was sent with every call to the API, and nothing was asked of another origin
    api_calls = [
        h
        for u, h in zip(visit.requests, visit.headers, strict=True)
        if u.path in {"/new", "/status", "/getresult"}
    ]
    assert api_calls
    assert all(h.get("x-api-key") == "key-for-the-test" for h in api_calls)
    base = httpx.URL(service.base_url)
    assert all(u.scheme in {"blob", "data"} or u.host == base.host for u in visit.requests)
    assert visit.errors == []


def test_text_from_the_workload_is_shown_as_text_never_as_markup(
    visit: Visit, service: EmbeddedService
) -> None:
    page = visit.page
    body = json.loads((ROOT / "examples" / "tickets.json").read_text())
    marker = "<img src=x id=injected onerror=\"document.title='pwned'\">"
    body["queries"][0]["queryid"] = marker
    body["queries"][0]["query"] += f" -- {marker}"
    page.fill("#workload", json.dumps(body))

    visit.submit()

    assert page.locator("#injected").count() == 0
    assert page.title() != "pwned"
    article = page.locator("#queries article").first
    assert marker in (article.locator("strong").text_content() or "")
    assert marker in (article.locator("pre.sql").first.text_content() or "")


def test_an_invalid_workload_is_explained_on_the_page(visit: Visit) -> None:
    page = visit.page
    page.fill("#workload", json.dumps({"url": "jdbc:trino://h:1", "ddl": [], "queries": []}))

    page.click("#submit")

    error = page.locator("#submit-error")
    error.wait_for(state="visible")
    assert "ddl:" in (error.text_content() or "")
    assert page.locator("#progress-section").is_hidden()
