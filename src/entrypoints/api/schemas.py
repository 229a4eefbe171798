"""The wire format of the API: request validation and response shapes.

Validation here is strict on purpose: a wrong type, an empty list or a duplicated queryid is
rejected with 422 and the path of the offending field, before anything is stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from application.use_cases.get_task_status import TaskStatusView
from domain.workload import (
    AnalysisOptions,
    Credentials,
    DdlStatement,
    Query,
    Workload,
    check_jdbc_url,
    credentials_from_jdbc_url,
)

__all__ = [
    "ErrorInfo",
    "NewTaskRequest",
    "NewTaskResponse",
    "StatusResponse",
]

# The limits of one workload (the whole body is bounded too: `Settings.max_request_bytes`).
MAX_STATEMENT_CHARS = 1_000_000
MAX_DDL_STATEMENTS = 10_000
MAX_QUERIES = 100_000
MAX_QUERYID_CHARS = 512
MAX_RUNQUANTITY = 10**15
MAX_EXECUTIONTIME_SECONDS = 10.0**9


def _storable(text: str) -> str:
    """Text that can be stored and sent back as it is: no NUL character (PostgreSQL's text and
    JSONB cannot hold one) and no lone surrogate (not encodable as UTF-8)."""
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (it holds a lone surrogate)") from None
    return text


# Statements may be empty or blank: real workloads hold such entries, and the engine answers
# each one with a finding (and the query back unchanged) rather than refusing the workload.
Statement = Annotated[str, Field(max_length=MAX_STATEMENT_CHARS), AfterValidator(_storable)]


class DdlItem(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    statement: Statement


class QueryItem(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    queryid: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_QUERYID_CHARS,
            pattern=r"\S",
            description="unique within the workload",
        ),
        AfterValidator(_storable),
    ]
    query: Statement
    runquantity: Annotated[
        StrictInt, Field(ge=0, le=MAX_RUNQUANTITY, description="how often the query runs")
    ] = 1
    executiontime: Annotated[
        float | None,
        Field(
            ge=0,
            le=MAX_EXECUTIONTIME_SECONDS,
            allow_inf_nan=False,
            description="seconds per run; missing counts as 1",
        ),
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
    queries: Annotated[
        list[QueryItem],
        Field(
            min_length=1,
            max_length=MAX_QUERIES,
            description="each queryid appears once; a repeated queryid is refused with 422",
        ),
    ]
    options: OptionsItem | None = None

    @field_validator("url")
    @classmethod
    def _url_can_be_parsed(cls, url: str) -> str:
        check_jdbc_url(url)
        return _storable(url)

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
