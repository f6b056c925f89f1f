"""Inline mode (`@bot dentist` in any chat) and the `/start svc-…` deep link its cards carry."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update

from bot.local_chat import BOT_USER, Call
from botapi import parse_html
from harness import BotHarness, buttons, texts
from knowledge.content import bump_content_version
from knowledge.events import create_event
from knowledge.models import Organization, Service, utcnow
from knowledge.text import short_hash

USER = 801
_ids = itertools.count(1)


async def inline_query(
    bot: BotHarness, query: str, offset: str = "", language: str = "en"
) -> dict[str, Any]:
    """Feed an inline query; return the answerInlineQuery parameters (results decoded)."""
    update = {
        "update_id": next(_ids) + 500_000,
        "inline_query": {
            "id": f"inline-{next(_ids)}",
            "from": {"id": USER, "is_bot": False, "first_name": "Sam", "language_code": language},
            "query": query,
            "offset": offset,
            "chat_type": "sender",
        },
    }
    start = len(bot.api.calls)
    await bot.application.process_update(Update.de_json(update, bot.application.bot))
    [answer] = [c for c in bot.api.calls[start:] if c.method == "answerInlineQuery"]
    params = dict(answer.params)
    for key in ("results", "button"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def assert_valid_results(results: list[dict[str, Any]]) -> None:
    assert len(results) <= 50
    ids = [r["id"] for r in results]
    assert len(set(ids)) == len(ids)
    for result in results:
        assert result["type"] == "article"
        assert 1 <= len(result["id"].encode()) <= 64
        assert result["title"] and "\n" not in result.get("description", "")
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML"
        visible, _ = parse_html(content["message_text"])
        assert 0 < len(visible) <= 4096
        for row in result.get("reply_markup", {}).get("inline_keyboard", []):
            for button in row:
                assert button["url"].startswith(f"https://t.me/{BOT_USER['username']}?start=svc-")
                payload = button["url"].split("?start=", 1)[1]
                assert len(payload) <= 64


async def test_inline_query_offers_service_cards(bot: BotHarness) -> None:
    answer = await inline_query(bot, "dentist")
    results = answer["results"]
    assert_valid_results(results)
    assert results and "Dental" in results[0]["title"]
    card = results[0]["input_message_content"]["message_text"]
    assert "<b>" in card and "☎ +1 515-" in card and "📍" in card
    assert answer["is_personal"] is False and 0 < answer["cache_time"] <= 300
    link = results[0]["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert link.endswith(f"start=svc-{results[0]['id']}")


async def test_inline_query_with_a_typo_still_finds_it(bot: BotHarness) -> None:
    results = (await inline_query(bot, "dentst for my kid"))["results"]
    assert results and any("Dental" in r["title"] for r in results)


async def test_inline_results_page_and_never_pass_fifty(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        session.add(Organization(id="org-zumba", name="Riverbend Zumba League"))
        for number in range(70):
            session.add(
                Service(
                    id=f"svc-zumba-{number}",
                    organization_id="org-zumba",
                    name=f"Zumba & <dance> class {number}",
                    description="Free zumba for families.",
                )
            )
        await bump_content_version(session)
    await bot.application.bot_data["services"].finder.refresh(force=True)
    seen: list[str] = []
    offset = ""
    for _ in range(10):
        answer = await inline_query(bot, "zumba", offset)
        assert_valid_results(answer["results"])
        assert len(answer["results"]) <= 10
        seen += [r["id"] for r in answer["results"]]
        offset = answer.get("next_offset") or ""
        if not offset:
            break
    assert len(seen) == len(set(seen)) == 50
    beyond = await inline_query(bot, "zumba", "50")
    assert beyond["results"] == []


async def test_empty_inline_query_offers_the_bot(bot: BotHarness) -> None:
    answer = await inline_query(bot, "")
    assert answer["results"] == []
    assert answer["button"]["start_parameter"]


async def test_inline_query_with_markup_characters_is_escaped(bot: BotHarness) -> None:
    answer = await inline_query(bot, "<b>food</b> & pantry")
    assert_valid_results(answer["results"])


async def test_no_match_offers_the_bot(bot: BotHarness) -> None:
    answer = await inline_query(bot, "qwxzyv")
    assert answer["results"] == [] and answer["button"]["start_parameter"]


async def test_deep_link_opens_the_service(bot: BotHarness) -> None:
    calls = await bot.send(USER, "/start svc-svc-smiles-dental")
    said = texts(calls)
    assert "Smiles Dental Clinic" in said and "☎ " in said
    assert "I help families" not in said


async def test_deep_link_by_hash_opens_the_service(bot: BotHarness) -> None:
    calls = await bot.send(USER, f"/start svc-{short_hash('svc-smiles-dental')}")
    assert "Smiles Dental Clinic" in texts(calls)


async def test_bad_deep_links_fall_back_to_the_greeting(bot: BotHarness) -> None:
    for payload in ("svc-nope", "svc-", "ev-999999", "ev-abc", "zzz"):
        calls: list[Call] = await bot.send(USER, f"/start {payload}")
        assert "I help families" in texts(calls), payload


async def test_deep_link_opens_an_event(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        event = await create_event(
            session, title="Family <Math> Night", starts_at=utcnow() + timedelta(days=3)
        )
        cancelled = await create_event(
            session, title="Old fair", starts_at=utcnow() + timedelta(days=4)
        )
        cancelled.cancelled_at = utcnow()
    calls = await bot.send(USER, f"/start ev-{event.id}")
    said = texts(calls)
    assert "Family &lt;Math&gt; Night" in said and "I help families" not in said
    assert any(data.startswith("rsvp:") for call in calls for _, data in buttons(call))
    calls = await bot.send(USER, f"/start ev-{cancelled.id}")
    assert "I help families" in texts(calls)
