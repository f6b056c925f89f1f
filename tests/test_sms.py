"""The SMS channel's parts: segments as carriers count them, GSM-7 where the text allows,
numbered choices, carrier keywords, Twilio's signature and answers, and the numbers' storage
(on SQLite and PostgreSQL). The conversation itself is in tests/test_sms_e2e.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from bot.choices import TERMINAL, TEXT_MESSAGE, choice_lines, choices_of, reply_key
from bot.config import SettingsError, load_settings
from bot.sms.channel import SmsChannel, commands_as_words, render
from bot.sms.keywords import Carrier, carrier_keyword, command_word
from bot.sms.links import LinkSigner
from bot.sms.text import encoding, fit, segments, to_gsm
from bot.sms.twilio_api import TwilioMessages
from jobs.retention import purge_expired
from jobs.sender import ChatUnreachable, RateLimited, TemporaryFailure
from knowledge.chats import forget_chat, get_chat
from knowledge.models import SmsChoice, SmsInbound, SmsNumber, utcnow
from knowledge.sms import (
    SMS_CHAT_BASE,
    choice_for,
    first_time_seen,
    last_search,
    mask,
    normalize_address,
    number_for_address,
    number_of_chat,
    save_choices,
    save_search,
    set_opted_out,
    store_file,
)
from twilioapi import FakeTwilio, signature
from twilioapi import segments as carrier_segments

# --- segments and GSM-7 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # the extension table takes two septets each
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 152, 3),  # an escape never straddles two segments
        ("ñ" * 160, 1),  # ñ is GSM-7
        ("á" * 70, 1),  # á is not: UCS-2
        ("á" * 71, 2),
        ("á" * 134, 2),
        ("á" * 135, 3),
        ("🙂" * 35, 1),  # two UTF-16 units each
        ("🙂" * 36, 2),
    ],
)
def test_segments_are_counted_as_carriers_do(text: str, count: int) -> None:
    assert segments(text) == count
    assert carrier_segments(text) == count  # the fake counts the same, independently


def test_texts_keep_to_gsm7_where_they_can() -> None:
    assert to_gsm("“Free” food — open now… ✅ 📍 Map") == '"Free" food - open now... Map'
    assert to_gsm("Clínica de salud, ¿está abierta? Sí") == "Clinica de salud, ¿esta abierta? Si"
    assert encoding(to_gsm("Clínica — Niños, ¡ahora!")) == "GSM-7"
    assert to_gsm("Phở Sài Gòn") == "Pho Sài Gòn"  # à and ò are GSM-7; ở is not
    assert encoding(to_gsm("Centro 中文")) == "UCS-2"  # no plain form: kept as written


def test_fit_keeps_the_choices_and_says_it_cut() -> None:
    body = "\n".join(f"line {n} " + "x" * 60 for n in range(20))
    footer = "1 - Food\n2 - Health"
    text = fit(body, 3, footer)
    assert segments(text) <= 3 and text.endswith(footer) and "...\n1 - Food" in text
    assert fit("short", 3, footer) == "short\n" + footer


def test_render_makes_html_plain_and_buttons_numbered() -> None:
    markup = {
        "inline_keyboard": [
            [{"text": "🍎 Food", "callback_data": "cat:food"}],
            [
                {"text": "📍 Map", "callback_data": "m:svc1"},
                {"text": "👍", "callback_data": "fb:1:1"},
            ],
            [{"text": "Site", "url": "https://example.org/a"}],
        ]
    }
    rendered = render("<b>Hi &amp; welcome</b>, use /start or /unsubscribe", markup)
    assert rendered.body == (
        "Hi & welcome, use MENU or LEAVE\nSite: https://example.org/a\n1 - Food"
    )
    assert [(c.key, c.data) for c in rendered.choices] == [("1", "cat:food")]


# --- numbered choices --------------------------------------------------------------------------


def test_choices_take_keys_from_labels_words_then_numbers() -> None:
    markup = {
        "inline_keyboard": [
            [{"text": "4", "callback_data": "d:a"}, {"text": "5", "callback_data": "d:b"}],
            [{"text": "M", "callback_data": "more"}, {"text": "0", "callback_data": "cats"}],
            [{"text": "✅ Going", "callback_data": "rsvp:7:1"}],
            [{"text": "❌ Can't go", "callback_data": "rsvp:7:0"}],
            [{"text": "Ask a person", "callback_data": "ask"}],
        ]
    }
    choices, _ = choices_of(markup, TEXT_MESSAGE)
    assert [(c.key, c.label) for c in choices] == [
        ("4", ""),
        ("5", ""),
        ("M", ""),
        ("0", ""),
        ("YES", "Going"),
        ("NO", "Can't go"),
        ("1", "Ask a person"),
    ]
    assert choice_lines(choices, "es")[0] == "SI - Going"  # Spanish readers see SI (both work)
    terminal, _ = choices_of(markup, TERMINAL)  # the terminal numbers what has no key label
    assert [c.key for c in terminal][-3:] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("text", "key"),
    [("2", "2"), (" #2. ", "2"), ("02", "2"), ("m", "M"), ("Sí!", "YES"), ("si", "YES")]
    + [("no", "NO"), ("menu", "0"), ("food", None), ("2 please", None), ("", None)],
)
def test_a_reply_names_a_choice(text: str, key: str | None) -> None:
    assert reply_key(text) == key


# --- carrier keywords --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop. ", "StopAll", "stop all", "QUIT"])
def test_stop_words_opt_out(text: str) -> None:
    keyword = carrier_keyword(text)
    assert keyword is not None and keyword.kind is Carrier.OPT_OUT


def test_keywords_count_only_as_the_whole_text() -> None:
    assert carrier_keyword("please stop sending food texts") is None
    assert carrier_keyword("Alto") == carrier_keyword("PARAR")
    assert carrier_keyword("alto") is not None and carrier_keyword("alto").language == "es"  # type: ignore[union-attr]
    assert carrier_keyword("yes") is None  # an RSVP, unless the number opted out
    assert carrier_keyword("yes", opted_out=True).kind is Carrier.OPT_IN  # type: ignore[union-attr]
    assert carrier_keyword("UNSTOP").kind is Carrier.OPT_IN  # type: ignore[union-attr]
    assert carrier_keyword("ayuda").kind is Carrier.HELP  # type: ignore[union-attr]
    assert command_word("Join") == ("/subscribe", "en")
    assert command_word("menú") == ("/start", None)
    assert commands_as_words("Send /cancel to stop") == "Send MENU to stop"  # never CANCEL


# --- Twilio: the signature and the answers ------------------------------------------------------


def test_the_fake_signs_as_twilios_validator_checks() -> None:
    url = "https://bot.example.org/sms"
    params = {"From": "+15551230001", "Body": "¿comida?", "MessageSid": "SM1", "To": "+1555"}
    validator = RequestValidator("secret-token")
    assert signature("secret-token", url, params) == validator.compute_signature(url, params)
    assert validator.validate(url, params, signature("secret-token", url, params))
    assert not validator.validate(url, params, signature("other-token", url, params))


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
async def channel(
    session_factory: async_sessionmaker[AsyncSession], twilio: FakeTwilio
) -> AsyncIterator[SmsChannel]:
    """The SMS channel against the fake Twilio, on the test database."""
    client = TwilioMessages(twilio.url, twilio.account_sid, twilio.auth_token, twilio.phone_number)
    sms = SmsChannel(session_factory, client, LinkSigner("t", "https://x.org/sms"), 100)
    try:
        yield sms
    finally:
        await sms.close()


async def test_twilio_answers_become_what_the_outbox_does(twilio: FakeTwilio) -> None:
    client = TwilioMessages(twilio.url, twilio.account_sid, twilio.auth_token, twilio.phone_number)
    try:
        assert (await client.send("+15551230001", "hi")).startswith("SM")
        twilio.answer_429(retry_after=2)
        with pytest.raises(RateLimited) as limited:
            await client.send("+15551230001", "hi")
        assert limited.value.retry_after == 2
        twilio.opt_out("+15551230002")
        with pytest.raises(ChatUnreachable, match="21610"):
            await client.send("+15551230002", "hi")
        twilio.invalidate("+15551230003")
        with pytest.raises(ChatUnreachable, match="21211") as invalid:
            await client.send("+15551230003", "hi")
        assert "+1555" not in str(invalid.value)  # Twilio's message names it; ours does not
        assert client.sender_for("whatsapp:+15551230001") == "whatsapp:" + twilio.phone_number
    finally:
        await client.close()
    wrong = TwilioMessages(twilio.url, twilio.account_sid, "wrong-token", twilio.phone_number)
    try:
        with pytest.raises(TemporaryFailure):  # credentials being fixed: retried, not failed
            await wrong.send("+15551230001", "hi")
    finally:
        await wrong.close()


def test_settings_turn_sms_on_and_name_what_is_wrong() -> None:
    twilio = {
        "twilio_account_sid": "AC" + "a" * 32,
        "twilio_auth_token": "token",
        "twilio_phone_number": "+15550100000",
    }
    with pytest.raises(SettingsError, match="^SMS_WEBHOOK_URL: required"):
        load_settings(**twilio)
    settings = load_settings(**twilio, sms_webhook_url="https://bot.example.org/sms")
    assert settings.sms_enabled and settings.sms_port == 8081
    assert settings.sms_rate_per_second == 1
    assert not load_settings().sms_enabled
    with pytest.raises(SettingsError, match="^TWILIO_ACCOUNT_SID:"):
        load_settings(twilio_account_sid="SK123")
    with pytest.raises(SettingsError, match="^TWILIO_PHONE_NUMBER: expected an E.164"):
        load_settings(twilio_phone_number="555-0100")


def test_file_links_are_signed_and_expire() -> None:
    links = LinkSigner("token", "https://bot.example.org/sms")
    expires = utcnow() + timedelta(days=1)
    url = links.url(12, "MOU template.docx", expires)
    assert url.startswith("https://bot.example.org/files/12/")
    _, file_id, stamp, sig, _name = url.rsplit("/", 4)
    assert links.valid(12, int(stamp), sig, utcnow())
    assert not links.valid(13, int(stamp), sig, utcnow())  # another file
    assert not links.valid(12, int(stamp) + 86400, sig, utcnow())  # extended
    assert not links.valid(12, int(stamp), sig, utcnow() + timedelta(days=2))  # expired


# --- numbers in the database --------------------------------------------------------------------


def test_addresses_are_normalized_and_masked() -> None:
    assert normalize_address("+1 (555) 123-4567") == "+15551234567"
    assert normalize_address("whatsapp:+15551234567") == "whatsapp:+15551234567"
    assert normalize_address("12345") is None
    assert "555" not in mask("+15551234567")


async def test_numbers_get_chat_ids_no_telegram_id_reaches(session: AsyncSession) -> None:
    first = await number_for_address(session, "+15551230001")
    again = await number_for_address(session, "+15551230001")
    other = await number_for_address(session, "+15551230002")
    assert first.chat_id == again.chat_id != other.chat_id
    assert min(first.chat_id, other.chat_id) >= SMS_CHAT_BASE > 2**52
    assert await number_of_chat(session, first.chat_id) == first
    assert await number_of_chat(session, 12345) is None
    assert await first_time_seen(session, "SM1") and not await first_time_seen(session, "SM1")


async def test_a_new_list_replaces_the_numbers_but_keeps_words(session: AsyncSession) -> None:
    chat = (await number_for_address(session, "+15551230001")).chat_id
    await save_choices(session, chat, [("YES", "rsvp:1:1"), ("NO", "rsvp:1:0")], 1)
    await save_choices(session, chat, [("1", "d:a"), ("2", "d:b"), ("3", "d:c")], 2)
    await save_choices(session, chat, [("1", "d:x"), ("M", "more")], 3)
    assert (await choice_for(session, chat, "1")).data == "d:x"  # type: ignore[union-attr]
    assert await choice_for(session, chat, "2") is None  # the old list is gone
    assert (await choice_for(session, chat, "YES")).data == "rsvp:1:1"  # type: ignore[union-attr]
    await save_choices(session, chat, [("0", "cats")], 4)  # details: "0 for the menu"
    assert (await choice_for(session, chat, "1")).data == "d:x"  # type: ignore[union-attr]
    assert (await choice_for(session, chat, "M")) is not None
    await save_choices(session, chat, [("1", "d:y")], 5)  # a list with no next page
    assert await choice_for(session, chat, "M") is None


async def test_forget_removes_the_number_and_everything_about_it(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        chat = (await number_for_address(session, "+15551230001")).chat_id
        await get_chat(session, chat, "es")
        await save_choices(session, chat, [("1", "d:a")], 1)
        await save_search(session, chat, {"text": "comida", "offset": 0})
    async with session_factory() as session, session.begin():
        await forget_chat(session, chat)
    async with session_factory() as session:
        assert await session.scalar(select(SmsNumber)) is None
        assert await session.scalar(select(SmsChoice)) is None
        assert await last_search(session, chat) is None


async def test_stop_ends_subscriptions_and_retention_drops_what_expired(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        chat = (await number_for_address(session, "+15551230001")).chat_id
        idle = await number_for_address(session, "+15551230002")
        row = await get_chat(session, chat)
        row.subscribed = True
        await save_search(session, chat, {"text": "food", "offset": 0})
        await set_opted_out(session, chat, True)
        await first_time_seen(session, "SMold")
        await store_file(session, "a.ics", b"x", timedelta(days=-1))
    async with session_factory() as session:
        assert (await get_chat(session, chat)).subscribed is False
        assert (await number_of_chat(session, chat)).opted_out is True  # type: ignore[union-attr]
        assert await last_search(session, chat) is None
    later = utcnow() + timedelta(days=40)
    async with session_factory() as session, session.begin():
        removed = await purge_expired(session, later)
    assert removed["sms_inbound"] == 1 and removed["sms_file"] == 1
    assert removed["sms_number"] == 1  # the one that only asked; the subscriber's chat stays
    async with session_factory() as session:
        assert await number_of_chat(session, idle.chat_id) is None
        assert await number_of_chat(session, chat) is not None
        assert await session.scalar(select(SmsInbound)) is None


async def test_texts_wait_out_quiet_hours_telegram_messages_do_not(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from test_delivery import ScriptedSender, fast_worker, until

    from jobs.outbox import enqueue
    from knowledge.calendar import QuietHours
    from knowledge.models import Delivery, DeliveryStatus
    from knowledge.sms import texts_in_quiet_hours

    async with session_factory() as session, session.begin():
        texted = (await number_for_address(session, "+15551230001")).chat_id
        await enqueue(session, kind="broadcast", text="Hi", recipients=[42, texted])
    zone = ZoneInfo("America/Chicago")
    now = utcnow().astimezone(zone)
    around_now = QuietHours((now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time())
    night = texts_in_quiet_hours(around_now, zone)
    quiet = [True]
    sender = ScriptedSender()
    worker = fast_worker(session_factory, sender, held=lambda: night() if quiet[0] else None)
    await worker.start()
    try:
        await until(lambda: _sent_to(sender, 42))
        await asyncio.sleep(0.5)  # a few more rounds: the text still waits
        assert sender.delivered_to()[texted] == 0
        async with session_factory() as session:
            row = await session.scalar(select(Delivery).where(Delivery.chat_id == texted))
            assert row is not None and row.status == DeliveryStatus.PENDING
        quiet[0] = False  # morning
        worker.wake()
        await until(lambda: _sent_to(sender, texted))
    finally:
        await worker.stop()


async def _sent_to(sender: object, chat_id: int) -> bool:
    return bool(sender.delivered_to()[chat_id])  # type: ignore[attr-defined]


async def test_a_text_whose_answer_was_lost_is_not_sent_twice(
    session_factory: async_sessionmaker[AsyncSession], twilio: FakeTwilio, channel: SmsChannel
) -> None:
    from knowledge.sms import start_send, text_digest

    address = "+15551230001"
    async with session_factory() as session, session.begin():
        chat = (await number_for_address(session, address)).chat_id
        # A process died after Twilio took "Hello", before it recorded the answer.
        await start_send(session, chat, text_digest("Hello"))
        # Another died before "Bye" reached Twilio at all.
        await start_send(session, chat, text_digest("Bye"))
    await channel.client.send(address, "Hello")
    await channel.send_text(chat, "Hello")  # asks Twilio first: it went
    await channel.send_text(chat, "Bye")  # asks Twilio first: it did not
    assert [m.body for m in twilio.sent_to(address)] == ["Hello", "Bye"]
    assert twilio.list_requests == 2
    await channel.send_text(chat, "Hello")  # settled: the same text again is a new text
    assert [m.body for m in twilio.sent_to(address)] == ["Hello", "Bye", "Hello"]
    assert twilio.list_requests == 2


async def test_a_reply_is_retried_through_server_errors_and_never_sent_twice(
    session_factory: async_sessionmaker[AsyncSession], twilio: FakeTwilio, channel: SmsChannel
) -> None:
    from jobs.sender import OUTBOX, send_priority

    address = "+15551230001"
    async with session_factory() as session, session.begin():
        chat = (await number_for_address(session, address)).chat_id
    twilio.answer_503(times=2)
    await channel.send_text(chat, "Hello")  # a family's answer: late, not lost
    twilio.answer_503(after_taking=True)
    await channel.send_text(chat, "Bye")  # Twilio took it: asked, not sent again
    assert [m.body for m in twilio.sent_to(address)] == ["Hello", "Bye"]
    assert twilio.list_requests == 3  # every retry asked Twilio first

    async def from_the_outbox() -> None:
        send_priority.set(OUTBOX)  # the outbox reschedules its rows itself
        await channel.send_text(chat, "News")

    twilio.answer_503()
    with pytest.raises(TemporaryFailure):
        await asyncio.create_task(from_the_outbox())


async def test_twilios_429_is_waited_out_and_a_refused_number_is_opted_out(
    session_factory: async_sessionmaker[AsyncSession], twilio: FakeTwilio, channel: SmsChannel
) -> None:
    async with session_factory() as session, session.begin():
        chat = (await number_for_address(session, "+15551230001")).chat_id
        invalid = (await number_for_address(session, "+15551230009")).chat_id
    twilio.answer_429(times=2, retry_after=0.2)
    await channel.send_text(chat, "Hello")  # late, not lost
    assert twilio.count_429 == 2 and [m.body for m in twilio.sent_to("+15551230001")] == ["Hello"]
    twilio.invalidate("+15551230009")
    with pytest.raises(ChatUnreachable):
        await channel.send_text(invalid, "Hello")
    with pytest.raises(ChatUnreachable):  # not tried again: it is opted out now
        await channel.send_text(invalid, "Hello again")
    assert [code for _, code in twilio.refused] == [20429, 20429, 21211]
