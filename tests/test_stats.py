"""/stats: the week's numbers from the query log, the gap report, and the chart."""

from __future__ import annotations

import io
from datetime import timedelta

from matplotlib import image as mpimage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from harness import COORDINATOR_ID, BotHarness, texts
from knowledge.models import Chat, QueryLog, Role, utcnow
from knowledge.stats import CommunityStats, community_stats, group_gaps, stats_chart

PNG = b"\x89PNG\r\n\x1a\n"


async def add_log(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = utcnow()
    rows = [
        # (text, matched, concept, helpful, age)
        ("food pantry", True, "food-pantry", True, 1),
        ("comida", True, "food-pantry", None, 2),
        ("free groceries", True, "food-pantry", True, 3),
        ("dentist", True, "dental", None, 1),
        ("dentist for my kid", True, "dental", False, 1),  # found something, not helpful
        ("dentist open sunday", False, None, None, 1),
        ("sunday dentist", False, None, None, 2),
        ("ballet lessons", False, None, None, 3),
        ("old question", False, None, None, 10),  # outside the week
    ]
    async with sessions() as session, session.begin():
        for text, matched, concept, helpful, age in rows:
            session.add(
                QueryLog(
                    text=text,
                    language="en",
                    matched=matched,
                    result_count=3 if matched else 0,
                    concept=concept,
                    helpful=helpful,
                    created_at=now - timedelta(days=age, minutes=5),
                )
            )
        for chat_id, subscribed, blocked in ((1, True, False), (2, True, True), (3, False, False)):
            session.add(Chat(id=chat_id, subscribed=subscribed, blocked=blocked, role=Role.FAMILY))


async def test_week_numbers_top_needs_and_grouped_gaps(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_log(session_factory)
    async with session_factory() as session:
        stats = await community_stats(session, utcnow(), stopwords=frozenset({"for", "my", "open"}))
    assert stats.subscribers == 1  # blocked and unsubscribed chats do not count
    assert stats.searches == 8 and stats.unanswered == 4
    assert (stats.helpful, stats.not_helpful) == (2, 1)
    assert stats.top_needs == [("food-pantry", 3), ("dental", 2)]
    gaps = {(gap.concept, gap.count): gap for gap in stats.gaps}
    assert set(gaps) == {(None, 2), ("dental", 1), (None, 1)}
    assert set(gaps[(None, 2)].wordings) == {"dentist open sunday", "sunday dentist"}
    assert stats.unmet_needs[0] == (gaps[(None, 2)].example, 2)


def test_gaps_group_by_need_then_by_similar_wording() -> None:
    gaps = group_gaps(
        [
            ("help with rent", None),
            ("rent help", None),
            ("Help with  rent", None),
            ("swimming", None),
            ("dentist sunday", "dental"),
            ("dentista domingo", "dental"),
        ]
    )
    assert [(g.example, g.count, g.concept) for g in gaps] == [
        ("help with rent", 3, None),
        ("dentist sunday", 2, "dental"),
        ("swimming", 1, None),
    ]


def test_chart_is_a_png_drawn_without_a_display() -> None:
    stats = CommunityStats(since=utcnow(), until=utcnow())
    stats.top_needs = [("food-pantry", 12), ("dental", 4)]
    stats.unmet_needs = [("dentist on sunday", 3)]
    labels = {"food-pantry": "Food pantry", "dental": "Dentist"}
    png = stats_chart(stats, lambda k: labels.get(k, k), "Top", "Unmet", "Nothing", "Searches")
    assert png.startswith(PNG) and len(png) > 5000
    image = mpimage.imread(io.BytesIO(png), format="png")
    assert image.shape[0] == 600 and image.shape[1] == 800
    empty = stats_chart(
        CommunityStats(since=utcnow(), until=utcnow()), str, "Top", "Unmet", "Nothing", "Searches"
    )
    assert empty.startswith(PNG)


async def test_stats_command_sends_numbers_and_a_chart_to_coordinators_only(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_log(session_factory)
    calls = await bot.send(COORDINATOR_ID, "/stats")
    said = texts(calls)
    assert "Subscribers: 1" in said and "Searches: 8 (4 found nothing good)" in said
    assert "Top needs" in said and "Food" in said
    assert "“dentist open sunday” ×2" in said or "“sunday dentist” ×2" in said
    assert "👍 2 helpful · 👎 1 not helpful" in said
    photo = next(c for c in calls if c.method == "sendPhoto")
    content = photo.params["photo"]["content"]
    assert bytes(content).startswith(PNG)
    calls = await bot.send(1, "/stats")
    assert "Only coordinators" in texts(calls)
    assert not any(c.method == "sendPhoto" for c in calls)
