"""Surveys and polls -> the outbox: the invitation (a survey's intro and [Start], or a poll's
question and its options), one outbox message per language among the audience.

`send_survey` is the whole decision, in the caller's transaction: the run flips from draft to
sent in one statement and its outbox rows are written with it, so a double press, or the
command line and a coordinator at once, send it once. Texts come from the caller
(`SurveyTexts`): jobs/ knows no catalogs.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from jobs.outbox import enqueue
from knowledge.models import SurveyRun
from knowledge.subscriptions import subscribers_by_language
from knowledge.survey_answers import mark_sent, survey_of
from knowledge.surveys import Survey

INVITATION = "survey"  # the outbox message kind


class SurveyTexts(Protocol):
    """What a family reads first, in its language, with its buttons."""

    def invitation(self, run: SurveyRun, survey: Survey, language: str) -> str: ...

    def invitation_markup(
        self, run: SurveyRun, survey: Survey, language: str
    ) -> dict[str, Any]: ...


async def send_survey(
    session: AsyncSession,
    run_id: int,
    *,
    created_by: int | None,
    school_id: str | None,
    texts: SurveyTexts,
) -> tuple[SurveyRun, int] | None:
    """Send the drafted run to the subscribers (of one school, or all): returns the run and
    how many chats it goes to. None, and nothing changes, when nobody is subscribed there or
    the run was sent or discarded already (count the subscribers first to tell which)."""
    groups = await subscribers_by_language(session, school_id)
    total = sum(len(chats) for chats in groups.values())
    if total == 0:
        return None
    run = await mark_sent(session, run_id, created_by, total)
    if run is None:
        return None
    run.school_id = school_id
    survey = survey_of(run)
    for language, chat_ids in sorted(groups.items()):
        await enqueue(
            session,
            kind=INVITATION,
            text=texts.invitation(run, survey, language),
            recipients=chat_ids,
            created_by=created_by,
            school_id=school_id,
            reply_markup=texts.invitation_markup(run, survey, language),
        )
    await session.flush()
    return run, total
