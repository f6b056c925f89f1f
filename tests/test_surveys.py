"""Surveys and polls: the survey files and their checks, families answering one question at a
time (stop, resume, other, skip, stale buttons), the anonymous counts, /forget; and the
coordinator's /survey and /poll through the real handlers, on both backends."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_coordinators import sessions, wait_until_sent

from bot.config import SettingsError, load_settings
from bot.handlers.surveys import ChatSurveyTexts
from harness import COORDINATOR_ID, BotHarness, buttons, texts
from jobs.surveys import send_survey
from knowledge.chats import forget_chat
from knowledge.lexicon import default_lexicon
from knowledge.models import (
    Chat,
    Delivery,
    Message,
    SurveyAnswer,
    SurveyProgress,
    SurveyResponse,
    SurveyRun,
)
from knowledge.survey_answers import (
    POLL,
    Step,
    draft_run,
    families_per_concept,
    option_counts,
    press,
    tallies,
)
from knowledge.survey_answers import answer_other as type_other
from knowledge.surveys import (
    NEEDS_SURVEY,
    SurveyFormatError,
    available_surveys,
    load_surveys,
    poll_survey,
)

LINCOLN = "loc-lincoln-elementary"
ROOSEVELT = "loc-roosevelt-middle"

# --- the files -----------------------------------------------------------------------------------


def test_the_needs_survey_is_built_in_in_both_languages() -> None:
    survey = available_surveys()[NEEDS_SURVEY]
    kinds = {question.kind for question in survey.questions}
    assert kinds == {"single", "multiple"}
    assert any(question.other for question in survey.questions)
    for question in survey.questions:
        assert question.text["en"] and question.text["es"] and question.skip
        for option in question.options:
            assert option.en and option.es
            assert option.concept is None or default_lexicon().concept(option.concept)
    concepts = {o.concept for q in survey.questions for o in q.options if o.concept}
    assert {"food-pantry", "dental", "rent-help", "tutoring", "child-care"} <= concepts
    # No names, contact details or immigration status in the chat version.
    assert not any(q.id in ("name", "phone", "email") for q in survey.questions)


GOOD = """
id: math-night
title: {en: Math night, es: Noche de matemáticas}
questions:
  - id: evening
    kind: single
    text: {en: "Which evening?", es: "¿Qué noche?"}
    options:
      - {id: tue, en: Tuesday, es: Martes}
      - {id: thu, en: Thursday, es: Jueves, concept: tutoring}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_coordinators_folder_adds_surveys(tmp_path: Path) -> None:
    write(tmp_path / "mine", "math.yaml", GOOD)
    surveys = load_surveys(tmp_path / "mine")
    assert list(surveys) == [NEEDS_SURVEY, "math-night"]
    assert surveys["math-night"].questions[0].options[1].concept == "tutoring"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('es: "¿Qué noche?"', 'fr: "Quel soir?"'), "questions[1].text: missing the es text"),
        (("id: thu", "id: tue"), "bad.yaml: questions[1]: option id 'tue' is used twice"),
        (("concept: tutoring", "concept: tutor"), "'tutor' is not a need of the lexicon"),
        (("kind: single", "kind: several"), "bad.yaml: questions[1].kind:"),
        (("id: math-night", "id: Math Night!"), "bad.yaml: id:"),
        (("Tuesday", "T" * 80), "bad.yaml: questions[1].options[1].en: expected a button label"),
        (("    kind: single", "    kind: single\n    colour: red"), "questions[1].colour"),
        (("title: {", "title: {{"), "bad.yaml: not valid YAML"),
        (("id: tue", "id: skip"), "'skip' and 'other' are the bot's own option ids"),
    ],
)
def test_a_wrong_survey_file_is_refused_with_where(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    write(tmp_path / "mine", "bad.yaml", GOOD.replace(*change, 1))
    with pytest.raises(SurveyFormatError) as caught:
        load_surveys(tmp_path / "mine")
    assert message in str(caught.value)


def test_two_surveys_with_one_id_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "mine", "a.yaml", GOOD)
    write(tmp_path / "mine", "b.yaml", GOOD)
    with pytest.raises(SurveyFormatError, match="b.yaml: survey id 'math-night' is used by a.yaml"):
        load_surveys(tmp_path / "mine")


def test_the_bot_will_not_start_with_a_wrong_surveys_dir(tmp_path: Path) -> None:
    write(tmp_path / "mine", "bad.yaml", GOOD.replace("kind: single", "kind: several"))
    with pytest.raises(SettingsError, match="SURVEYS_DIR.*bad.yaml"):
        load_settings(surveys_dir=str(tmp_path / "mine"))
    with pytest.raises(SettingsError, match="not a folder"):
        load_settings(surveys_dir=str(tmp_path / "nowhere"))


