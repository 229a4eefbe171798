"""Create task_secrets: each running task's JDBC credentials, encrypted, gone with the task.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose: a migration describes the schema at its revision, not the code's.
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "task_secrets",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_secrets")),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_secrets_task_id_tasks"),
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_task_secrets_created_at", "task_secrets", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_task_secrets_created_at", table_name="task_secrets")
    op.drop_table("task_secrets")
