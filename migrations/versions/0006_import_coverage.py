"""what real directories hold: service areas, required documents, cost options, assurer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Real HSDS exports carry where a service is offered, what to bring, what it costs and who last
confirmed the listing (0005 added when); the importer dropped them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assurer_email", sa.Text(), nullable=True))

    op.create_table(
        "service_area",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("service_id", sa.String(), nullable=True),
        sa.Column("service_at_location_id", sa.String(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("extent", sa.Text(), nullable=True),
        sa.Column("extent_type", sa.String(), nullable=True),
        sa.Column("uri", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_service_area_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_at_location_id"],
            ["service_at_location.id"],
            name=op.f("fk_service_area_service_at_location_id_service_at_location"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_area")),
    )
    op.create_index(
        op.f("ix_service_area_service_id"), "service_area", ["service_id"], unique=False
    )

    op.create_table(
        "required_document",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column("uri", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_required_document_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_required_document")),
    )
    op.create_index(
        op.f("ix_required_document_service_id"),
        "required_document",
        ["service_id"],
        unique=False,
    )

    op.create_table(
        "cost_option",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("valid_from", sa.String(), nullable=True),
        sa.Column("valid_to", sa.String(), nullable=True),
        sa.Column("option", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("amount_description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_cost_option_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_option")),
    )
    op.create_index(op.f("ix_cost_option_service_id"), "cost_option", ["service_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cost_option_service_id"), table_name="cost_option")
    op.drop_table("cost_option")
    op.drop_index(op.f("ix_required_document_service_id"), table_name="required_document")
    op.drop_table("required_document")
    op.drop_index(op.f("ix_service_area_service_id"), table_name="service_area")
    op.drop_table("service_area")
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_column("assurer_email")
