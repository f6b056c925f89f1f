"""partners keep their listings current: partner invitations, partner links, listing checks

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

A coordinator's partner invitation names an organization; whoever redeems it is linked to it
(`partner_link`) and asked, every VERIFY_EVERY, per service, whether the listing is still right
(`listing_check`: one row per service, the database saying what is owed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.String(), nullable=True))
    op.create_table(
        "partner_link",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("organization_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "organization_id", name=op.f("pk_partner_link")),
    )
    op.create_table(
        "listing_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("editing_by", sa.BigInteger(), nullable=True),
        sa.Column("editing_field", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_listing_check_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_check")),
        sa.UniqueConstraint("service_id", name=op.f("uq_listing_check_service_id")),
    )
    op.create_index(op.f("ix_listing_check_due_at"), "listing_check", ["due_at"], unique=False)
    op.create_index(
        op.f("ix_listing_check_editing_by"), "listing_check", ["editing_by"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_listing_check_editing_by"), table_name="listing_check")
    op.drop_index(op.f("ix_listing_check_due_at"), table_name="listing_check")
    op.drop_table("listing_check")
    op.drop_table("partner_link")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("organization_id")
