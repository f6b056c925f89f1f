"""Places in questions and in directories: US ZIP codes, towns, counties and states.

The US ZIP centroids, towns and counties come from the `zipcodes` package (USPS data with
coordinates, loaded by knowledge.us_places); a question's "in Peoria", "60432", "condado de
Lake" or a shared location is read into a Place, and a service's addresses, service areas and
the towns its name mentions into place keys the index matches against. No Telegram here, and
no network.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from knowledge.search_words import is_spanish_word
from knowledge.service_areas import read_area, state_code
from knowledge.text import fold

if TYPE_CHECKING:
    from knowledge.us_places import CompactRow

EARTH_RADIUS_KM = 6371.0088
LONGEST_TOWN = 4  # words: "east saint louis", "rancho santa margarita"
COUNTY_WORDS = ("county", "parish", "condado")
# ...after a town's name, a neighbourhood's: "Belmont Gardens", "Union Ridge", "Arcadia Terrace"
# are Chicago's (a town so named, "Park Ridge", "Beverly Hills", is read first, as longer)
NEIGHBOURHOOD_WORDS = frozenset(
    {"park", "square", "heights", "gardens", "ridge", "terrace", "manor", "village", "woods",
     "highlands", "hills"}
)  # fmt: skip
SUBURBAN = "suburban"  # "Suburban Cook County": the county but its city
CITY_ZIPS = 5  # ZIP codes a town has for its name alone to be read as a place elsewhere
ARTICLES = frozenset({"the", "el", "la", "los", "las"})
# Words that point at a place ("in houston"); not Spanish "en", which is said of anything
# ("trabajo en el campo": in the fields, not El Campo, TX). "cerca de" is read as well.
PLACE_CUES = frozenset({"in", "near", "around", "at"})
SPANISH_PLACE_CUES = frozenset(
    {("cerca", "de"), ("vive", "en"), ("vivo", "en"), ("vivimos", "en"), ("viven", "en")}
)
# Folded words that shorten a town's name: "st louis", "ft wayne", "mt vernon".
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}
# The part of a state a service's name says it serves ("Legal Help in Southern Illinois"),
# read as a share of the state's span of latitude or longitude (LATITUDE_PARTS...).
REGION_WORDS = {
    "north": "north", "northern": "north", "south": "south", "southern": "south",
    "east": "east", "eastern": "east", "west": "west", "western": "west",
    "central": "central", "middle": "central",
    "northeast": "north-east", "northeastern": "north-east",
    "northwest": "north-west", "northwestern": "north-west",
    "southeast": "south-east", "southeastern": "south-east",
    "southwest": "south-west", "southwestern": "south-west",
    "ne": "north-east", "nw": "north-west", "se": "south-east", "sw": "south-west",
}  # fmt: skip
# "East Central Illinois", "West Central": the middle band's eastern or western part.
CENTRAL_PARTS = {
    ("east", "central"): "central-east", ("central", "east"): "central-east",
    ("west", "central"): "central-west", ("central", "west"): "central-west",
}  # fmt: skip
# Regions known by name rather than compass, as directories use them ("Legal Help for Seniors
# (Metro-East)"): the counties the Census counts in them. No package ships these; one line each.
NAMED_REGIONS = {
    ("metro", "east"): ("metro-east", "IL", frozenset({
        "bond", "calhoun", "clinton", "jersey", "macoupin", "madison", "monroe", "saint clair",
    })),
}  # fmt: skip
ALL_REGIONS = frozenset(REGION_WORDS.values()) | frozenset(CENTRAL_PARTS.values())
COUNTRY_KEY = "area:country:US"  # every place here is in the US: a nationwide service serves it
# Shares of a state's span of latitude and longitude: its southern part is its lower 40% of
# latitude, and so on. They overlap: where one ends is a matter of opinion, and a service for
# a part is a likely answer near its edge.
LATITUDE_PARTS = {"south": (0.0, 0.4), "central": (0.3, 0.7), "north": (0.6, 1.0)}
LONGITUDE_PARTS = {"west": (0.0, 0.4), "east": (0.6, 1.0)}
REGION_TRIM = 1.0  # percent of a state's ZIP centres left out of its span (stray points)


@dataclass(frozen=True, slots=True)
class Place:
    """A place read from a question or a shared location."""

    kind: str  # "zip", "town", "county" or "state"
    label: str  # "Peoria, IL", "Kane County, IL", "ZIP 94403", "Illinois"
    state: str  # two-letter code
    town: str | None = None  # folded
    county: str | None = None  # folded, without "county"
    point: tuple[float, float] | None = None
    regions: tuple[str, ...] = ()  # the parts of its state it is in ("south", "south-west")
    # The city its county's suburbs surround (Chicago in Cook County): what a service for
    # "suburban Cook County" does not serve.
    county_city: bool = False

    def keys(self) -> frozenset[str]:
        """The place keys a service there (or serving it) carries; see Gazetteer.service_keys."""
        keys = {COUNTRY_KEY, f"area:state:{self.state}"}
        keys |= {f"area:region:{region}|{self.state}" for region in self.regions}
        if self.kind == "state":  # every part of it, after what serves it whole
            keys.add(f"in:state:{self.state}")
            keys |= {f"area:region:{region}|{self.state}" for region in ALL_REGIONS}
            keys |= {
                f"area:region:{region}|{state}"
                for region, state, _ in NAMED_REGIONS.values()
                if state == self.state
            }
        if self.county:
            keys |= {f"area:county:{self.county}|{self.state}"}
            if not self.county_city:
                keys.add(f"area:suburbs:{self.county}|{self.state}")
            if self.kind == "county":
                keys.add(f"in:county:{self.county}|{self.state}")
        if self.town:
            keys.add(f"in:town:{self.town}|{self.state}")
            if self.county:  # elsewhere in the town's county: after what is in the town
                keys.add(f"in:county:{self.county}|{self.state}")
        return frozenset(keys)


def town_words(name: str) -> str:
    return " ".join(ABBREVIATIONS.get(w, w) for w in fold(name).replace("'", "").split())


class Gazetteer:
    """US ZIP codes, towns and counties, with the points of ZIP codes and towns."""

    def __init__(self, rows: Iterable[CompactRow]) -> None:
        self.zips: dict[str, tuple[str, str, str]] = {}  # code -> (town, county, state)
        points: dict[str, tuple[float, float]] = {}
        town_points: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        town_counties: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.counties: dict[str, set[str]] = defaultdict(set)  # county -> states
        zones: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for code, town, county, state, lat, lon, other_names, zone in rows:
            county = _joined_prefix(county)  # (the cache keeps the package's "de witt")
            self.zips[code] = (town, county, state)
            if zone:
                zones[(county, state)][zone] += 1
                zones[("", state)][zone] += 1
            if lat is None or lon is None:
                continue
            point = (lat, lon)
            points[code] = point
            for name in (town, *other_names):
                town_points[(name, state)].append(point)
                if county:
                    town_counties[(name, state)][county] += 1
            if county:
                self.counties[county].add(state)
        self.towns: dict[str, dict[str, tuple[str, tuple[float, float]]]] = defaultdict(dict)
        self.town_zips = {key: len(spots) for key, spots in town_points.items()}
        for (town, state), spots in town_points.items():
            counties = town_counties.get((town, state))
            county = counties.most_common(1)[0][0] if counties else ""
            self.towns[town][state] = (county, _centre(spots))
        # Towns of several words as people also run them together ("LaGrange", "oaklawn",
        # "desplaines"); of two such, the one with more ZIP codes.
        self.joined_towns: dict[str, str] = {}
        for (town, _), _ in sorted(self.town_zips.items(), key=lambda item: item[1]):
            if " " in town:
                self.joined_towns[town.replace(" ", "")] = town
        self.zip_points = points
        by_state: dict[str, list[tuple[float, float]]] = defaultdict(list)
        by_county: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        for code, point in points.items():
            _, county, state = self.zips[code]
            by_state[state].append(point)
            if county:
                by_county[(county, state)].append(point)
        self.state_spans = {
            state: np.percentile(np.array(spots), [REGION_TRIM, 100 - REGION_TRIM], axis=0)
            for state, spots in by_state.items()
        }
        self.county_points = {key: _centre(spots) for key, spots in by_county.items()}
        # Each county's city, if it has one (a town with CITY_ZIPS ZIP codes): its biggest town.
        self.county_cities: dict[tuple[str, str], str] = {}
        for (town, state), count in sorted(self.town_zips.items(), key=lambda item: item[1]):
            county = self.towns[town][state][0]
            if county and count >= CITY_ZIPS:
                self.county_cities[(county, state)] = town
        # The time zone of each county and state, as most of its ZIP codes keep it: opening
        # hours are the place's own clock (a California library's 8 pm is not Chicago's).
        self.zones = {key: counts.most_common(1)[0][0] for key, counts in zones.items()}
        codes = sorted(points)
        self._nearest_codes = codes
        self._lat = np.radians(np.array([points[c][0] for c in codes], dtype=np.float64))
        self._lon = np.radians(np.array([points[c][1] for c in codes], dtype=np.float64))

    # --- reading ---------------------------------------------------------------------------

    def regions(
        self, state: str, point: tuple[float, float] | None, county: str = ""
    ) -> tuple[str, ...]:
        """The parts of `state` a point is in: "south", "west" and "south-west", or "central"
        and "central-east"; and the named regions its county is in ("metro-east")."""
        named = tuple(
            region
            for region, region_state, counties in NAMED_REGIONS.values()
            if region_state == state and county in counties
        )
        span = self.state_spans.get(state)
        if point is None or span is None:
            return named
        (south, west), (north, east) = span.tolist()
        # Beyond the trimmed span is its outermost part: Metropolis, at Illinois' southern tip.
        across = min(1.0, max(0.0, (point[0] - south) / max(north - south, 1e-9)))
        along = min(1.0, max(0.0, (point[1] - west) / max(east - west, 1e-9)))
        upright = [n for n, (low, high) in LATITUDE_PARTS.items() if low <= across <= high]
        sideways = [n for n, (low, high) in LONGITUDE_PARTS.items() if low <= along <= high]
        # ("East Central" is the middle band's own: not Normal, as much northern as central)
        ups = [up for up in upright if up != "central" or upright == ["central"]]
        corners = [f"{up}-{side}" for up in ups for side in sideways]
        if "central" not in upright:  # Evanston is in northern, north-eastern Illinois; its
            sideways = []  # "Eastern Illinois" is Champaign's and Danville's
        return (*upright, *sideways, *corners, *named)

    def zone_at(self, town: str | None, state: str | None, code: str | None) -> str | None:
        """The IANA time zone of an address (its town, state, ZIP code), if known."""
        if code and code[:5] in self.zips:
            _, county, state = self.zips[code[:5]]
        else:
            state = state_code(state or "") or ""
            county = self.towns.get(town_words(town or ""), {}).get(state, ("", None))[0]
        return self.zones.get((county, state)) or self.zones.get(("", state))

    def first_zone(
        self, addresses: Iterable[tuple[str | None, str | None, str | None]]
    ) -> str | None:
        """The time zone of the first of `addresses` (town, state, ZIP code) it places: the
        clock a service's opening hours are kept on."""
        return next(filter(None, (self.zone_at(*address) for address in addresses)), None)

    def zip_place(self, code: str) -> Place | None:
        found = self.zips.get(code)
        if found is None:
            return None
        town, county, state = found
        point = self.zip_points.get(code)
        return self._town(f"ZIP {code}", "zip", town, county, state, point)

    def _town(
        self,
        label: str,
        kind: str,
        town: str,
        county: str,
        state: str,
        point: tuple[float, float] | None,
    ) -> Place:
        return Place(
            kind,
            label,
            state,
            town,
            county or None,
            point,
            self.regions(state, point, county),
            county_city=self.county_cities.get((county, state)) == town,
        )

    def _spaced(self, town: str, states: Sequence[str]) -> str:
        """`town`, or the town of `states` it runs together ("LaGrange" in Illinois is La
        Grange; LaGrange, GA is elsewhere)."""
        spaced = self.joined_towns.get(town)
        if spaced is None or any(s in self.towns.get(town, ()) for s in states):
            return town
        return spaced if any(s in self.towns[spaced] for s in states) else town

    def town_place(self, town: str, states: Sequence[str]) -> Place | None:
        """A town, in the first of `states` that has one by that name, unless another of
        them has a city by that name ("San José": San Jose, CA, not the village in Illinois);
        else in any state."""
        town = self._spaced(town, states)
        by_state = self.towns.get(town)
        if not by_state:
            return None
        having = [s for s in states if s in by_state]
        cities = [s for s in having if self.town_zips.get((town, s), 0) >= CITY_ZIPS]
        state = (cities or having or sorted(by_state))[0]
        county, point = by_state[state]
        return self._town(f"{town.title()}, {state}", "town", town, county, state, point)

    def county_place(self, county: str, states: Sequence[str]) -> Place | None:
        in_states = self.counties.get(county)
        if not in_states:
            return None
        state = next((s for s in states if s in in_states), None) or sorted(in_states)[0]
        label = f"{county.title()} County, {state}"
        regions = self.regions(state, self.county_points.get((county, state)), county)
        return Place("county", label, state, None, county, regions=regions)

    def nearest(self, point: tuple[float, float]) -> Place | None:
        """The town and county of the ZIP code whose centre is nearest to `point`."""
        if not self._nearest_codes:
            return None
        # Flat-earth distances are right for "which ZIP centre is nearest" and much cheaper.
        lat, lon = np.radians(point[0]), np.radians(point[1])
        dx = (self._lon - lon) * np.cos(lat)
        code = self._nearest_codes[int(np.argmin(dx * dx + (self._lat - lat) ** 2))]
        town, county, state = self.zips[code]
        return self._town(f"{town.title()}, {state}", "town", town, county, state, point)

    def find(
        self,
        words: Sequence[str],
        states: Sequence[str],
        is_word: Container[str] = frozenset(),
        needs_cue: Callable[[str, Sequence[str]], bool] | None = None,
        service_words: Container[str] = frozenset(),
    ) -> tuple[Place, set[int]] | None:
        """The first place named in `words` (folded) and the positions of its words.

        Read: a ZIP code; "X county", "county of X", "condado de X"; a state ("illinois",
        "springfield illinois"); a town. A town whose words are all words the directory or
        the lexicon uses ("normal", "library", "mission") only counts when the directory is
        there (`states`), so "library" stays a library and "la vista" an eye exam. A small
        town for which `needs_cue(town, its words)` says so counts only when pointed at
        ("comida caliente" is hot food, not Caliente, CA; "in caliente" is the town). A
        neighbourhood before its city ("avalon park chicago") is the place's words too, unless
        it has a word of `service_words` (its services' names: "garfield park").
        """
        for i, word in enumerate(words):
            if len(word) == 5 and word.isdigit():
                place = self.zip_place(word)
                if place is not None:
                    return place, {i}
        county = self._find_county(words, states)
        if county is not None:
            return county
        for i in range(len(words) - 1):  # "West Virginia": not West, MS, nor Virginia, IL
            name = f"{words[i]} {words[i + 1]}"
            code = state_code(name) if name not in self.towns else None
            if code is not None:
                return Place("state", code, code), {i, i + 1}
        # A town where the directory is beats one elsewhere that a word happens to name ("gay
        # friendly lawyer chicago" is Chicago, not Friendly, WV); otherwise the first one.
        elsewhere: tuple[Place, set[int]] | None = None
        # The words of a neighbourhood passed over below ("avalon park"): where its city is
        # found, they say where too, not what ("food stamps cut off, avalon park chicago" is no
        # park). (A one-word name, "chinatown chicago", stays: a service may be named for it.)
        neighbourhood: set[int] = set()

        def named_for(span: Sequence[str]) -> bool:  # a service's name has it: it stays
            return any(w in service_words for w in span)

        for i in range(len(words)):
            for size in range(min(LONGEST_TOWN, len(words) - i), 0, -1):
                span = words[i : i + size]
                town = " ".join(ABBREVIATIONS.get(w, w) for w in span)
                town = self._spaced(town, states)
                by_state = self.towns.get(town)
                # "en el campo", "the field": a town's name is not said after an article
                # (one whose name has it, "El Paso", is found from the article on).
                if not by_state or (i > 0 and words[i - 1] in ARTICLES):
                    continue
                # "Brighton Park", "Logan Square": a city's neighbourhood or a park, named
                # for a town elsewhere (a town of that name, "Oak Park", was found first)
                if i + size < len(words) and words[i + size] in NEIGHBOURHOOD_WORDS:
                    if self._city_at(words, i + size + 1, states) and not named_for(span):
                        neighbourhood |= set(range(i, i + size + 1))
                    continue
                # ...or "chatham chicago": a small town's name just before a city of the
                # directory's names the city's neighbourhood
                # (small where the directory is: Wildwood, MO is a city, but "Wildwood
                # Chicago" is Chicago's, not Wildwood, CA)
                if self._city_at(words, i + size, states) and all(
                    self.town_zips.get((town, state), 0) < CITY_ZIPS
                    for state in by_state
                    if state in states or not states
                ):
                    continue
                here = any(s in by_state for s in states)
                state_after = state_code(words[i + size]) if i + size < len(words) else None
                if state_after not in by_state:
                    state_after = None
                # Every word a word of the directory or lexicon ("la vista", "la luz",
                # "library"): a town only where the directory is, or with its state ("East
                # Chicago Indiana").
                if (all(w in is_word for w in span) or len(town) < 4) and not (here or state_after):
                    continue
                # Where the directory is, Spanish "en" points at a town too ("en Urbana"; not
                # elsewhere: "ayuda en casa" is no Casa, AR; nor a word of the directory's or
                # the lexicon's: "clínica legal en chino" is in Chinese, not in Chino, CA), and
                # "St. Charles" is a name.
                after_en = i > 0 and words[i - 1] == "en" and not all(w in is_word for w in span)
                named = here and (after_en or span[0] in ABBREVIATIONS)
                if (
                    needs_cue is not None
                    and not _pointed_at(words, i)
                    and not named
                    and state_after is None  # "st charles illinois" points at it too
                    and max(self.town_zips.get((town, s), 0) for s in by_state) < CITY_ZIPS
                    and needs_cue(town, span)
                ):
                    continue
                used = set(range(i, i + size))
                in_states = states
                if state_after is not None:
                    used.add(i + size)
                    in_states = [state_after]
                place = self.town_place(town, in_states)
                if place is not None and (here or state_after is not None):
                    return place, used | {n for n in neighbourhood if n < i}
                # Elsewhere, only a city or a town the question points at ("dentist in
                # houston"): most words are a small town somewhere ("spray painted": Spray, OR).
                if place is None or elsewhere is not None:
                    continue
                # Of the towns of that name, the biggest (Houston, TX; not Houston, AK).
                biggest = max(by_state, key=lambda state: self.town_zips.get((town, state), 0))
                if size == 1 and is_spanish_word(town) and not _pointed_at(words, i):
                    continue
                # (Where the directory's states are known, a small town elsewhere only
                # pointed at is more likely a neighbourhood of its city named for that town:
                # "vive en Hyde Park", "I live in Andersonville" are in Chicago.)
                pointed = _pointed_at(words, i) and not states
                if pointed or self.town_zips.get((town, biggest), 0) >= CITY_ZIPS:
                    city = self.town_place(town, [biggest])
                    elsewhere = (city, used) if city is not None else None
        if elsewhere is not None:
            return elsewhere
        for i, word in enumerate(words):
            for size in (2, 1):
                code = state_code(" ".join(words[i : i + size])) if len(word) > 2 else None
                if code is not None:
                    return Place("state", code, code), set(range(i, i + size))
        return None

    def _city_at(self, words: Sequence[str], start: int, states: Sequence[str]) -> bool:
        """Whether `words[start:]` begins with the name of a city in one of `states`."""
        for size in (3, 2, 1):
            name = " ".join(words[start : start + size])
            if len(words) - start >= size and any(
                self.town_zips.get((name, state), 0) >= CITY_ZIPS for state in states
            ):
                return True
        return False

    def _find_county(
        self, words: Sequence[str], states: Sequence[str]
    ) -> tuple[Place, set[int]] | None:
        for i, word in enumerate(words):
            if word not in COUNTY_WORDS:
                continue
            # "Kane county", "St. Clair county", "condado de Lake", "county of Lake"; not
            # "villa park condado dupage": in Spanish the county's name comes after
            for size in (3, 2, 1) if word != "condado" else ():
                before = words[max(0, i - size) : i]
                if len(before) == size:
                    place = self.county_place(county_words(" ".join(before)), states)
                    if place is not None:
                        return place, set(range(i - size, i + 1))
            linked = i + 1 < len(words) and words[i + 1] in ("de", "of")
            start = i + 1 + linked
            for size in (3, 2, 1):
                after = words[start : start + size]
                if len(after) == size:
                    place = self.county_place(county_words(" ".join(after)), states)
                    # Without "de": a county of the directory's ("condado San Mateo"), not
                    # the next sentence ("me mandó el condado, Redwood City": no Redwood
                    # County, MN)
                    if place is not None and (linked or place.state in states):
                        return place, {i, *range(i + 1, start + size)}
        return None

    # --- services --------------------------------------------------------------------------

    def service_keys(
        self,
        addresses: Iterable[tuple[str | None, str | None, str | None]],
        areas: Iterable[str],
        names: Iterable[str],
        states: Sequence[str],
        own_addresses: bool = True,
    ) -> frozenset[str]:
        """Where a service is ("in:town:peoria|IL", "in:county:peoria|IL") and what it serves
        ("area:county:kane|IL", "area:state:IL"): from its addresses (town, state, ZIP), its
        service areas, and places its name (the first of `names`) or its places' names
        mention. `own_addresses` false: the addresses are its organization's, lent to it."""
        keys: set[str] = set()

        def located(place: Place | None, into: set[str] = keys) -> None:
            if place is None:
                return
            into.add(f"in:state:{place.state}")
            if place.town:
                into.add(f"in:town:{place.town}|{place.state}")
            if place.county:
                into.add(f"in:county:{place.county}|{place.state}")

        # Where its office is (its addresses, a town its names mention) counts only for a
        # service that says nothing of whom it serves: "Free legal help for seniors in Cass
        # County" has its office in Springfield, and is no answer in Sangamon County.
        office: set[str] = set()
        # A town its names mention, only if it has no address of its own: "Fair Oaks Adult
        # Activity Center" is in Redwood City's Fair Oaks, not in Fair Oaks, CA; an eviction
        # desk lent its organization's offices is in the Skokie its name says.
        mentioned: set[str] = set()
        named_places: list[Place] = []  # ...and the places its places' names mention
        for town, state, postal in addresses:
            code = (postal or "").strip()[:5]
            if code.isdigit() and code in self.zips:
                located(self.zip_place(code), office)
            elif town:
                located(self.town_place(town_words(town), [state_code(state) or ""]), office)
        for name in areas:
            area = read_area(name)
            if area.kind == "county" and area.place:
                county = county_words(area.place)
                part = "county"
                if county.startswith(SUBURBAN + " "):
                    county, part = county.removeprefix(SUBURBAN + " "), "suburbs"
                keys.add(f"area:{part}:{county}|{area.state or states[0]}")
            elif area.kind == "state" and area.state:
                keys.add(f"area:state:{area.state}")
            elif area.kind == "country":
                keys.add(COUNTRY_KEY)
            elif area.kind == "postal_code" and area.place:
                located(self.zip_place(area.place))
        for position, name in enumerate(names):
            words = _split(name)
            if position == 0:
                words = _read_regions(words, keys, states[0] if states else None)
            while words:
                found = self.find(words, states, frozenset())
                if found is None:
                    break
                place, used = found
                if position > 0:  # a location's name says where an office is, not whom it serves
                    if place.kind == "county" or place.state in states:
                        named_places.append(place)
                elif place.kind == "state":
                    keys.add(f"area:state:{place.state}")
                elif place.kind == "county":
                    part = "suburbs" if min(used) and words[min(used) - 1] == SUBURBAN else "county"
                    keys.add(f"area:{part}:{place.county}|{place.state}")
                elif place.state in states:  # a town a name mentions, where the directory is
                    located(place, mentioned)
                words = words[max(used) + 1 :]
        # A place named for a neighbourhood ("North Lawndale Legal Clinic" of a Chicago
        # organization) is not the small town of that name in another county.
        office_counties = {key for key in office if key.startswith("in:county:")}
        for place in named_places:
            if (
                place.kind == "town"
                and office_counties
                and f"in:county:{place.county}|{place.state}" not in office_counties
                and self.town_zips.get((place.town or "", place.state), 0) < CITY_ZIPS
            ):
                continue
            located(place, mentioned)
        if not any(key.startswith("area:") for key in keys):
            keys |= office if office and own_addresses else office | mentioned
            if SUBURBAN in _split(next(iter(names), "")):  # "Suburban seniors" of a Chicago
                keys = self._suburbs_of(keys)  # organization: not in Chicago
        return frozenset(keys)

    def _suburbs_of(self, keys: set[str]) -> set[str]:
        """A service for the suburbs, placed by its offices: it serves their counties' suburbs,
        and is in their towns other than those counties' cities."""
        cities = {f"in:town:{town}|{state}" for (_, state), town in self.county_cities.items()}
        suburbs = {
            "area:suburbs:" + key.removeprefix("in:county:")
            for key in keys
            if key.startswith("in:county:")
        }
        return {k for k in keys if not k.startswith("in:county:") and k not in cities} | suburbs