# --- answering -----------------------------------------------------------------------------------


async def subscribed(session: AsyncSession, *chats: tuple[int, str]) -> None:
    for chat_id, language in chats:
        session.add(Chat(id=chat_id, language=language, subscribed=True))
    await session.flush()


async def sent_needs_survey(session: AsyncSession) -> SurveyRun:
    run = await draft_run(session, available_surveys()[NEEDS_SURVEY], created_by=COORDINATOR_ID)
    sent = await send_survey(
        session, run.id, created_by=COORDINATOR_ID, school_id=None, texts=ChatSurveyTexts()
    )
    assert sent is not None
    return sent[0]


async def answer_all(session: AsyncSession, run: SurveyRun, chat_id: int, pick: int = 0) -> Step:
    """Answer every remaining question with option `pick` (ticked then Done when multiple)."""
    step = await press(session, run.id, chat_id, position=0, action="begin")
    assert step is not None
    while step.state != "finished":
        question = step.question
        assert question is not None
        option = pick % len(question.options)
        step = await press(
            session, run.id, chat_id, position=step.position, action="option", option=option
        )
        assert step is not None
        if question.kind == "multiple":
            step = await press(session, run.id, chat_id, position=step.position, action="done")
            assert step is not None
    return step


async def test_answers_are_kept_per_question_and_lose_the_chat_when_finished(
    session: AsyncSession,
) -> None:
    await subscribed(session, (701, "en"), (702, "es"), (703, "en"))
    run = await sent_needs_survey(session)
    invitations = list(await session.scalars(select(Message).where(Message.kind == "survey")))
    assert len(invitations) == 2  # one per language
    labels = {
        b["text"]
        for m in invitations
        for row in json.loads(m.reply_markup or "{}")["inline_keyboard"]
        for b in row
    }
    assert labels == {"▶️ Start", "▶️ Empezar"}
    assert await session.scalar(select(func.count()).select_from(Delivery)) == 3

    # 701 answers everything with the first option.
    step = await answer_all(session, run, 701)
    assert step.state == "finished"
    assert await session.get(SurveyProgress, (701, run.id)) is None
    # An old button past the first question starts nothing again.
    gone = await press(session, run.id, 701, position=4, action="option", option=0)
    assert gone is not None and gone.state == "gone"
    assert await session.get(SurveyProgress, (701, run.id)) is None

    # 702: household, then ticks two food options, writes "other" on language, skips, stops.
    step = await press(session, run.id, 702, position=0, action="option", option=1)
    assert step is not None and step.state == "ask" and step.position == 1
    step = await press(session, run.id, 702, position=1, action="other")
    assert step is not None and step.state == "other"
    step = await type_other(session, 702, "  Mixteco  ")
    assert step is not None and step.position == 2
    step = await press(session, run.id, 702, position=2, action="skip")
    assert step is not None and step.position == 3
    step = await press(session, run.id, 702, position=3, action="option", option=0)
    step = await press(session, run.id, 702, position=3, action="option", option=2)
    step = await press(session, run.id, 702, position=3, action="option", option=0)  # untick
    assert step is not None and step.ticked == frozenset({2})
    step = await press(session, run.id, 702, position=3, action="pause")
    assert step is not None and step.state == "paused"
    # An old button changes nothing.
    stale = await press(session, run.id, 702, position=0, action="option", option=3)
    assert stale is not None and stale.state == "stale" and stale.position == 3
    # Resumed later: where it stopped, ticks kept.
    step = await press(session, run.id, 702, position=3, action="begin")
    assert step is not None and step.position == 3 and step.ticked == frozenset({2})
    step = await press(session, run.id, 702, position=3, action="done")
    assert step is not None and step.position == 4
    step = await answer_all(session, run, 702, pick=1)
    assert step.state == "finished"

    # 703 starts and stops.
    await press(session, run.id, 703, position=0, action="option", option=2)
    assert await session.get(SurveyProgress, (703, run.id)) is not None

    [tally] = await tallies(session, NEEDS_SURVEY)
    assert (tally.started, tally.finished) == (3, 2)
    assert tally.counts[("household", "1-2")] == 1 and tally.counts[("household", "3-4")] == 1
    assert tally.counts[("language", "other")] == 1 and tally.counts[("interpreter", "skip")] == 1
    assert tally.counts[("contact", "whatsapp")] == 1 and tally.counts[("contact", "text")] == 1
    assert tally.answered["interpreter"] == 1 and tally.answered["household"] == 2
    other = await session.scalar(select(SurveyAnswer.text).where(SurveyAnswer.option_id == "other"))
    assert other == "Mixteco"
    # Nothing that is kept names a chat.
    for table in (SurveyAnswer, SurveyResponse, SurveyRun):
        assert not any("chat" in column.name for column in table.__table__.columns)

    counts = {(c.question_id, c.option_id): c for c in await option_counts(session)}
    assert counts[("food", "run-out")].concept == "food-pantry"
    assert counts[("food", "run-out")].count == 1
    needs = await families_per_concept(session)
    # 701 ran out of food and chose food as what helps most: one family, counted once.
    assert needs["food-pantry"] == 1 and needs["snap"] == 1 and needs["primary-care"] == 2

    # /forget takes the unfinished survey of 703 with it; finished answers stay, naming no one.
    await forget_chat(session, 703)
    assert await session.get(SurveyProgress, (703, run.id)) is None
    [tally] = await tallies(session, NEEDS_SURVEY)
    assert (tally.started, tally.finished) == (2, 2)


