"""The shape the model answers in: pydantic models for langchain's structured output.

They mirror the port's proposals (`application.ports.advisor`) and stay in the adapter: the
application knows nothing of pydantic. Every field but the keys is optional, so that "change
nothing" is the easiest answer to give.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["NoteAnswer", "QueryAnswer", "Refinement", "TableAnswer"]


class TableAnswer(BaseModel):
    """A new table's DDL and/or migrations. Leave a field null to keep the engine's."""

    table: str = Field(description="the new table's name exactly as given: catalog.schema.table")
    ddl: str | None = Field(
        default=None, description="the complete CREATE TABLE statement, or null to keep it"
    )
    migrations: list[str] | None = Field(
        default=None,
        description="every INSERT INTO … SELECT statement that fills the table, or null",
    )
    rationale: str = Field(default="", description="why, in one or two sentences")


class QueryAnswer(BaseModel):
    """A query rewritten for the new tables; it must return exactly the same rows."""

    queryid: str = Field(description="the queryid exactly as given")
    query: str = Field(description="the complete rewritten SELECT statement")
    rationale: str = Field(default="", description="why, in one or two sentences")


class NoteAnswer(BaseModel):
    """An observation for the report."""

    title: str
    rationale: str
    table: str | None = Field(default=None, description="a new table's name, if about one")
    queryids: list[str] = Field(default_factory=list)


class Refinement(BaseModel):
    """Changes to the engine's draft. Omit every item you would not change."""

    tables: list[TableAnswer] = Field(default_factory=list)
    queries: list[QueryAnswer] = Field(default_factory=list)
    notes: list[NoteAnswer] = Field(default_factory=list)
    summary: str = Field(default="", description="one or two sentences on what you changed")
