"""What families need, for coordinators: subscribers, searches, top needs, the gap report,
feedback, and a chart of it (PNG, matplotlib's Agg backend, no display needed).

The query log never says who asked, so neither does anything here.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import Chat, QueryLog
from knowledge.subscriptions import count_subscribers
from knowledge.text import fold

WEEK = timedelta(days=7)
TOP = 5
GAP_GROUPS = 8
SIMILAR = 80  # rapidfuzz token_set_ratio at or above which two unanswered questions are one gap


@dataclass(frozen=True, slots=True)
class Gap:
    """Questions that found nothing good, grouped: a concept when known, else similar words."""

    example: str  # the most asked wording
    count: int
    concept: str | None = None
    wordings: tuple[str, ...] = ()


@dataclass
class CommunityStats:
    since: datetime
    until: datetime
    subscribers: int = 0
    chats: int = 0
    searches: int = 0
    unanswered: int = 0  # found nothing good: no match, or marked not helpful
    helpful: int = 0
    not_helpful: int = 0
    top_needs: list[tuple[str, int]] = field(default_factory=list)  # concept id, searches
    unmet_needs: list[tuple[str, int]] = field(default_factory=list)  # concept id or wording
    gaps: list[Gap] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.top_needs and not self.unmet_needs


def _words(text: str, stopwords: frozenset[str]) -> str:
    return " ".join(w for w in fold(text).split() if w not in stopwords) or fold(text)


def group_gaps(
    rows: Iterable[tuple[str, str | None]],
    stopwords: frozenset[str] = frozenset(),
    limit: int = GAP_GROUPS,
) -> list[Gap]:
    """Group unanswered questions: by the need they were about when known, otherwise with
    similar wording together ("dentist sunday", "sunday dentist?"). Biggest groups first."""
    by_concept: dict[str, Counter[str]] = {}
    clusters: list[tuple[str, Counter[str]]] = []  # (key words, wordings)
    for text, concept in rows:
        wording = " ".join(text.split())
        if not wording:
            continue
        if concept:
            by_concept.setdefault(concept, Counter())[wording] += 1
            continue
        words = _words(wording, stopwords)
        for key, wordings in clusters:
            if fuzz.token_set_ratio(words, key) >= SIMILAR:
                wordings[wording] += 1
                break
        else:
            clusters.append((words, Counter({wording: 1})))
    gaps = [
        Gap(w.most_common(1)[0][0], sum(w.values()), concept, tuple(x for x, _ in w.most_common()))
        for concept, w in by_concept.items()
    ]
    gaps += [
        Gap(w.most_common(1)[0][0], sum(w.values()), None, tuple(x for x, _ in w.most_common()))
        for _key, w in clusters
    ]
    gaps.sort(key=lambda gap: (-gap.count, gap.example))
    return gaps[:limit]


async def community_stats(
    session: AsyncSession,
    now: datetime,
    period: timedelta = WEEK,
    stopwords: frozenset[str] = frozenset(),
    top: int = TOP,
) -> CommunityStats:
    """The numbers for the last `period` (a week by default) up to `now`."""
    since = now - period
    stats = CommunityStats(since=since, until=now)
    stats.subscribers = await count_subscribers(session)
    stats.chats = int(await session.scalar(select(func.count()).select_from(Chat)) or 0)
    in_period = (QueryLog.created_at >= since, QueryLog.created_at <= now)
    stats.searches = int(
        await session.scalar(select(func.count()).select_from(QueryLog).where(*in_period)) or 0
    )
    feedback = await session.execute(
        select(QueryLog.helpful, func.count())
        .where(*in_period, QueryLog.helpful.is_not(None))
        .group_by(QueryLog.helpful)
    )
    for helpful, count in feedback:
        if helpful:
            stats.helpful = int(count)
        else:
            stats.not_helpful = int(count)
    needs = await session.execute(
        select(QueryLog.concept, func.count())
        .where(*in_period, QueryLog.concept.is_not(None))
        .group_by(QueryLog.concept)
        .order_by(func.count().desc(), QueryLog.concept)
        .limit(top)
    )
    stats.top_needs = [(str(concept), int(count)) for concept, count in needs]
    unanswered = (
        await session.execute(
            select(QueryLog.text, QueryLog.concept)
            .where(*in_period, or_(QueryLog.matched.is_(False), QueryLog.helpful.is_(False)))
            .order_by(QueryLog.created_at)
        )
    ).all()
    stats.unanswered = len(unanswered)
    stats.gaps = group_gaps(((t, c) for t, c in unanswered), stopwords)
    stats.unmet_needs = [(gap.concept or gap.example, gap.count) for gap in stats.gaps[:top]]
    return stats


def stats_chart(
    stats: CommunityStats,
    label: Callable[[str], str],
    top_title: str,
    unmet_title: str,
    empty_text: str,
    axis_label: str,
) -> bytes:
    """Two bar charts, top needs and unmet needs, as a PNG. `label` names a concept id."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, thread-safe
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    top_axes, unmet_axes = figure.subplots(2, 1)
    panels: Sequence[tuple[object, str, list[tuple[str, int]], str]] = (
        (top_axes, top_title, stats.top_needs, "#2b7bb9"),
        (unmet_axes, unmet_title, stats.unmet_needs, "#d9534f"),
    )
    for axes, title, rows, colour in panels:
        axes.set_title(title, loc="left", fontsize=12, fontweight="bold")  # type: ignore[attr-defined]
        if not rows:
            axes.text(0.5, 0.5, empty_text, ha="center", va="center", transform=axes.transAxes)  # type: ignore[attr-defined]
            axes.set_axis_off()  # type: ignore[attr-defined]
            continue
        names = [_short(label(key)) for key, _ in rows][::-1]
        counts = [count for _, count in rows][::-1]
        bars = axes.barh(names, counts, color=colour)  # type: ignore[attr-defined]
        axes.bar_label(bars, padding=3)  # type: ignore[attr-defined]
        axes.set_xlabel(axis_label)  # type: ignore[attr-defined]
        axes.set_xlim(0, max(counts) * 1.15 + 0.5)  # type: ignore[attr-defined]
        axes.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[attr-defined]
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)  # type: ignore[attr-defined]
    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()


def _short(text: str, limit: int = 36) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
