"""The schema, as SQLAlchemy Core tables: `tasks`, its transactional `outbox`, and
`task_secrets`, the encrypted credentials of the tasks still running.

Alembic migrations create it (`adapters.sqlalchemy.migrate`); the stairway test checks that the
migrations and this `metadata` agree. Timestamps are stored as UTC and always come back
timezone-aware, also from SQLite, which keeps no offset (`UtcDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

__all__ = ["UtcDateTime", "json_document", "metadata", "outbox", "task_secrets", "tasks"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC. Naive datetimes are refused: their meaning
    depends on the machine, and the Clock port promises aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        value = value.astimezone(UTC)
        # SQLite has no timezone type: store the UTC wall time, read it back as UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_document(*, nullable: bool = False) -> TypeEngine[Any]:
    """JSON, as JSONB on PostgreSQL. A nullable document stores Python None as SQL NULL."""
    return JSON(none_as_null=nullable).with_variant(JSONB(none_as_null=nullable), "postgresql")


tasks = Table(
    "tasks",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("workload", json_document(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("max_attempts", Integer(), nullable=False),
    Column("progress_stage", Text(), nullable=False),
    Column("progress_percent", Integer(), nullable=False),
    Column("lease_expires_at", UtcDateTime(), nullable=True),
    Column("error_code", Text(), nullable=True),
    Column("error_message", Text(), nullable=True),
    Column("result", json_document(nullable=True), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Every TaskStatus; a new status needs a migration (the contract tests store each one).
    CheckConstraint(
        "status IN ('pending', 'processing', 'completed', 'failed')", name="status_known"
    ),
    CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_valid"),
    CheckConstraint("progress_percent BETWEEN 0 AND 100", name="progress_percent_range"),
    # Finding tasks whose lease expired: status = 'processing' AND lease_expires_at <= now.
    Index("ix_tasks_status_lease_expires_at", "status", "lease_expires_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column(
        "task_id",
        Uuid(),
        ForeignKey("tasks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("attempts", Integer(), nullable=False),
    Column("last_error", Text(), nullable=True),
    CheckConstraint("attempts >= 0", name="attempts_valid"),
    Index("ix_outbox_task_id", "task_id"),
    # The relay reads the oldest unpublished messages; published ones (nearly all) stay out of
    # the index.
    Index(
        "ix_outbox_unpublished",
        "created_at",
        "id",
        postgresql_where=text("published_at IS NULL"),
        sqlite_where=text("published_at IS NULL"),
    ),
)

task_secrets = Table(
    "task_secrets",
    metadata,
    # One secret per task, gone with its task; the row holds ciphertext only (Fernet).
    Column("task_id", Uuid(), ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("ciphertext", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # The sweep deletes the secrets created before a moment.
    Index("ix_task_secrets_created_at", "created_at"),
)
