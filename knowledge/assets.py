"""The asset map: for each need (a lexicon concept), how many families asked, how many services
meet it, how far the nearest is from each school, and whether any is open evenings or weekends;
the needs where demand most outruns supply first. Also drawn: a chart and a map picture (PNG,
matplotlib's Agg backend; the map is plotted from the coordinates, no tile server).

"Services meeting a need" are the ones the search itself returns for it (knowledge.search), so
the map and the families' answers agree; distances are great-circle, as the search's "near".
Families who asked = searches about the need in the period (the query log, which never says
who asked) + finished needs-survey responses naming it (knowledge.survey_answers; an option's
`concept`), passed to `build_asset_map` as a mapping need -> count.

The session is the caller's; nothing here commits.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from math import cos, radians
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.lexicon import Lexicon
from knowledge.models import Location, QueryLog
from knowledge.search import (
    EARTH_RADIUS_KM,
    Document,
    SearchIndex,
    SearchQuery,
    load_documents,
)
from knowledge.subscriptions import schools
from knowledge.survey_answers import families_per_concept

EVENING_MINUTES = 17 * 60  # open past 5 pm
WEEKEND_DAYS = (5, 6)  # Saturday, Sunday (datetime.weekday)
SERVICES = frozenset({"service"})


@dataclass(frozen=True, slots=True)
class SchoolPoint:
    id: str
    name: str
    latitude: float
    longitude: float


@dataclass
class NeedAssets:
    need: str  # the concept id
    label: str
    searches: int = 0
    survey_answers: int = 0
    service_ids: list[str] = field(default_factory=list)
    nearest_km: dict[str, float | None] = field(default_factory=dict)  # school name -> km
    evenings: bool = False
    weekends: bool = False

    @property
    def families_asked(self) -> int:
        return self.searches + self.survey_answers

    @property
    def services(self) -> int:
        return len(self.service_ids)

    @property
    def gap(self) -> float:
        """How far demand outruns supply: families who asked per service (+1, so a need with no
        service at all ranks above one with a single service and as many asking)."""
        return self.families_asked / (self.services + 1)

    @property
    def farthest_km(self) -> float | None:
        """The worst-served school's distance to its nearest service (None: no placed one)."""
        known = [km for km in self.nearest_km.values() if km is not None]
        return max(known) if known and len(known) == len(self.nearest_km) else None


async def search_counts(session: AsyncSession, since: datetime, until: datetime) -> dict[str, int]:
    """Searches per need in [since, until), from the query log (counts only)."""
    rows = await session.execute(
        select(QueryLog.concept, func.count())
        .where(
            QueryLog.created_at >= since,
            QueryLog.created_at < until,
            QueryLog.concept.is_not(None),
        )
        .group_by(QueryLog.concept)
    )
    return {str(concept): int(count) for concept, count in rows}


async def survey_need_counts(session: AsyncSession) -> dict[str, int]:
    """Families whose finished needs-survey responses chose an option tied to each need (the
    option's `concept`), over every sent survey: a needs assessment runs once a year or so, so
    the report's period, which is for searches, does not narrow it."""
    return dict(await families_per_concept(session))


async def school_points(session: AsyncSession) -> list[SchoolPoint]:
    """The schools (knowledge.subscriptions) that have coordinates."""
    known = await schools(session)
    if not known:
        return []
    placed: dict[str, tuple[float, float]] = dict(
        (lid, (float(lat or 0), float(lon or 0)))
        for lid, lat, lon in (
            await session.execute(
                select(Location.id, Location.latitude, Location.longitude).where(
                    Location.id.in_([s.id for s in known]),
                    Location.latitude.is_not(None),
                    Location.longitude.is_not(None),
                )
            )
        ).all()
    )
    return [SchoolPoint(s.id, s.name, *placed[s.id]) for s in known if s.id in placed]


def _open_when(document: Document) -> tuple[bool, bool]:
    evenings = any(i.closes > EVENING_MINUTES for i in document.hours)
    weekends = any(i.weekday in WEEKEND_DAYS for i in document.hours)
    return evenings, weekends


def _nearest_km(school: SchoolPoint, points: Sequence[tuple[float, float]]) -> float | None:
    """Great-circle kilometres from the school to the nearest point (None: no point), as the
    search measures "near"."""
    if not points:
        return None
    lat, lon = np.radians(np.array(points, dtype=np.float64)).T
    here_lat, here_lon = radians(school.latitude), radians(school.longitude)
    h = np.sin((lat - here_lat) / 2) ** 2
    h += cos(here_lat) * np.cos(lat) * np.sin((lon - here_lon) / 2) ** 2
    return round(float((2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))).min()), 2)


def build_asset_map(
    lexicon: Lexicon,
    index: SearchIndex,
    documents: Sequence[Document],
    schools_placed: Sequence[SchoolPoint],
    searches: Mapping[str, int],
    survey_answers: Mapping[str, int],
    language: str = "en",
) -> list[NeedAssets]:
    """Every need somebody asked about or some service meets, biggest gap first."""
    by_id = {d.id: d for d in documents if d.kind == "service"}
    needs: list[NeedAssets] = []
    everything = max(1, len(by_id))
    for concept in lexicon.concepts:
        found = index.search(SearchQuery(concept=concept.id, kinds=SERVICES, limit=everything))
        need = NeedAssets(
            need=concept.id,
            label=concept.label.get(language) or concept.label.get("en") or concept.id,
            searches=int(searches.get(concept.id, 0)),
            survey_answers=int(survey_answers.get(concept.id, 0)),
            service_ids=[hit.id for hit in found.hits],
        )
        if not need.families_asked and not need.services:
            continue
        for service_id in need.service_ids:
            document = by_id.get(service_id)
            if document is not None:
                evenings, weekends = _open_when(document)
                need.evenings |= evenings
                need.weekends |= weekends
        points = [p for sid in need.service_ids if sid in by_id for p in by_id[sid].points]
        for school in schools_placed:
            need.nearest_km[school.name] = _nearest_km(school, points)
        needs.append(need)
    needs.sort(key=lambda n: (-n.gap, -n.families_asked, n.services, n.need))
    return needs


