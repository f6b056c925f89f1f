"""The search on small indexes shaped like real directories (issue 11): who a service is for
and where it is, organizations' shared places, the broad help a need is part of, buildings
named in a question and needs said only in a description. The labelled sets measure the same
on the real directories (tests/test_relevance_real.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from test_search import ZONE, ids, index_of, service

from knowledge.lexicon import default_lexicon
from knowledge.search import SearchQuery, words_of
from knowledge.search_documents import Document


def test_a_question_naming_nobody_gets_what_serves_everyone_first() -> None:
    index = index_of(
        service(
            "veterans",
            "Employment rights helpline for veterans",
            about="Employment rights helpline for veterans. Unpaid wages.",
        ),
        service(
            "workers",
            "Employment rights project",
            about="Employment rights project. Unpaid wages and overtime.",
        ),
    )

    def found(text: str) -> list[str]:
        return ids(index, text)

    assert found("my boss won't pay my wages") == ["workers", "veterans"]
    assert found("unpaid wages help for a veteran")[0] == "veterans"


def test_a_service_named_for_people_with_a_disability_answers_only_them() -> None:
    index = index_of(
        service("disability", "Employment rights helpline for people with disabilities"),
        service("civil", "Free legal services to people with civil rights problems"),
        service("farm", "Migrant legal assistance project"),
    )

    def found(text: str) -> list[str]:
        return ids(index, text)

    assert found("fired because of my disability")[0] == "disability"
    assert "disability" in found("fired after i had a seizure at work, i have epilepsy")
    # A wage claim is for neither the disability line nor the civil-rights office...
    assert found("my boss hasn't paid me for three weeks") == []
    assert found("el dueño del restaurante no me pago las horas extras") == []
    # ...and the farmworkers' project is for farmworkers.
    assert found("trabajo en el campo y el patron no me pago") == ["farm"]


def test_asked_to_walk_in_a_service_seen_only_by_phone_is_no_answer() -> None:
    from knowledge.search_documents import welcomes_walk_ins

    desk = service("desk", "Debt collection self-help desk", walk_in=True)
    line = service("line", "Debt collection hotline", walk_in=False)
    unsaid = service("unsaid", "Debt collection project")
    index = index_of(desk, line, unsaid)
    assert set(ids(index, "debt collection help")) == {"desk", "line", "unsaid"}
    assert set(ids(index, "walk-in help with a debt collection lawsuit")) == {"desk", "unsaid"}
    assert set(ids(index, "me demandaron por una deuda, ayuda sin cita")) == {"desk", "unsaid"}
    # ...and so is asking for help at the courthouse, being there; not a hearing there.
    assert set(ids(index, "debt collection lawsuit, hay abogado en la corte?")) == {
        "desk",
        "unsaid",
    }
    assert "line" in ids(index, "debt collection lawsuit, tengo cita en la corte")
    # As Illinois' directory writes it, run into the next sentence.
    assert welcomes_walk_ins("Walk-inWalk-ins accepted most Wednesdays; call ahead") is True
    assert welcomes_walk_ins("Telephone\n\nOnline through IllinoisLegalAid.org") is False
    assert welcomes_walk_ins("Call for appointment.") is False
    assert welcomes_walk_ins("TelephoneCall and leave a message.") is False
    assert welcomes_walk_ins(None) is None


def test_a_service_naming_no_place_is_where_its_phone_rings() -> None:
    """Uptown's "Social Security Benefits Legal Aid" has no address, only a 773 number: it
    answers in Chicago (after what is there), not in Peoria."""
    from knowledge.phones import where_they_ring

    # (toll-free: nowhere in particular)
    assert where_they_ring(["773-769-1411", "1-800-LAW-REP-4"]) == {"773-769-1411": "Chicago, IL"}
    documents = [
        service(
            "uptown",
            "Social Security Benefits Legal Aid",
            place_names=("Social Security Benefits Legal Aid",),
            rings_in=("Chicago, IL",),
        ),
        service("peoria", "Peoria Office - Legal help", addresses=(("Peoria", "IL", "61602"),)),
    ]
    index = index_of(*documents, places=True)
    assert ids(index, "ssi denied, chicago") == ["uptown"]
    assert "uptown" not in ids(index, "ssi denied, peoria")


def test_a_legal_desk_held_at_a_supper_is_no_meal() -> None:
    index = index_of(
        service(
            "desk",
            "Advice desk - Tuesday night supper",
            about="Advice desk - Tuesday night supper. Direct representation",
        ),
        service("kitchen", "Community soup kitchen", "Hot suppers every Tuesday"),
    )
    assert ids(index, "free supper tuesday night") == ["kitchen"]
    assert ids(index, "legal advice desk") == ["desk"]


def test_a_child_needing_speech_therapy_is_not_a_special_education_case() -> None:
    index = index_of(
        service(
            "helpline",
            "Special education helpline",
            about="Special education helpline. Direct representation",
        ),
        service("daycare", "Adult day services", "Occupational, physical and speech therapy"),
        service("daca", "Deferred action for childhood arrivals (DACA) legal services"),
    )
    assert ids(index, "speech therapy for my 3 year old who isn't talking yet") == []
    assert ids(index, "mi hijo de 4 años necesita terapia de lenguaje") == []
    assert ids(index, "la escuela no le da terapia de habla a mi hijo, tiene IEP") == ["helpline"]
    assert ids(index, "occupational therapy for grandpa after his stroke") == ["daycare"]


def test_the_line_for_unmarried_parents_is_no_answer_to_a_divorce() -> None:
    index = index_of(
        service("unmarried", "Family Law Advice Line for Unmarried Parents"),
        service("office", "Legal help with divorce and custody"),
    )
    assert ids(index, "necesito divorciarme y no tengo dinero") == ["office"]
    assert ids(index, "we never married and he wont let me see my son")[0] == "unmarried"


def test_where_nothing_meets_the_need_a_groups_service_is_no_answer_there_either() -> None:
    index = index_of(
        service(
            "seniors",
            "Peoria Office - Legal help for seniors",
            addresses=(("Peoria", "IL", "61602"),),
        ),
        service(
            "rides",
            "Rides to medical appointments",
            addresses=(("Redwood City", "CA", "94063"),),
        ),
        places=True,
    )
    assert ids(index, "ride to the doctor for my grandma")[0] == "rides"
    assert ids(index, "ride to the doctor for my grandma in peoria") == []
    # A legal need is another matter: legal help for seniors is legal help.
    assert ids(index, "my grandma needs a will, peoria") == ["seniors"]


def test_every_word_a_need_has_in_directories_counts_not_one_per_stem() -> None:
    corps = service(
        "corps",
        "Redwood City Corps",
        "Provides food, clothing, bus tokens and shelter",
        addresses=(("Redwood City", "CA", "94063"),),
    )
    index = index_of(corps, places=True)
    # "clothing" and "clothes" share a stem; a description saying either is about clothes,
    # which in the town asked about is an answer, in English or in Spanish.
    assert ids(index, "winter clothes for my kids, redwood city") == ["corps"]
    assert ids(index, "ropa para mis hijos, no tengo dinero, Redwood City") == ["corps"]


def test_a_project_for_appeals_answers_only_someone_appealing() -> None:
    index = index_of(
        service("appeal", "Plenary order of protection appeal project"),
        service("clinic", "Order of protection clinic"),
    )
    assert ids(index, "how do i get an order of protection") == ["clinic"]
    assert (
        ids(index, "judge denied my order of protection after the hearing, can i appeal")[0]
        == "appeal"
    )
    assert ids(index, "me negaron la orden de proteccion y quiero apelar")[0] == "appeal"


def test_an_office_named_for_its_place_does_what_its_organization_does() -> None:
    def office(doc_id: str, name: str, *locations: str) -> Document:
        return service(doc_id, name, organization_id="project", place_names=(name, *locations))

    locations = ("Peoria Friendship House", "Main Office", "Champaign Office")
    index = index_of(
        office("peoria", "Peoria Friendship House", *locations),
        office("general", "Free and low-cost immigration help", *locations),
        office("champaign", "Immigration help for the Champaign area", *locations),
        service("rent", "Rent help", place_names=("Rent help", "Peoria Friendship House")),
        places=True,
    )
    assert "peoria" in ids(index, "immigration help")
    assert "rent" not in ids(index, "immigration help")  # another organization's


def test_a_country_or_language_finds_its_communitys_own_clinic() -> None:
    index = index_of(
        service("general", "Legal aid clinic"),
        service("south-asian", "South Asian legal clinic"),
        service("polish", "Amicus Poloniae legal clinic"),
    )

    def first(text: str) -> str:
        return index.search(SearchQuery(text=text)).hits[0].id

    assert first("my sister from pakistan needs legal help in urdu") == "south-asian"
    assert first("abogado que hable polaco") == "polish"
    assert first("free legal clinic") == "general"


def test_a_service_for_another_need_is_no_answer_as_broad_help() -> None:
    def found(text: str, *names: str) -> list[str]:
        documents = [service(name, name) for name in names]
        index = index_of(*documents)
        return ids(index, text)

    immigration, general = "Legal help for immigration", "Legal aid office"
    # Legal help of another kind is no custody lawyer; general legal aid is.
    assert found("custody lawyer", immigration) == []
    assert found("custody lawyer", immigration, general) == [general]
    assert found("free lawyer", immigration, general) == [general, immigration]
    # ...unless it is for the group of people asking.
    lgbt = "Legal help for LGBT people living with HIV"
    assert lgbt in found("transgender and harassed at work", lgbt, "Workers rights center")


def test_social_security_goes_to_its_own_legal_aid_before_benefits_enrollment() -> None:
    aid, enrollment = "Social Security Benefits Legal Aid", "Public benefits enrollment project"
    index = index_of(service(enrollment, enrollment), service(aid, aid))

    def found(text: str) -> list[str]:
        return ids(index, text)

    assert found("my son's SSI got cut off") == [aid, enrollment]
    assert found("public benefits help")[0] == enrollment


def test_a_divorce_goes_to_a_divorce_desk_and_unmarried_parents_to_their_line() -> None:
    line, desk = "Family law advice line for unmarried parents", "Divorce help desk"
    index = index_of(service(line, line), service(desk, desk))

    def first(text: str) -> str:
        return index.search(SearchQuery(text=text)).hits[0].id

    assert first("divorcio") == desk
    assert first("we never married and he wants custody") == line


def test_whom_a_service_serves_outweighs_where_its_office_is() -> None:
    cass = "Free legal help for seniors in Cass County"
    documents = [
        service(
            "cass",
            cass,
            addresses=(("Springfield", "IL", "62701"),),  # its office, in Sangamon County
            areas=("Cass County, IL",),
            place_names=(cass, "Springfield office"),
        ),
        service(
            "office",
            "Springfield office - legal help for seniors",
            addresses=(("Springfield", "IL", "62701"),),
        ),
    ]
    index = index_of(*documents, places=True)

    def found(text: str) -> list[str]:
        return ids(index, text)

    assert found("legal help for seniors in sangamon county") == ["office"]
    assert found("legal help for seniors in cass county") == ["cass"]


def test_a_service_for_the_suburbs_is_no_answer_in_their_city() -> None:
    """ "Suburban Cook County" is Cook County but Chicago; so is an organization's "Suburban
    seniors" programme, placed by its offices; a Chicago office named for its neighbourhood
    ("North Lawndale") is not in the small town of Lawndale, Logan County."""
    offices = (("Chicago", "IL", "60602"), ("Skokie", "IL", "60077"))
    renters = "Helpline for renters in foreclosed properties in Suburban Cook County"
    documents = [
        service("renters", renters, place_names=(renters,)),
        service("homeowners", "Foreclosure help for homeowners", addresses=offices[:1]),
        service(
            "seniors",
            "Suburban seniors legal help",
            addresses=offices,
            place_names=("Suburban seniors legal help", "North Lawndale Legal Clinic"),
            inherited_places=True,
        ),
    ]
    index = index_of(*documents, places=True)

    def found(text: str) -> list[str]:
        return ids(index, text)

    assert found("foreclosure help chicago") == ["homeowners"]
    # (then the county's general legal help, as for any need with few answers at a place)
    assert set(found("foreclosure help evanston")[:2]) == {"renters", "homeowners"}
    assert found("legal help for seniors in chicago") == []
    assert found("legal help for seniors in skokie") == ["seniors"]
    assert found("legal help for seniors in lincoln illinois") == []


def test_a_childs_age_asks_for_the_child_not_the_grandparent_in_the_story() -> None:
    index = index_of(
        service("elders", "Counseling for seniors"), service("all", "Family counseling")
    )
    found = index.search(SearchQuery(text="my 11 year old is grieving his grandpa, counseling"))
    assert [h.id for h in found.hits] == ["all"]


def test_a_legal_need_with_no_desk_in_town_gets_the_towns_legal_aid() -> None:
    rockford = (("Rockford", "IL", "61101"),)
    documents = [
        service(
            "aid", "Rockford Office - Legal help for people with low income", addresses=rockford
        ),
        service("clinic", "Rockford free medical clinic", addresses=rockford),
        service("desk", "Eviction help desk", addresses=(("Chicago", "IL", "60602"),)),
    ]
    index = index_of(*documents, places=True)

    def found(text: str, **options: Any) -> list[str]:
        return ids(index, text, **options)

    assert found("eviction help rockford") == ["aid"]
    asked = index.search(SearchQuery(text="eviction help rockford"))
    assert asked.concepts == ["eviction"]  # logged as what was asked, not as legal aid
    assert found("eviction help chicago") == ["desk"]  # the need's own desk where there is one
    assert found("eviction help rockford", open_now=True) == []  # the desk is what is closed
    assert found("", concept="eviction", near=(42.27, -89.09)) == []  # a button promises it
    assert found("food pantry rockford") == []  # not a legal need
    assert found("order of protection rockford") == ["aid"]  # a survivor's is one


def test_who_does_a_thing_is_not_the_thing() -> None:
    """Snowball stems "employer" and "employment" alike; an employers' line is no job help."""
    index = index_of(
        service("employers", "Employer hotline"), service("jobs", "Employment program")
    )
    assert [h.id for h in index.search(SearchQuery(text="i need a job")).hits] == ["jobs"]


