"""The wire format of the API: request validation and response shapes.

Validation here is strict on purpose: a wrong type, an empty list or a duplicated queryid is
rejected with 422 and the path of the offending field, before anything is stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from application.use_cases.get_task_status import TaskStatusView
from domain.workload import (
    AnalysisOptions,
    Credentials,
    DdlStatement,
    Query,
    Workload,
    credentials_from_jdbc_url,
)

__all__ = [
    "ErrorBody",
    "NewTaskRequest",
    "NewTaskResponse",
    "NotCompletedBody",
    "StatusResponse",
]

MAX_STATEMENT_CHARS = 1_000_000
MAX_DDL_STATEMENTS = 10_000
MAX_QUERIES = 100_000

# Statements may be empty or blank: real workloads hold such entries, and the engine answers
# each one with a finding (and the query back unchanged) rather than refusing the workload.
Statement = Annotated[str, Field(max_length=MAX_STATEMENT_CHARS)]


class DdlItem(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    statement: Statement


class QueryItem(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    queryid: Annotated[str, Field(min_length=1, max_length=512, pattern=r"\S")]
    query: Statement
    runquantity: Annotated[StrictInt, Field(ge=0, description="how often the query runs")] = 1
    executiontime: Annotated[
        float | None, Field(ge=0, description="seconds per run; missing counts as 1")
    ] = None


class OptionsItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    target_schema: Annotated[
        str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$", description="new schema's name")
    ] = "optimized"
    use_llm: StrictBool = True
    verify: StrictBool = True


class NewTaskRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "url": "jdbc:trino://trino.example.com:443?catalog=flights&user=reader",
                    "ddl": [
                        {
                            "statement": "CREATE TABLE flights.public.flights "
                            "(flightdate date, airline varchar, origin varchar)"
                        }
                    ],
                    "queries": [
                        {
                            "queryid": "q1",
                            "query": "SELECT airline, count(*) FROM flights.public.flights "
                            "WHERE flightdate >= DATE '2024-01-01' GROUP BY airline",
                            "runquantity": 1200,
                            "executiontime": 21,
                        }
                    ],
                    "options": {"target_schema": "optimized", "use_llm": True, "verify": True},
                }
            ]
        },
    )

    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=4096,
            pattern=r"(?i)^jdbc:trino://\S+$",
            description="JDBC URL of the Trino server; its credentials are kept encrypted, "
            "apart from the task, only until the task ends",
        ),
    ]
    ddl: Annotated[list[DdlItem], Field(min_length=1, max_length=MAX_DDL_STATEMENTS)]
    queries: Annotated[list[QueryItem], Field(min_length=1, max_length=MAX_QUERIES)]
    options: OptionsItem | None = None

    @model_validator(mode="after")
    def _queryids_are_unique(self) -> Self:
        seen: set[str] = set()
        for item in self.queries:
            if item.queryid in seen:
                raise ValueError(f"queryid {item.queryid!r} appears more than once")
            seen.add(item.queryid)
        return self

    def credentials(self) -> Credentials | None:
        """What the URL carries to log in, taken before `to_workload` redacts it."""
        return credentials_from_jdbc_url(self.url)

    def to_workload(self) -> Workload:
        options = self.options or OptionsItem()
        return Workload.from_request(
            url=self.url,
            ddl=tuple(DdlStatement(d.statement) for d in self.ddl),
            queries=tuple(
                Query(q.queryid, q.query, q.runquantity, q.executiontime) for q in self.queries
            ),
            options=AnalysisOptions(options.target_schema, options.use_llm, options.verify),
        )


class NewTaskResponse(BaseModel):
    taskid: uuid.UUID
    status: str


class ProgressBody(BaseModel):
    stage: str
    percent: int


class ErrorInfo(BaseModel):
    code: str
    message: str


class StatusResponse(BaseModel):
    taskid: uuid.UUID
    status: str
    progress: ProgressBody
    attempts: int
    created_at: datetime
    updated_at: datetime
    error: ErrorInfo | None

    @classmethod
    def from_view(cls, view: TaskStatusView) -> StatusResponse:
        return cls(
            taskid=view.task_id,
            status=str(view.status),
            progress=ProgressBody(stage=view.progress.stage, percent=view.progress.percent),
            attempts=view.attempts,
            created_at=view.created_at,
            updated_at=view.updated_at,
            error=ErrorInfo(code=view.error.code, message=view.error.message)
            if view.error
            else None,
        )


class ErrorBody(BaseModel):
    detail: Any


class NotCompletedBody(BaseModel):
    detail: str
    taskid: uuid.UUID
    status: str
    error: ErrorInfo | None