@dataclass
class AssetMap:
    needs: list[NeedAssets]
    documents: list[Document]
    schools: list[SchoolPoint]


async def asset_map(
    session: AsyncSession,
    lexicon: Lexicon,
    zone: ZoneInfo,
    since: datetime,
    until: datetime,
    *,
    index: SearchIndex | None = None,
    language: str = "en",
) -> AssetMap:
    """The asset map for [since, until): the bot passes its live index, the CLI builds one."""
    documents = await load_documents(session, (c.id for c in lexicon.concepts))
    if index is None:
        index = await asyncio.to_thread(SearchIndex, documents, lexicon, zone)
    placed = await school_points(session)
    # In a thread: a search per need and school is seconds of CPU at 100,000 services, which
    # on the event loop would hold up every family's reply meanwhile.
    needs = await asyncio.to_thread(
        build_asset_map,
        lexicon,
        index,
        documents,
        placed,
        await search_counts(session, since, until),
        await survey_need_counts(session),
        language,
    )
    return AssetMap(needs, documents, placed)


def nearest_text(need: NeedAssets) -> str:
    """ "Lincoln Elementary 1.2 km; Roosevelt 4.5 km" (— where no placed service meets it)."""
    return "; ".join(
        f"{school} {km:.1f} km" if km is not None else f"{school} —"
        for school, km in need.nearest_km.items()
    )


# --- pictures ----------------------------------------------------------------------------------


def assets_chart(
    needs: Sequence[NeedAssets],
    title: str,
    asked_label: str,
    services_label: str,
    limit: int = 10,
) -> bytes:
    """Families who asked beside services meeting the need, for the biggest gaps (PNG); the
    needs somebody asked about, or every need's supply while nobody has asked yet."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, thread-safe
    from matplotlib.figure import Figure

    asked = [n for n in needs if n.families_asked]
    shown = list((asked or list(needs))[:limit])[::-1]
    figure = Figure(figsize=(8, 1.2 + 0.45 * max(1, len(shown))), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    rows = range(len(shown))
    height = 0.4
    demand = axes.barh(
        [r + height / 2 for r in rows],
        [n.families_asked for n in shown],
        height,
        color="#d9534f",
        label=asked_label,
    )
    offered = axes.barh(
        [r - height / 2 for r in rows],
        [n.services for n in shown],
        height,
        color="#2b7bb9",
        label=services_label,
    )
    axes.bar_label(demand, padding=3)
    axes.bar_label(offered, padding=3)
    axes.set_yticks(list(rows), [_short(n.label) for n in shown])
    axes.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    axes.legend(loc="lower right")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()


MAP_COLOURS = ("#d9534f", "#f0ad4e", "#5cb85c", "#5bc0de", "#8e6cc0")
MAP_POINTS = 1000  # at most this many services drawn per need


def assets_map_picture(
    needs: Sequence[NeedAssets],
    documents: Sequence[Document],
    schools_placed: Sequence[SchoolPoint],
    title: str,
    school_label: str,
    limit: int = len(MAP_COLOURS),
) -> bytes | None:
    """Schools (stars) and the services meeting the biggest-gap needs (one colour per need),
    plotted by longitude and latitude; None when nothing has coordinates."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = {d.id: d.points for d in documents if d.points}
    layers = []
    for need, colour in zip(
        [n for n in needs if any(s in points for s in n.service_ids)][:limit],
        MAP_COLOURS,
        strict=False,
    ):
        placed = [p for s in need.service_ids for p in points.get(s, ())]
        # Every n-th point past MAP_POINTS a need: the picture shows where, not how many (the
        # legend says that), and a big directory would otherwise take long to draw.
        placed = placed[:: max(1, -(-len(placed) // MAP_POINTS))]
        layers.append((need, colour, placed))
    if not layers and not schools_placed:
        return None
    figure = Figure(figsize=(8, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    for need, colour, placed in layers:
        axes.scatter(
            [lon for _lat, lon in placed],
            [lat for lat, _lon in placed],
            s=36,
            color=colour,
            alpha=0.75,
            label=f"{_short(need.label, 28)} ({need.families_asked}/{need.services})",
        )
    if schools_placed:
        axes.scatter(
            [s.longitude for s in schools_placed],
            [s.latitude for s in schools_placed],
            marker="*",
            s=260,
            color="#222222",
            label=school_label,
            zorder=3,
        )
        for s in schools_placed:
            axes.annotate(
                _short(s.name, 24),
                (s.longitude, s.latitude),
                fontsize=8,
                xytext=(6, 6),
                textcoords="offset points",
            )
    latitudes = [lat for _n, _c, placed in layers for lat, _lon in placed] + [
        s.latitude for s in schools_placed
    ]
    middle = sum(latitudes) / len(latitudes)
    # A degree of longitude is shorter than one of latitude away from the equator.
    axes.set_aspect(1 / max(0.1, cos(radians(middle))))
    axes.legend(loc="best", fontsize=8)
    axes.set_xlabel("longitude")
    axes.set_ylabel("latitude")
    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()


def _short(text: str, limit: int = 36) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