def test_a_nationwide_service_answers_any_us_place_after_what_is_there() -> None:
    documents = [
        service("online", "Free bankruptcy filing", areas=("United States",)),
        service("desk", "Bankruptcy help desk", addresses=(("Chicago", "IL", "60602"),)),
    ]
    index = index_of(*documents, places=True)

    def found(text: str) -> list[str]:
        return ids(index, text)

    assert found("bankruptcy help in chicago") == ["desk", "online"]
    assert found("free chapter 7 bankruptcy in redwood city") == ["online"]


def test_a_question_about_an_animal_is_not_answered_with_services_for_people() -> None:
    people = [service("shelter", "Family homeless shelter"), service("clinic", "Free clinic")]
    index = index_of(*people)
    assert index.search(SearchQuery(text="shelter for my cat, i am moving")).hits == []
    assert index.search(SearchQuery(text="vet for my sick dog")).hits == []
    assert [h.id for h in index.search(SearchQuery(text="family shelter")).hits] == ["shelter"]
    with_pets = index_of(*people, service("vet", "Low-cost veterinarian"))
    assert [h.id for h in with_pets.search(SearchQuery(text="vet for my sick dog")).hits] == ["vet"]


def test_a_need_finds_its_words_and_their_plurals_not_their_derivations() -> None:
    """Asked for rent money, a renters' legal line is no answer: a concept reaches untagged
    services through its words and their plurals ("deposits"), not through the stemmer's
    other words ("renters")."""
    index = index_of(
        service("line", "Free legal help for renters", "Advice about a lease."),
        service("corps", "Food, clothing, shelter, deposits", "From a neighbourhood corps."),
        *(service(f"other{i}", f"Reading club {i}", "Books.") for i in range(30)),
    )
    assert [h.id for h in index.search(SearchQuery(text="can't pay the rent")).hits] == ["corps"]


