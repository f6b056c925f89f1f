"""events can say when they end

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

"Family Math Night, 6 to 8 pm" went into phones' calendars as 6 to 7: events had only a start.
Existing events keep no end (one hour is assumed, as before).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("ends_at")
