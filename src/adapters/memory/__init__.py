"""In-memory adapters: task repository, outbox, secret store and unit of work over a shared
store, and the in-process task queue. Real implementations of the ports, for tests and the
embedded default."""

from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.queue import InProcessTaskQueue
from adapters.memory.secret_store import InMemorySecretStore
from adapters.memory.store import InMemoryStore
from adapters.memory.task_repository import InMemoryTaskRepository
from adapters.memory.unit_of_work import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory

__all__ = [
    "InMemoryOutbox",
    "InMemorySecretStore",
    "InMemoryStore",
    "InMemoryTaskRepository",
    "InMemoryUnitOfWork",
    "InMemoryUnitOfWorkFactory",
    "InProcessTaskQueue",
]
