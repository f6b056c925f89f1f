"""The search index on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
loaded with the built-in content: the Riverbend demo directory, the toolkit and the materials.

What is asserted is behaviour (what comes back, in which order); benchmarks/search_bench.py is
where speed is measured.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from relevance import evaluate, load_queries  # tests/relevance: the labelled queries
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from harness import add_service
from knowledge import finder as finder_module
from knowledge.content import bump_content_version
from knowledge.finder import ResourceFinder
from knowledge.lexicon import default_lexicon, load_lexicon
from knowledge.models import Organization, Service
from knowledge.search import (
    SearchIndex,
    SearchOutcome,
    SearchQuery,
    build_index,
    read_open_day,
    read_open_now,
)
from knowledge.search_documents import Document
from knowledge.setup import prepare_database
from knowledge.us_places import us_gazetteer

ZONE = ZoneInfo("America/Chicago")  # the bot's default TIMEZONE; Riverbend is in Iowa
PANTRIES = {"svc-weekday-food-pantry", "svc-saturday-food-pantry", "svc-school-mobile-pantry"}
DV_SERVICES = {"svc-dv-hotline-shelter", "svc-dv-court-advocacy"}


def service(doc_id: str, name: str, body: str = "", **where: Any) -> Document:
    """A service as the index reads it, for tests that build an index of their own."""
    return Document(id=doc_id, kind="service", title=name, name=name, tags="", body=body, **where)


def index_of(*documents: Document, places: bool = False) -> SearchIndex:
    """An index of these documents, with the US gazetteer if the test is about places."""
    return SearchIndex(list(documents), default_lexicon(), ZONE, us_gazetteer() if places else None)


GRACE_CHURCH = (41.592610, -93.624180)  # where the Saturday pantry is
FOOD_BANK = (41.618420, -93.592350)  # where the weekday pantry is


@pytest.fixture
async def index(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> SearchIndex:
    await prepare_database(database_url, session_factory)
    async with session_factory() as session:
        return await build_index(session, default_lexicon(), ZONE)


def search(
    index: SearchIndex, text: str = "", now: datetime | None = None, **options: object
) -> SearchOutcome:
    return index.search(SearchQuery(text=text, **options), now)  # type: ignore[arg-type]


def ids(
    index: SearchIndex, text: str = "", now: datetime | None = None, **options: object
) -> list[str]:
    return [hit.id for hit in search(index, text, now, **options).hits]


# --- matching ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("dentst", {"svc-smiles-dental", "svc-school-dental-van"}),
        ("tutering", {"svc-library-homework-help", "svc-lincoln-after-school"}),
        ("imigration", {"svc-immigration-legal-help"}),
        ("comda", PANTRIES),
        ("vacnas", {"svc-vaccine-clinic", "svc-lincoln-health-room"}),
        ("guardreía", {"svc-child-care-assistance", "svc-early-head-start"}),
    ],
)
async def test_typos_still_find_the_service(
    index: SearchIndex, typo: str, expected: set[str]
) -> None:
    found = ids(index, typo)
    assert found and found[0] in expected


async def test_accents_and_case_do_not_matter(index: SearchIndex) -> None:
    assert ids(index, "inglés") == ids(index, "ingles") == ids(index, "INGLES")
    assert ids(index, "inglés")[0] == "svc-esl-classes"
    assert ids(index, "guardería") == ids(index, "guarderia")
    assert ids(index, "pañales") == ids(index, "panales")
    assert ids(index, "pañales")[0] == "svc-free-diapers"


@pytest.mark.parametrize(
    ("text", "concept", "expected"),
    [
        ("food stamps", "snap", {"svc-snap-applications"}),
        ("EBT", "snap", {"svc-snap-applications"}),
        ("glasses", "vision", {"svc-eye-care"}),
        ("shots", "vaccines", {"svc-vaccine-clinic", "svc-lincoln-health-room"}),
        ("light bill", "utilities", {"svc-utility-help"}),
        ("my husband hits me", "domestic-violence", DV_SERVICES),
        ("guardería", "child-care", {"svc-child-care-assistance", "svc-early-head-start"}),
        ("lentes", "vision", {"svc-eye-care"}),
        ("renta", "rent-help", {"svc-rent-help", "svc-legal-aid-tenants-families"}),
    ],
)
async def test_everyday_words_map_to_concepts(
    index: SearchIndex, text: str, concept: str, expected: set[str]
) -> None:
    outcome = search(index, text)
    assert outcome.concepts[0] == concept
    assert outcome.hits[0].id in expected


async def test_filler_between_the_words_of_a_phrase_is_ignored(index: SearchIndex) -> None:
    # The lexicon says "leche para bebé" and "no tengo dónde dormir".
    assert search(index, "leche para el bebé").concepts == ["wic"]
    assert search(index, "no tenemos donde dormir").concepts == ["shelter"]
    assert search(index, "no puedo dormir").concepts == ["counseling"]
    # "después de la escuela" is after school; "de la" alone around "después" is not
    assert search(index, "programa despues de la escuela").concepts == ["after-school"]
    assert "after-school" not in search(index, "despues de la audiencia quiero apelar").concepts
    # "work" asks for a job only with its filler: "I need work", not "while I work"
    assert search(index, "i need work").concepts == ["jobs"]
    assert "jobs" not in search(index, "adult day care for my dad while I work").concepts
    assert search(index, "christmas presents for my kids").concepts == ["holiday-gifts"]
    assert search(index, "adult literacy classes").concepts == ["tutoring"]
    assert search(index, "someone to pray with, a pastor").concepts == ["spiritual-care"]
    assert search(index, "a mi hijo lo asaltaron").concepts == ["crime-victims"]
    # renting the house in foreclosure makes it a tenant's question too
    assert "eviction" in search(index, "la casa que rentamos esta en foreclosure").concepts
    assert search(index, "get my juvenile arrest cleared").concepts == ["expungement"]
    assert search(index, "family photographer for our christmas card").concepts == []
    # "music" is no musician's legal help (Snowball's Spanish stem for "músico")
    assert "arts-legal" not in search(index, "tutoring and music program").concepts
    # someone "in jail" may need a lawyer, or be a parent whose family needs help
    assert set(search(index, "my mom is in jail").concepts) >= {"incarceration"}


@pytest.mark.parametrize(
    ("word", "concept"),
    [
        ("cena", "meals"),
        ("cama", "furniture"),
        ("shots", "vaccines"),
        ("shoes", "clothing"),
        ("vista", "vision"),
        ("visa", "immigration-legal"),
        ("vita", "tax-preparation"),
        ("pebt", "snap"),
        ("debt", "financial-coaching"),
    ],
)
async def test_short_words_are_never_corrected_into_a_neighbour(
    index: SearchIndex, word: str, concept: str
) -> None:
    # These pairs are one or two edits apart (cena/cama, shots/shoes, vista/visa/vita, pebt/debt).
    assert search(index, word).concepts == [concept]


async def test_a_typo_goes_to_the_nearest_word(index: SearchIndex) -> None:
    assert search(index, "shoots for school").concepts == ["vaccines"]  # shots, not shoes
    assert index.read_word("shoots").text == "shots"
    assert index.read_word("nada").role == "stop"  # not "data": four letters are left alone
    # An everyday word is meant as written: never made into a word of the directory's names.
    assert index.read_word("stuff").text == "stuff" and index.read_word("stuff").role == "story"
    # ...nor, with a letter added, the need word it grows from: a residential programme is no
    # residency (a green card).
    assert "immigration-legal" not in search(index, "programa residencial para mi hijo").concepts


async def test_a_name_match_outranks_a_description_match(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await prepare_database(database_url, session_factory)
    async with session_factory() as session, session.begin():
        # The description match is inserted first, so order of insertion cannot explain it.
        await add_service(session, "svc-in-description", "Help Desk", "Marimba lessons.")
        await add_service(session, "svc-in-name", "Marimba Club", "Lessons for all ages.")
    async with session_factory() as session:
        index = await build_index(session, default_lexicon(), ZONE)
    hits = search(index, "marimba").hits
    assert [hit.id for hit in hits] == ["svc-in-name", "svc-in-description"]
    assert hits[0].score > hits[1].score
    assert all(0 < hit.score <= 1 for hit in hits)


async def test_a_service_named_by_its_organizations_abbreviation_is_read_by_its_full_name(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await prepare_database(database_url, session_factory, demo=False)
    async with session_factory() as session, session.begin():
        network = "The Illinois Armed Forces Legal Aid Network (IL-AFLAN) serves the state."
        name = "Illinois Armed Forces Legal Aid Network"
        session.add(Organization(id="org-aflan", name=name, description=network))
        session.add(Organization(id="org-other", name="Legal Aid of the County"))
        await session.flush()
        session.add(Service(id="svc-aflan", organization_id="org-aflan", name="IL-AFLAN"))
        session.add(Service(id="svc-other", organization_id="org-other", name="Walk-in clinic"))
    async with session_factory() as session:
        index = await build_index(session, default_lexicon(), ZONE)
    veterans = {index.ids[i] for i in index.concept_docs["veterans"].tolist()}
    assert veterans == {"svc-aflan"}  # tagged: "Armed Forces" names the need
    assert ids(index, "legal help for a military family")[0] == "svc-aflan"


async def test_a_service_without_hours_is_there_on_the_days_its_own_words_name(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await prepare_database(database_url, session_factory, demo=False)
    async with session_factory() as session, session.begin():
        saturday = "Emergency food. A hot breakfast for homeless people on Saturday mornings."
        await add_service(session, "svc-citadel", "Citadel hot meals", saturday)
        await add_service(session, "svc-kitchen", "Community kitchen hot meals", "For all.")
        await add_service(session, "svc-immigration", "Immigration legal services")
        immigration = await session.get(Service, "svc-immigration")
        assert immigration is not None
        immigration.application_process = (
            "Walk-in consultations are every Tuesday at 8am and Saturday at 8:45am."
        )
    async with session_factory() as session:
        index = await build_index(session, default_lexicon(), ZONE)
    monday = datetime(2026, 12, 7, 12, 0, tzinfo=ZONE)
    assert set(ids(index, "hot meals", monday)) == {"svc-citadel", "svc-kitchen"}
    assert ids(index, "hot meals", monday, open_day=5) == ["svc-citadel"]
    assert ids(index, "hot meals", monday, open_day=2) == []
    # ...or that how to apply names
    assert ids(index, "immigration lawyer", monday, open_day=5) == ["svc-immigration"]
    assert ids(index, "immigration lawyer", monday, open_day=4) == []


async def test_a_spanish_query_ranks_spanish_speaking_services_higher(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await prepare_database(database_url, session_factory)
    async with session_factory() as session, session.begin():
        await add_service(session, "svc-english-only", "Ocarina Classes", "Ocarina lessons.")
        await add_service(
            session, "svc-bilingual", "Ocarina Classes", "Ocarina lessons.", languages=("en", "es")
        )
    async with session_factory() as session:
        index = await build_index(session, default_lexicon(), ZONE)
    english = search(index, "ocarina", language="en").hits
    assert {hit.id for hit in english} == {"svc-english-only", "svc-bilingual"}
    assert english[0].score == english[1].score
    assert ids(index, "ocarina", language="es")[0] == "svc-bilingual"
    # The language can also come from the question: this one is Spanish.
    assert search(index, "ocarina para mi hijo").language == "es"
    assert ids(index, "ocarina para mi hijo")[0] == "svc-bilingual"
    # A question in Spanish is Spanish even from a chat set to English; not the other way round,
    # since Spanish speakers often name services in English ("food stamps").
    assert search(index, "ocarina para mi hijo", language="en").language == "es"
    assert ids(index, "ocarina para mi hijo", language="en")[0] == "svc-bilingual"
    assert search(index, "ocarina for my kid", language="es").language == "es"
    # In the demo town, only the weekday pantry has no Spanish speakers.
    assert ids(index, "despensa de comida", language="es")[0] != "svc-weekday-food-pantry"


# --- filters -----------------------------------------------------------------------------------


async def test_open_now_keeps_what_is_open_at_that_moment(index: SearchIndex) -> None:
    def open_pantries(now: datetime) -> set[str]:
        return set(ids(index, "food pantry", now, open_now=True, limit=20)) & PANTRIES

    assert set(ids(index, "food pantry", limit=20)) >= PANTRIES  # without the filter, all three
    assert open_pantries(datetime(2025, 3, 15, 10, 30, tzinfo=ZONE)) == {  # a Saturday
        "svc-saturday-food-pantry"
    }
    assert open_pantries(datetime(2025, 3, 17, 12, 0, tzinfo=ZONE)) == {  # a Monday
        "svc-weekday-food-pantry"
    }
    assert open_pantries(datetime(2025, 3, 20, 16, 0, tzinfo=ZONE)) == {  # a Thursday
        "svc-weekday-food-pantry",
        "svc-school-mobile-pantry",
    }
    # `now` may come in any time zone: 03:00 UTC on Sunday is Saturday night in Riverbend.
    assert open_pantries(datetime.fromisoformat("2025-03-16T03:00:00+00:00")) == set()
    # The 24-hour crisis line is open whenever anyone asks.
    sunday_3am = datetime(2025, 3, 16, 3, 0, tzinfo=ZONE)
    assert ids(index, "crisis line", sunday_3am, open_now=True)[0] == "svc-crisis-line"


async def test_near_a_point_puts_the_nearest_first_with_distances(index: SearchIndex) -> None:
    near_church = search(index, "food pantry", near=GRACE_CHURCH).hits
    assert near_church[0].id == "svc-saturday-food-pantry"
    assert near_church[0].distance_km is not None and near_church[0].distance_km < 0.1
    distances = [hit.distance_km for hit in near_church]
    assert all(d is not None for d in distances)
    assert distances == sorted(distances)  # type: ignore[type-var]
    assert ids(index, "food pantry", near=FOOD_BANK)[0] == "svc-weekday-food-pantry"
    # A shared location alone lists the services nearby, nearest first, services only.
    nearby = search(index, near=GRACE_CHURCH, limit=10).hits
    assert len(nearby) == 10
    assert all(hit.kind == "service" and hit.distance_km is not None for hit in nearby)
    assert [h.distance_km for h in nearby] == sorted(h.distance_km or 0 for h in nearby)


async def test_inactive_services_are_never_found(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await prepare_database(database_url, session_factory)
    async with session_factory() as session, session.begin():
        await add_service(session, "svc-closed", "Quokka Pantry", "Closed.", status="inactive")
        await add_service(session, "svc-open", "Quokka Kitchen", "Open every day.")
    async with session_factory() as session:
        index = await build_index(session, default_lexicon(), ZONE)
    assert ids(index, "quokka") == ["svc-open"]
    # The demo town's closed pantry is in the data, named and described, and still not found.
    assert "svc-old-mill-pantry" not in ids(index, "old mill food pantry", limit=50)


async def test_browsing_a_category_and_paging(index: SearchIndex) -> None:
    services = frozenset({"service"})
    first = search(index, concept="food-pantry", kinds=services, limit=3)
    assert {hit.id for hit in first.hits} == PANTRIES  # the services tagged with it come first
    pages = [
        search(index, concept="food-pantry", kinds=services, limit=2, offset=offset)
        for offset in (0, 2)
    ]
    assert pages[0].total == pages[1].total == first.total
    seen = [hit.id for page in pages for hit in page.hits]
    assert len(seen) == len(set(seen)) == min(4, first.total)  # pages don't overlap
    assert all(hit.kind == "service" for page in pages for hit in page.hits)


# --- honesty -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["asdf", "asdfghjkl", "lorem ipsum dolor sit amet", "qwerty uiop", "zxcvbnm", "xzqv blorp",
     "12345", "555 0199", "🙂🙂🙂", "????", "", "   "],
)  # fmt: skip
async def test_gibberish_gets_nothing(index: SearchIndex, text: str) -> None:
    outcome = search(index, text)
    assert outcome.hits == [] and outcome.total == 0 and not outcome.matched


@pytest.mark.parametrize(
    "text",
    ["i need help please", "hola, necesito ayuda por favor", "where can i get", "the of and"],
)
async def test_only_filler_gets_nothing(index: SearchIndex, text: str) -> None:
    assert search(index, text).hits == []


# --- refresh -----------------------------------------------------------------------------------


async def test_refresh_picks_up_new_data_when_the_content_version_moves(
    database_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(finder_module, "CHECK_INTERVAL_SECONDS", 0.0)  # check on every call
    await prepare_database(database_url, session_factory)
    finder = ResourceFinder(session_factory, default_lexicon(), ZONE)
    assert await finder.refresh()
    assert finder.search(SearchQuery(text="axolotl")).hits == []
    async with session_factory() as session, session.begin():
        await add_service(session, "svc-axolotl", "Axolotl Science Club", "Pond science.")
    assert not await finder.refresh()  # nothing said the content changed: same index
    async with session_factory() as session, session.begin():
        await bump_content_version(session)
    assert await finder.refresh()
    assert [hit.id for hit in finder.search(SearchQuery(text="axolotl")).hits] == ["svc-axolotl"]
    assert not await finder.refresh()


# --- the labelled relevance set ----------------------------------------------------------------


def test_the_relevance_set_is_big_and_covers_every_concept() -> None:
    queries = load_queries()
    assert len(queries) >= 120
    assert sum(1 for q in queries if not q.expect) >= 10  # must return nothing
    tagged: dict[str, set[str]] = {}
    for row in _demo_rows("attributes.csv"):
        tagged.setdefault(row["taxonomy_term_id"].removeprefix("rf-"), set()).add(row["link_id"])
    for concept in default_lexicon().concepts:
        # Needs the demo town has no services for (family law, foreclosure...) are measured on
        # the real directories instead (tests/test_relevance_real.py).
        services = tagged.get(concept.id)
        if services is None:
            continue
        asked = [q for q in queries if q.expect & services]
        assert any(q.lang == "es" for q in asked), f"no Spanish query for {concept.id}"
        assert any(q.lang != "es" for q in asked), f"no English query for {concept.id}"


async def test_relevance_set_top3_and_top1(index: SearchIndex) -> None:
    def run(text: str, language: str | None) -> list[str]:
        return ids(index, text, language=language)

    report = evaluate(run)
    detail = "\n".join([report.summary(), "misses:", *report.misses, "not first:", *report.weak])
    assert report.top3_rate >= 0.95, detail
    assert report.top1_rate >= 0.85, detail


def _demo_rows(name: str) -> list[dict[str, str]]:
    import csv

    from knowledge.content import DEMO_DIRECTORY

    with (DEMO_DIRECTORY / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_a_lexicon_dir_adds_the_words_a_community_uses(
    database_url: str, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """LEXICON_DIR: a coordinator's own concepts-*.yaml adds phrases to the built-in needs."""
    (tmp_path / "concepts-riverbend.yaml").write_text(
        "- id: food-pantry\n  en: [the cupboard]\n  es: [la alacena]\n", encoding="utf-8"
    )
    await prepare_database(database_url, session_factory)
    async with session_factory() as session:
        built_in = await build_index(session, load_lexicon(), ZONE)
        local = await build_index(session, load_lexicon(tmp_path), ZONE)
    assert "food-pantry" not in search(built_in, "the cupboard").concepts
    assert search(local, "the cupboard").concepts[:1] == ["food-pantry"]
    assert search(local, "la alacena").concepts[:1] == ["food-pantry"]
    assert ids(local, "the cupboard")[0] in ids(local, "food pantry")


