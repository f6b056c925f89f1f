"""urgent deliveries first

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

A reminder or a cancellation must not wait behind a broadcast to every family: deliveries get
a priority (0 urgent, 1 bulk) and are claimed in that order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.SmallInteger(), server_default="1", nullable=False)
        )
        batch_op.drop_index("ix_delivery_status_next")
        batch_op.create_index(
            "ix_delivery_status_priority_next",
            ["status", "priority", "next_attempt_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_status_priority_next")
        batch_op.create_index(
            "ix_delivery_status_next", ["status", "next_attempt_at"], unique=False
        )
        batch_op.drop_column("priority")
