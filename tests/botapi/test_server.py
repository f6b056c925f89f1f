"""The fake Bot API, exercised through a real python-telegram-bot ``Bot``."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)

from .html import parse_html, utf16_len
from .server import FakeBotApi

CHAT = 4242

# PTB 22 warns that RetryAfter.retry_after will become a timedelta; not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(api.token, base_url=api.base_url) as client:
        yield client


def stored(api: FakeBotApi, chat_id: int, message_id: int | None) -> dict[str, Any]:
    """The fake's current copy of a message, which must exist."""
    assert message_id is not None
    message = api.message(chat_id, message_id)
    assert message is not None
    return message


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in buttons]
    )


async def test_get_me(api: FakeBotApi, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "resource_finder_test_bot"
    assert me.id == int(api.token.split(":")[0])
    assert api.calls[0].method == "getMe"


async def test_wrong_token_is_unauthorized(api: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with telegram.Bot("1:wrong", base_url=api.base_url):
            pass


async def test_send_message_returns_a_parsed_message(api: FakeBotApi, bot: telegram.Bot) -> None:
    first = await bot.send_message(CHAT, "<b>Food</b> pantry &amp; more", parse_mode="HTML")
    second = await bot.send_message(CHAT, "again", reply_markup=keyboard(("Next", "page:2")))
    assert first.text == "Food pantry & more"
    assert first.entities[0].type == "bold" and first.entities[0].length == 4
    assert first.chat.id == CHAT and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.is_bot
    assert second.message_id == first.message_id + 1
    assert second.reply_markup is not None
    assert second.reply_markup.inline_keyboard[0][0].callback_data == "page:2"
    sent = api.sent_to(CHAT)
    assert [c.text for c in sent] == ["<b>Food</b> pantry &amp; more", "again"]
    assert sent[1].button_labels == ["Next"]


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("Tom & Jerry", 'Character "&" at byte offset 4'),
        ("<br/>", 'Unsupported start tag "br/"'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_html_that_telegram_rejects(bot: telegram.Bot, text: str, description: str) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities") as caught:
        await bot.send_message(CHAT, text, parse_mode="HTML")
    # python-telegram-bot drops "Bad Request: " and capitalize()s the rest.
    assert description.lower() in caught.value.message.lower()


def test_html_subset_that_telegram_accepts() -> None:
    text, entities = parse_html(
        "<b>1</b><strong>2</strong><i>3</i><em>4</em><u>5</u><ins>6</ins><s>7</s><strike>8</strike>"
        '<del>9</del><span class="tg-spoiler">a</span><tg-spoiler>b</tg-spoiler>'
        '<a href="https://example.org/?a=1&amp;b=2">c</a><code>d</code>'
        '<pre><code class="language-python">e</code></pre><blockquote>f</blockquote>'
        '<blockquote expandable>g</blockquote><tg-emoji emoji-id="5368324170671202286">h</tg-emoji>'
        "&lt;&gt;&quot;&#65;&#x42;"
    )
    assert text == '123456789abcdefgh<>"AB'
    types = [e["type"] for e in entities]
    assert types.count("bold") == 2 and types.count("strikethrough") == 3
    assert {"spoiler", "text_link", "code", "pre", "blockquote", "expandable_blockquote"} <= set(
        types
    )
    pre = next(e for e in entities if e["type"] == "pre")
    assert pre["language"] == "python"
    link = next(e for e in entities if e["type"] == "text_link")
    assert link["url"] == "https://example.org/?a=1&b=2"


def test_html_offsets_count_utf16_and_bytes() -> None:
    text, entities = parse_html("🏟 <b>x</b>")
    assert entities == [{"type": "bold", "offset": 3, "length": 1}]
    with pytest.raises(ValueError, match="(?i)byte offset 5"):
        parse_html("🏟 <abc>")


async def test_text_limit_is_4096_utf16_units_after_parsing(bot: telegram.Bot) -> None:
    await bot.send_message(CHAT, "x" * 4096)
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # tags don't count
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    assert utf16_len("😀" * 2049) == 4098
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(CHAT, "😀" * 2049)  # 2049 characters, 4098 UTF-16 units
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(CHAT, "  \n ")


async def test_callback_data_over_64_bytes(api: FakeBotApi, bot: telegram.Bot) -> None:
    await bot.send_message(CHAT, "ok", reply_markup=keyboard(("a", "x" * 64)))
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "too long", reply_markup=keyboard(("a", "x" * 65)))
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "utf-8", reply_markup=keyboard(("a", "é" * 33)))  # 66 bytes
    no_action = InlineKeyboardMarkup([[InlineKeyboardButton("bare")]])
    with pytest.raises(BadRequest, match="(?i)Text buttons are unallowed"):
        await bot.send_message(CHAT, "no action", reply_markup=no_action)
    assert len(api.sent_to(CHAT)) == 1


async def test_blocked_chat_is_forbidden(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.block_chat(CHAT)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(CHAT, "hello")
    await bot.send_message(CHAT + 1, "others still work")
    assert api.sent_to(CHAT) == []


async def test_rate_limit_raises_retry_after(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.rate_limit(per_second_overall=3)
    for n in range(3):
        await bot.send_message(CHAT + n, "burst")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "one too many")
    retry_after = caught.value.retry_after  # int, or timedelta with PTB_TIMEDELTA set
    assert (retry_after if isinstance(retry_after, int) else retry_after.total_seconds()) >= 1
    assert api.count_429 == 1
    assert api.max_sends_per_second == 3


async def test_per_chat_rate_limit_and_fail_next(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.rate_limit(per_second_overall=None, per_chat_per_second=1)
    await bot.send_message(CHAT, "first")
    await bot.send_message(CHAT + 1, "another chat is fine")
    with pytest.raises(RetryAfter):
        await bot.send_message(CHAT, "second in the same second")
    api.clear_rate_limit()
    api.fail_next("sendMessage", 400, "Bad Request: chat not found")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(CHAT, "x")
    await bot.send_message(CHAT, "recovered")


async def test_long_polling_delivers_messages_and_callbacks(
    api: FakeBotApi, bot: telegram.Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await api.await_polling()
    update_id = api.push_message(CHAT, "/start hello", first_name="Maria", language_code="es")
    updates = await asyncio.wait_for(poll, 3)  # returns as soon as the update is queued
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert isinstance(updates[0], Update) and message is not None
    assert message.text == "/start hello"
    assert message.entities[0].type == "bot_command" and message.entities[0].offset == 0
    assert message.entities[0].length == len("/start")
    assert message.from_user is not None and message.from_user.language_code == "es"

    # Without an offset the update is redelivered; the offset confirms it.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update_id]
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()

    sent = await bot.send_message(CHAT, "Pick one", reply_markup=keyboard(("Food", "cat:food")))
    callback_update = api.push_callback(CHAT, sent.message_id, "cat:food")
    (update,) = await bot.get_updates(offset=update_id + 1, timeout=5)
    query = update.callback_query
    assert update.update_id == callback_update and query is not None
    assert query.data == "cat:food"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await query.answer("Thanks")
    assert api.wait_for_callback_answer(callback_update).ok
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await query.answer()  # a second answer is refused, like Telegram


async def test_second_poller_terminates_the_first(api: FakeBotApi, bot: telegram.Bot) -> None:
    # A Bot has one connection for getUpdates, so the second instance needs its own Bot.
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await api.await_polling()
    async with telegram.Bot(api.token, base_url=api.base_url) as other:
        second = asyncio.create_task(other.get_updates(timeout=1))
        with pytest.raises(Conflict, match="(?i)terminated by other getUpdates request"):
            await first
        assert await second == ()


async def test_allowed_updates_and_drop_pending(api: FakeBotApi, bot: telegram.Bot) -> None:
    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    api.push_message(CHAT, "not wanted")
    assert api.pending_updates == [] and len(api.dropped_updates) == 1
    await bot.get_updates(timeout=0, allowed_updates=[])  # back to Telegram's defaults
    api.push_message(CHAT, "wanted")
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()


async def test_edit_message(api: FakeBotApi, bot: telegram.Bot) -> None:
    sent = await bot.send_message(CHAT, "Page 1", reply_markup=keyboard(("Next", "p:2")))
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text(
            "Page 1", CHAT, sent.message_id, reply_markup=keyboard(("Next", "p:2"))
        )
    edited = await bot.edit_message_text("Page 2", CHAT, sent.message_id)
    assert isinstance(edited, telegram.Message) and edited.text == "Page 2"
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)
    await bot.edit_message_reply_markup(
        CHAT, sent.message_id, reply_markup=keyboard(("Back", "p:1"))
    )
    assert (
        stored(api, CHAT, sent.message_id)["reply_markup"]["inline_keyboard"][0][0]["text"]
        == "Back"
    )
    assert await bot.delete_message(CHAT, sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)


async def test_document_upload_stores_bytes(api: FakeBotApi, bot: telegram.Bot) -> None:
    data = b"name,phone\nFood Bank,555-0100\n"
    message = await bot.send_document(
        CHAT,
        document=io.BytesIO(data),
        filename="resources.csv",
        caption="<i>Export</i>",
        parse_mode="HTML",
        reply_markup=keyboard(("Done", "done")),
    )
    assert message.document is not None and message.document.file_name == "resources.csv"
    assert message.caption == "Export" and message.caption_entities[0].type == "italic"
    call = api.sent_to(CHAT)[-1]
    assert call.document is not None
    assert call.document.data == data and call.document.file_name == "resources.csv"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "done"
    assert api.files[message.document.file_id].text.startswith("name,phone")

    again = await bot.send_document(CHAT + 1, document=message.document.file_id)
    assert again.document is not None and again.document.file_id == message.document.file_id
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.send_document(
            CHAT, document=io.BytesIO(b"x"), filename="a.txt", caption="c" * 1025
        )


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_photo_venue_location_and_chat_action(api: FakeBotApi, bot: telegram.Bot) -> None:
    photo = await bot.send_photo(CHAT, photo=io.BytesIO(b"\x89PNG fake"), caption="Map")
    assert photo.photo and api.sent_to(CHAT)[-1].photo is not None
    venue = await bot.send_venue(CHAT, 41.88, -87.63, "Food Bank", "1 Main St")
    assert venue.venue is not None and venue.venue.title == "Food Bank"
    location = await bot.send_location(CHAT, 41.88, -87.63)
    assert location.location is not None and location.location.longitude == -87.63
    with pytest.raises(BadRequest, match="(?i)address is empty"):
        await bot.do_api_request(
            "sendVenue", {"chat_id": CHAT, "latitude": 1, "longitude": 2, "title": "T"}
        )
    assert await bot.send_chat_action(CHAT, "typing")
    with pytest.raises(BadRequest, match="(?i)wrong parameter action"):
        await bot.do_api_request("sendChatAction", {"chat_id": CHAT, "action": "dancing"})


async def test_commands_webhook_menu_and_unknown_method(api: FakeBotApi, bot: telegram.Bot) -> None:
    assert await bot.set_my_commands([("start", "Start"), ("help", "Help")], language_code="es")
    assert [c.command for c in await bot.get_my_commands(language_code="es")] == ["start", "help"]
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "Capitalised commands are refused")])
    assert await bot.set_chat_menu_button(menu_button=telegram.MenuButtonCommands())
    assert await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    with pytest.raises(EndPointNotFound):  # PTB's reading of a 404 for do_api_request
        await bot.do_api_request("noSuchMethod")
    assert api.calls_to("noSuchMethod")[0].error_code == 404