def test_a_town_with_nothing_of_it_gets_what_is_elsewhere_in_its_county_and_says_so() -> None:
    def shelter(doc_id: str, town: str, postal: str, point: tuple[float, float]) -> Document:
        return service(
            doc_id, f"Family shelter {doc_id}", addresses=((town, "CA", postal),), points=(point,)
        )

    documents = [  # Redwood City is in San Mateo County, like Daly City; Oakland is not
        shelter("redwood", "Redwood City", "94063", (37.4852, -122.2364)),
        shelter("daly", "Daly City", "94014", (37.6879, -122.4702)),
        shelter("oakland", "Oakland", "94612", (37.8044, -122.2712)),
    ]
    index = index_of(*documents, places=True)
    found = index.search(SearchQuery(text="shelter in daly city"))
    assert [h.id for h in found.hits][:1] == ["daly"] and not found.nearby
    assert "oakland" not in [h.id for h in found.hits]
    without = index_of(*documents[:1] + documents[2:], places=True)
    found = without.search(SearchQuery(text="shelter in daly city"))
    assert [h.id for h in found.hits] == ["redwood"] and found.nearby
    assert found.place == "Daly City, CA"
    distance = found.hits[0].distance_km  # from the town asked about, to judge the trip
    assert distance is not None and 20 < distance < 40


def test_open_now_keeps_to_the_town_asked_about_when_it_has_the_need() -> None:
    from knowledge.hours import OpenInterval

    mornings = tuple(OpenInterval(day, 9 * 60, 12 * 60) for day in range(5))
    afternoons = tuple(OpenInterval(day, 13 * 60, 16 * 60) for day in range(5))
    documents = [  # Skokie and Markham are both in Cook County
        service("skokie", "Eviction help desk", addresses=(("Skokie", "IL", "60077"),),
                hours=afternoons),
        service("markham", "Eviction help desk", addresses=(("Markham", "IL", "60428"),),
                hours=mornings),
    ]  # fmt: skip
    index = index_of(*documents, places=True)
    wednesday_10am = datetime(2026, 12, 16, 10, 0, tzinfo=ZONE)

    def found(text: str) -> list[str]:
        query = SearchQuery(text=text, open_now=True)
        return [hit.id for hit in index.search(query, wednesday_10am).hits]

    # Skokie's desk is closed: the family is told so, not sent to another courthouse...
    assert found("eviction help in skokie") == []
    # ...while a town with no desk of its own still gets what is open in its county.
    assert found("eviction help in evanston") == ["markham"]


def test_opening_hours_are_read_on_their_own_places_clock() -> None:
    """A California library open until 8 pm is open at 7:30 pm there, which is 9:30 pm in
    Chicago, the index's zone; a Chicago desk closing at 8 pm is not."""
    from knowledge.hours import OpenInterval

    evenings = tuple(OpenInterval(day, 10 * 60, 20 * 60) for day in range(5))
    index = index_of(
        service("redwood", "Public library", addresses=(("Redwood City", "CA", "94061"),),
                hours=evenings),
        service("chicago", "Public library", addresses=(("Chicago", "IL", "60614"),),
                hours=evenings),
        places=True,
    )  # fmt: skip
    monday_730pm_pacific = datetime(2026, 12, 7, 21, 30, tzinfo=ZONE)
    query = SearchQuery(text="public library", open_now=True)
    assert [hit.id for hit in index.search(query, monday_730pm_pacific).hits] == ["redwood"]


def test_a_lawyer_asked_for_is_a_service_that_does_legal_work() -> None:
    """The visitation centre's divorce need is a 211 keyword ("Divorce Counseling", under
    LEGAL AND CRIMINAL JUSTICE SERVICES); its own words say it supervises visits."""
    visits = service(
        "visits",
        "Family Visitation Center",
        "Provides supervised visitation services and a neutral site for parents to carry out "
        "supervised exchanges of children in a safe manner. Keywords: LEGAL AND CRIMINAL "
        "JUSTICE SERVICES, Divorce Counseling, Parental Visitation Monitoring.",
        about="Family Visitation Center LEGAL AND CRIMINAL JUSTICE SERVICES, Divorce Counseling",
    )
    clinic = service("clinic", "Divorce clinic", "Direct representation")
    index = index_of(visits, clinic)
    assert set(ids(index, "divorce help")) == {"visits", "clinic"}
    assert ids(index, "divorce lawyer") == ["clinic"]
    assert ids(index, "abogado para mi divorcio") == ["clinic"]
    # A power of attorney is a paper, not a lawyer asked for.
    from knowledge.search_words import asks_for_a_lawyer

    assert not asks_for_a_lawyer(words_of("power of attorney for my mom"))
    assert asks_for_a_lawyer(words_of("attorney for a power of attorney"))