async def test_open_on_a_day_keeps_what_opens_that_day(index: SearchIndex) -> None:
    monday = datetime(2025, 3, 17, 12, 0, tzinfo=ZONE)
    on_saturday = set(ids(index, "food pantry", monday, open_day=5, limit=20)) & PANTRIES
    assert on_saturday == {"svc-saturday-food-pantry"}
    # Today counts from now on: at 23:00 on a Saturday nothing of the kind opens again.
    saturday_night = datetime(2025, 3, 15, 23, 0, tzinfo=ZONE)
    assert not set(ids(index, "food pantry", saturday_night, open_day=5)) & PANTRIES


def test_a_day_is_read_from_the_question() -> None:
    assert read_open_day("legal clinic open on saturday in chicago") == (
        "legal clinic in chicago",
        5,
    )
    assert read_open_day("comida abierta el domingo") == ("comida", 6)
    assert read_open_day("food pantry") == ("food pantry", None)
    assert read_open_day("formularios legales en lake county, hoy domingo") == (
        "formularios legales en lake county",
        6,
    )
    hearing = "i have eviction court thursday morning"  # when the hearing is, not when to come
    assert read_open_day(hearing) == (hearing, None)
    for hearing in ("desalojo en bloomington, tengo corte el jueves", "my hearing is on monday"):
        assert read_open_day(hearing) == (hearing, None)
    assert read_open_day("court forms help on monday") == ("court forms help", 0)
    paid = "no tenemos comida y me pagan hasta el viernes"  # until then, not when to come
    assert read_open_day(paid) == (paid, None)
    # ...but without an appointment, the day is when to walk in
    assert read_open_day("consulta sin cita el sabado") == ("consulta sin cita", 5)
    # A request ending in "today" asks for today, given today; a story's "today" does not.
    assert read_open_day("senior lunch in Menlo Park today", 5) == ("senior lunch in menlo park", 5)
    assert read_open_day("comida caliente para mi abuela, hoy", 2) == (
        "comida caliente para mi abuela",
        2,
    )
    assert read_open_day("senior lunch today") == ("senior lunch today", None)
    for story in ("the foreclosure papers came today", "me desalojaron hoy"):
        assert read_open_day(story, 1) == (story, None)