async def test_press_by_label_and_wait_for_reply(api: FakeBotApi, bot: telegram.Bot) -> None:
    await bot.send_message(CHAT, "old menu", reply_markup=keyboard(("Food help", "old")))
    await bot.send_message(
        CHAT,
        "Categories",
        reply_markup=keyboard(("🍎 Food help", "cat:food"), ("Housing", "cat:home")),
    )
    update_id = api.press(CHAT, "Food")
    (update,) = await bot.get_updates(timeout=1)
    assert update.update_id == update_id
    assert update.callback_query is not None and update.callback_query.data == "cat:food"
    assert api.unanswered_callback_queries == [update.callback_query.id]

    reply = asyncio.create_task(api.await_reply(CHAT))
    await bot.send_message(CHAT, "Here are food resources")
    assert (await reply).text == "Here are food resources"
    with pytest.raises(TimeoutError, match="(?i)button containing 'Nope'"):
        api.press(CHAT, "Nope", timeout=0.1)


async def test_forward_copy_and_reply(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.push_message(CHAT, "hello")
    user_message_id = api.pending_updates[-1]["message"]["message_id"]
    reply = await bot.send_message(CHAT, "hi!", reply_to_message_id=user_message_id)
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "hello"
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(CHAT, "x", reply_to_message_id=999)
    forwarded = await bot.forward_message(-1001234, CHAT, user_message_id)
    assert forwarded.chat.type == "supergroup" and forwarded.text == "hello"
    copied = await bot.copy_message(CHAT + 1, CHAT, reply.message_id)
    assert stored(api, CHAT + 1, copied.message_id)["text"] == "hi!"
    with pytest.raises(BadRequest, match="(?i)message to copy not found"):
        await bot.copy_message(CHAT + 1, CHAT, 999)


async def test_application_polling_roundtrip(api: FakeBotApi) -> None:
    """A real Application (as the bot process runs it) polls, replies and handles a press."""
    from telegram.ext import AIORateLimiter, Application, CallbackQueryHandler, CommandHandler

    async def start(update: Update, context: object) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "<b>Welcome!</b>", parse_mode="HTML", reply_markup=keyboard(("Find food", "food"))
        )

    async def pressed(update: Update, context: object) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"You chose {query.data}")

    app = (
        Application.builder()
        .token(api.token)
        .base_url(api.base_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    api.fail_next("sendMessage", 429, retry_after=1)  # AIORateLimiter waits and retries
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1, drop_pending_updates=True)
        await api.await_polling()
        api.push_message(CHAT, "/start")
        welcome = await api.await_reply(CHAT)
        assert welcome.text == "<b>Welcome!</b>" and welcome.button_labels == ["Find food"]
        update_id = await api.apress(CHAT, "food")
        await asyncio.to_thread(api.wait_for_callback_answer, update_id)
        edit = await api.await_for(lambda c: c.method == "editMessageText" and c.ok)
        assert edit.text == "You chose food"
        await app.updater.stop()
        await app.stop()
    assert api.count_429 == 1
    # The poll abandoned at shutdown is recorded as client_gone, not as an error the bot saw.
    assert [c.error_code for c in api.errors] == [429]
    assert api.unanswered_callback_queries == []
    assert api.last_message(CHAT) == stored(api, CHAT, welcome.message_id)
    assert stored(api, CHAT, welcome.message_id)["text"] == "You chose food"


def test_raw_http_json_and_form_bodies(api: FakeBotApi) -> None:
    """Other clients send JSON; errors carry Telegram's exact envelope."""

    def post(method: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{api.base_url}{api.token}/{method}", body, {"Content-Type": content_type}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    body = json.dumps({"chat_id": str(CHAT), "text": "json", "reply_markup": markup}).encode()
    status, answer = post("sendMessage", body, "application/json")
    assert status == 200 and answer["result"]["reply_markup"] == markup
    form = f"chat_id={CHAT}&text=123&reply_markup={json.dumps(markup)}".encode()
    status, answer = post("SENDMESSAGE", form, "application/x-www-form-urlencoded")
    assert status == 200 and answer["result"]["text"] == "123"  # text stays a string
    assert [c.chat_id for c in api.sent_to(CHAT)] == [CHAT, CHAT]
    assert post("nope", b"{}", "application/json") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    api.fail_next("sendMessage", 429, retry_after=7)
    assert post("sendMessage", body, "application/json") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
