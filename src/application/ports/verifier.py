"""Port: run a result's DDL, migrations and queries on generated data, and compare."""

from __future__ import annotations

from typing import Protocol

from domain.verification.model import Verification, VerificationRequest

__all__ = ["Verifier"]


class Verifier(Protocol):
    """Builds the source tables of `request.workload`, fills them from `request.seed`, runs
    the result's DDL and migrations, then each check's original on the source tables and its
    candidates on the new ones. Within `request.budget_seconds`: what the budget leaves
    undone is `not_verifiable`. Trouble with a statement is an outcome, never an exception."""

    @property
    def engine(self) -> str:
        """What runs the statements, for the report (name and version)."""
        ...

    async def verify(self, request: VerificationRequest) -> Verification: ...
