"""The web page and the example workloads it offers, through an ASGI transport."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from entrypoints.api.page import STATIC, examples_directory, install_page
from entrypoints.api.schemas import NewTaskRequest

ROOT = Path(__file__).parents[3]


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    directory = tmp_path / "examples"
    directory.mkdir()
    (directory / "tickets.json").write_bytes((ROOT / "examples" / "tickets.json").read_bytes())
    (directory / "broken.json").write_text("{not json")
    (directory / "notes.txt").write_text("not a workload")
    (tmp_path / "secret.json").write_text('{"ddl": [], "queries": []}')
    return directory


@pytest.fixture
async def client(examples: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_page(app, examples)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://page.test") as client:
        yield client


async def test_the_page_is_served_at_the_root_with_a_policy_allowing_only_its_origin(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    for asset in ("/static/app.js", "/static/app.css"):
        assert asset in response.text
        assert (await client.get(asset)).status_code == 200


def test_the_page_loads_nothing_from_elsewhere_and_never_parses_data_as_markup() -> None:
    html = (STATIC / "index.html").read_text()
    script = (STATIC / "app.js").read_text()
    css = (STATIC / "app.css").read_text()
    # every src/href is local, and no stylesheet imports or url() reaches out
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    assert "@import" not in css
    assert "url(" not in css
    # text from the workload or the result becomes text nodes, never markup
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    # the only absolute URL in the script is the SVG namespace; requests go to this origin
    assert re.findall(r"https?://[^\s\"'`]+", script) == ["http://www.w3.org/2000/svg"]


async def test_the_examples_are_listed_by_name_with_their_size(client: httpx.AsyncClient) -> None:
    response = await client.get("/examples")
    assert response.status_code == 200
    # the unreadable file is left out, and so is anything that is not a .json file
    assert response.json() == [{"name": "tickets", "tables": 2, "queries": 3}]


async def test_an_example_is_a_valid_body_for_post_new(
    client: httpx.AsyncClient, examples: Path
) -> None:
    response = await client.get("/examples/tickets")
    assert response.status_code == 200
    assert response.content == (examples / "tickets.json").read_bytes()
    NewTaskRequest.model_validate(response.json())


@pytest.mark.parametrize(
    "name", ["nope", "notes", "..%2Fsecret", "%2E%2E%2Fsecret", "tickets.json", "broken%00"]
)
async def test_only_listed_examples_are_served(client: httpx.AsyncClient, name: str) -> None:
    assert (await client.get(f"/examples/{name}")).status_code == 404


def test_a_checkout_offers_every_example_of_the_project() -> None:
    directory = examples_directory()
    assert directory is not None
    assert sorted(p.name for p in directory.glob("*.json")) == sorted(
        p.name for p in (ROOT / "examples").glob("*.json")
    )
    for path in directory.glob("*.json"):
        NewTaskRequest.model_validate(json.loads(path.read_text()))
