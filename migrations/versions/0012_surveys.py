"""surveys and polls: runs, anonymous responses and answers, progress while answering

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02

A coordinator sends a survey (the family needs assessment, or one of their own) or a quick
poll; families answer one question at a time. Progress names the chat only while a family is
answering; a finished response and its answers name no one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_run")),
    )
    with op.batch_alter_table("survey_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_run_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "survey_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["survey_run.id"],
            name=op.f("fk_survey_response_run_id_survey_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_response")),
    )
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_response_run_id"), ["run_id"], unique=False)

    op.create_table(
        "survey_progress",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("ticked", sa.String(length=256), nullable=False),
        sa.Column("awaiting_other", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["survey_run.id"],
            name=op.f("fk_survey_progress_run_id_survey_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["survey_response.id"],
            name=op.f("fk_survey_progress_response_id_survey_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "run_id", name=op.f("pk_survey_progress")),
    )
    with op.batch_alter_table("survey_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_progress_response_id"), ["response_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_survey_progress_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "survey_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("option_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["survey_response.id"],
            name=op.f("fk_survey_answer_response_id_survey_response"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["survey_run.id"],
            name=op.f("fk_survey_answer_run_id_survey_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answer")),
    )
    with op.batch_alter_table("survey_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_answer_response_id"), ["response_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_survey_answer_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            "ix_survey_answer_survey_question", ["survey_id", "question_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("survey_answer")
    op.drop_table("survey_progress")
    op.drop_table("survey_response")
    op.drop_table("survey_run")
