"""Hostile and odd input gets a kind answer that Telegram would accept, never a crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.local_chat import Call, callback_update, message_update
from botapi import parse_html
from harness import BotHarness
from knowledge.search import SearchQuery

FAMILY = 7001
SENDS = {"sendMessage", "editMessageText", "sendDocument", "sendPhoto", "sendVenue"}


def assert_telegram_would_accept(calls: list[Call]) -> None:
    for call in calls:
        if call.method not in SENDS:
            continue
        text = call.params.get("text") or call.params.get("caption")
        if text is not None:
            plain, _ = parse_html(str(text))  # raises if Telegram could not parse it
            assert plain.strip(), "Telegram rejects empty text"
            limit = 4096 if "text" in call.params else 1024
            assert len(plain.encode("utf-16-le")) // 2 <= limit
        markup = call.params.get("reply_markup")
        markup = json.loads(markup) if isinstance(markup, str) else markup
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if "callback_data" in button:
                    assert 0 < len(button["callback_data"].encode()) <= 64


HOSTILE_TEXTS = [
    "x" * 4096,
    "dentist " * 512,
    "<script>alert(1)</script>",
    "<b>unclosed",
    "Tom & Jerry's <i>food</i> &amp; &lt;",
    "'; DROP TABLE service; --",
    "1 OR 1=1",
    "\u202eℹ️ dentist\u202c",  # right-to-left override
    "den\u200btist",  # zero-width space
    "مساعدة في الإيجار",  # Arabic
    "🦷🦷🦷 😭",
    "   \t  ",
    "\x00\x01",
    "/start " + "a" * 500,
    "/start <b>",
    "/definitelynotacommand",
    "/broadcast everyone come now",
    "/newevent",
    "/stats",
    "/invite coordinator",
    "*bold* _italic_ [link](http://x)",
]


async def test_hostile_texts_get_acceptable_answers(bot: BotHarness) -> None:
    for text in HOSTILE_TEXTS:
        calls = await bot.send(FAMILY, text)
        assert_telegram_would_accept(calls)
        if text.strip() and text.strip("\x00\x01"):
            assert any(c.method in SENDS for c in calls), f"no answer to {text[:40]!r}"


async def test_coordinator_commands_from_a_family_do_nothing_harmful(bot: BotHarness) -> None:
    for command in ("/broadcast hi", "/stats", "/invite staff", "/newevent"):
        calls = await bot.send(FAMILY, command)
        said = " ".join(str(c.params.get("text", "")) for c in calls)
        assert "Send" not in said or "coordinator" in said.lower()
        assert_telegram_would_accept(calls)


def non_text_update(kind: str) -> dict[str, Any]:
    update = message_update(FAMILY, "")
    del update["message"]["text"]
    content = {
        "photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}],
        "sticker": {
            "file_id": "s", "file_unique_id": "s", "width": 1, "height": 1,
            "is_animated": False, "is_video": False, "type": "regular",
        },
        "document": {"file_id": "d", "file_unique_id": "d", "file_name": "x.pdf"},
        "voice": {"file_id": "v", "file_unique_id": "v", "duration": 1},
    }[kind]  # fmt: skip
    update["message"][kind] = content
    return update


async def test_photos_stickers_documents_and_voice_are_answered_kindly(bot: BotHarness) -> None:
    for kind in ("photo", "sticker", "document", "voice"):
        calls = await bot._feed(non_text_update(kind))
        assert "I can only read text" in str(calls[-1].params.get("text"))


async def test_edited_messages_and_group_and_channel_updates_are_safe(bot: BotHarness) -> None:
    edited = message_update(FAMILY, "dentist")
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["edit_date"] = edited["edited_message"]["date"]
    assert_telegram_would_accept(await bot._feed(edited))

    group = message_update(-100123, "dentist")
    group["message"]["chat"] = {"id": -100123, "type": "group", "title": "PTA"}
    assert await bot._feed(group) == []  # the bot stays quiet in groups

    channel = {
        "update_id": 999001,
        "channel_post": {
            "message_id": 5, "date": 0, "text": "hello",
            "chat": {"id": -100999, "type": "channel", "title": "News"},
        },
    }  # fmt: skip
    assert await bot._feed(channel) == []


async def test_forged_and_stale_buttons_are_answered(bot: BotHarness) -> None:
    message = {"message_id": 1, "date": 0, "chat": {"id": FAMILY, "type": "private"}}
    for data in ("garbage", "d:#ffffffffffffffff", "fb:999999:1", "con:../../x", "more", "m:nope"):
        calls = await bot._feed(callback_update(FAMILY, message, data))
        assert any(c.method == "answerCallbackQuery" for c in calls), data
        assert_telegram_would_accept(calls)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.text(min_size=1, max_size=300))
async def test_any_unicode_gets_an_acceptable_answer(bot: BotHarness, text: str) -> None:
    assert_telegram_would_accept(await bot.send(FAMILY, text))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.text(max_size=500), language=st.sampled_from([None, "en", "es"]))
async def test_search_takes_any_unicode(bot: BotHarness, text: str, language: str | None) -> None:
    finder = bot.application.bot_data["services"].finder
    outcome = finder.search(SearchQuery(text=text, language=language, limit=5))
    assert len(outcome.hits) <= 5
    assert all(0.0 <= hit.score <= 1.0 for hit in outcome.hits)
