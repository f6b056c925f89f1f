"""Surveys and polls (the partnership's own needs assessment)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.models.base import Base, UTCDateTime, utcnow


class SurveyRun(Base):
    """One sending of a survey (or a one-question poll) to an audience. The survey is kept as
    it was sent (`definition`, JSON), so editing its file later changes nothing in flight."""

    __tablename__ = "survey_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="survey")  # survey or poll
    title: Mapped[str] = mapped_column(Text)
    definition: Mapped[str] = mapped_column(Text)
    school_id: Mapped[str | None] = mapped_column(String)  # None: every school
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, sent
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # None: the command line
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class SurveyResponse(Base):
    """One family's answers to one run, as a whole. Anonymous: no chat id, ever; while the
    family is still answering, only its SurveyProgress row points here."""

    __tablename__ = "survey_response"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("survey_run.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SurveyProgress(Base):
    """Where a family is in a survey and its answers so far: personal, so it lives only while
    the family is answering (deleted when it finishes, at /forget, or after 60 idle days)."""

    __tablename__ = "survey_progress"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("survey_run.id", ondelete="CASCADE"), primary_key=True
    )
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_response.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)  # the question being asked
    # JSON: question id -> {"options": [option ids], "other": text} ({} when skipped).
    answers: Mapped[str] = mapped_column(Text, default="{}")
    ticked: Mapped[str] = mapped_column(String(256), default="")  # multiple choice, so far
    awaiting_other: Mapped[bool] = mapped_column(Boolean, default=False)  # next text is "other"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SurveyAnswer(Base):
    """One chosen option of a finished response (or "skip", or "other" with its text)."""

    __tablename__ = "survey_answer"
    __table_args__ = (Index("ix_survey_answer_survey_question", "survey_id", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_response.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("survey_run.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[str] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(64))
    option_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)  # what a family wrote for "other"