def test_braces_are_an_orthodontists_not_any_dental_clinics() -> None:
    clinic = service("clinic", "Free medical and dental clinic", "Free dental exams, cleanings.")
    index = index_of(clinic)
    assert ids(index, "dentist for my kid") == ["clinic"]
    assert ids(index, "braces for my 14 year old") == []
    assert ids(index, "frenos para los dientes de mi hija") == []


def test_a_childs_counsellor_is_not_an_agency_counselling_among_other_needs() -> None:
    corps = service(
        "corps",
        "Salvation Army corps",
        "Provides food, clothing and shelter to families in crisis.",
        about="Food Pantries, Homeless Shelter, Rental Deposit Assistance, Utility Service "
        "Payment Assistance, Individual/Group Counseling",
    )
    visits = service(
        "visits",
        "Family Visitation Center",
        "Supervised visits; counseling for child abuse prevention and domestic violence.",
        about="Parental Visitation Monitoring, Divorce Counseling, Domestic Violence, Mediation",
    )
    index = index_of(corps, visits)
    assert set(ids(index, "counseling")) == {"corps", "visits"}  # an adult's question
    assert ids(index, "my 9 year old is grieving his grandpa, counselor?") == []
    # ...unless the question asks for another of their needs too
    assert ids(index, "counseling for my 7 year old who saw his dad hit me") == ["visits"]


def test_one_branch_of_a_programme_in_the_first_results() -> None:
    """A legal clinic's DV programme has a branch in Austin, Pilsen and downtown: a question
    from elsewhere in Chicago gets one of them, then the citywide DV projects."""
    chicago = (("Chicago", "IL", "60602"),)
    branches = [
        service(f"dv-{part}", f"Domestic violence program - {part.title()}",
                organization_id="clinic", addresses=chicago)
        for part in ("austin", "pilsen", "downtown")
    ]  # fmt: skip
    citywide = [
        service("dv-legal", "Domestic violence legal services", organization_id="a",
                addresses=chicago),
        service("protection", "Order of protection clinic for domestic violence",
                organization_id="b", addresses=chicago),
    ]  # fmt: skip
    index = index_of(*branches, *citywide, places=True)
    first = ids(index, "domestic violence order of protection, Edgewater, Chicago")[:3]
    assert len([i for i in first if i.startswith("dv-") and i != "dv-legal"]) == 1
    assert {"dv-legal", "protection"} <= set(first)
    # ...and the branch a question names comes first.
    assert ids(index, "domestic violence help in Pilsen, Chicago")[0] == "dv-pilsen"


def test_open_now_with_no_desk_for_the_need_gets_the_broad_help_that_is_open() -> None:
    from knowledge.hours import OpenInterval

    evenings = tuple(OpenInterval(day, 17 * 60, 20 * 60) for day in range(5))
    forms = service(
        "forms",
        "Free legal information and forms in Peoria County",
        about="Free legal information and forms. Legal aid. Self help",
        areas=("Peoria County, IL",),
        hours=evenings,
    )
    index = index_of(forms, places=True)
    tuesday_6pm = datetime(2026, 12, 8, 18, 0, tzinfo=ZONE)
    query = SearchQuery(text="eviction papers chillicothe il", open_now=True)
    # No eviction desk in Peoria County at all (not one that is closed): its self-help
    # centre, open now, is the answer, not "nothing is open"
    assert [hit.id for hit in index.search(query, tuesday_6pm).hits] == ["forms"]


def test_words_alone_need_two_of_them_in_a_match() -> None:
    """No need the lexicon knows in the question: one shared word out of three is a guess."""
    documents = [
        service("church", "Legal clinic at First Congregational Church"),
        *(service(f"o{i}", f"Choir {i}", "Singing.") for i in range(20)),
    ]
    index = index_of(*documents)
    assert index.search(SearchQuery(text="first time home buyer program")).hits == []
    found = index.search(SearchQuery(text="first congregational church sunday"))
    assert [h.id for h in found.hits] == ["church"]


def test_a_question_naming_a_need_is_answered_only_by_what_meets_one() -> None:
    """The rest of its words are the story: they rank, they do not answer on their own."""
    index = index_of(service("unit", "Client screening unit"), service("pantry", "Food pantry"))
    assert index.search(SearchQuery(text="cell phone screen repair")).hits == []
    assert [h.id for h in index.search(SearchQuery(text="screening for food")).hits] == ["pantry"]


def test_an_everyday_word_is_a_small_town_only_when_pointed_at() -> None:
    meals = service("meals", "Meals on wheels", addresses=(("Redwood City", "CA", "94063"),))
    index = index_of(meals, places=True)
    place, _ = index.read_place(words_of("comida caliente a domicilio para mi abuelo"))
    assert place is None  # hot food, not Caliente, CA
    place, _ = index.read_place(words_of("food bank in caliente"))
    assert place is not None and place.label == "Caliente, CA"
    place, _ = index.read_place(words_of("mi tia vive en caliente y necesita comida"))
    assert place is not None and place.label == "Caliente, CA"  # "vive en" points at it
    place, _ = index.read_place(words_of("meals redwood city"))  # where the directory is
    assert place is not None and place.label == "Redwood City, CA"
    place, _ = index.read_place(words_of("meals st charles illinois"))  # its state follows
    assert place is not None and place.label == "Saint Charles, IL"
    place, _ = index.read_place(words_of("comida a domicilio en mayo"))  # a month
    assert place is None
    # Spanish words too, where the directory has nothing in the town's county: the
    # grandchildren, not Los Nietos, CA
    place, _ = index.read_place(words_of("mi nuera no nos deja ver a los nietos"))
    assert place is None


def test_a_town_of_the_directorys_state_is_read_after_en_or_as_a_saints_name() -> None:
    desk = service("desk", "Legal help desk", addresses=(("Chicago", "IL", "60602"),))
    office = service("office", "Legal aid office", addresses=(("Peoria", "IL", "61602"),))
    clinic = service("clinic", "Free clinic", addresses=(("Redwood City", "CA", "94063"),))
    index = index_of(desk, office, clinic, places=True)

    def label(text: str) -> str | None:
        place, _ = index.read_place(words_of(text))
        return place.label if place is not None else None

    assert label("ciudadania para mi mama en urbana") == "Urbana, IL"
    assert label("legal help for seniors, st. charles") == "Saint Charles, IL"
    assert label("comida en casa") is None  # at home, not Casa, AR
    assert label("clinica legal en chino") is None  # in Chinese, not in Chino, CA
    assert label("inmigracion east chicago indiana") == "East Chicago, IN"  # its state says so
    # Both of the directory's states have a San Jose: the city, not the Illinois village.
    assert label("abogado de inmigracion en san jose") == "San Jose, CA"


