"""Long texts are cut and split on what Telegram shows, never inside `&amp;` or a tag."""

from __future__ import annotations

import html

from bot.local_chat import Call
from bot.render import fits, split_message, telegram_length, trim
from botapi import parse_html
from harness import COORDINATOR_ID, BotHarness

FAMILY = 7301


def shown(text: str) -> str:
    plain, _ = parse_html(text)  # raises where Telegram would answer 400
    return plain


def test_trim_never_cuts_inside_an_entity() -> None:
    line = html.escape("Tom & Jerry <3 " * 600, quote=False)  # one enormous line
    for limit in (4096, 4095, 4094, 100, 7):
        cut = trim(line, limit)
        assert len(shown(cut).encode("utf-16-le")) // 2 <= limit
        assert shown(cut).endswith("…")


def test_trim_of_a_card_keeps_whole_lines_and_closes_tags() -> None:
    card = "<b>" + "\n".join(f"line {n} &amp; more" for n in range(600)) + "</b>"
    cut = trim(card)
    assert telegram_length(cut) <= 4096
    assert shown(cut).split("\n")[-2].startswith("line ")  # the last kept line is whole
    assert cut.endswith("</b>\n…")


def test_split_message_keeps_every_character_and_every_part_parses() -> None:
    text = "<b>Answer</b>\n\n<i>" + html.escape("&" * 9000 + " ok", quote=False) + "</i>"
    parts = split_message(text)
    assert len(parts) == 3
    visible = [shown(part) for part in parts]
    assert all(len(v.encode("utf-16-le")) // 2 <= 4096 for v in visible)
    assert "".join(visible).replace("\n", "").replace(" ", "") == "Answer" + "&" * 9000 + "ok"
    assert parts[1].startswith("<i>") and parts[1].endswith("</i>")


def test_split_message_counts_what_telegram_counts() -> None:
    emoji = "🦷" * 3000  # 6000 UTF-16 units, though 3000 Python characters
    parts = split_message(emoji)
    assert len(parts) == 2
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert split_message("&amp;" * 4096) == ["&amp;" * 4096]  # 4096 shown: one message


def sent_to(calls: list[Call], chat_id: int) -> list[Call]:
    return [c for c in calls if c.method == "sendMessage" and c.params.get("chat_id") == chat_id]


async def test_a_long_answer_full_of_ampersands_reaches_the_family_whole(bot: BotHarness) -> None:
    await bot.send(FAMILY, "/ask")
    forwarded = sent_to(await bot.send(FAMILY, "Where is the pantry?"), COORDINATOR_ID)
    answer = "Food & clothes " * 233  # 3495 characters, each & five in HTML
    reply = await bot.send(COORDINATOR_ID, answer, reply_to_message=forwarded[0].result)
    parts = sent_to(reply, FAMILY)
    assert len(parts) == 1  # 3,495 characters shown: one message, though 4,427 in HTML
    visible = "".join(shown(str(part.params["text"])) for part in parts)
    assert visible.count("Food & clothes") == 233


def test_fits_says_what_telegram_length_says_with_markup_entities_and_emoji() -> None:
    texts = [
        "",
        "plain words",
        "<b>Food pantry</b> &amp; clothes",
        "&#128512;" * 10,  # 9 characters as written, 2 UTF-16 units shown
        "😀" * 10,  # 1 character as written, 2 UTF-16 units shown
        '<a href="https://example.org/a-long-address">map</a> &lt;here&gt;',
    ]
    for text in texts:
        shown = telegram_length(text)
        for limit in range(0, len(text.encode("utf-16-le")) // 2 + 2):
            assert fits(text, limit) == (shown <= limit), (text, limit)
