"""follow-up check-ins, problem reports, listing changes, outcome counts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Closing the loop (issue 14): check-ins owed to families after they open a service's details,
their opt-outs, the anonymous outcome counts, families' reports of wrong listings for the
coordinators' review queue, and the record of every listing change (who, when, old, new).
Services gain HSDS `assured_date` and `last_modified` for the freshness line on the card.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "follow_up_opt_out",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_follow_up_opt_out")),
    )
    op.create_table(
        "outcome_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("need", sa.String(length=64), nullable=True),
        sa.Column("answer", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_event")),
    )
    with op.batch_alter_table("outcome_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outcome_event_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outcome_event_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("need", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=32), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_follow_up_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
    )
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_up_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index("ix_follow_up_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "listing_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("changed_by", sa.BigInteger(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_listing_change_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_change")),
    )
    with op.batch_alter_table("listing_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_listing_change_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "listing_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("problem", sa.String(length=16), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reporter_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("editing_by", sa.BigInteger(), nullable=True),
        sa.Column("editing_field", sa.String(length=16), nullable=True),
        sa.Column("editing_since", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_listing_report_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_report")),
    )
    with op.batch_alter_table("listing_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_listing_report_editing_by"), ["editing_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_listing_report_reporter_chat_id"), ["reporter_chat_id"], unique=False
        )
        batch_op.create_index(
            "ix_listing_report_status_service", ["status", "service_id"], unique=False
        )

    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assured_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_column("last_modified")
        batch_op.drop_column("assured_date")

    with op.batch_alter_table("listing_report", schema=None) as batch_op:
        batch_op.drop_index("ix_listing_report_status_service")
        batch_op.drop_index(batch_op.f("ix_listing_report_reporter_chat_id"))
        batch_op.drop_index(batch_op.f("ix_listing_report_editing_by"))

    op.drop_table("listing_report")
    with op.batch_alter_table("listing_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listing_change_service_id"))

    op.drop_table("listing_change")
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_up_status_due")
        batch_op.drop_index(batch_op.f("ix_follow_up_chat_id"))

    op.drop_table("follow_up")
    with op.batch_alter_table("outcome_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_event_service_id"))
        batch_op.drop_index(batch_op.f("ix_outcome_event_created_at"))

    op.drop_table("outcome_event")
    op.drop_table("follow_up_opt_out")
