"""events that are not announced; toolkit entries that link to what they describe

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

`resource-finder event add --no-announce` must stay quiet: the reminder job announces every
event that has no announcement yet, so the event itself has to say it wants none. Existing
events were all meant to be announced.

Toolkit entries about reports link to the reports' public pages instead of saying "search for
its title".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("announce", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("toolkit_resource", schema=None) as batch_op:
        batch_op.add_column(sa.Column("url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("toolkit_resource", schema=None) as batch_op:
        batch_op.drop_column("url")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("announce")