def test_an_older_adults_age_asks_for_services_for_older_adults() -> None:
    index = index_of(service("seniors", "Legal help for seniors"), service("all", "Legal help"))

    def concepts(text: str) -> list[str]:
        return index.search(SearchQuery(text=text)).concepts

    assert "seniors" in concepts("im 72 and my son is cashing my checks, legal help")
    assert "seniors" in concepts("mi mamá de 70 años necesita ayuda legal")
    assert "seniors" not in concepts("im 16 and need legal help")
    assert "seniors" not in concepts("legal help, my rent is 800")
    found = index.search(SearchQuery(text="im 72 and need legal help")).hits
    assert [h.id for h in found][:1] == ["seniors"]


def test_only_needs_with_a_service_are_offered_for_browsing() -> None:
    dentist = service("dentist", "Family Dental Clinic")
    index = index_of(dentist)
    assert "dental" in index.offered_concepts()
    assert "bankruptcy" not in index.offered_concepts()
    browsing = default_lexicon().offering(index.offered_concepts())
    assert [c.id for c in browsing.concepts_in("health")] == ["dental"]
    assert browsing.category("food") is None  # no food service: no food button either


def test_a_spanish_word_typed_without_its_accents_is_still_a_word() -> None:
    from knowledge.search_words import is_common_word, is_everyday_word

    # Phones often drop accents, and the search folds them away: "senora" is "señora".
    assert is_common_word("senora") and is_common_word("informacion")
    assert is_everyday_word("dinero") and not is_common_word("xqzv")
    index = index_of(service("food", "Food pantry"))
    assert index.read_word("senora").role == "story"  # part of the story, not gibberish


def test_a_one_word_phrase_needs_more_of_its_filler_around_than_my() -> None:
    index = index_of(service("a", "Legal aid"))

    def concepts(text: str) -> list[str]:
        return list(index.find_concepts([index.read_word(w) for w in words_of(text)])[0])

    assert "child-welfare" in concepts("how do i get my kids back from dcfs")
    assert "child-welfare" not in concepts("landlord wont give back my security deposit")


def test_an_everyday_word_is_corrected_only_into_a_whole_need() -> None:
    index = index_of(service("greene", "Legal help in Greene County"))
    assert index.read_word("shoots").text == "shots"  # a need in one word: likely a typo
    assert index.read_word("greek").text == "greek"  # not "green", a piece of "green card"
    assert index.read_word("tenia").text == "tenia"  # "tenía", commoner than "tenis"
    assert index.read_word("spray").text == "spray"  # not "spay"
    assert index.read_word("black").text == "black"  # not the "back" of "get my kids back"


def test_a_word_of_one_language_is_no_form_of_a_lexicon_word_of_the_other() -> None:
    arrest = service("arrest", "Legal help for people under arrest")
    index = index_of(arrest)
    assert index.read_word("called").text != "calle"  # English, not Spanish "street"
    assert index.read_word("campo").text != "camp"  # Spanish "field", not a summer camp
    assert index.read_word("desalojaron").text.startswith("desaloj")  # its own language's


def test_an_office_in_the_town_comes_before_a_line_offered_at_all_its_organizations_towns() -> None:
    """A service naming no place of its own was linked at import to every place of its
    organization: a weaker claim on Kankakee than the organization's Kankakee office."""
    documents = [
        service("office", "Kankakee Office - Legal help", addresses=(("Kankakee", "IL", "60901"),)),
        service(
            "line",
            "Legal help line for parents",
            addresses=(("Kankakee", "IL", "60901"), ("Peoria", "IL", "61602")),
            inherited_places=True,
        ),
    ]
    index = index_of(*documents, places=True)
    found = index.search(SearchQuery(text="legal help for parents in kankakee")).hits
    assert [h.id for h in found] == ["office", "line"]


def test_meeting_more_of_the_needs_named_counts_against_a_closer_place() -> None:
    """A town's general self-help desk meets "legal help" only; the county's domestic abuse
    legal line meets both needs of the question, and comes first."""
    documents = [
        service("desk", "Legal self-help desk", addresses=(("Carbondale", "IL", "62901"),)),
        service("line", "Legal help for domestic abuse", areas=("Jackson County, IL",)),
    ]
    index = index_of(*documents, places=True)
    found = index.search(SearchQuery(text="domestic abuse legal help in carbondale")).hits
    assert [h.id for h in found] == ["line", "desk"]
    found = index.search(SearchQuery(text="legal help in carbondale")).hits
    assert [h.id for h in found] == ["desk", "line"]  # one need: the town's first


def test_a_service_for_part_of_a_state_answers_there_and_not_elsewhere_in_it() -> None:
    """ "Legal Help for Domestic Abuse in Southern Illinois" serves Carbondale, not
    Springfield; a question about the whole state still finds every part's line."""

    def line(doc_id: str, part: str) -> Document:
        name = f"Legal Help for Domestic Abuse in {part}"
        return service(doc_id, name, place_names=(name,))

    documents = [
        line("south", "Southern Illinois"),
        line("central", "Central Illinois"),
        line("southwest", "SW Illinois"),
        line("east", "Eastern Illinois"),
        line("wv", "West Virginia"),  # a state, not the west of Virginia
    ]
    index = index_of(*documents, places=True)

    def found(text: str) -> set[str]:
        return {hit.id for hit in index.search(SearchQuery(text=text)).hits}

    assert found("domestic violence lawyer in carbondale") == {"south"}
    # ...and the state's very tip, beyond most of its ZIP codes, is its south too
    assert found("domestic violence lawyer in metropolis illinois") == {"south"}
    assert found("domestic violence lawyer springfield illinois") == {"central"}
    assert found("domestic violence lawyer in belleville") == {"south", "southwest"}
    assert found("domestic violence lawyer in illinois") == {
        "south",
        "central",
        "southwest",
        "east",
    }
    assert found("domestic violence lawyer in champaign") == {"central", "east"}
    assert found("domestic violence lawyer in evanston") == set()  # north-east, not "eastern"
    assert found("domestic violence lawyer in west virginia") == {"wv"}


