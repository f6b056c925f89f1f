"""Sending surveys and polls, families answering them, and the counts coordinators read.

A run is drafted when a coordinator picks a survey (its definition copied in), given an
audience, and sent once (`mark_sent` flips draft -> sent in one statement, so a double press
sends once). A family's answers stay in its SurveyProgress row (the only row naming the chat)
until the last question; then they become anonymous SurveyAnswer rows of its SurveyResponse
and the progress row goes. Unfinished responses count as started; their answers are not kept.

Every step names the question it answers (`position`): a button from an older question, or a
second press, changes nothing and the family gets the question it is on.

The session is the caller's; nothing here commits.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import SurveyAnswer, SurveyProgress, SurveyResponse, SurveyRun, utcnow
from knowledge.surveys import OTHER, SKIP, Survey, SurveyQuestion

DRAFT, SENT = "draft", "sent"
SURVEY, POLL = "survey", "poll"
DRAFT_TTL = timedelta(days=2)
PROGRESS_IDLE_DAYS = 60  # an unfinished survey's answers go after this long untouched
MAX_OTHER = 200  # characters kept of a typed "other" answer

StepState = Literal["ask", "other", "paused", "finished", "stale", "gone"]
Action = Literal["begin", "option", "done", "skip", "other", "pause"]


# --- runs: drafted, targeted, sent ---------------------------------------------------------------


async def draft_run(
    session: AsyncSession, survey: Survey, *, created_by: int | None, kind: str = SURVEY
) -> SurveyRun:
    """A run waiting for its audience and [Send]; drafts older than two days go."""
    await session.execute(
        delete(SurveyRun).where(
            SurveyRun.status == DRAFT, SurveyRun.created_at < utcnow() - DRAFT_TTL
        )
    )
    run = SurveyRun(
        survey_id=survey.id,
        kind=kind,
        title=survey.titled("en"),
        definition=survey.to_json(),
        created_by=created_by,
        status=DRAFT,
    )
    session.add(run)
    await session.flush()
    if kind == POLL:  # each poll is its own survey in the reports
        run.survey_id = f"poll-{run.id}"
        await session.flush()
    return run


def _made_by(created_by: int | None) -> ColumnElement[bool]:
    """Runs made by this chat, or by the command line (None)."""
    if created_by is None:
        return SurveyRun.created_by.is_(None)
    return SurveyRun.created_by == created_by


async def draft_of(session: AsyncSession, run_id: int, created_by: int | None) -> SurveyRun | None:
    """The draft, if it still is one and `created_by` made it."""
    return await session.scalar(
        select(SurveyRun).where(
            SurveyRun.id == run_id, SurveyRun.status == DRAFT, _made_by(created_by)
        )
    )


async def discard_run(session: AsyncSession, run_id: int, created_by: int | None) -> bool:
    result = await session.execute(
        delete(SurveyRun).where(
            SurveyRun.id == run_id, SurveyRun.status == DRAFT, _made_by(created_by)
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_sent(
    session: AsyncSession, run_id: int, created_by: int | None, recipients: int
) -> SurveyRun | None:
    """Draft -> sent, once; None if it was sent or discarded already."""
    flipped = await session.execute(
        update(SurveyRun)
        .where(SurveyRun.id == run_id, SurveyRun.status == DRAFT, _made_by(created_by))
        .values(status=SENT, sent_at=utcnow(), recipients=recipients)
        .execution_options(synchronize_session=False)
    )
    if not flipped.rowcount:  # type: ignore[attr-defined]
        return None
    return await session.scalar(
        select(SurveyRun).where(SurveyRun.id == run_id).execution_options(populate_existing=True)
    )


async def sent_runs(
    session: AsyncSession, *, created_by: int | None = None, limit: int = 5
) -> list[SurveyRun]:
    """The latest sent runs (of one coordinator when `created_by` is given), newest first."""
    query = select(SurveyRun).where(SurveyRun.status == SENT)
    if created_by is not None:
        query = query.where(SurveyRun.created_by == created_by)
    return list(await session.scalars(query.order_by(SurveyRun.id.desc()).limit(limit)))


def survey_of(run: SurveyRun) -> Survey:
    return Survey.from_json(run.definition)


# --- a family answering --------------------------------------------------------------------------


@dataclass
class Step:
    """Where a family stands after a press: what to show it next."""

    state: StepState
    run: SurveyRun
    survey: Survey
    position: int = 0
    ticked: frozenset[int] = frozenset()

    @property
    def question(self) -> SurveyQuestion | None:
        if 0 <= self.position < len(self.survey.questions):
            return self.survey.questions[self.position]
        return None


def _ticked(progress: SurveyProgress) -> frozenset[int]:
    return frozenset(int(part) for part in progress.ticked.split(",") if part.isdigit())


def _step(state: StepState, run: SurveyRun, survey: Survey, progress: SurveyProgress) -> Step:
    return Step(state, run, survey, progress.position, _ticked(progress))


async def _progress(session: AsyncSession, run_id: int, chat_id: int) -> SurveyProgress | None:
    return await session.scalar(
        select(SurveyProgress)
        .where(SurveyProgress.run_id == run_id, SurveyProgress.chat_id == chat_id)
        .with_for_update()
    )


async def open_progress(session: AsyncSession, chat_id: int) -> SurveyProgress | None:
    """The chat's most recently touched unfinished survey, if any."""
    return await session.scalar(
        select(SurveyProgress)
        .where(SurveyProgress.chat_id == chat_id)
        .order_by(SurveyProgress.updated_at.desc())
        .limit(1)
    )


