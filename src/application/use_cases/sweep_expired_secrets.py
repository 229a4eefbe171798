"""Delete the credentials kept longer than they may be, whatever became of their task."""

from __future__ import annotations

import logging
from datetime import timedelta

from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["DEFAULT_SECRET_TTL", "SweepExpiredSecrets"]

log = logging.getLogger(__name__)

DEFAULT_SECRET_TTL = timedelta(days=1)


class SweepExpiredSecrets:
    """A task's credentials are deleted when it ends; this bounds how long they live when it
    does not end in time (a task stuck pending, or one that outlives `ttl`). Such a task still
    runs, without them."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, ttl: timedelta = DEFAULT_SECRET_TTL
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._ttl = ttl

    async def execute(self) -> int:
        """How many secrets were deleted."""
        async with self._uow_factory() as uow:
            deleted = await uow.secrets.sweep(self._clock.now() - self._ttl)
            await uow.commit()
        if deleted:
            log.info("deleted %d secret(s) older than %s", deleted, self._ttl)
        return deleted
