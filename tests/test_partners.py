"""Partners keep their listings current (issue 15 items 2-4): partner invitations, the
scheduler's "Is this still right?" (exactly once, database as the truth), confirmations and
changes recorded with who and when, the stale report, the asset map and the HSDS export."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from harness import COORDINATOR_ID, BotHarness, texts
from jobs.verification import LISTING_CHECK, queue_due_checks
from knowledge.assets import asset_map, assets_chart, assets_map_picture, build_asset_map
from knowledge.calendar import NO_QUIET_HOURS
from knowledge.chats import forget_chat
from knowledge.content import DEMO_DIRECTORY
from knowledge.directory import ServiceRecord, service_record
from knowledge.hsds import import_directory
from knowledge.hsds.export import export_directory
from knowledge.lexicon import default_lexicon
from knowledge.listing_changes import InvalidValue
from knowledge.models import (
    Chat,
    Delivery,
    ListingChange,
    ListingCheck,
    Message,
    PartnerLink,
    QueryLog,
    Role,
    Service,
    SurveyAnswer,
    SurveyResponse,
    SurveyRun,
)
from knowledge.partners import (
    ASKED,
    NotTheirListing,
    change_field,
    confirm,
    find_organizations,
    stale_listings,
    withdraw,
)
from knowledge.roles import create_invitation, redeem_invitation
from knowledge.search import SearchIndex, load_documents
from knowledge.surveys import NEEDS_SURVEY, available_surveys

ZONE = ZoneInfo("America/Chicago")
EVERY = timedelta(days=90)
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
COORDINATOR, PARTNER, OTHER_PARTNER, STRANGER = 7001, 7002, 7003, 7004
FOOD_BANK = "org-food-bank"


class Texts:
    def question(self, record: ServiceRecord, language: str) -> str:
        return f"[{language}] Is this still right? {record.name}"

    def question_markup(self, check_id: int, language: str) -> dict[str, Any]:
        return {"inline_keyboard": [[{"text": "ok", "callback_data": f"pv:{check_id}:ok"}]]}


async def _demo(session: AsyncSession) -> None:
    await import_directory(session, DEMO_DIRECTORY)
    await session.commit()


async def _partner(session: AsyncSession, chat_id: int, organization_id: str = FOOD_BANK) -> Role:
    invitation = await create_invitation(
        session, role=Role.PARTNER, created_by=COORDINATOR, organization_id=organization_id
    )
    role = await redeem_invitation(session, invitation.code, chat_id)
    assert role is not None
    await session.commit()
    return role


async def _food_bank_services(session: AsyncSession) -> set[str]:
    return set(
        await session.scalars(
            select(Service.id).where(
                Service.organization_id == FOOD_BANK, Service.status == "active"
            )
        )
    )


async def test_a_partner_code_links_the_chat_to_its_organization(session: AsyncSession) -> None:
    await _demo(session)
    assert await _partner(session, PARTNER) == Role.PARTNER
    links = list(await session.scalars(select(PartnerLink)))
    assert [(link.chat_id, link.organization_id) for link in links] == [(PARTNER, FOOD_BANK)]
    # A staff member redeeming a partner code stays staff, and is linked too.
    staff = await create_invitation(session, role=Role.STAFF, created_by=COORDINATOR)
    assert await redeem_invitation(session, staff.code, OTHER_PARTNER) == Role.STAFF
    assert await _partner(session, OTHER_PARTNER) == Role.STAFF
    # A partner invitation must name its organization, and only it may.
    with pytest.raises(ValueError):
        await create_invitation(session, role=Role.PARTNER, created_by=COORDINATOR)
    with pytest.raises(ValueError):
        await create_invitation(
            session, role=Role.STAFF, created_by=COORDINATOR, organization_id=FOOD_BANK
        )
    assert [o.id for o in await find_organizations(session, "food bank")] == [FOOD_BANK]
    assert [o.id for o in await find_organizations(session, FOOD_BANK)] == [FOOD_BANK]
    assert await find_organizations(session, "no such thing") == []
    # /forget removes the link (the role goes with the chat).
    await forget_chat(session, PARTNER)
    await session.commit()
    assert await session.get(PartnerLink, (PARTNER, FOOD_BANK)) is None


async def test_each_service_is_asked_once_to_its_partners(session: AsyncSession) -> None:
    await _demo(session)
    await _partner(session, PARTNER)
    await _partner(session, OTHER_PARTNER)
    (await session.get(Chat, OTHER_PARTNER)).language = "es"  # type: ignore[union-attr]
    services = await _food_bank_services(session)
    # One was confirmed last month: it is asked VERIFY_EVERY after that, not now.
    recent = "svc-weekday-food-pantry"
    (await session.get(Service, recent)).assured_date = date(2026, 11, 1)  # type: ignore[union-attr]
    await session.commit()

    run = await queue_due_checks(session, NOW, EVERY, ZONE, NO_QUIET_HOURS, Texts())
    await session.commit()
    assert run.scheduled == len(services)
    asked = set(
        await session.scalars(select(ListingCheck.service_id).where(ListingCheck.status == ASKED))
    )
    assert asked == services - {recent}
    later = await session.scalar(
        select(ListingCheck.due_at).where(ListingCheck.service_id == recent)
    )
    assert later == datetime(2026, 11, 1, tzinfo=UTC) + EVERY
    # One message per language, each to that language's partners.
    deliveries = (
        await session.execute(
            select(Delivery.chat_id, Message.text)
            .join(Message, Message.id == Delivery.message_id)
            .where(Message.kind == LISTING_CHECK)
        )
    ).all()
    assert len(deliveries) == 2 * len(asked)
    assert {chat for chat, text in deliveries if text.startswith("[es]")} == {OTHER_PARTNER}

    # Looking again (another process, a restart) asks nothing twice.
    again = await queue_due_checks(
        session, NOW + timedelta(minutes=1), EVERY, ZONE, NO_QUIET_HOURS, Texts()
    )
    await session.commit()
    assert again.asked == [] and again.scheduled == 0
    # The recent one falls due in its time.
    due = await queue_due_checks(
        session, later + timedelta(seconds=1), EVERY, ZONE, NO_QUIET_HOURS, Texts()
    )  # type: ignore[operator]
    assert len(due.asked) == 1
    await session.commit()
    # Questions nobody answered are asked again VERIFY_EVERY later, once.
    unanswered = await queue_due_checks(
        session, NOW + EVERY + timedelta(seconds=1), EVERY, ZONE, NO_QUIET_HOURS, Texts()
    )
    assert len(unanswered.asked) == len(asked)


async def test_answers_apply_at_once_with_who_and_when(session: AsyncSession) -> None:
    await _demo(session)
    await _partner(session, PARTNER)
    await queue_due_checks(session, NOW, EVERY, ZONE, NO_QUIET_HOURS, Texts())
    await session.commit()
    checks = {c.service_id: c.id for c in await session.scalars(select(ListingCheck))}
    pantry, supper = checks["svc-saturday-food-pantry"], checks["svc-community-supper"]

    # Someone who does not speak for the food bank cannot answer.
    with pytest.raises(NotTheirListing):
        await confirm(session, pantry, STRANGER, today=date(2026, 12, 2), every=EVERY, now=NOW)

    await confirm(session, pantry, PARTNER, today=date(2026, 12, 2), every=EVERY, now=NOW)
    with pytest.raises(InvalidValue):
        await change_field(session, supper, PARTNER, "phone", "call us", every=EVERY, now=NOW)
    change = await change_field(
        session, supper, PARTNER, "phone", "515 555 0177", every=EVERY, now=NOW
    )
    await session.commit()
    assert change.new == "(515) 555-0177"
    service = await session.get(Service, "svc-saturday-food-pantry")
    assert service is not None and service.assured_date == date(2026, 12, 2)
    record = await service_record(session, "svc-community-supper")
    assert record is not None and record.phones[0].number == "(515) 555-0177"
    logged = {
        (c.service_id, c.field, c.source, c.changed_by)
        for c in await session.scalars(select(ListingChange))
    }
    assert logged == {
        ("svc-saturday-food-pantry", "assured_date", "partner", PARTNER),
        ("svc-community-supper", "phone", "partner", PARTNER),
    }
    # Both are asked again VERIFY_EVERY later.
    for check_id in (pantry, supper):
        check = await session.get(ListingCheck, check_id)
        assert check is not None and check.status == "pending" and check.due_at == NOW + EVERY

    # The stale report: never confirmed listings, with how many partners could be asked.
    stale = {s.service_id: s for s in await stale_listings(session, date(2026, 12, 2))}
    assert "svc-saturday-food-pantry" not in stale
    assert stale["svc-community-supper"].partners == 1
    assert stale["svc-community-supper"].last_changed is not None
    assert stale["svc-smiles-dental"].partners == 0

    # No longer offered: out of search and of the stale report; its history stays.
    await withdraw(session, checks["svc-weekend-backpack-meals"], PARTNER, every=EVERY, now=NOW)
    await session.commit()
    assert "svc-weekend-backpack-meals" not in {
        s.service_id for s in await stale_listings(session, date(2026, 12, 2))
    }


async def test_the_export_carries_assured_dates_and_partner_changes(
    session: AsyncSession, tmp_path: Path
) -> None:
    await _demo(session)
    await _partner(session, PARTNER)
    await queue_due_checks(session, NOW, EVERY, ZONE, NO_QUIET_HOURS, Texts())
    check = await session.scalar(
        select(ListingCheck.id).where(ListingCheck.service_id == "svc-community-supper")
    )
    assert check is not None
    await confirm(session, check, PARTNER, today=date(2026, 12, 2), every=EVERY, now=NOW)
    await change_field(session, check, PARTNER, "phone", "515 555 0177", every=EVERY, now=NOW)
    await session.commit()
    written = await export_directory(session, tmp_path)
    assert written["metadata.csv"] == 2
    with (tmp_path / "services.csv").open(encoding="utf-8") as handle:
        services = {row["id"]: row for row in csv.DictReader(handle)}
    assert services["svc-community-supper"]["assured_date"] == "2026-12-02"
    with (tmp_path / "metadata.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    phone = next(r for r in rows if r["field_name"] == "phone")
    assert phone["resource_id"] == "svc-community-supper"
    assert phone["resource_type"] == "service"
    assert phone["replacement_value"] == "(515) 555-0177"
    assert phone["updated_by"] == "partner"  # who in kind, never a chat id
    assert str(PARTNER) not in json.dumps(rows)


async def test_the_asset_map_ranks_needs_where_demand_outruns_supply(
    session: AsyncSession,
) -> None:
    await _demo(session)
    lexicon = default_lexicon()
    for _ in range(6):
        session.add(QueryLog(text="dentist", matched=True, concept="dental", created_at=NOW))
    for _ in range(2):
        session.add(QueryLog(text="food", matched=True, concept="food-pantry", created_at=NOW))
    session.add(QueryLog(text="old", matched=True, concept="dental", created_at=NOW - EVERY))
    await session.commit()
    # Three families finished the needs survey: two chose rent help (one of them twice over).
    survey = available_surveys()[NEEDS_SURVEY]
    run = SurveyRun(
        survey_id=survey.id,
        title=survey.titled("en"),
        definition=survey.to_json(),
        status="sent",
    )
    session.add(run)
    await session.flush()
    for chosen in (
        [("housing", "rent-bills"), ("most-help", "housing")],
        [("housing", "losing-home")],
        [("learning", "tutoring")],
    ):
        response = SurveyResponse(run_id=run.id, finished_at=NOW)
        session.add(response)
        await session.flush()
        for question, option in chosen:
            session.add(
                SurveyAnswer(
                    response_id=response.id,
                    run_id=run.id,
                    survey_id=survey.id,
                    question_id=question,
                    option_id=option,
                )
            )
    await session.commit()
    since = NOW - timedelta(days=30)
    assets = await asset_map(session, lexicon, ZONE, since, NOW + timedelta(seconds=1))
    by_need = {n.need: n for n in assets.needs}
    dental, pantry = by_need["dental"], by_need["food-pantry"]
    assert (dental.searches, pantry.searches) == (6, 2)
    rent = by_need["rent-help"]
    assert (rent.searches, rent.survey_answers, rent.families_asked) == (0, 2, 2)
    assert by_need["tutoring"].survey_answers == 1
    assert dental.services >= 1 and pantry.services >= 2
    assert [n.need for n in assets.needs].index("dental") < [n.need for n in assets.needs].index(
        "food-pantry"
    )
    assert assets.needs[0].gap >= assets.needs[-1].gap
    # Distances from each placed school, and opening times.
    assert "Lincoln Elementary Community School" in dental.nearest_km
    assert all(km is not None and km < 50 for km in pantry.nearest_km.values())
    assert pantry.weekends  # the Saturday pantry
    # Survey answers come in through the seam and count as families who asked.
    documents = await load_documents(session, (c.id for c in lexicon.concepts))
    index = SearchIndex(documents, lexicon, ZONE)
    seamed = build_asset_map(
        lexicon, index, documents, assets.schools, {"dental": 6}, {"rent-help": 40}
    )
    assert seamed[0].need == "rent-help" and seamed[0].survey_answers == 40
    # Both pictures are PNGs.
    assert assets_chart(assets.needs, "t", "asked", "services").startswith(b"\x89PNG")
    picture = assets_map_picture(assets.needs, assets.documents, assets.schools, "t", "school")
    assert picture is not None and picture.startswith(b"\x89PNG")


async def test_partners_of_other_organizations_are_not_asked(session: AsyncSession) -> None:
    await _demo(session)
    await _partner(session, PARTNER)
    await session.execute(update(Service).values(status="inactive").where(Service.id == "svc-wic"))
    await session.commit()
    await queue_due_checks(session, NOW, EVERY, ZONE, NO_QUIET_HOURS, Texts())
    await session.commit()
    checked = set(await session.scalars(select(ListingCheck.service_id)))
    assert checked == await _food_bank_services(session)
    recipients = set(await session.scalars(select(Delivery.chat_id).distinct()))
    assert recipients == {PARTNER}
    assert await session.scalar(select(func.count()).select_from(ListingCheck)) == len(checked)


async def test_partners_answer_in_the_chat_and_nobody_else_can(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    invited = texts(await bot.send(COORDINATOR_ID, "/invite partner food bank"))
    code = re.search(r"/join ([A-Z0-9-]+)", invited)
    assert code is not None and "Riverbend Community Food Bank" in invited
    assert "Welcome" in texts(await bot.send(PARTNER, f"/join {code.group(1)}"))
    await bot.application.bot_data["verification"].check()
    async with session_factory() as session:
        checks = {c.service_id: c.id for c in await session.scalars(select(ListingCheck))}
    supper, backpack = checks["svc-community-supper"], checks["svc-weekend-backpack-meals"]

    # A family (or anyone) forging the button changes nothing; partners see no statistics.
    refused = await bot.press_data(STRANGER, f"pv:{supper}:ok")
    assert any("Only the organization's partners" in str(c.params) for c in refused)
    assert "only coordinators" in texts(await bot.send(PARTNER, "/stats")).lower()
    assert "only coordinators" in texts(await bot.send(PARTNER, "/review")).lower()

    # New hours, typed as people type them; /cancel in the middle changes nothing.
    assert "Type the right hours" in texts(await bot.press_data(PARTNER, f"pv:{supper}:hours"))
    assert "nothing changed" in texts(await bot.send(PARTNER, "/cancel"))
    await bot.press_data(PARTNER, f"pv:{supper}:hours")
    assert "I could not read those hours" in texts(await bot.send(PARTNER, "whenever"))
    fixed = texts(await bot.send(PARTNER, "Mon-Fri 5-7pm"))
    assert "Fixed" in fixed and "Families see it now" in fixed
    # Once the value is in, the partner's words are searches again.
    assert "Fixed" not in texts(await bot.send(PARTNER, "food pantry"))

    # No longer offered: asked once more, then out of the directory.
    assert "Remove" in texts(await bot.press_data(PARTNER, f"pv:{backpack}:no"))
    await bot.press_data(PARTNER, f"pv:{backpack}:gone")
    async with session_factory() as session:
        gone = await session.get(Service, "svc-weekend-backpack-meals")
        assert gone is not None and gone.status == "inactive"
        changes = list(await session.scalars(select(ListingChange.field)))
    assert sorted(changes) == ["hours", "status"]

    # A coordinator may speak for a partner organization too, and stays a coordinator.
    invited = texts(await bot.send(COORDINATOR_ID, "/invite partner org-library"))
    code = re.search(r"/join ([A-Z0-9-]+)", invited)
    assert code is not None
    joined = texts(await bot.send(COORDINATOR_ID, f"/join {code.group(1)}"))
    assert "You keep the listings of Riverbend Public Library current" in joined
    assert "Only coordinators" not in texts(await bot.send(COORDINATOR_ID, "/stats"))


def test_verify_every_reads_durations_like_every_other_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.config import SettingsError, load_settings

    monkeypatch.delenv("VERIFY_EVERY", raising=False)
    assert load_settings().verify_every == timedelta(days=90)
    monkeypatch.setenv("VERIFY_EVERY", "20s")
    assert load_settings().verify_every == timedelta(seconds=20)
    monkeypatch.setenv("VERIFY_EVERY", "soon")
    with pytest.raises(SettingsError, match="^VERIFY_EVERY: "):
        load_settings()