async def press(
    session: AsyncSession,
    run_id: int,
    chat_id: int,
    *,
    position: int,
    action: Action,
    option: int | None = None,
    language: str = "en",
) -> Step | None:
    """A family's press on a survey question; None when the run is not (or no longer) sent."""
    run = await session.get(SurveyRun, run_id)
    if run is None or run.status != SENT:
        return None
    survey = survey_of(run)
    progress = await _progress(session, run_id, chat_id)
    if progress is None and position != 0:
        # A button from past the first question with no progress: finished (or forgotten)
        # already. Nothing says who finished, so only a first question can start one.
        return Step("gone", run, survey, position)
    if progress is None:
        # The first press starts it: [Start], or a poll's option straight away.
        response = SurveyResponse(run_id=run_id, language=language)
        session.add(response)
        await session.flush()
        progress = SurveyProgress(
            chat_id=chat_id,
            run_id=run_id,
            response_id=response.id,
            position=0,
            answers="{}",
            ticked="",
            awaiting_other=False,
        )
        session.add(progress)
        await session.flush()
    if action == "begin" or position != progress.position:
        progress.awaiting_other = False
        progress.updated_at = utcnow()
        return _step("ask" if action == "begin" else "stale", run, survey, progress)
    question = survey.questions[progress.position]
    progress.updated_at = utcnow()
    progress.awaiting_other = False  # any press but [Other] ends the wait for a typed answer
    if action == "pause":
        return _step("paused", run, survey, progress)
    if action == "other" and question.other:
        progress.awaiting_other = True
        return _step("other", run, survey, progress)
    if action == "skip" and question.skip:
        return await _record(session, run, survey, progress, [], None, skipped=True)
    if action == "option" and option is not None and 0 <= option < len(question.options):
        if question.kind == "single":
            return await _record(session, run, survey, progress, [question.options[option].id])
        ticked = set(_ticked(progress)) ^ {option}
        progress.ticked = ",".join(str(i) for i in sorted(ticked))
        return _step("ask", run, survey, progress)
    if action == "done" and question.kind == "multiple":
        chosen = [question.options[i].id for i in sorted(_ticked(progress))]
        return await _record(session, run, survey, progress, chosen, skipped=not chosen)
    return _step("ask", run, survey, progress)


async def chats_awaiting_other(session: AsyncSession) -> set[int]:
    """Every chat a survey has asked to type an "other" answer."""
    rows = await session.scalars(
        select(SurveyProgress.chat_id).where(SurveyProgress.awaiting_other.is_(True))
    )
    return set(rows)


