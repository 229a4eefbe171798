"""`ProcessPoolVerifier`: a verifier whose verifications run in a `ProcessPool`."""

from __future__ import annotations

import asyncio

from adapters.process.pool import ProcessPool
from application.ports.verifier import Verifier
from domain.verification.model import Verification, VerificationRequest

__all__ = ["ProcessPoolVerifier"]


class ProcessPoolVerifier(Verifier):
    """Sends `inner` (plain configuration: it must pickle) and each request to a child, which
    runs `inner.verify` there. Generating rows and translating statements is CPU work that would
    otherwise hold the serving process's GIL for seconds."""

    def __init__(self, inner: Verifier, pool: ProcessPool) -> None:
        self._inner = inner
        self._pool = pool

    @property
    def inner(self) -> Verifier:
        return self._inner

    @property
    def engine(self) -> str:
        return self._inner.engine

    async def verify(self, request: VerificationRequest) -> Verification:
        return await self._pool.run(_verify, self._inner, request)


def _verify(verifier: Verifier, request: VerificationRequest) -> Verification:
    return asyncio.run(verifier.verify(request))
