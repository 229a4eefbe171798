"""The compose stack and the image, checked where Docker cannot run them: the services, their
wiring, healthchecks, ports and start order are what the README promises."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_the_stack_has_every_service(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "postgres",
        "kafka",
        "kafka-ui",
        "migrate",
        "api",
        "worker",
    }


@pytest.mark.parametrize("service", ["postgres", "kafka", "api", "worker"])
def test_long_running_services_have_a_healthcheck(compose: dict[str, Any], service: str) -> None:
    assert compose["services"][service]["healthcheck"]["test"]


@pytest.mark.parametrize("service", ["migrate", "api", "worker"])
def test_the_app_services_are_wired_to_postgres_and_kafka(
    compose: dict[str, Any], service: str
) -> None:
    env = compose["services"][service]["environment"]

    assert env["DBANALYSIS_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["DBANALYSIS_DATABASE_URL"]
    assert env["DBANALYSIS_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["DBANALYSIS_KAFKA_TOPIC"] == "db_analysis_tasks"


@pytest.mark.parametrize("service", ["api", "worker"])
def test_api_and_worker_get_a_valid_secret_key_that_production_can_replace(
    compose: dict[str, Any], service: str
) -> None:
    setting = compose["services"][service]["environment"]["DBANALYSIS_SECRET_KEY"]

    match = re.fullmatch(r"\$\{DBANALYSIS_SECRET_KEY:-(?P<key>[^}]+)\}", setting)

    assert match is not None, setting
    Fernet(match["key"])  # a real key, so that `docker compose up` starts as it is


def test_the_api_asks_for_a_key_in_compose_that_production_can_replace(
    compose: dict[str, Any],
) -> None:
    env = compose["services"]["api"]["environment"]

    assert re.fullmatch(r"\$\{DBANALYSIS_API_KEYS:-[^}]+\}", env["DBANALYSIS_API_KEYS"])
    assert env["DBANALYSIS_LOG_FORMAT"] == "json"


def test_the_healthchecks_probe_liveness(compose: dict[str, Any]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "/health/live" in " ".join(compose["services"]["api"]["healthcheck"]["test"])
    assert "/health/live" in dockerfile


def test_api_and_worker_start_after_the_migration_and_a_healthy_broker(
    compose: dict[str, Any],
) -> None:
    for service in ("api", "worker"):
        depends = compose["services"][service]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["kafka"]["condition"] == "service_healthy"
    assert compose["services"]["migrate"]["depends_on"]["postgres"]["condition"] == (
        "service_healthy"
    )


def test_the_processes_run_the_cli_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"][:2] == ["dbanalysis", "migrate"]
    assert services["api"]["command"][:2] == ["dbanalysis", "api"]
    assert services["worker"]["command"] == ["dbanalysis", "worker"]


def test_published_ports_bind_to_loopback_only(compose: dict[str, Any]) -> None:
    published = [
        port for service in compose["services"].values() for port in service.get("ports", [])
    ]
    assert published
    assert all(port.startswith("127.0.0.1:") for port in published)
    assert "127.0.0.1:8000:8000" in published


def test_kafka_runs_in_kraft_mode(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_the_image_is_multi_stage_and_runs_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    users = [line for line in dockerfile.splitlines() if line.startswith("USER ")]

    assert len(stages) >= 2
    assert users
    assert users[-1].split()[1] not in {"root", "0"}
    assert "--require-hashes -r requirements/runtime.txt" in dockerfile


def _compose_cli() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_cli(), reason="the docker compose CLI is not installed here")
def test_docker_compose_accepts_the_file() -> None:
    checked = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr.decode()


# The hosts of the package indexes, spelled in parts so that this file does not name them either.
_REGISTRY_HOSTS = tuple(
    ".".join(parts)
    for parts in (
        ("pypi", "org"),
        ("files", "pythonhosted", "org"),
        ("repo1", "maven", "org"),
        ("repo", "maven", "apache", "org"),
        ("registry", "npmjs", "org"),
        ("deb", "debian", "org"),
    )
)


def _tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="no git")
def test_no_tracked_file_names_a_package_registry_host() -> None:
    named = [
        f"{path.relative_to(ROOT)}: {host}"
        for path in _tracked_files()
        if path.is_file()
        for host in _REGISTRY_HOSTS
        if host in path.read_bytes().decode("utf-8", "replace").lower()
    ]

    assert named == []


def test_every_locked_requirement_is_pinned_by_version_and_hash() -> None:
    for lock in ("runtime.txt", "dev.txt"):
        text = (ROOT / "requirements" / lock).read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
        requirements = [entry for entry in entries if not entry.startswith("#")]

        assert requirements, lock
        for entry in requirements:
            assert re.match(r"[A-Za-z0-9_.\-\[\],]+==\S+", entry), entry
            assert "--hash=sha256:" in entry, entry
        assert "--index-url" not in text  # covers --extra-index-url too
