"""An advisor driven by a function: the shape of httpx's `MockTransport`, for tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from application.ports.advisor import AdviceReply, AdviceRequest, Advisor

__all__ = ["AdviseFunction", "FunctionAdvisor"]

AdviseFunction = Callable[[AdviceRequest], Awaitable[AdviceReply]]


class FunctionAdvisor(Advisor):
    """Answers every `refine` call with `handler(request)` and keeps the requests."""

    def __init__(self, handler: AdviseFunction, model: str | None = "fake-model") -> None:
        self._handler = handler
        self._model = model
        self.requests: list[AdviceRequest] = []

    @property
    def model(self) -> str | None:
        return self._model

    async def refine(self, request: AdviceRequest) -> AdviceReply:
        self.requests.append(request)
        return await self._handler(request)
