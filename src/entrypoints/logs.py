"""Logging of the processes: plain text, or one JSON object a line (`Settings.log_format`),
carrying the id of the task being worked on when there is one (`task_context`).

    {"time": "2026-12-02T08:00:00.123Z", "level": "INFO", "logger": "entrypoints.runners",
     "message": "task 6f1c…: completed", "task_id": "6f1c…", "process": "worker"}
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import traceback
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "configure_logging", "current_task_id", "task_context"]

_task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "dbanalysis_task_id", default=None
)


def current_task_id() -> str | None:
    return _task_id.get()


@contextlib.contextmanager
def task_context(task_id: uuid.UUID | str) -> Iterator[None]:
    """Every log record made inside carries `task_id` (asyncio tasks started inside inherit it)."""
    token = _task_id.set(str(task_id))
    try:
        yield
    finally:
        _task_id.reset(token)


class _TaskIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "task_id"):
            record.task_id = _task_id.get()
        return True


# What every LogRecord has; anything else on a record came with `extra=` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "task_id"}


class JsonFormatter(logging.Formatter):
    def __init__(self, process_name: str | None = None) -> None:
        super().__init__()
        self._process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        document: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        task_id = getattr(record, "task_id", None) or _task_id.get()
        if task_id:
            document["task_id"] = str(task_id)
        if self._process_name:
            document["process"] = self._process_name
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                document[name] = value
        if record.exc_info:
            document["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(document, default=str, ensure_ascii=False)


def configure_logging(level: str, fmt: str, process_name: str | None = None) -> None:
    """Replace the root logger's handlers with one on stderr, in `fmt` ("text" or "json").
    uvicorn's loggers are run with `log_config=None`, so they go through it too."""
    handler = logging.StreamHandler()
    handler.addFilter(_TaskIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(process_name))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
