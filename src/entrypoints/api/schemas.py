"""The wire format of the API: request validation and response shapes.

Validation here is strict on purpose: a wrong type, an empty list or a duplicated queryid is
rejected with 422 and the path of the offending field, before anything is stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
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


# What the OpenAPI document states of a JDBC URL, precise enough that every URL it allows can be
# taken apart (`check_jdbc_url`, which stays the final word): the scheme, an optional ASCII
# login, a host name, an IPv4 address or a valid IPv6 address in brackets, a port from 0 to
# 65535, then path, query and fragment without control characters or spaces.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "|".join(
    [
        rf"(?:{_H16}:){{6}}{_LS32}",
        rf"::(?:{_H16}:){{5}}{_LS32}",
        rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    ]
)
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
_VISIBLE = r"\x00-\x20\x7f"
JDBC_URL_PATTERN = (
    r"^[Jj][Dd][Bb][Cc]:[Tt][Rr][Ii][Nn][Oo]://"
    r"(?:[A-Za-z0-9._~%!$&'()*+,;=:-]*@)?"
    rf"(?:\[(?:{_IPV6})\]|[A-Za-z0-9._~%-]+)"
    rf"(?::{_PORT}?)?"
    rf"(?:/[^{_VISIBLE}?#]*)?"
    rf"(?:\?[^{_VISIBLE}#]*)?"
    rf"(?:#[^{_VISIBLE}]*)?$"
)
NO_NUL_PATTERN = r"^[^\x00]*$"


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


def _integral(value: Any) -> Any:
    """JSON has one number type: `12.0` is an integer for JSON Schema, so for us too (a string
    or a boolean still is not)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Statements may be empty or blank: real workloads hold such entries, and the engine answers
# each one with a finding (and the query back unchanged) rather than refusing the workload.
Statement = Annotated[
    str,
    Field(max_length=MAX_STATEMENT_CHARS, pattern=NO_NUL_PATTERN),
    AfterValidator(_storable),
]


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
            pattern=r"^[^\x00]*[^\s\x00][^\x00]*$",
            description="unique within the workload",
        ),
        AfterValidator(_storable),
    ]
    query: Statement
    runquantity: Annotated[
        StrictInt,
        Field(ge=0, le=MAX_RUNQUANTITY, description="how often the query runs"),
        BeforeValidator(_integral),
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
    store_results: Annotated[
        StrictBool,
        Field(
            description="store the result of the heaviest repeated aggregate queries that no "
            "rollup answers in tables the migrations fill (refreshed by re-running them)"
        ),
    ] = True
    denormalize: Annotated[
        StrictBool,
        Field(
            description="store a large fact table with the columns its queries read from the "
            "small dimensions they join on unique keys (by the statistics), in one table; off "
            "by default: the report's join graph says which joins it would merge"
        ),
    ] = False


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
            pattern=JDBC_URL_PATTERN,
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
            options=AnalysisOptions(
                options.target_schema,
                options.use_llm,
                options.verify,
                options.store_results,
                options.denormalize,
            ),
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