async def test_a_place_narrows_to_what_is_there(index: SearchIndex) -> None:
    # Riverbend is a demo town in Iowa: a real town elsewhere has none of its dentists, and its
    # name is not a word to match ("Houston Street Clinic" would not make it a Houston clinic).
    assert ids(index, "dentist")
    assert ids(index, "dentist in houston") == []
    assert ids(index, "food bank 94103") == []
    place, rest = index.read_place(["legal", "aid", "in", "east", "st", "louis"])
    assert (
        place is not None
        and place.label == "East Saint Louis, IL"
        and rest == ["legal", "aid", "in"]
    )
    place, _ = index.read_place(["ayuda", "en", "el", "condado", "de", "lake"])
    assert place is not None and place.kind == "county" and place.county == "lake"
    assert index.read_place(["library", "books"])[0] is None  # Library, PA is not asked for
    # A town where the directory is beats a word that is a town elsewhere (Friendly, WV).
    place, _ = index.read_place(["gay", "friendly", "dentist", "des", "moines"])
    assert place is not None and place.label == "Des Moines, IA"
    # Elsewhere, a city, or a town the question points at; not any word that names a town.
    assert index.read_place(["hate", "slurs", "spray", "painted"])[0] is None
    place, _ = index.read_place(["food", "bank", "houston"])
    assert place is not None and place.label == "Houston, TX"
    # "En el campo" is in the fields, not El Campo, TX, nor Campo, CA.
    assert index.read_place(["trabajo", "en", "el", "campo", "y", "no", "me", "pagan"])[0] is None


