"""text messages: numbers, their numbered choices, incoming ids, files served as links

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Families reach the bot by SMS (issue 13). A number gets a chat id of its own; what a reply
"2" or "YES" presses is stored per number so it survives a restart (and the last search, for
"M", a day); Twilio's MessageSid of each incoming text is kept a short while so a retried
webhook is answered once; materials and calendar files are served as signed links; a text
whose answer from Twilio never came back is remembered (by digest) so a restart asks Twilio
before sending it again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_number",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=48), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_number")),
        sa.UniqueConstraint("address", name=op.f("uq_sms_number_address")),
    )
    op.create_table(
        "sms_choice",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("data", sa.String(length=128), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "key", name=op.f("pk_sms_choice")),
    )
    op.create_table(
        "sms_search",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_sms_search")),
    )
    op.create_table(
        "sms_sending",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "digest", name=op.f("pk_sms_sending")),
    )
    op.create_table(
        "sms_inbound",
        sa.Column("message_sid", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_sid", name=op.f("pk_sms_inbound")),
    )
    op.create_index(
        op.f("ix_sms_inbound_received_at"), "sms_inbound", ["received_at"], unique=False
    )
    op.create_table(
        "sms_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_file")),
        sa.UniqueConstraint("digest", name=op.f("uq_sms_file_digest")),
    )
    op.create_index(op.f("ix_sms_file_expires_at"), "sms_file", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sms_file_expires_at"), table_name="sms_file")
    op.drop_table("sms_file")
    op.drop_index(op.f("ix_sms_inbound_received_at"), table_name="sms_inbound")
    op.drop_table("sms_inbound")
    op.drop_table("sms_sending")
    op.drop_table("sms_search")
    op.drop_table("sms_choice")
    op.drop_table("sms_number")