def test_a_region_named_without_its_state_is_the_directorys() -> None:
    """Land of Lincoln's "Legal Help for Seniors (Metro-East)" and "(East Central)": the
    Illinois side of St. Louis and the east of the middle band, in the directory's state."""

    def line(doc_id: str, name: str) -> Document:
        return service(doc_id, name, place_names=(name,))

    documents = [
        line("metro", "Legal Help for Seniors (Metro-East)"),
        line("middle", "Legal Help for Seniors (East Central)"),
        # (a directory of Illinois: its services' addresses say so)
        service("pantry", "Food pantry", addresses=(("Peoria", "IL", "61602"),)),
    ]
    index = index_of(*documents, places=True)

    def found(text: str) -> set[str]:
        return {hit.id for hit in index.search(SearchQuery(text=text)).hits}

    assert found("legal help for seniors in granite city") == {"metro"}  # Madison County
    assert found("senior legal aid east st louis") == {"metro"}  # St. Clair County
    assert found("legal help for seniors in champaign") == {"middle"}
    # Normal is as much the north as the middle: not "East Central"
    assert found("legal help for seniors in normal illinois") == set()
    assert found("legal help for seniors in carbondale") == set()
    assert found("legal help for seniors in illinois") == {"metro", "middle"}


def test_a_town_in_a_services_name_counts_only_without_an_address_of_its_own() -> None:
    name = "Fair Oaks Adult Activity Center"  # a Redwood City neighbourhood, not Fair Oaks, CA
    center = service(
        "center", name, addresses=(("Redwood City", "CA", "94063"),), place_names=(name,)
    )
    name = "Eviction help desk - Skokie"  # lent its organization's offices: the name says which
    desk = service(
        "desk",
        name,
        addresses=(("Chicago", "IL", "60602"), ("Peoria", "IL", "61602")),
        place_names=(name,),
        inherited_places=True,
    )
    index = index_of(center, desk, places=True)

    def found(text: str) -> list[str]:
        return ids(index, text)

    assert found("senior center in redwood city") == ["center"]
    assert found("senior center in fair oaks california") == []
    assert found("eviction help in skokie") == ["desk"]


def test_a_service_saying_nothing_of_where_it_is_is_where_its_organization_is() -> None:
    """A church's legal clinic with no address at all: where its organization's other
    services are (after them), not dropped from every question naming a town."""

    def of_bar(doc_id: str, name: str, **where: Any) -> Document:
        return service(doc_id, name, organization_id="bar", **where)

    def of_library(doc_id: str, name: str, **where: Any) -> Document:
        return service(doc_id, name, organization_id="library", **where)

    documents = [
        of_bar("office", "Legal help desk", addresses=(("Chicago", "IL", "60602"),)),
        of_bar("clinic", "Chinatown pro bono legal clinic", place_names=("Chinatown clinic",)),
        of_library("elsewhere", "Legal clinic at the library", place_names=("Library",)),
    ]
    index = index_of(*documents, places=True)
    found = index.search(SearchQuery(text="legal clinic in chicago")).hits
    assert [h.id for h in found] == ["office", "clinic"]


def test_a_legal_offices_walk_in_clinic_is_legal_help_not_urgent_care() -> None:
    index = index_of(
        service("walk-in", "McHenry Office - Walk-in clinic", "Legal help"),
        service("urgent", "Urgent care center"),
    )
    assert ids(index, "free legal clinic") == ["walk-in"]
    assert ids(index, "walk in clinic, my son has a high fever")[0] == "urgent"


def test_domestic_abuse_help_is_no_divorce_help() -> None:
    # "Domestic relations" is family law; "domestic" alone is not.
    index = index_of(
        service("abuse", "Legal help for domestic abuse", areas=("Illinois",)),
        service("office", "Legal aid office", areas=("Macon County, IL",)),
        places=True,
    )
    assert ids(index, "Decatur divorce free lawyer") == ["office"]


def test_the_building_a_family_names_says_where_not_what() -> None:
    documents = [
        service("records", "Criminal records advice desk at the Daley Center"),
        service("support", "Child support help desk", place_names=("Richard J. Daley Center",)),
        service("seniors", "Senior center", addresses=(("Skokie", "IL", "60076"),)),
    ]
    index = index_of(*documents, places=True)
    words = words_of("walk in child support help at the daley center right now")
    assert index.read_place(words)[1] == words_of("walk in child support help at the right now")
    assert "centro" not in index.read_place(words_of("ayuda en el centro daley"))[1]
    # ...but a need ("senior center") or a town's courthouse stays in the question
    assert index.read_place(words_of("senior center"))[1] == ["senior", "center"]
    place, rest = index.read_place(words_of("the skokie courthouse"))
    assert "skokie" in rest or (place is not None and place.label.startswith("Skokie"))


def test_a_description_saying_it_meets_the_need_answers_in_its_town() -> None:
    sunnyvale, redwood_city = ("Sunnyvale", "CA", "94086"), ("Redwood City", "CA", "94063")
    documents = [
        service(
            "corps",
            "Sunnyvale Corps",
            "Provides food and clothing. Also provides rental assistance when funds are available.",
            addresses=(sunnyvale,),
        ),
        service(
            "library", "Library branch", "Offers a Summer Reading Club.", addresses=(redwood_city,)
        ),
        service(
            "center",
            "Senior center",
            "Lunch, classes, help with divorce papers.",
            addresses=(redwood_city,),
        ),
        service("rent", "Rent assistance program", addresses=(("San Mateo", "CA", "94401"),)),
        service("club", "After school club", addresses=(("San Mateo", "CA", "94401"),)),
        service("divorce", "Divorce legal clinic", addresses=(("San Mateo", "CA", "94401"),)),
    ]
    index = index_of(*documents, places=True)
    assert ids(index, "help paying rent this month in Sunnyvale") == ["corps"]
    # ...said in the family's words: a reading club is no after-school care
    assert "library" not in ids(index, "after school daycare in Redwood City")
    # ...and a legal need takes a service for it, not a mention in a description
    assert "center" not in ids(index, "divorce lawyer in Redwood City")


def test_a_places_few_answers_for_a_need_are_followed_by_its_general_help() -> None:
    documents = [
        service("line", "Foreclosure help for homeowners", areas=("Illinois",)),
        service("office", "Peoria Office - Legal help", addresses=(("Peoria", "IL", "61602"),)),
        service("elsewhere", "Joliet Office - Legal help", addresses=(("Joliet", "IL", "60432"),)),
    ]
    index = index_of(*documents, places=True)
    assert ids(index, "foreclosure help in Peoria") == ["line", "office"]
    assert ids(index, "foreclosure help") == ["line"]  # no place asked: the need's own answers


def test_help_for_victims_of_crime_is_no_domestic_violence_service() -> None:
    legal = "Direct representation"
    victims_name = "Help for victims of crime in Cook County (VLAN)"
    documents = [
        service("victims", victims_name, legal, areas=("Cook County, IL",)),
        service(
            "dv", "Domestic violence legal services", legal, addresses=(("Chicago", "IL", "60602"),)
        ),
        *(
            service(f"other-{n}", name)
            for n, name in enumerate(
                [
                    "Food pantry",
                    "Legal help for seniors",
                    "Tenant rights line",
                    "Job training",
                    "Immigration legal help",
                    "Free clinic",
                    "Library",
                    "Tax help",
                ]
            )
        ),
    ]
    index = index_of(*documents, places=True)
    assert ids(index, "my husband hits me, I live in Cicero") == ["dv"]


