"""Ages a question gives and ages a service takes (knowledge/ages.py), and the search keeping
to them."""

from __future__ import annotations

import math

from test_search import ZONE, service

from knowledge.ages import ANY_AGE, about_a_child, asked_ages, served_ages
from knowledge.lexicon import default_lexicon
from knowledge.search import SearchIndex, SearchQuery, words_of


def test_ages_a_service_takes_are_read_from_its_eligibility_or_description() -> None:
    def takes(eligibility: str, description: str = "") -> tuple[float, float]:
        return served_ages(None, None, eligibility, description)

    assert takes("Adults; Age 21-60, detoxed") == (21, 60)
    assert takes("Older adults age 55 or over; age 60 or over for lunch") == (55, math.inf)
    # Two groups: from the youngest of them, with no upper end.
    assert takes("Seniors age 60 or over, disabled individuals age 18-59") == (18, math.inf)
    assert takes("Low-income person", "Dental exams for children, age 3-12.") == (3, 12)
    assert takes("Children under age 5") == (0, 4)
    assert served_ages(12, 100, "All people aged 12 and over", "") == (12, math.inf)
    # Numbers that are no ages.
    assert takes("Households under 3 persons, under 200% of poverty") == ANY_AGE
    assert takes("Any age") == ANY_AGE


def test_ages_a_question_gives() -> None:
    assert asked_ages(words_of("drug rehab for my 16 year old son")) == [(16, 16)]
    assert asked_ages(words_of("im 72 and need a ride")) == [(72, 72)]
    assert asked_ages(words_of("counseling for my grandmother, she's 72")) == [(72, 72)]
    assert asked_ages(words_of("dentista para los niños")) == [(0, 17)]
    assert asked_ages(words_of("physical therapy for my son")) == [(0, 49)]
    assert asked_ages(words_of("food pantry")) == []
    assert asked_ages(words_of("my mom is 80, she needs a will")) == [(80, 80)]
    assert asked_ages(words_of("my mother in law is 72")) == [(72, 72)]
    assert asked_ages(words_of("legal help for my 78 yo mother")) == [(78, 78)]
    assert asked_ages(words_of("yo tengo 3 trabajos")) == []  # Spanish "yo" is "I"
    assert asked_ages(words_of("psychologist for my 10 y/o")) == [(10, 10)]
    assert asked_ages(words_of("my rent is 900 and i cant pay")) == []  # no person is 900
    assert asked_ages(words_of("ayuda legal para mi papá de 75")) == [(75, 75)]
    assert asked_ages(words_of("mi mamá tiene 77 y vive sola")) == [(77, 77)]
    assert asked_ages(words_of("debo una renta de 900")) == []


def test_the_search_keeps_to_the_ages_a_service_takes() -> None:
    documents = [
        service("rehab", "Adult drug rehabilitation center", ages=(21, 60)),
        service("youth", "Youth drug treatment"),
        service("smile", "Children's dental clinic", ages=(3, 12)),
        service("seniors", "Senior activity center", ages=(55, math.inf)),
    ]
    index = SearchIndex(documents, default_lexicon(), ZONE)

    def found(text: str) -> list[str]:
        return [hit.id for hit in index.search(SearchQuery(text=text)).hits]

    assert found("drug rehab for my 16 year old") == ["youth"]
    assert set(found("drug rehab")) == {"rehab", "youth"}
    assert found("dentist for my 15 year old") == []
    assert found("dentist for my 6 year old") == ["smile"]
    assert "seniors" not in found("activities for my son")
    assert found("activities for seniors, im 70") == ["seniors"]
    # Where the rehab centre does not take a man of 65, legal help for seniors is no rehab.
    elder_law = service("elder-law", "Legal help for seniors", ages=(60, math.inf))
    index = SearchIndex([documents[0], elder_law], default_lexicon(), ZONE)
    assert found("rehab for my 65 year old dad, he drinks every day") == []


def test_a_household_asking_is_asking_for_its_children() -> None:
    """Such a question keeps away from services for older adults only (the search drops them
    for a question about a child): "food this week, family of 5" is no senior centre's."""
    assert about_a_child(words_of("food this week, family of 5"))
    assert about_a_child(words_of("comida para mi familia"))
    assert not about_a_child(words_of("food pantry"))
    # ...unless it names an elder of theirs
    assert not about_a_child(words_of("memory cafe or support for our family, my mom has dementia"))
    assert not about_a_child(words_of("comida para mi familia, mi abuela vive con nosotros"))
