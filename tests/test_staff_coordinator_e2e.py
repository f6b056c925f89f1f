"""End to end, as staff and coordinators would do it: `python -m bot run` as its own process
against the loopback Bot API server, in English and Spanish.

- A staff member joins with a coordinator's invitation, opens /start, picks the MOU template and
  gets it as DOCX and PDF, which are opened (python-docx, pypdf) as a phone would.
- A coordinator sends /broadcast with no text, writes the announcement as the next message
  (never searched), picks the audience, sends it; and cancels a second one midway.
- `resource-finder event add --announce / --no-announce` and `event cancel` run beside the bot
  on the same database: families are told in their language, or not at all.

Only arrival is asserted, with generous timeouts, never timings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opened_documents import assert_reads_well, docx_paragraphs, docx_text, pdf_text
from test_cli import FUTURE
from test_events_e2e import COORDINATOR, REPLY_SECONDS, SETTINGS, said

from botapi import Call, FakeBotApi
from harness import BotProcess, running_bot

STAFF_EN, STAFF_ES = 890_201, 890_202
FAMILY_EN, FAMILY_ES = 890_301, 890_302
# The outbox of a bot that did not queue a row itself finds it within its idle wait (30 s).
OTHER_PROCESS_SECONDS = 90


@pytest.fixture(params=["sqlite", "postgresql"])
def bot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BotProcess]:
    # In Chicago time, as this file's `cli` (the events e2e runs its bot in another zone).
    yield from running_bot(request.param, tmp_path, {**SETTINGS, "TIMEZONE": "America/Chicago"})


def bot_api_refusals(api: FakeBotApi) -> list[Call]:
    """What the Bot API refused, less the progress message's "not modified" edits (the button
    and the outbox may both write "Sent 0 of 2"; progress is best effort by design)."""
    return [
        c
        for c in api.errors
        if c.method != "getUpdates"
        and not (c.method == "editMessageText" and "not modified" in str(c.description))
    ]


def send(api: FakeBotApi, chat_id: int, text: str, language: str = "en") -> Call:
    """A user's message and the bot's first answer to it."""
    mark = api.mark()
    api.push_message(chat_id, text, language_code=language)
    return api.wait_for_reply(chat_id, timeout=REPLY_SECONDS, after_index=mark)


def press(api: FakeBotApi, chat_id: int, label: str, method: str = "sendMessage") -> Call:
    """Press a button; the bot's first `method` call to that chat after it."""
    mark = api.mark()
    api.press(chat_id, label, timeout=REPLY_SECONDS)
    return api.wait_for(
        lambda c: c.ok and c.chat_id == chat_id and c.method == method,
        timeout=REPLY_SECONDS,
        after_index=mark,
    )


def arrives(api: FakeBotApi, chat_id: int, needle: str, after: int, timeout: float) -> Call:
    return api.wait_for(
        lambda c: c.ok and c.chat_id == chat_id and needle in said(c),
        timeout=timeout,
        after_index=after,
    )


def join_as_staff(api: FakeBotApi, chat_id: int, language: str) -> None:
    invitation = said(send(api, COORDINATOR, "/invite staff"))
    code = re.search(r"/join ([A-Z0-9-]+)", invitation)
    assert code is not None, invitation
    welcome = said(send(api, chat_id, f"/join {code.group(1)}", language))
    assert "staff" in welcome or "personal" in welcome, welcome


def test_staff_start_menu_and_the_mou_as_word_and_pdf_in_both_languages(bot: BotProcess) -> None:
    api = bot.api
    join_as_staff(api, STAFF_EN, "en")
    join_as_staff(api, STAFF_ES, "es")

    menu = send(api, STAFF_EN, "/start")
    assert "toolkit for staff" in said(menu)
    assert {"📄 Sample materials (Word, PDF)", "⭐ Best practices"} <= set(menu.button_labels)
    shelf = press(api, STAFF_EN, "Sample materials")
    assert "Partnership MOU template" in said(shelf)
    offer = press(api, STAFF_EN, "MOU template")
    assert {"📝 Word (to edit)", "🖨 PDF (to print)"} == set(offer.button_labels)
    word = press(api, STAFF_EN, "Word", method="sendDocument")
    assert word.document is not None
    assert word.document.file_name == "partnership-mou-template.en.docx"
    headings = [t for style, t in docx_paragraphs(word.document.data) if style.startswith("Head")]
    assert "Memorandum of Understanding" in headings[0]
    assert_reads_well(docx_text(word.document.data))
    printed = press(api, STAFF_EN, "PDF", method="sendDocument")
    assert printed.document is not None and printed.document.file_name.endswith(".en.pdf")
    text = pdf_text(printed.document.data)
    assert "Memorandum of Understanding" in text
    assert_reads_well(text)

    menu = send(api, STAFF_ES, "/start", "es")
    assert "kit de herramientas de alianzas" in said(menu)
    press(api, STAFF_ES, "Materiales de ejemplo")
    offer = press(api, STAFF_ES, "memorando")
    assert "imprimirlo" in said(offer)
    word = press(api, STAFF_ES, "Word", method="sendDocument")
    assert word.document is not None and word.document.file_name.endswith(".es.docx")
    assert "Propósito" in docx_text(word.document.data)
    printed = press(api, STAFF_ES, "PDF", method="sendDocument")
    assert printed.document is not None
    text = pdf_text(printed.document.data)
    assert "Memorando de entendimiento" in text and "organización" in text
    assert_reads_well(text)
    assert not bot_api_refusals(api), bot.output()