async def test_a_run_is_sent_once_and_a_draft_answers_nothing(session: AsyncSession) -> None:
    await subscribed(session, (711, "en"))
    survey = available_surveys()[NEEDS_SURVEY]
    draft = await draft_run(session, survey, created_by=COORDINATOR_ID)
    assert await press(session, draft.id, 711, position=0, action="begin") is None
    texts_ = ChatSurveyTexts()
    first = await send_survey(
        session, draft.id, created_by=COORDINATOR_ID, school_id=None, texts=texts_
    )
    again = await send_survey(
        session, draft.id, created_by=COORDINATOR_ID, school_id=None, texts=texts_
    )
    assert first is not None and again is None
    other_hand = await draft_run(session, survey, created_by=COORDINATOR_ID)
    assert (
        await send_survey(session, other_hand.id, created_by=42, school_id=None, texts=texts_)
        is None
    )


async def test_a_poll_is_its_own_survey(session: AsyncSession) -> None:
    await subscribed(session, (721, "en"), (722, "es"))
    run = await draft_run(
        session, poll_survey("Which evening?", ["Tue", "Thu"]), created_by=None, kind=POLL
    )
    await send_survey(session, run.id, created_by=None, school_id=None, texts=ChatSurveyTexts())
    for chat_id in (721, 722):
        step = await press(session, run.id, chat_id, position=0, action="option", option=1)
        assert step is not None and step.state == "finished"
    [tally] = await tallies(session, f"poll-{run.id}")
    assert tally.counts[("poll", "o2")] == 2 and tally.finished == 2


# --- through the handlers ------------------------------------------------------------------------


async def test_a_coordinator_sends_the_survey_and_a_family_answers(bot: BotHarness) -> None:
    await bot.send(731, "/subscribe")
    await bot.send(732, "/subscribe", language="es")
    calls = await bot.send(COORDINATOR_ID, "/survey")
    assert "Which survey" in texts(calls)
    calls = await bot.press(COORDINATOR_ID, "Family survey")
    assert "16 questions" in texts(calls) and "Subscribers who will get it: 2" in texts(calls)
    calls = await bot.press(COORDINATOR_ID, "Send")
    assert "Sent to 2 families" in texts(calls)
    await wait_until_sent(bot)
    spanish = [c for c in bot.api.calls if c.params.get("chat_id") in (732, "732")]
    assert "Encuesta para familias" in texts(spanish)

    calls = await bot.press(731, "Start")
    assert "How many people live in your home?" in texts(calls) and "1/16" in texts(calls)
    assert all(len(data.encode()) <= 64 for c in calls for _, data in buttons(c))
    calls = await bot.press(731, "3 or 4")
    assert "2/16" in texts(calls)
    calls = await bot.press(731, "Other (write it)")
    assert "Type your answer" in texts(calls)
    calls = await bot.send(731, "Vietnamese")  # the answer, not a search
    assert "3/16" in texts(calls) and "interpreter" in texts(calls)
    calls = await bot.press(731, "Later")
    assert "saved" in texts(calls)
    calls = await bot.send(731, "/survey")  # resume
    assert "3/16" in texts(calls)
    calls = await bot.send(731, "food pantry")  # a search again, once the "other" is in
    assert "3/16" not in texts(calls)

    # A family cannot send surveys or polls, even with a forged button.
    calls = await bot.send(731, "/poll Free?\nYes\nNo")
    assert "only coordinators" in texts(calls)
    calls = await bot.press_data(731, "sv:p:family-needs")
    assert "only coordinators" in texts(calls)
    async with sessions(bot)() as session:
        assert await session.scalar(select(func.count()).select_from(SurveyRun)) == 1