def test_a_suburb_named_in_everyday_words_is_a_place_where_the_directory_serves_its_county() -> (
    None
):
    index = index_of(
        service(
            "clinic",
            "Order of Protection Clinic",
            "Domestic violence legal clinic",
            addresses=(("Chicago", "IL", "60602"),),
        ),
        places=True,
    )
    # Oak Park has no service of its own, but Cook County does: the suburb is read...
    outcome = index.search(SearchQuery(text="order of protection Oak Park"))
    assert outcome.place == "Oak Park, IL" and outcome.nearby
    assert [hit.id for hit in outcome.hits] == ["clinic"]
    # ...while a one-word town of everyday words still needs pointing at: "Justice", IL
    # (Cook County too) is not read from "justice for my son".
    assert index.search(SearchQuery(text="i want justice for my son")).place is None
    # A county the directory serves, with no office in it, counts too: Camp Point, Adams
    # County ("camp", "point": everyday and lexicon words)
    forms = service("forms", "Free legal information and forms", areas=("Adams County, IL",))
    index = index_of(forms, places=True)
    outcome = index.search(SearchQuery(text="Camp Point forms for a name change"))
    assert outcome.place == "Camp Point, IL"
    assert [hit.id for hit in outcome.hits] == ["forms"]


def test_a_relative_in_law_is_no_law() -> None:
    from knowledge.search_words import without_in_laws

    def read(text: str) -> str:
        return " ".join(without_in_laws(words_of(text)))

    assert read("counsellor who speaks Urdu for my mother in law") == (
        "counsellor who speaks urdu for my mother"
    )
    assert read("my in-laws kicked us out") == "my kicked us out"
    assert read("family law clinic") == "family law clinic"
    assert read("help in law school applications") == "help in law school applications"


def test_the_askers_own_role_names_no_need() -> None:
    from knowledge.search_words import without_askers_role

    def read(text: str) -> str:
        return " ".join(without_askers_role(words_of(text)))

    assert read("School counselor here: a family got an eviction notice") == (
        "a family got an eviction notice"
    )
    assert read("I'm a school social worker, a mom needs food") == "a mom needs food"
    assert read("soy la consejera escolar, una familia necesita comida") == (
        "una familia necesita comida"
    )
    # ...but a counsellor asked for is the need.
    assert read("need a school counselor for my son") == "need a school counselor for my son"
    index = index_of(
        service("counselling", "Community Counselling", about="Counselling services"),
        service("tenants", "Eviction defense help desk"),
    )
    assert ids(index, "school counselor here. a family got an eviction notice") == ["tenants"]


def test_a_question_naming_a_group_gets_its_services_first_among_equals() -> None:
    index = index_of(
        service(
            "benefits",
            "Public benefits outreach project",
            about="Public benefits outreach project. Legal aid",
        ),
        service("veterans", "Veterans legal clinic", about="Veterans legal clinic. Legal aid"),
    )
    assert ids(index, "veterans benefits help") == ["veterans", "benefits"]
    assert ids(index, "public benefits help") == ["benefits"]


def test_a_town_run_together_is_the_directorys_town_of_that_name() -> None:
    index = index_of(
        service(
            "clinic",
            "Legal clinic at First Congregational Church of LaGrange",
            about="Legal clinic",
            place_names=("Legal clinic at First Congregational Church of LaGrange",),
        ),
        service(
            "forms",
            "Free legal information and forms",
            about="Legal forms",
            addresses=(("Chicago", "IL", "60602"),),
        ),
        places=True,
    )
    for text in ("free legal clinic in La Grange", "free legal clinic lagrange"):
        outcome = index.search(SearchQuery(text=text))
        assert outcome.place == "La Grange, IL"
        assert [hit.id for hit in outcome.hits][:1] == ["clinic"]
    assert index.search(SearchQuery(text="legal clinic in desplaines")).place == "Des Plaines, IL"


def test_a_service_for_another_need_stays_out_whatever_words_it_shares() -> None:
    index = index_of(
        service(
            "records",
            "Courthouse desk for papers",
            about="Courthouse desk for papers. Expungement. Legal aid",
        ),
        service(
            "family",
            "Domestic relations project",
            about="Domestic relations project. Child support. Legal aid",
        ),
    )
    assert ids(index, "courthouse desk for child support papers") == ["family"]


def test_spanish_words_and_sentences_are_not_read_as_places_elsewhere() -> None:
    from knowledge.us_places import us_gazetteer

    gazetteer = us_gazetteer()

    def place(text: str) -> str | None:
        found = gazetteer.find(words_of(text), ["IL", "CA"])
        return found[0].label if found else None

    # "largo" is long, "mesa" a table: Largo, FL and Mesa, AZ only when pointed at
    assert place("quiere internarse en un programa largo con AA") is None
    assert place("clinica en Mesa Arizona") == "Mesa, AZ"
    assert place("dentist houston") == "Houston, TX"  # a city's name is no Spanish word
    # "condado" then a name is that county only where the directory is, or with "de"
    assert place("una carta que me mandó el condado, Redwood City") == "Redwood City, CA"
    assert place("ayuda en el condado de Lake") is not None
    assert place("ayuda legal en el condado Cook") == "Cook County, IL"
    # A town's name before "park" or "square" names a city's neighbourhood: the city follows
    assert place("me cortaron el snap, vivo en brighton park chicago") == "Chicago, IL"
    assert place("logan square chicago") == "Chicago, IL"
    assert place("legal help oak park") == "Oak Park, IL"  # ...unless that is a town itself
    assert place("vivo en chatham chicago") == "Chicago, IL"  # ...or a city follows it
    # (a city elsewhere of that name, Wildwood, MO, does not make it Wildwood, CA)
    assert place("aviso de desalojo, vivo en Wildwood Chicago") == "Chicago, IL"
    assert place("no hay calefaccion, Belmont Gardens en Chicago") == "Chicago, IL"
    assert place("vivo en Union Ridge, Chicago") == "Chicago, IL"
    assert place("legal help park ridge") == "Park Ridge, IL"  # a town of those words first
    # ...and in Spanish the county's name comes after "condado": not Park County, CO
    assert place("quiero el divorcio, vivo en villa park condado dupage") == "Dupage County, IL"
    assert place("orden de proteccion en north aurora, condado de kane") == "Kane County, IL"


def test_a_service_named_in_the_question_answers_it_whatever_need_the_words_suggest() -> None:
    index = index_of(
        service("clinic", "Free medical clinic", about="Free medical clinic. Physical exams"),
        service("rosener", "Rosener House Adult Day Services", about="Adult day care"),
        service("dupage", "Free legal information and forms in DuPage County", about="Forms"),
    )
    found = ids(index, "what does rosener house require before my mom starts? physical exam")
    assert set(found) == {"clinic", "rosener"}
    assert ids(index, "physical exam for my mom") == ["clinic"]


