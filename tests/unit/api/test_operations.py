"""What operators rely on: health probes, Prometheus metrics, JSON logs with the task id, API
keys and CORS."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from adapters.clock import SystemClock
from adapters.memory import InMemoryUnitOfWorkFactory
from application.ports.advisor import AdviceReply, AdviceRequest, AdvisorError, CallStats
from application.ports.analyzer import ProgressSink
from application.use_cases.get_task_result import GetTaskResult
from application.use_cases.get_task_status import GetTaskStatus
from application.use_cases.submit_task import SubmitTask
from domain.result import AnalysisResult
from domain.task import Progress
from domain.workload import Workload
from entrypoints.api.app import ApiDependencies, ApiOptions, create_app
from entrypoints.api.security import key_digest, key_matches
from entrypoints.embedded import create_embedded_app
from entrypoints.instrumentation import InstrumentedAdvisor, InstrumentedAnalyzer
from entrypoints.logs import JsonFormatter, configure_logging, task_context
from entrypoints.secret_key import with_embedded_secret_key
from entrypoints.settings import Settings
from tests.unit.api.support import Api, a_body, running_api
from tests.unit.builders import a_result


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class FakeProbe:
    def __init__(self, name: str, *, required: bool, up: bool) -> None:
        self.name = name
        self.required = required
        self.up = up

    async def check(self) -> None:
        if not self.up:
            raise ConnectionRefusedError("secret detail that must not be shown")


@contextlib.asynccontextmanager
async def app_with(
    probes: tuple[FakeProbe, ...] = (), options: ApiOptions | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    uow = InMemoryUnitOfWorkFactory()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        app.state.deps = ApiDependencies(
            submit=SubmitTask(uow, SystemClock()),
            get_status=GetTaskStatus(uow),
            get_result=GetTaskResult(uow),
            probes=probes,
        )
        yield

    app = create_app(lifespan, version="0.0.0", options=options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with running_api(Settings(relay_interval_seconds=0.05)) as running:
        yield running


class TestHealth:
    @pytest.mark.parametrize("path", ["/health", "/health/live"])
    async def test_liveness_answers_while_the_process_serves(self, api: Api, path: str) -> None:
        response = await api.client.get(path)

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_ready_checks_the_real_database(self, tmp_path: Path) -> None:
        settings = with_embedded_secret_key(
            Settings(
                database_url=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3",
                secret_key_file=str(tmp_path / "secret.key"),
            )
        )
        app = create_embedded_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get("/health/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ready", "checks": {"database": "ok"}}

    async def test_a_required_dependency_down_makes_it_unready(self) -> None:
        probes = (
            FakeProbe("database", required=True, up=False),
            FakeProbe("kafka", required=False, up=True),
        )
        async with app_with(probes) as client:
            response = await client.get("/health/ready")
            live = await client.get("/health/live")

        assert response.status_code == 503
        assert response.headers["retry-after"]
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["checks"] == {"database": "down (ConnectionRefusedError)", "kafka": "ok"}
        assert "secret detail" not in response.text
        assert live.status_code == 200

    async def test_an_optional_dependency_down_leaves_it_ready_but_degraded(self) -> None:
        probes = (
            FakeProbe("database", required=True, up=True),
            FakeProbe("kafka", required=False, up=False),
        )
        async with app_with(probes) as client:
            response = await client.get("/health/ready")

        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["kafka"].startswith("down")


class TestMetrics:
    async def test_requests_are_counted_by_route_template_and_status(self, api: Api) -> None:
        before_new = metric(
            "dbanalysis_http_requests_total", method="POST", route="/new", status="202"
        )
        before_404 = metric(
            "dbanalysis_http_requests_total", method="GET", route="/status", status="404"
        )
        before_unmatched = metric(
            "dbanalysis_http_requests_total", method="GET", route="unmatched", status="404"
        )

        await api.submit()
        await api.client.get("/status", params={"taskid": str(uuid.uuid4())})
        await api.client.get(f"/no-such-page-{uuid.uuid4()}")
        text = (await api.client.get("/metrics")).text

        assert "dbanalysis_http_requests_total" in text
        new = metric("dbanalysis_http_requests_total", method="POST", route="/new", status="202")
        assert new == before_new + 1
        not_found = metric(
            "dbanalysis_http_requests_total", method="GET", route="/status", status="404"
        )
        assert not_found == before_404 + 1
        unmatched = metric(
            "dbanalysis_http_requests_total", method="GET", route="unmatched", status="404"
        )
        assert unmatched == before_unmatched + 1

    async def test_tasks_are_gauged_by_status_when_scraped(self, api: Api) -> None:
        task_id = await api.submit()
        await api.wait_for(task_id, "completed")

        response = await api.client.get("/metrics")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert metric("dbanalysis_tasks", status="completed") == 1
        assert metric("dbanalysis_tasks", status="failed") == 0
        assert 'dbanalysis_tasks{status="pending"}' in response.text

    async def test_stage_and_analysis_durations_are_observed(self) -> None:
        async def staged(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
            await on_progress(Progress("parse", 10))
            await on_progress(Progress("parse", 20))
            await on_progress(Progress("layout", 50))
            return a_result(workload)

        class Staged:
            async def analyze(self, workload: Workload, on_progress: ProgressSink, **_: Any) -> Any:
                return await staged(workload, on_progress)

        seen: list[Progress] = []

        async def sink(progress: Progress) -> None:
            seen.append(progress)

        before = {
            stage: metric("dbanalysis_stage_duration_seconds_count", stage=stage)
            for stage in ("parse", "layout")
        }
        ok_before = metric("dbanalysis_analysis_duration_seconds_count", outcome="ok")

        workload = Workload.from_request("jdbc:trino://h", (), ())
        await InstrumentedAnalyzer(Staged()).analyze(workload, sink)

        assert [p.percent for p in seen] == [10, 20, 50]  # progress still goes through
        for stage in ("parse", "layout"):
            count = metric("dbanalysis_stage_duration_seconds_count", stage=stage)
            assert count == before[stage] + 1
        assert metric("dbanalysis_analysis_duration_seconds_count", outcome="ok") == ok_before + 1

    async def test_llm_calls_are_timed_and_their_tokens_counted(self) -> None:
        class Advisor:
            model = "m"

            def __init__(self, fail: bool) -> None:
                self.fail = fail

            async def refine(self, request: AdviceRequest) -> AdviceReply:
                if self.fail:
                    raise AdvisorError("timeout", "too slow", CallStats(prompt_tokens=5))
                return AdviceReply(stats=CallStats(prompt_tokens=100, completion_tokens=20))

        ok = metric("dbanalysis_llm_request_duration_seconds_count", outcome="ok")
        timeout = metric("dbanalysis_llm_request_duration_seconds_count", outcome="timeout")
        prompt = metric("dbanalysis_llm_tokens_total", kind="prompt")
        completion = metric("dbanalysis_llm_tokens_total", kind="completion")
        request = AdviceRequest.__new__(AdviceRequest)

        await InstrumentedAdvisor(Advisor(fail=False)).refine(request)
        with pytest.raises(AdvisorError):
            await InstrumentedAdvisor(Advisor(fail=True)).refine(request)

        assert metric("dbanalysis_llm_request_duration_seconds_count", outcome="ok") == ok + 1
        after_timeout = metric("dbanalysis_llm_request_duration_seconds_count", outcome="timeout")
        assert after_timeout == timeout + 1
        assert metric("dbanalysis_llm_tokens_total", kind="prompt") == prompt + 105
        assert metric("dbanalysis_llm_tokens_total", kind="completion") == completion + 20


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


class TestJsonLogs:
    def test_a_record_made_inside_a_task_context_carries_the_task_id(
        self, root_logging: None, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging("INFO", "json", process_name="worker")
        task_id = uuid.uuid4()

        with task_context(task_id):
            logging.getLogger("dbanalysis.test").info("claimed %s", "it", extra={"attempt": 2})
        logging.getLogger("dbanalysis.test").warning("outside")

        inside, outside = (json.loads(line) for line in capsys.readouterr().err.splitlines())
        assert inside["task_id"] == str(task_id)
        assert inside["message"] == "claimed it"
        assert inside["level"] == "INFO"
        assert inside["logger"] == "dbanalysis.test"
        assert inside["process"] == "worker"
        assert inside["attempt"] == 2
        assert inside["time"].endswith("Z")
        assert "task_id" not in outside

    def test_an_exception_is_one_json_line_too(self) -> None:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.getLogger("x").makeRecord(
                "x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
            )

        line = JsonFormatter().format(record)

        assert "\n" not in line
        assert "ValueError: boom" in json.loads(line)["exception"]

    async def test_the_embedded_worker_logs_with_the_task_id(
        self, root_logging: None, api: Api, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging("INFO", "json")

        task_id = await api.submit()
        await api.wait_for(task_id, "completed")

        records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        processed = [r for r in records if r["logger"] == "entrypoints.runners"]
        assert processed
        assert all(r["task_id"] == str(task_id) for r in processed)
        accepted = [r for r in records if r["message"].startswith("task accepted")]
        assert accepted[0]["task_id"] == str(task_id)


KEYS = ApiOptions(api_keys=("first-key", "second-key"))


class TestApiKeys:
    @pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}])
    async def test_the_task_routes_refuse_a_missing_or_wrong_key(
        self, headers: dict[str, str]
    ) -> None:
        async with app_with(options=KEYS) as client:
            responses = [
                await client.post("/new", json=a_body(), headers=headers),
                await client.get("/status", params={"taskid": str(uuid.uuid4())}, headers=headers),
                await client.get("/getresult", params={"taskid": "x"}, headers=headers),
            ]

        for response in responses:
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"] == "X-API-Key"
            assert response.json()["type"] == "/problems/unauthorized"

    @pytest.mark.parametrize("key", ["first-key", "second-key"])
    async def test_any_configured_key_is_accepted(self, key: str) -> None:
        async with app_with(options=KEYS) as client:
            response = await client.post("/new", json=a_body(), headers={"X-API-Key": key})

        assert response.status_code == 202

    @pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready", "/metrics"])
    async def test_health_and_metrics_stay_open(self, path: str) -> None:
        async with app_with(options=KEYS) as client:
            response = await client.get(path)

        assert response.status_code == 200

    async def test_the_openapi_document_says_a_key_is_needed_only_when_it_is(self) -> None:
        async with app_with(options=KEYS) as client:
            guarded = (await client.get("/openapi.json")).json()
        async with app_with() as client:
            open_ = (await client.get("/openapi.json")).json()

        assert "X-API-Key" in json.dumps(guarded["components"]["securitySchemes"])
        assert "401" in guarded["paths"]["/new"]["post"]["responses"]
        assert "securitySchemes" not in open_.get("components", {})
        assert "401" not in open_["paths"]["/new"]["post"]["responses"]

    async def test_no_key_is_asked_for_by_default(self, api: Api) -> None:
        assert (await api.client.post("/new", json=a_body())).status_code == 202

    def test_a_key_matches_only_itself(self) -> None:
        digests = (key_digest("k1"), key_digest("k2"))

        assert key_matches("k1", digests)
        assert key_matches("k2", digests)
        assert not key_matches("k1x", digests)
        assert not key_matches("k", digests)
        assert not key_matches(None, digests)
        assert not key_matches("\udc80", digests)  # odd input never raises

    def test_keys_come_from_a_comma_separated_setting(self) -> None:
        settings = Settings(api_keys=" a , b,,")

        assert ApiOptions.from_settings(settings).api_keys == ("a", "b")
        assert "a , b" not in repr(settings)


PREFLIGHT = {
    "Origin": "https://app.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


class TestCors:
    async def test_closed_by_default(self) -> None:
        async with app_with() as client:
            preflight = await client.options("/new", headers=PREFLIGHT)
            simple = await client.post(
                "/new", json=a_body(), headers={"Origin": "https://app.example"}
            )

        assert "access-control-allow-origin" not in preflight.headers
        assert preflight.status_code == 405
        assert preflight.headers["content-type"] == "application/problem+json"
        assert "access-control-allow-origin" not in simple.headers

    async def test_a_configured_origin_is_allowed_and_no_other(self) -> None:
        options = ApiOptions(cors_allow_origins=("https://app.example",))
        async with app_with(options=options) as client:
            allowed = await client.options("/new", headers=PREFLIGHT)
            refused = await client.options(
                "/new", headers={**PREFLIGHT, "Origin": "https://evil.example"}
            )

        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        assert refused.headers["content-type"] == "application/problem+json"
