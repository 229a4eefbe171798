"""Domain errors.

DomainError
├── InvalidTransition   a task was asked to move to a state its current state does not allow
└── InvalidWorkload     a workload breaks a rule the engine relies on
"""

from __future__ import annotations

__all__ = ["DomainError", "InvalidTransition", "InvalidWorkload"]


class DomainError(Exception):
    """Base class of every error the domain raises."""


class InvalidTransition(DomainError):
    """A task cannot go from its current status to the one asked for."""

    def __init__(self, task_id: object, current: str, action: str) -> None:
        super().__init__(f"task {task_id}: cannot {action} while {current}")
        self.task_id = task_id
        self.current = current
        self.action = action


class InvalidWorkload(DomainError):
    """The workload cannot be analysed as given (the message says where and why)."""