def test_a_buildings_description_finds_its_services_by_its_rare_words_only() -> None:
    """San Mateo says what Little House offers in its location's description: "mah jong" and
    "woodworking" find it; "classes", which every centre has, do not add to it."""
    centres = [
        service(
            f"centre{i}",
            f"Senior centre {i}",
            "Classes and lunch for older adults.",
            site_details="Classes, lunch, bingo and trips.",
        )
        for i in range(5)
    ]
    little_house = service(
        "little-house",
        "Little House Recreational Activities",
        "A multipurpose centre with recreational activities.",
        site_details="Classes in woodworking, mah jong and bridge; bingo and trips.",
    )
    index = index_of(*centres, little_house)
    found = index.search(SearchQuery(text="woodworking or mah jong"))
    assert [hit.id for hit in found.hits] == ["little-house"]
    assert index.vocabulary.get("bingo") is None  # in six descriptions: no one's own word


def test_a_small_town_elsewhere_named_by_a_family_is_their_neighbourhood() -> None:
    """In a directory of Illinois, "vive en Hyde Park" and "I live in Andersonville" name
    Chicago neighbourhoods, not Hyde Park, MA or Andersonville, GA: the question is answered
    as if it named no place. A city elsewhere is still that city."""
    documents = [
        service("elder", "Elder law project", addresses=(("Chicago", "IL", "60602"),)),
        service("desk", "Legal self-help desk", addresses=(("Peoria", "IL", "61602"),)),
    ]
    index = index_of(*documents, places=True)
    assert index.read_place(words_of("mi papa vive en hyde park"))[0] is None
    assert index.read_place(words_of("HIV positive, I live in Andersonville"))[0] is None
    place = index.read_place(words_of("custody lawyer in houston"))[0]
    assert place is not None and place.label == "Houston, TX"
    place = index.read_place(words_of("legal help in peoria"))[0]
    assert place is not None and place.label == "Peoria, IL"


def test_a_neighbourhood_before_its_city_says_where_not_what() -> None:
    """ "Food stamps cut off, avalon park chicago": Avalon Park is Chicago's, and its words
    are no need (they made the benefits sites too weak a match to show). A neighbourhood a
    service is named for stays in the question: it picks that service."""
    documents = [
        service(
            "englewood",
            "Public benefits project - Englewood",
            "Help with food stamps (SNAP) and Medicaid.",
            addresses=(("Chicago", "IL", "60621"),),
        ),
        service(
            "garfield",
            "Public benefits project - Garfield",
            "Help with food stamps (SNAP) and Medicaid.",
            addresses=(("Chicago", "IL", "60624"),),
        ),
    ]
    index = index_of(*documents, places=True)
    place, rest = index.read_place(words_of("food stamps cut off, avalon park chicago"))
    assert place is not None and place.label == "Chicago, IL"
    assert rest == words_of("food stamps cut off")
    place, rest = index.read_place(words_of("locks changed, washington heights chicago"))
    assert place is not None and place.label == "Chicago, IL"  # not Washington, IL
    assert index.read_place(words_of("legal help peoria heights"))[0].label == "Peoria Heights, IL"
    place, rest = index.read_place(words_of("food stamps garfield park chicago"))
    assert "garfield" in rest
    assert ids(index, "food stamps garfield park chicago")[0] == "garfield"


def test_a_county_written_with_or_without_its_space_is_one() -> None:
    """The ZIP tables' "De Witt County" is the directory's "DeWitt County", and families write
    "La Salle" for LaSalle: a town in it (Wapella) finds the county's self-help centre."""
    index = index_of(
        service("forms", "Free legal information and forms", areas=("DeWitt County, IL",)),
        service("office", "Legal aid office", areas=("LaSalle County, IL",)),
        places=True,
    )
    assert ids(index, "where do I get legal forms in Wapella IL") == ["forms"]
    assert ids(index, "legal forms De Witt County") == ["forms"]
    assert ids(index, "legal aid la salle county") == ["office"]


def test_a_desk_named_for_its_town_comes_after_the_countys_others_elsewhere_in_it() -> None:
    """Berwyn has no records desk: the records organization's general service (lent its
    Chicago office) comes before the Skokie desk, which is there for Skokie."""
    documents = [
        service("skokie", "Skokie Expungement Desk", addresses=(("Skokie", "IL", "60077"),)),
        service(
            "general",
            "Legal help for people with a criminal record",
            addresses=(("Chicago", "IL", "60602"),),
            inherited_places=True,
        ),
    ]
    index = index_of(*documents, places=True)
    assert ids(index, "expunge my record in berwyn") == ["general", "skokie"]
    # ...unless the family names Skokie's desk too
    assert ids(index, "i live in berwyn, can the skokie desk expunge my record")[0] == "skokie"
    assert ids(index, "expunge my record in skokie")[0] == "skokie"


def test_a_service_whose_description_says_it_serves_the_county_serves_it_from_afar() -> None:
    """Shared from a point 25 km from the Redwood City office, "near me" finds the service
    whose centres are "throughout the county", and not a pantry as far off that says nothing
    of it."""
    redwood_city = (("Redwood City", "CA", "94063"),)
    documents = [
        service(
            "countywide",
            "Redwood City Corps",
            "Food and shelter from community centers throughout the county.",
            addresses=redwood_city,
            points=((37.4852, -122.2364),),
        ),
        service(
            "office",
            "Food pantry",
            "Food for families in need.",
            addresses=redwood_city,
            points=((37.4852, -122.2364),),
        ),
    ]
    index = index_of(*documents, places=True)
    daly_city = (37.6879, -122.4702)
    assert ids(index, "food pantry near me", near=daly_city) == ["countywide"]
    # Typed, the town is a place: what is elsewhere in its county still answers, after.
    assert set(ids(index, "food pantry in daly city")) == {"countywide", "office"}


def test_a_lawyer_asked_for_with_a_need_is_a_lawyer_for_that_need() -> None:
    """ "DCFS is investigating me, I need a lawyer": the DCFS defence project (lent its Chicago
    office) before the county's legal forms desk, which is legal help but not for that."""
    documents = [
        service(
            "dcfs",
            "Legal services for people being investigated by DCFS",
            addresses=(("Chicago", "IL", "60602"),),
            inherited_places=True,
        ),
        service(
            "forms",
            "Free legal information and forms in Cook County",
            areas=("Cook County, IL",),
            concepts=frozenset({"legal-aid", "legal-forms"}),  # as the Illinois directory's are
        ),
    ]
    index = index_of(*documents, places=True)
    asked = "DCFS is investigating me, I live in Hickory Hills, I need a lawyer"
    assert ids(index, asked)[0] == "dcfs"
