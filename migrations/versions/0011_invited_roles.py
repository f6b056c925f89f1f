"""a chat's role remembers whether an invitation gave it

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02

COORDINATOR_IDS is the truth at start: a coordinator whose id left the list must lose the role,
while one invited by `/join CODE` keeps it. The chat row alone cannot tell them apart, so it
says so. Chats that already redeemed an invitation are marked as invited.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("invited", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE chat SET invited = true WHERE role <> 'family' AND id IN "
        "(SELECT used_by FROM invitation WHERE used_by IS NOT NULL AND role = chat.role)"
    )


def downgrade() -> None:
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.drop_column("invited")
