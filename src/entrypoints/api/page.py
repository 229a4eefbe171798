"""The web page at `/` and the example workloads it offers.

The page is three static files shipped inside the package (`static/`: HTML, CSS, vanilla
JavaScript): no build step, nothing fetched from elsewhere at run time, and a Content Security
Policy that allows only this origin. It talks to the same REST contract as any client.

The examples are the project's `examples/*.json`: a wheel carries them inside the package
(`entrypoints/api/examples`, see pyproject's force-include), a source checkout reads them where
they are. Only names listed from that folder are served, so no path reaches outside it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["examples_directory", "install_page"]

STATIC = Path(__file__).parent / "static"
_EXAMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def examples_directory() -> Path | None:
    """Where the example workloads are: inside the installed package, else the checkout's."""
    packaged = Path(__file__).parent / "examples"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "examples"
    return checkout if checkout.is_dir() else None


def _examples(directory: Path | None) -> dict[str, Path]:
    if directory is None:
        return {}
    return {
        path.stem: path
        for path in sorted(directory.glob("*.json"))
        if _EXAMPLE_NAME.match(path.stem) and path.is_file()
    }


def _describe(name: str, path: Path) -> dict[str, Any] | None:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    return {
        "name": name,
        "tables": len(body.get("ddl") or []),
        "queries": len(body.get("queries") or []),
    }


def install_page(app: FastAPI, examples: Path | None = None) -> None:
    """Serve the page at `/`, its files under `/static`, and the examples under `/examples`."""
    directory = examples if examples is not None else examples_directory()

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(
            STATIC / "index.html",
            media_type="text/html; charset=utf-8",
            headers=SECURITY_HEADERS,
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/examples", summary="Example workloads the page offers")
    async def list_examples() -> list[dict[str, Any]]:
        found = (_describe(name, path) for name, path in _examples(directory).items())
        return [example for example in found if example is not None]

    @app.get(
        "/examples/{name}",
        summary="One example workload: a body for POST /new",
        responses={404: {"description": "No example of that name"}},
    )
    async def get_example(name: str) -> Response:
        path = _examples(directory).get(name)
        if path is None:
            raise HTTPException(status_code=404, detail=f"no example named {name[:100]!r}")
        return Response(path.read_bytes(), media_type="application/json")