async def awaiting_other(session: AsyncSession, chat_id: int) -> SurveyProgress | None:
    """The survey question whose "other" answer this chat is typing, if any."""
    return await session.scalar(
        select(SurveyProgress)
        .where(SurveyProgress.chat_id == chat_id, SurveyProgress.awaiting_other.is_(True))
        .order_by(SurveyProgress.updated_at.desc())
        .limit(1)
    )


async def answer_other(session: AsyncSession, chat_id: int, text: str) -> Step | None:
    """The typed "other" answer (with anything ticked on a multiple-choice question)."""
    waiting = await awaiting_other(session, chat_id)
    if waiting is None:
        return None
    run = await session.get(SurveyRun, waiting.run_id)
    progress = await _progress(session, waiting.run_id, chat_id)
    if run is None or progress is None or not progress.awaiting_other:
        return None
    survey = survey_of(run)
    question = survey.questions[progress.position]
    chosen = [question.options[i].id for i in sorted(_ticked(progress))]
    other = " ".join(text.split())[:MAX_OTHER]
    return await _record(session, run, survey, progress, chosen, other or None)


async def _record(
    session: AsyncSession,
    run: SurveyRun,
    survey: Survey,
    progress: SurveyProgress,
    options: list[str],
    other: str | None = None,
    *,
    skipped: bool = False,
) -> Step:
    question = survey.questions[progress.position]
    answers = json.loads(progress.answers or "{}")
    answers[question.id] = {} if skipped else {"options": options, "other": other}
    progress.answers = json.dumps(answers, ensure_ascii=False)
    progress.position += 1
    progress.ticked = ""
    progress.awaiting_other = False
    if progress.position < len(survey.questions):
        return _step("ask", run, survey, progress)
    await _finish(session, run, progress, answers)
    return Step("finished", run, survey, progress.position)


async def _finish(
    session: AsyncSession, run: SurveyRun, progress: SurveyProgress, answers: dict[str, dict]
) -> None:
    """The answers become anonymous rows; the row naming the chat goes."""
    rows = []
    for question_id, answer in answers.items():
        chosen = list(answer.get("options") or [])
        if answer.get("other"):
            chosen.append(OTHER)
        if not chosen:
            chosen = [SKIP]
        for option_id in chosen:
            rows.append(
                SurveyAnswer(
                    response_id=progress.response_id,
                    run_id=run.id,
                    survey_id=run.survey_id,
                    question_id=question_id,
                    option_id=option_id,
                    text=answer.get("other") if option_id == OTHER else None,
                )
            )
    session.add_all(rows)
    await session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.id == progress.response_id)
        .values(finished_at=utcnow())
    )
    await session.delete(progress)
    await session.flush()


async def forget_surveys(session: AsyncSession, chat_id: int) -> None:
    """/forget: the chat's unfinished surveys go, answers and all (finished ones name no one)."""
    responses = select(SurveyProgress.response_id).where(SurveyProgress.chat_id == chat_id)
    await session.execute(delete(SurveyResponse).where(SurveyResponse.id.in_(responses)))
    await session.execute(delete(SurveyProgress).where(SurveyProgress.chat_id == chat_id))
    await session.execute(
        update(SurveyRun).where(SurveyRun.created_by == chat_id).values(created_by=None)
    )


