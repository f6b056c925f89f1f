"""crisis replies are counted; /ask survives a restart

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Coordinators see how often the crisis reply fired (the kind and the time, nothing else), and a
family's "/ask" waits for their question in the database rather than in the bot's memory, so a
restart between /ask and the question no longer turns the question into a search.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crisis_signal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_signal")),
    )
    with op.batch_alter_table("crisis_signal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crisis_signal_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("question_asked_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.drop_column("question_asked_at")
    with op.batch_alter_table("crisis_signal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_signal_created_at"))
    op.drop_table("crisis_signal")
