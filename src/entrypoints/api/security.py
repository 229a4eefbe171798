"""API keys and CORS.

API keys are optional (`Settings.api_keys`): when set, the task routes (`/new`, `/status`,
`/getresult`) answer 401 without a valid `X-API-Key` header. The key is compared in constant
time (`hmac.compare_digest` on SHA-256 digests, so not even its length shows), against every
configured key (so keys can be rotated). Health, metrics and the documentation stay open: an
orchestrator's probes and a Prometheus scrape carry no key, and none of them shows a task.

CORS is closed unless origins are configured (`Settings.cors_allow_origins`): without them no
`Access-Control-Allow-Origin` header is ever sent, so browsers refuse cross-origin calls.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import Depends, FastAPI, Security
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import APIKeyHeader
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response

from entrypoints.api.errors import problem_response
from entrypoints.api.options import ApiOptions

__all__ = ["API_KEY_HEADER", "install_security", "key_digest", "key_matches"]

API_KEY_HEADER = "X-API-Key"


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def key_matches(given: str | None, digests: tuple[bytes, ...]) -> bool:
    """Whether `given` is one of the keys, compared in constant time against each of them."""
    if given is None:
        return False
    candidate = key_digest(given)
    found = False
    for digest in digests:
        found |= hmac.compare_digest(candidate, digest)
    return found


class _Cors(CORSMiddleware):
    """Starlette's CORS, whose refusal of a preflight (plain text) takes the problem shape."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        return problem_response(response.status_code, bytes(response.body).decode())


def install_security(app: FastAPI, options: ApiOptions) -> list[Any]:
    """Adds CORS when origins are configured; returns the dependencies the protected routes
    take (none when no API key is configured)."""
    if options.cors_allow_origins:
        app.add_middleware(
            _Cors,
            allow_origins=list(options.cors_allow_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", API_KEY_HEADER],
        )
    if not options.api_keys:
        return []
    digests = tuple(key_digest(key) for key in options.api_keys)
    header = APIKeyHeader(
        name=API_KEY_HEADER,
        auto_error=False,
        description="One of the keys configured in DBANALYSIS_API_KEYS",
    )

    async def require_api_key(given: str | None = Security(header)) -> None:
        if not key_matches(given, digests):
            raise HTTPException(
                401,
                f"a valid {API_KEY_HEADER} header is required",
                headers={"WWW-Authenticate": API_KEY_HEADER},
            )

    return [Depends(require_api_key)]