async def test_a_state_programme_keeps_to_its_state(index: SearchIndex) -> None:
    # CalFresh and Medi-Cal are California's: Riverbend's (Iowa) SNAP and insurance offices
    # are not where a family asking for them is, whatever the words share.
    assert ids(index, "food stamps") and ids(index, "medicaid")
    assert ids(index, "calfresh") == []
    assert ids(index, "i need medi-cal for my kids") == []
    place, rest = index.read_place(["medi", "cal", "for", "my", "kids"])
    assert place is not None and place.kind == "state" and place.state == "CA"
    assert rest == ["medi", "cal", "for", "my", "kids"]  # the words still name the need


def test_open_now_is_read_from_the_question() -> None:
    assert read_open_now("food pantry open now") == ("food pantry", True)
    assert read_open_now("¿Hay una despensa abierta hoy?") == ("hay una despensa", True)
    assert read_open_now("clinic still open?") == ("clinic", True)
    assert read_open_now("farmacia que esté abierta") == ("farmacia", True)
    assert read_open_now("despensa abierta ahorita") == ("despensa", True)
    assert read_open_now("formularios de la corte, sigue abierto algo?") == (
        "formularios de la corte algo",
        True,
    )
    # a need followed by "ahorita" is needed now, wherever the sentence goes on
    assert read_open_now("necesito un lugar para mi papa ahorita, salgo tarde") == (
        "necesito un lugar para mi papa salgo tarde",
        True,
    )
    assert read_open_now("ayuda con deudas ahorita en persona") == ("ayuda con deudas", True)
    assert read_open_now("legal desk open this morning") == ("legal desk", True)
    assert read_open_now("Open Door Mission") == ("Open Door Mission", False)  # a name, not a time
    # a time word ending the request asks for what is open; inside the story it does not
    assert read_open_now("child support help in Chicago right now") == (
        "child support help in chicago",
        True,
    )
    assert read_open_now("help applying for SNAP today?") == ("help applying for snap", True)
    assert read_open_now("estampillas hoy mismo, sin cita") == ("estampillas sin cita", True)
    assert read_open_now("hay abogado en la corte ahora?") == ("hay abogado en la corte", True)
    assert read_open_now("DV help at the courthouse, can i go in now") == (
        "dv help at the courthouse can i go in",
        True,
    )
    assert read_open_now("lawyer referral, need to talk to someone now") == (
        "lawyer referral need to talk to someone",
        True,
    )
    assert read_open_now("he moved in with us now") == ("he moved in with us now", False)
    # ...right after going, anywhere, and at the end of a question the message goes on after
    assert read_open_now("quiero ir ahora al Daley Center") == ("quiero ir al daley center", True)
    assert read_open_now("puedo dejar a mi papa ahorita? entro a trabajar temprano") == (
        "puedo dejar a mi papa entro a trabajar temprano",
        True,
    )
    assert not read_open_now("is it free? i dont have money right now for a lawyer")[1]
    assert read_open_now("walk in today to get my record cleared") == (
        "walk in to get my record cleared",
        True,
    )
    assert read_open_now("can I call the hotline right now about my orders")[1]
    call = "i need to call my mom today about custody"  # a call to make, not a desk
    assert read_open_now(call) == (call, False)
    arrested = "my son got arrested at school today what do we do"
    assert read_open_now(arrested) == (arrested, False)
    assert read_open_now("we live with my sister now") == ("we live with my sister now", False)
    # ...as does a time to go, or one ending a request for a desk or help
    assert read_open_now("can i go to the help desk after lunch today for my granddaughter") == (
        "can i go to the help desk for my granddaughter",
        True,
    )
    assert read_open_now("puedo ir ahorita al juzgado?") == ("puedo ir al juzgado", True)
    assert read_open_now("court forms help this morning") == ("court forms help", True)
    ice = "ICE picked up my husband this morning"
    assert read_open_now(ice) == (ice, False)
    assert read_open_now("i need a place to sleep tonight")[1] is False


