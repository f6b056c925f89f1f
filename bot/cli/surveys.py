"""`survey list | send` and `report needs`: surveys from the command line.

`survey send` queues the invitation in the outbox, as /survey does (the running bot's delivery
worker sends it, paced); `report needs` counts the answers, per question and option, with the
families who started and finished.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import UsageError, open_database
from bot.cli.events import find_school
from bot.config import Settings
from bot.handlers.surveys import ChatSurveyTexts
from jobs.surveys import send_survey
from knowledge.migrate import upgrade_database_async
from knowledge.reports import ReportTable, write_report
from knowledge.subscriptions import count_subscribers, schools
from knowledge.survey_answers import draft_run, option_label, ordered_options, tallies
from knowledge.surveys import SKIP, available_surveys

if TYPE_CHECKING:
    from bot.cli.common import Subcommands


def register(commands: Subcommands) -> None:
    survey = commands.add_parser("survey", help="surveys families answer in the chat")
    survey_commands = survey.add_subparsers(dest="survey_command", required=True, metavar="COMMAND")
    listing = survey_commands.add_parser("list", help="the surveys you can send")
    listing.add_argument("--json", dest="format", action="store_const", const="json")
    listing.set_defaults(format="text", run=command_survey_list)
    send = survey_commands.add_parser("send", help="send a survey to subscribed families")
    send.add_argument("survey_id", metavar="SURVEY_ID")
    send.add_argument("--school", help="only this school's families (its id or name)")
    send.set_defaults(run=command_survey_send)


async def command_survey_list(settings: Settings, args: argparse.Namespace) -> int:
    surveys = available_surveys(settings.surveys_dir)
    table = ReportTable(
        columns=("id", "questions", "title_en", "title_es"),
        rows=[
            {
                "id": survey.id,
                "questions": len(survey.questions),
                "title_en": survey.titled("en"),
                "title_es": survey.titled("es"),
            }
            for survey in surveys.values()
        ],
    )
    write_report(table, args.format, sys.stdout)
    return 0


async def command_survey_send(settings: Settings, args: argparse.Namespace) -> int:
    surveys = available_surveys(settings.surveys_dir)
    survey = surveys.get(args.survey_id)
    if survey is None:
        raise UsageError(
            f"no survey '{args.survey_id}'; `resource-finder survey list` shows "
            f"{', '.join(surveys) or 'none'}"
        )
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session, session.begin():
        school = find_school(await schools(session), args.school) if args.school else None
        school_id = school.id if school else None
        if await count_subscribers(session, school_id) == 0:
            raise UsageError("nobody is subscribed there yet, so there is no one to send it to")
        run = await draft_run(session, survey, created_by=None)
        sent = await send_survey(
            session, run.id, created_by=None, school_id=school_id, texts=ChatSurveyTexts()
        )
        assert sent is not None  # a fresh draft, and subscribers counted in this transaction
    where = f"{school.name}'s" if school else "all"
    print(
        f"Survey '{survey.id}' (run {sent[0].id}) queued for {sent[1]} {where} subscribers; "
        "the running bot sends it."
    )
    return 0


async def build_needs(
    session: AsyncSession, settings: Settings, args: argparse.Namespace
) -> ReportTable:
    """`report needs [SURVEY_ID]`: per survey, the families who started and finished, then per
    question and option how many chose it and their share of those who answered the question
    (skips: share of those who finished)."""
    wanted = args.survey_id
    if (
        wanted
        and wanted not in available_surveys(settings.surveys_dir)
        and not any(True for _ in await tallies(session, wanted))
    ):
        raise UsageError(f"no survey '{wanted}' has been sent")
    rows: list[Mapping[str, Any]] = []
    for tally in await tallies(session, wanted):
        base = {"survey": tally.survey_id}
        rows.append({**base, "question": "", "option": "started", "count": tally.started})
        rows.append(
            {
                **base,
                "question": "",
                "option": "finished",
                "count": tally.finished,
                "share": tally.finished / tally.started if tally.started else None,
            }
        )
        for question in tally.survey.questions:
            answered = tally.answered[question.id]
            seen = [option for q, option in tally.counts if q == question.id]
            for option_id in ordered_options(question, seen):
                count = tally.counts[(question.id, option_id)]
                whole = tally.finished if option_id == SKIP else answered
                label = option_label(question, option_id)
                rows.append(
                    {
                        **base,
                        "question": question.id,
                        "option": option_id,
                        "label": label,
                        "count": count,
                        "share": count / whole if whole else None,
                    }
                )
    title = "Needs assessment: families who started and finished; answers per question"
    return ReportTable(
        columns=("survey", "question", "option", "label", "count", "share"),
        rows=rows,
        title=title,
    )