def test_guided_broadcast_in_english_and_a_cancelled_one_in_spanish(bot: BotProcess) -> None:
    api = bot.api
    for family, language in ((FAMILY_EN, "en"), (FAMILY_ES, "es")):
        send(api, family, "/subscribe", language)
    start = api.mark()
    asked = send(api, COORDINATOR, "/broadcast")
    assert "Send the announcement as your next message" in said(asked)
    preview = send(api, COORDINATOR, "Dentist van at school on Friday, 9 to 3")
    assert "Subscribers who will get it: 2" in said(preview), said(preview)
    assert "Dental" not in said(preview)  # the announcement, not a search
    press(api, COORDINATOR, "Send", method="editMessageText")
    for family in (FAMILY_EN, FAMILY_ES):
        arrives(api, family, "Dentist van at school on Friday", start, REPLY_SECONDS * 3)
    arrives(api, COORDINATOR, "Broadcast finished", start, REPLY_SECONDS * 3)

    send(api, COORDINATOR, "/language")
    press(api, COORDINATOR, "Español", method="editMessageText")
    asked = send(api, COORDINATOR, "/broadcast", "es")
    assert "Envíe el anuncio en su próximo mensaje" in said(asked), said(asked)
    stopped = send(api, COORDINATOR, "/cancel", "es")
    assert "No se envió nada" in said(stopped)
    answer = send(api, COORDINATOR, "dentista", "es")
    assert "Vista previa" not in said(answer)  # searched again, as usual
    time.sleep(2)
    assert sum("Dentist van" in said(c) for c in api.sent_to(FAMILY_EN)) == 1
    assert not bot_api_refusals(api), bot.output()


def cli(bot: BotProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("WEBHOOK_URL", "WEBHOOK_SECRET")},
        "DATABASE_URL": bot.database_url,
        "TIMEZONE": "America/Chicago",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=bot.folder,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_cli_event_flags_reach_families_in_their_language_or_not_at_all(bot: BotProcess) -> None:
    api = bot.api
    for family, language in ((FAMILY_EN, "en"), (FAMILY_ES, "es")):
        send(api, family, "/subscribe", language)
    unasked = cli(bot, "event", "add", "--title", "Quiet", "--starts", f"{FUTURE}-03-05T18:00")
    assert unasked.returncode == 2 and "--no-announce" in unasked.stderr

    start = api.mark()
    quiet = cli(bot, "event", "add", "--title", "Staff retreat",
                "--starts", f"{FUTURE}-03-04T09:00", "--no-announce")  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr
    told = cli(bot, "event", "add", "--title", "Family Math Night",
               "--starts", f"{FUTURE}-03-05T18:00", "--where", "Gym", "--announce")  # fmt: skip
    assert told.returncode == 0, told.stderr
    assert "announcing to 2 subscribed families" in told.stdout
    english = arrives(api, FAMILY_EN, "Family Math Night", start, OTHER_PROCESS_SECONDS)
    spanish = arrives(api, FAMILY_ES, "Family Math Night", start, OTHER_PROCESS_SECONDS)
    assert "New event" in said(english) and "¡Nuevo evento!" in said(spanish)
    assert english.document is not None and english.document.file_name.endswith(".ics")
    time.sleep(3)  # several reminder checks: the quiet event is never announced
    assert not any("Staff retreat" in said(c) for c in api.calls if c.chat_id != COORDINATOR)

    event_id = re.search(r"Event (\d+): Family Math Night", told.stdout)
    assert event_id is not None
    cancelled = cli(bot, "event", "cancel", event_id.group(1))
    assert cancelled.returncode == 0, cancelled.stderr
    assert "telling 2 families" in cancelled.stdout
    arrives(api, FAMILY_EN, "This event is cancelled", start, OTHER_PROCESS_SECONDS)
    arrives(api, FAMILY_ES, "Este evento se canceló", start, OTHER_PROCESS_SECONDS)
    assert not bot_api_refusals(api), bot.output()