async def purge_idle_progress(session: AsyncSession, now: datetime) -> int:
    """Unfinished surveys untouched for PROGRESS_IDLE_DAYS: their answers and the link to the
    chat go; the response stays, counted as started."""
    result = await session.execute(
        delete(SurveyProgress).where(
            SurveyProgress.updated_at < now - timedelta(days=PROGRESS_IDLE_DAYS)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- counts --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionCount:
    """How many finished responses chose one option (`skip` and `other` included)."""

    survey_id: str
    question_id: str
    option_id: str
    concept: str | None
    count: int


@dataclass
class SurveyTally:
    """One survey's numbers over all its sent runs."""

    survey_id: str
    survey: Survey  # as last sent: labels and order
    started: int = 0
    finished: int = 0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (question, option)
    answered: Counter[str] = field(default_factory=Counter)  # question -> responses not skipping


async def tallies(session: AsyncSession, survey_id: str | None = None) -> list[SurveyTally]:
    """Every sent survey's counts (or one survey's), in the order they were first sent."""
    query = select(SurveyRun).where(SurveyRun.status == SENT).order_by(SurveyRun.id)
    if survey_id is not None:
        query = query.where(SurveyRun.survey_id == survey_id)
    runs = list(await session.scalars(query))
    by_survey: dict[str, SurveyTally] = {}
    for run in runs:  # the latest run's definition wins
        tally = by_survey.get(run.survey_id)
        if tally is None:
            by_survey[run.survey_id] = SurveyTally(run.survey_id, survey_of(run))
        else:
            tally.survey = survey_of(run)
    run_survey = {run.id: run.survey_id for run in runs}
    if not run_survey:
        return []
    started = await session.execute(
        select(SurveyResponse.run_id, func.count(), func.count(SurveyResponse.finished_at))
        .where(SurveyResponse.run_id.in_(run_survey))
        .group_by(SurveyResponse.run_id)
    )
    for run_id, all_count, finished_count in started:
        tally = by_survey[run_survey[run_id]]
        tally.started += int(all_count)
        tally.finished += int(finished_count)
    chosen = await session.execute(
        select(
            SurveyAnswer.survey_id,
            SurveyAnswer.question_id,
            SurveyAnswer.option_id,
            func.count(),
        )
        .where(SurveyAnswer.run_id.in_(run_survey))
        .group_by(SurveyAnswer.survey_id, SurveyAnswer.question_id, SurveyAnswer.option_id)
    )
    for survey, question, option, count in chosen:
        by_survey[survey].counts[(question, option)] += int(count)
    answered = await session.execute(
        select(
            SurveyAnswer.survey_id,
            SurveyAnswer.question_id,
            func.count(func.distinct(SurveyAnswer.response_id)),
        )
        .where(SurveyAnswer.run_id.in_(run_survey), SurveyAnswer.option_id != SKIP)
        .group_by(SurveyAnswer.survey_id, SurveyAnswer.question_id)
    )
    for survey, question, count in answered:
        by_survey[survey].answered[question] += int(count)
    return list(by_survey.values())


def _concepts(survey: Survey) -> dict[tuple[str, str], str]:
    return {
        (question.id, option.id): option.concept
        for question in survey.questions
        for option in question.options
        if option.concept
    }


async def option_counts(session: AsyncSession, survey_id: str | None = None) -> list[OptionCount]:
    """Per survey, question and option: how many finished responses chose it, with the
    lexicon need (concept) the option is about, if any. For the asset map and other reports."""
    counts = []
    for tally in await tallies(session, survey_id):
        concepts = _concepts(tally.survey)
        for (question, option), count in sorted(tally.counts.items()):
            counts.append(
                OptionCount(
                    tally.survey_id, question, option, concepts.get((question, option)), count
                )
            )
    return counts


async def families_per_concept(session: AsyncSession) -> Counter[str]:
    """Per lexicon need: how many finished responses chose at least one option about it."""
    runs = list(await session.scalars(select(SurveyRun).where(SurveyRun.status == SENT)))
    concepts_of_run = {run.id: _concepts(survey_of(run)) for run in runs}
    rows = await session.execute(
        select(
            SurveyAnswer.run_id,
            SurveyAnswer.response_id,
            SurveyAnswer.question_id,
            SurveyAnswer.option_id,
        ).where(SurveyAnswer.run_id.in_(concepts_of_run))
    )
    needs: defaultdict[str, set[int]] = defaultdict(set)
    for run_id, response_id, question, option in rows:
        concept = concepts_of_run[run_id].get((question, option))
        if concept:
            needs[concept].add(response_id)
    return Counter({concept: len(responses) for concept, responses in needs.items()})


def option_label(question: SurveyQuestion, option_id: str, language: str = "en") -> str:
    for option in question.options:
        if option.id == option_id:
            return option.label(language)
    return option_id


def ordered_options(question: SurveyQuestion, seen: Iterable[str]) -> list[str]:
    """The question's options in order, then "other" and "skip", then any an older version of
    the survey had."""
    chosen = set(seen)
    known = [option.id for option in question.options]
    other = [OTHER] if question.other or OTHER in chosen else []
    older = sorted(chosen - set(known) - {OTHER, SKIP})
    return [*known, *other, *older, SKIP]