def callback_data_of(bot: BotHarness, chat_id: int, label: str) -> str:
    for call in reversed(bot.api.calls):
        if int(call.params.get("chat_id", 0)) == chat_id:
            for text, data in buttons(call):
                if label in text:
                    return data
    raise AssertionError(f"no button {label!r} in chat {chat_id}")


async def test_a_poll_and_its_results(bot: BotHarness) -> None:
    for chat_id in (741, 742, 743):
        await bot.send(chat_id, "/subscribe", language="es" if chat_id == 743 else "en")
    calls = await bot.send(COORDINATOR_ID, "/poll Which evening?")
    assert "at least two choices" in texts(calls)
    calls = await bot.send(
        COORDINATOR_ID, "/poll Which evening suits family math night?\nTuesday\nThursday"
    )
    assert "Subscribers who will get it: 3" in texts(calls)
    await bot.press(COORDINATOR_ID, "Send")
    await wait_until_sent(bot)
    await bot.press(741, "Thursday")
    calls = await bot.press_data(741, callback_data_of(bot, 741, "Thursday"))
    assert "answered this one already" in str([c.params for c in calls])  # a double tap
    await bot.press(742, "Thursday")
    calls = await bot.press(743, "Omitir")  # Spanish: Skip
    assert "Gracias" in texts(calls)
    calls = await bot.press(COORDINATOR_ID, "Results")
    said = texts(calls)
    assert "Families who started: 3. Finished: 3." in said
    assert "Thursday: 2 (100%)" in said and "Tuesday: 0" in said and "skipped: 1" in said


# --- by text message -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_question_fits_a_text_with_all_its_choices(language: str) -> None:
    from bot.handlers.surveys import question_view
    from bot.sms.channel import MAX_SEGMENTS, render
    from bot.sms.text import segments, to_gsm

    survey = available_surveys()[NEEDS_SURVEY]
    run = SurveyRun(id=123456, kind="survey", survey_id=survey.id, definition=survey.to_json())
    for position, question in enumerate(survey.questions):
        text, markup = question_view(Step("ask", run, survey, position), language)
        rendered = render(text, markup.to_dict(), language=language)
        assert segments(rendered.body) <= MAX_SEGMENTS
        assert "..." not in rendered.body, rendered.body  # the question is whole
        assert to_gsm(question.options[-1].label(language)) in rendered.body
        assert len(rendered.choices) == len(markup.inline_keyboard[-1]) + sum(
            len(row) for row in markup.inline_keyboard[:-1]
        )


# --- the command line ----------------------------------------------------------------------------


async def test_survey_send_list_and_report_needs_from_the_command_line(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from test_cli import cli

    cli(database_url, "chat", stdin="")  # the demo directory: three schools
    async with session_factory() as session, session.begin():
        session.add(Chat(id=751, language="en", subscribed=True, school_id=LINCOLN))
        session.add(Chat(id=752, language="es", subscribed=True))
        session.add(Chat(id=753, language="en", subscribed=True, school_id=ROOSEVELT))

    listed = json.loads(cli(database_url, "survey", "list", "--json").stdout)
    assert listed[0]["id"] == NEEDS_SURVEY and listed[0]["questions"] == 16
    refused = cli(database_url, "survey", "send", "nope")
    assert refused.returncode == 2 and "survey list" in refused.stderr
    done = cli(database_url, "survey", "send", NEEDS_SURVEY, "--school", "Lincoln")
    assert done.returncode == 0, done.stderr
    assert "queued for 2" in done.stdout

    async with session_factory() as session, session.begin():
        queued = dict(
            (
                await session.execute(
                    select(Delivery.chat_id, Message.text).join(
                        Message, Message.id == Delivery.message_id
                    )
                )
            ).all()
        )
        assert set(queued) == {751, 752}  # Lincoln's and the all-schools subscriber
        assert "Family survey" in queued[751] and "Encuesta para familias" in queued[752]
        run = await session.scalar(select(SurveyRun))
        assert run is not None and run.school_id == LINCOLN and run.created_by is None
        await answer_all(session, run, 751)
        await press(session, run.id, 752, position=0, action="skip")

    text = cli(database_url, "report", "needs").stdout
    assert "household" in text and "started" in text and "finished" in text
    rows = json.loads(cli(database_url, "report", "needs", NEEDS_SURVEY, "--json").stdout)
    by_key = {(r["question"], r["option"]): r for r in rows}
    assert by_key[("", "started")]["count"] == 2 and by_key[("", "finished")]["count"] == 1
    assert by_key[("household", "1-2")]["count"] == 1
    assert by_key[("household", "1-2")]["share"] == 1.0
    csv_text = cli(database_url, "report", "needs", "--csv").stdout
    assert csv_text.splitlines()[0] == "survey,question,option,label,count,share"