def test_services_are_tagged_with_what_their_own_words_name() -> None:
    """Imported directories carry no tags of ours: the index tags services from their words as
    a question's are read, leaving out county names and phrases that are only ways of asking."""
    documents = [
        service("tax", "Low Income Tax Clinic"),
        service("desk", "Eviction defense help desk"),
        service("cook", "Immigration help for Cook County residents"),
        service("firm", "Drinker Biddle legal clinic"),
    ]
    index = index_of(*documents)
    tags = {
        doc.id: {c for c, docs in index.concept_docs.items() if i in docs.tolist()}
        for i, doc in enumerate(documents)
    }
    assert "tax-help" in tags["tax"] and "primary-care" not in tags["tax"]  # not a doctor's
    # "eviction" asks for rent help too, but an eviction defence desk pays no rent.
    assert "eviction" in tags["desk"] and "rent-help" not in tags["desk"]
    assert "rent-help" in index.search(SearchQuery(text="eviction")).concepts
    assert "home-delivered-meals" not in tags["cook"] and "immigration-legal" in tags["cook"]
    assert "substance-use" not in tags["firm"]  # a law firm's name, not drinking


def test_who_a_service_is_for_is_not_what_it_does() -> None:
    index = index_of(
        service("seniors", "Senior center: sports, swimming and meals for older adults"),
        service("pool", "City pool swimming lessons"),
    )
    found = [hit.id for hit in index.search(SearchQuery(text="swimming lessons for kids")).hits]
    assert found == ["pool"]  # a question about a child: not a centre for older adults
    assert [h.id for h in index.search(SearchQuery(text="swimming for my 6 year old")).hits] == [
        "pool"
    ]
    assert [h.id for h in index.search(SearchQuery(text="swimming for seniors")).hits][0] == (
        "seniors"
    )
    # No hearing-aid service is listed: a centre for the grandpa's age group is no answer.
    assert index.search(SearchQuery(text="hearing aids for my grandpa")).hits == []
