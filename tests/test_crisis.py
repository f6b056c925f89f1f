"""Danger first: what must fire the crisis reply, what must not, and what the reply says.

Both ways, in English and Spanish: a crisis reply missed is a family in danger answered with a
search; a crisis reply on "kill the lice" teaches families to scroll past it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import SettingsError, load_settings
from bot.local_chat import Call
from botapi import parse_html
from harness import COORDINATOR_ID, BotHarness, bot_with_settings, buttons, texts
from knowledge.crisis import default_crisis_signals, load_crisis_signals
from knowledge.models import CrisisSignal, QueryLog, Service

FAMILY = 7301

# (message, the kind it must show)
DANGER = [
    # a medical emergency
    ("my child is not breathing", "emergency"),
    ("911", "emergency"),
    ("call 911!!!", "emergency"),
    ("my baby stopped breathing", "emergency"),
    ("my son is unconscious", "emergency"),
    ("my daughter wont wake up", "emergency"),
    ("I think my husband is having a heart attack", "emergency"),
    ("my kid swallowed pills", "emergency"),
    ("my toddler drank bleach", "emergency"),
    ("he overdosed", "emergency"),
    ("my son is having a seizure", "emergency"),
    ("I can't breathe", "emergency"),
    ("I cant breath", "emergency"),  # the common misspelling
    ("my kid is choking", "emergency"),
    ("need an ambulance", "emergency"),
    ("this is an emergency", "emergency"),
    ("my house is on fire", "emergency"),
    ("mi hijo no respira", "emergency"),
    ("mi bebé no respira", "emergency"),
    ("se desmayó y no despierta", "emergency"),
    ("mi esposo tiene un infarto", "emergency"),
    ("mi hija tomó cloro", "emergency"),
    ("mi hijo se tomó pastillas", "emergency"),
    ("necesito una ambulancia", "emergency"),
    ("es una emergencia", "emergency"),
    ("está convulsionando", "emergency"),
    ("sobredosis", "emergency"),
    # suicide and self-harm
    ("I want to kill myself", "suicide"),
    ("i want to kil myself", "suicide"),
    ("I want to kill myslef", "suicide"),
    ("i wanna die", "suicide"),
    ("I don't want to live anymore", "suicide"),
    ("I'm thinking about suicide", "suicide"),
    ("suicidal thoughts", "suicide"),
    ("my son wants to kill himself", "suicide"),
    ("my daughter is cutting herself", "suicide"),
    ("I keep hurting myself", "suicide"),
    ("I want to end my life", "suicide"),
    ("there is no reason to live", "suicide"),
    ("me quiero morir", "suicide"),
    ("Me quiero matar", "suicide"),
    ("quiero matarme", "suicide"),
    ("ya no quiero vivir", "suicide"),
    ("mi hijo se quiere suicidar", "suicide"),
    ("mi hija se quiere matar", "suicide"),
    ("pienso en el suisidio", "suicide"),  # typo
    ("quiero quitarme la vida", "suicide"),
    ("tengo ganas de morir", "suicide"),
    ("mi hijo se corta los brazos", "suicide"),
    # abuse, domestic violence
    ("I'm scared of my boyfriend", "abuse"),
    ("im scared of my boyfriend", "abuse"),
    ("I am afraid of my husband", "abuse"),
    ("my husband hits me", "abuse"),
    ("my husband always hits me", "abuse"),
    ("my boyfriend beat me up", "abuse"),
    ("he choked me last night", "abuse"),
    ("my ex threatened me", "abuse"),
    ("I'm not safe at home", "abuse"),
    ("my stepdad hits my son", "abuse"),
    ("someone touched my daughter", "abuse"),
    ("my child is being abused", "abuse"),
    ("domestic violence", "abuse"),
    ("I was raped", "abuse"),
    ("mi esposo me pega", "abuse"),
    ("Mi esposo me pega", "abuse"),
    ("me pega mi esposo", "abuse"),
    ("mi novio me golpeó", "abuse"),
    ("mi pareja me maltrata", "abuse"),
    ("tengo miedo de mi esposo", "abuse"),
    ("le tengo miedo a mi novio", "abuse"),
    ("le pega a mis hijos", "abuse"),
    ("abusaron de mi hija", "abuse"),
    ("violencia doméstica", "abuse"),
    ("no estoy segura en mi casa", "abuse"),
    ("mi esposo me quiere matar", "abuse"),
    # followed, threatened, a weapon, a missing child
    ("someone is following me", "threat"),
    ("a man is following me", "threat"),
    ("i think someone is folowing me", "threat"),
    ("a car followed me home", "threat"),
    ("someone is stalking me", "threat"),
    ("he threatened to kill me", "threat"),
    ("he said he is going to kill me", "threat"),
    ("my neighbor has a gun", "threat"),
    ("someone is breaking in", "threat"),
    ("I'm in danger", "threat"),
    ("my son is missing", "threat"),
    ("I can't find my daughter", "threat"),
    ("alguien me está siguiendo", "threat"),
    ("un hombre me sigue", "threat"),
    ("me están siguiendo", "threat"),
    ("me amenazó con matarme", "threat"),
    ("me va a matar", "threat"),
    ("tiene una pistola", "threat"),
    ("estoy en peligro", "threat"),
    ("mi hijo desapareció", "threat"),
    ("no encuentro a mi hija", "threat"),
]

# Ordinary questions that share words with danger: no crisis reply.
ORDINARY = [
    "kill the lice",
    "how to kill lice",
    "lice treatment that kills eggs",
    "emergency food",
    "emergency food pantry",
    "emergency rent assistance",
    "emergency shelter tonight",
    "dental emergency",
    "emergency dentist",
    "abuse of power",
    "substance abuse counseling",
    "drug abuse treatment",
    "elder abuse lawyer",
    "my son is missing school",
    "my daughter keeps missing class",
    "breathing treatment for asthma",
    "asthma inhaler",
    "I am following up on my application",
    "follow up appointment",
    "ambulance bill help",
    "fire safety class",
    "CPR class",
    "self defense class for teens",
    "restraining order",
    "child care",
    "my kid is sick",
    "my kid's teeth hurt",
    "help with my bills",
    "food stamps",
    "dentist",
    "hi",
    "thank you",
    "matar piojos",
    "comida de emergencia",
    "renta de emergencia",
    "me sigue doliendo la muela",
    "quiero cortarme el pelo",
    "no me paga la manutención",
    "mi ex no me paga",
    "me pagan muy poco",
    "no me pagan las horas extra",
    "se me pega el arroz",
    "necesito un abogado de divorcio",
    "mi hijo tiene tos",
    "mi hijo falta mucho a la escuela",
    "clases de defensa personal",
    "seguro de incendio",
    "quiero un doctor",
    "gracias",
]


@pytest.mark.parametrize(("message", "kind"), DANGER)
def test_danger_fires(message: str, kind: str) -> None:
    danger = default_crisis_signals().detect(message)
    assert danger is not None, message
    assert kind in danger.kinds, (message, danger)


@pytest.mark.parametrize("message", ORDINARY)
def test_ordinary_questions_do_not_fire(message: str) -> None:
    assert default_crisis_signals().detect(message) is None


def test_the_language_of_the_message_is_read_from_its_phrases() -> None:
    signals = default_crisis_signals()
    assert signals.detect("me quiero morir").language == "es"  # type: ignore[union-attr]
    assert signals.detect("I want to die").language == "en"  # type: ignore[union-attr]
    assert signals.detect("911").language is None  # type: ignore[union-attr]
    # A typo-free Spanish phrase outweighs an English one it is a typo of ("suicidal").
    assert signals.detect("mi hijo se quiere suicidar").language == "es"  # type: ignore[union-attr]


def test_several_kinds_are_kept_most_urgent_first() -> None:
    danger = default_crisis_signals().detect("he wants to kill me and I want to die")
    assert danger is not None and danger.kinds[0] == "suicide" and "threat" in danger.kinds
    danger = default_crisis_signals().detect("my husband hit me and my son is not breathing")
    assert danger is not None and danger.kinds[:2] == ("emergency", "abuse")


def test_a_community_adds_its_own_signals(tmp_path: Path) -> None:
    (tmp_path / "crisis-local.yaml").write_text(
        "groups:\n  partner: [baby mama]\n"
        "signals:\n"
        "  - kind: threat\n    en: [lockdown at school]\n    es: [balacera]\n"
        "  - kind: abuse\n    en: ['{partner} keeps hitting me']\n",
        encoding="utf-8",
    )
    signals = load_crisis_signals(tmp_path)
    assert signals.detect("there is a lockdown at school").kinds == ("threat",)  # type: ignore[union-attr]
    assert signals.detect("hubo una balacera").kinds == ("threat",)  # type: ignore[union-attr]
    assert signals.detect("my baby mama keeps hitting me").kinds == ("abuse",)  # type: ignore[union-attr]
    assert signals.detect("my husband keeps hitting me").kinds == ("abuse",)  # type: ignore[union-attr]
    assert signals.detect("kill the lice") is None
    assert default_crisis_signals().detect("there is a lockdown at school") is None


def test_an_unknown_group_or_kind_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "crisis-bad.yaml").write_text(
        "signals:\n  - kind: threat\n    en: ['{enemy} follows me']\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="unknown group"):
        load_crisis_signals(tmp_path)
    (tmp_path / "crisis-bad.yaml").write_text(
        "signals:\n  - kind: sadness\n    en: [sad]\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="unknown kind"):
        load_crisis_signals(tmp_path)


# --- the reply, through the real handlers ---------------------------------------------------


def sent(calls: list[Call]) -> list[str]:
    return [str(c.params["text"]) for c in calls if c.method == "sendMessage"]


def assert_valid_html(calls: list[Call]) -> None:
    for text in sent(calls):
        visible, _ = parse_html(text)
        assert len(visible) <= 4096


async def test_suicide_gets_911_988_and_the_crisis_line_before_any_result(
    bot: BotHarness,
) -> None:
    calls = await bot.send(FAMILY, "I want to kill myself")
    assert_valid_html(calls)
    first, *rest = sent(calls)
    assert first.index("911") < first.index("988")
    assert "call or text 988" in first
    assert "Riverbend 24/7 Crisis Line" in first and "+1 515-555-0149" in first
    assert "Domestic Violence" not in first  # a DV shelter open 24/7 is not a suicide line
    [results] = rest
    cards = results.split("\n\n")
    assert "1. Riverbend 24/7 Crisis Line" in cards[1]
    assert "Eviction" not in results  # shares the word "prevention", not a purpose
    assert "couldn't find" not in texts(calls)


async def test_the_dv_hotline_comes_before_court_advocacy(bot: BotHarness) -> None:
    calls = await bot.send(FAMILY, "I'm scared of my boyfriend")
    first, results = sent(calls)
    assert "911" in first and "+1 800-799-7233" in first  # the national DV hotline
    assert "Safe Harbor 24-Hour Domestic Violence Hotline" in first and "+1 515-555-0172" in first
    assert results.index("Hotline") < results.index("Court Advocacy")
    assert "1. Safe Harbor 24-Hour Domestic Violence Hotline" in results


async def test_spanish_danger_is_answered_in_spanish_from_an_english_phone(
    bot: BotHarness,
) -> None:
    calls = await bot.send(FAMILY, "mi esposo me pega", language="en")
    first, results = sent(calls)
    assert "llame al 911" in first and "violencia doméstica" in first
    assert "Esto es lo que encontré" in results
    calls = await bot.send(FAMILY + 1, "me quiero morir", language="en")
    first = sent(calls)[0]
    assert "911" in first and "988" in first and "suicidio" in first


@pytest.mark.parametrize("message", ["my child is not breathing", "911", "someone is following me"])
async def test_an_emergency_is_never_no_match(bot: BotHarness, message: str) -> None:
    calls = await bot.send(FAMILY, message)
    said = texts(calls)
    assert "911" in said
    assert "couldn't find" not in said and "Try other words" not in said
    assert sent(calls)[0].count("911") == 1


async def test_danger_is_counted_never_logged_and_coordinators_see_the_count(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    for message in ("I want to kill myself", "mi esposo me pega", "911", "dentist"):
        await bot.send(FAMILY, message)
    await bot.flush_query_log()
    async with session_factory() as session:
        logged = list(await session.scalars(select(QueryLog.text)))
        counted = sorted(await session.scalars(select(CrisisSignal.kinds)))
    assert logged == ["dentist"]  # danger never reaches the gap report
    assert counted == ["abuse", "emergency", "suicide"]
    stats = texts(await bot.send(COORDINATOR_ID, "/stats"))
    assert "Crisis replies: 3" in stats
    assert "suicide or self-harm 1" in stats and "abuse or violence 1" in stats
    assert "kill myself" not in stats and "me pega" not in stats


async def test_ordinary_questions_are_searched_as_before(bot: BotHarness) -> None:
    for message in ("emergency food", "kill the lice", "abuse of power"):
        said = texts(await bot.send(FAMILY, message))
        assert "911" not in said and "988" not in said, message


async def test_numbers_are_the_communitys_own(database_url: str) -> None:
    async with bot_with_settings(
        database_url,
        emergency_number="112",
        crisis_line="024",
        crisis_text_line="",
        dv_hotline="016",
        phone_region="ES",
    ) as bot:
        first = sent(await bot.send(FAMILY, "me quiero morir"))[0]
        assert "112" in first and "llame al 024" in first and "911" not in first
        assert "988" not in first and "mensaje de texto al 024" not in first
        first = sent(await bot.send(FAMILY, "mi esposo me pega"))[0]
        assert "016" in first and "800-799" not in first


async def test_without_lines_in_the_directory_the_reply_still_reads_well(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with bot_with_settings(database_url, dv_hotline="") as bot:
        async with session_factory() as session, session.begin():
            await session.execute(
                delete(Service).where(Service.id.in_(["svc-crisis-line", "svc-dv-hotline-shelter"]))
            )
        await bot.application.bot_data["services"].finder.refresh(force=True)
        calls = await bot.send(FAMILY, "I want to kill myself")
        first = sent(calls)[0]
        assert first.startswith("🚨 <b>If you or someone else is in danger right now, call 911.")
        assert "call or text 988" in first and "Crisis Line" not in first
        assert "\n\n\n" not in first and not first.endswith("\n")
        calls = await bot.send(FAMILY, "my husband hits me")
        first = sent(calls)[0]
        assert "911" in first and "hotline" not in first  # none configured, none found
        assert "couldn't find" not in texts(calls)


async def test_a_question_for_a_person_that_signals_danger_gets_the_crisis_reply_too(
    bot: BotHarness,
) -> None:
    await bot.send(FAMILY, "/ask")
    calls = await bot.send(FAMILY, "my husband hits me, what can I do?")
    said = sent(calls)
    assert "911" in said[0] and "Safe Harbor" in said[0]
    to_coordinator = [
        c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == COORDINATOR_ID
    ]
    assert to_coordinator and "my husband hits me" in to_coordinator[0].params["text"]
    assert "passed your question" in texts(calls)


async def test_crisis_results_have_no_more_button_and_stay_in_telegrams_limits(
    bot: BotHarness,
) -> None:
    calls = await bot.send(FAMILY, "my husband hits me and I want to die")
    for call in calls:
        for label, data in buttons(call):
            assert len(data.encode()) <= 64
            assert "More results" not in label
    assert_valid_html(calls)


@pytest.mark.parametrize(
    ("setting", "value", "variable"),
    [
        ("emergency_number", "", "EMERGENCY_NUMBER"),
        ("crisis_line", "call us", "CRISIS_LINE"),
        ("dv_hotline", "hotline", "DV_HOTLINE"),
        ("school_office_phone", "office", "SCHOOL_OFFICE_PHONE"),
        ("phone_region", "Spain", "PHONE_REGION"),
    ],
)
def test_a_wrong_number_stops_the_bot_with_one_line(
    setting: str, value: str, variable: str
) -> None:
    with pytest.raises(SettingsError, match=f"^{variable}: expected"):
        load_settings(**{setting: value})


def test_numbers_may_be_left_out_but_the_emergency_number() -> None:
    settings = load_settings(crisis_line="", crisis_text_line="", dv_hotline="")
    assert (settings.crisis_line, settings.dv_hotline, settings.emergency_number) == ("", "", "911")
    assert load_settings(school_office_phone="(515) 555-0100").school_office_phone