def _pointed_at(words: Sequence[str], i: int) -> bool:
    """Whether the question points at the place starting at `words[i]` ("in", "cerca de",
    "vive en": "ayuda en casa" alone is no Casa, AR)."""
    before = tuple(words[max(0, i - 2) : i])
    return (i > 0 and words[i - 1] in PLACE_CUES) or before in SPANISH_PLACE_CUES


def _read_regions(words: list[str], keys: set[str], home: str | None = None) -> list[str]:
    """Add the region keys of the parts of states a name says ("in Southern Illinois", "SW
    Illinois", "(East Central)" or "(Metro-East)" at the end of a name of a directory of `home`,
    its state) to `keys`, and return its other words."""
    rest: list[str] = []
    i = 0
    while i < len(words):
        pair = (words[i], words[i + 1]) if i + 1 < len(words) else None
        named = NAMED_REGIONS.get(pair) if pair else None
        if named is not None:
            keys.add(f"area:region:{named[0]}|{named[1]}")
            i += 2
            continue
        middle = CENTRAL_PARTS.get(pair) if pair else None
        if middle is not None:
            found = [
                (state, size)
                for size in (2, 1)
                if len(words) >= i + 2 + size
                and len(words[i + 2]) > 2  # ("in" alone is Indiana, as below)
                and (state := state_code(" ".join(words[i + 2 : i + 2 + size])))
            ]
            if not found and i + 2 == len(words) and home:
                found = [(home, 0)]
            if found:
                keys.add(f"area:region:{middle}|{found[0][0]}")
                i += 2 + found[0][1]
                continue
        # (not "West Virginia", "South Dakota": states themselves)
        region = None if state_code(" ".join(words[i : i + 2])) else REGION_WORDS.get(words[i])
        for size in (2, 1):
            after = words[i + 1 : i + 1 + size]
            # ("in" alone is Indiana: not "west in the county")
            named_state = bool(region and after and len(after[0]) > 2)
            state = state_code(" ".join(after)) if named_state else None
            if state is not None:
                keys.add(f"area:region:{region}|{state}")
                i += 1 + size
                break
        else:
            rest.append(words[i])
            i += 1
    return rest


def _centre(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def county_words(name: str) -> str:
    words = town_words(name).split()
    while words and words[-1] in COUNTY_WORDS:
        words.pop()
    return _joined_prefix(" ".join(words))


# "De Witt County" in the ZIP tables is "DeWitt County" in a directory, as "La Salle" and
# "LaSalle", "Du Page" and "DuPage" are written both ways by families: one spelling, joined.
_NAME_PREFIXES = ("de ", "du ", "la ", "le ")


def _joined_prefix(county: str) -> str:
    if county.startswith(_NAME_PREFIXES) and county.count(" ") == 1:
        return county.replace(" ", "", 1)
    return county


def _split(text: str) -> list[str]:
    return fold(text.replace("'", "")).split()


def directory_states(keys: Iterable[frozenset[str]]) -> list[str]:
    """The directory's states, most services first: where an ambiguous town is looked for."""
    counts: Counter[str] = Counter()
    for service_keys in keys:
        counts.update({k.rsplit("|", 1)[-1].rsplit(":", 1)[-1] for k in service_keys})
    return [state for state, _ in counts.most_common()]
