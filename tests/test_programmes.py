"""Programmes a service's description names (knowledge/programmes.py), and the search finding
the service by one."""

from __future__ import annotations

from test_search import index_of, service

from knowledge.programmes import programme_names
from knowledge.search import SearchQuery
from knowledge.search_words import is_everyday_word

VISITATION = (
    "Provides supervised visitation services and a neutral site for parents. Kids in the "
    "Middle is an education class for separating or divorcing parents. Offers a Brown Bag "
    "Program every week. Open Saturdays and Sundays, in English and Spanish, at 2510 "
    "Middlefield Road. "
    "Keywords: LEGAL AND CRIMINAL JUSTICE SERVICES, Mediation."
)


def test_programme_names_are_read_from_a_description() -> None:
    names = programme_names(VISITATION, is_everyday_word)
    assert ("kids", "in", "the", "middle") in names
    assert ("brown", "bag", "program") in names  # not "offers a brown bag program"
    # lists, addresses and 211 keywords are no programmes
    assert ("saturdays", "and", "sundays") not in names
    assert ("english", "and", "spanish") not in names
    assert not any("middlefield" in name for name in names)
    assert not any("mediation" in name for name in names)


def test_a_family_naming_a_programme_finds_its_service() -> None:
    index = index_of(
        service(
            "visits",
            "Family Visitation Center",
            site_details=VISITATION,
            addresses=(("San Mateo", "CA", "94401"),),
        ),
        service("class", "Parenting class", "Classes for parents of young kids."),
        places=True,
    )

    def ids(text: str) -> list[str]:
        return [hit.id for hit in index.search(SearchQuery(text=text)).hits]

    assert ids("Kids in the Middle class, we live in Half Moon Bay")[:1] == ["visits"]
    assert ids("clase Kids in the Middle para padres")[:1] == ["visits"]
    assert "visits" not in ids("class for kids")
