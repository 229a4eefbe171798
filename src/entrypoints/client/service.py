"""A small synchronous HTTP client of the service's REST contract.

Every way a call can go wrong is one exception, so the commands map each to one exit code:

    ServiceError
    ├── ServiceUnreachable   no answer (connection refused, timeout) or a 5xx
    ├── TaskNotFound         404: the service knows no such task
    ├── TaskNotReady         409: the task has no result (yet, or because it failed)
    ├── RequestRejected      422/400/413: the workload or the task id is not valid
    └── AccessDenied         401/403: an API key is missing or wrong; or an answer not understood
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "AccessDenied",
    "RequestRejected",
    "ServiceClient",
    "ServiceError",
    "ServiceUnreachable",
    "TaskNotFound",
    "TaskNotReady",
]

API_KEY_HEADER = "X-API-Key"


class ServiceError(Exception):
    """A call to the service that did not give what was asked."""


class ServiceUnreachable(ServiceError):
    pass


class TaskNotFound(ServiceError):
    pass


@dataclass
class TaskNotReady(ServiceError):
    """The task exists but has no result: `status` says why (`failed` comes with `error`)."""

    task_id: str
    status: str
    error: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"task {self.task_id} is {self.status}"


class RequestRejected(ServiceError):
    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class AccessDenied(ServiceError):
    pass


class ServiceClient:
    """The service at `base_url`; `api_key`, when given, goes in the `X-API-Key` header."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if api_key:
            headers[API_KEY_HEADER] = api_key
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(self, workload: bytes) -> str:
        """POST /new with the workload as it is (the service validates it); the task id."""
        body = self._call(
            "POST", "/new", content=workload, headers={"Content-Type": "application/json"}
        )
        return str(body["taskid"])

    def status(self, task_id: str) -> dict[str, Any]:
        return self._call("GET", "/status", params={"taskid": task_id})

    def result(self, task_id: str) -> dict[str, Any]:
        return self._call("GET", "/getresult", params={"taskid": task_id})

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServiceUnreachable(
                f"cannot reach the service at {self.base_url}: {exc or type(exc).__name__}"
            ) from exc
        body = _json(response)
        code = response.status_code
        if code < 300 and isinstance(body, dict):
            return body
        # Errors are RFC 9457 problems: `detail` a sentence, `errors` each invalid field, and
        # a 409's `task_status` (`status` being the HTTP code there).
        detail = body.get("detail") if isinstance(body, dict) else None
        if code == 404:
            raise TaskNotFound(detail if isinstance(detail, str) else f"{path}: not found")
        if code == 409 and isinstance(body, dict):
            state = body.get("task_status", body.get("status", ""))
            raise TaskNotReady(str(body.get("taskid", "")), str(state), body.get("error"))
        if code in (400, 413, 422):
            errors = body.get("errors") if isinstance(body, dict) else None
            problems = _problems(errors) if errors else _problems(detail)
            raise RequestRejected(f"the service rejected the request ({code})", problems)
        if code in (401, 403):
            raise AccessDenied(
                f"the service refused the request ({code}): "
                f"{detail if isinstance(detail, str) else 'an API key is needed (--api-key)'}"
            )
        if code >= 500:
            raise ServiceUnreachable(f"the service at {self.base_url} answered {code}")
        raise AccessDenied(f"unexpected answer {code} from {self.base_url}{path}")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _problems(detail: Any) -> list[str]:
    """Each validation error as `location: message` (a 422 problem's `errors` lists them)."""
    if isinstance(detail, str):
        return [detail]
    if not isinstance(detail, list):
        return []
    problems = []
    for error in detail:
        if isinstance(error, dict):
            location = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            problems.append(f"{location or '(body)'}: {error.get('msg', '')}")
    return problems
