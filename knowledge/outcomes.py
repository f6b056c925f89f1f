"""The outcomes report: did families get help? Per need and per service, over a period.

Counts only, from the anonymous `outcome_event` rows (detail opens, check-ins sent, answers)
and the query log (searches per need): no chat ids, no texts. Needs where families most often
did not get help come first, each followed by its services.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.followups import ANSWER, CHECK_IN_SENT, DETAIL_OPEN, Answer
from knowledge.models import OutcomeEvent, QueryLog, Service
from knowledge.reports import ReportTable

# The JSON fields, in the order the issue lists them; then what the prose adds.
COLUMNS = (
    "service_id",
    "service",
    "need",
    "detail_opens",
    "check_ins_sent",
    "got_help",
    "could_not_reach",
    "turned_away",
    "not_yet",
    "wrong_information",
    "answered",
    "searches",
)
ANSWER_COLUMNS = {
    Answer.GOT_HELP: "got_help",
    Answer.COULD_NOT_REACH: "could_not_reach",
    Answer.TURNED_AWAY: "turned_away",
    Answer.NOT_YET: "not_yet",
    Answer.WRONG_INFORMATION: "wrong_information",
}
DID_NOT_GET_HELP = ("could_not_reach", "turned_away", "wrong_information")


@dataclass
class OutcomeCounts:
    detail_opens: int = 0
    check_ins_sent: int = 0
    answers: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(ANSWER_COLUMNS.values(), 0)
    )
    searches: int | None = None  # known per need, not per service

    @property
    def answered(self) -> int:
        return sum(self.answers.values())

    @property
    def did_not_get_help(self) -> int:
        return sum(self.answers[c] for c in DID_NOT_GET_HELP)

    def add(self, kind: str, answer: str | None, count: int) -> None:
        if kind == DETAIL_OPEN:
            self.detail_opens += count
        elif kind == CHECK_IN_SENT:
            self.check_ins_sent += count
        elif kind == ANSWER and answer in self.answers:
            self.answers[answer] += count


@dataclass
class NeedOutcomes:
    need: str | None  # a lexicon concept id; None when the need was not known
    total: OutcomeCounts = field(default_factory=OutcomeCounts)
    services: dict[str, OutcomeCounts] = field(default_factory=dict)


@dataclass
class Outcomes:
    since: datetime
    until: datetime
    needs: list[NeedOutcomes] = field(default_factory=list)
    service_names: dict[str, str] = field(default_factory=dict)


async def outcomes(session: AsyncSession, since: datetime, until: datetime) -> Outcomes:
    """Counts for [since, until), needs where families most often did not get help first."""
    in_period = (OutcomeEvent.created_at >= since, OutcomeEvent.created_at < until)
    rows = await session.execute(
        select(
            OutcomeEvent.need,
            OutcomeEvent.service_id,
            OutcomeEvent.kind,
            OutcomeEvent.answer,
            func.count(),
        )
        .where(*in_period)
        .group_by(
            OutcomeEvent.need, OutcomeEvent.service_id, OutcomeEvent.kind, OutcomeEvent.answer
        )
    )
    by_need: dict[str | None, NeedOutcomes] = {}
    for need, service_id, kind, answer, count in rows:
        group = by_need.setdefault(need, NeedOutcomes(need))
        group.total.add(kind, answer, int(count))
        group.services.setdefault(service_id, OutcomeCounts()).add(kind, answer, int(count))
    searches = await session.execute(
        select(QueryLog.concept, func.count())
        .where(
            QueryLog.created_at >= since,
            QueryLog.created_at < until,
            QueryLog.concept.is_not(None),
        )
        .group_by(QueryLog.concept)
    )
    for need, count in searches:
        by_need.setdefault(need, NeedOutcomes(need)).total.searches = int(count)
    for group in by_need.values():
        if group.total.searches is None:
            group.total.searches = 0
    service_ids = {s for group in by_need.values() for s in group.services}
    names = {
        service_id: name
        for service_id, name in await session.execute(
            select(Service.id, Service.name).where(Service.id.in_(service_ids))
        )
    }
    needs = sorted(
        by_need.values(),
        key=lambda g: (
            -g.total.did_not_get_help,
            -g.total.detail_opens,
            -(g.total.searches or 0),
            g.need or "~",
        ),
    )
    return Outcomes(since, until, needs, names)


def _row(
    service_id: str | None, service: str | None, need: str | None, counts: OutcomeCounts
) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "service": service,
        "need": need,
        "detail_opens": counts.detail_opens,
        "check_ins_sent": counts.check_ins_sent,
        **counts.answers,
        "answered": counts.answered,
        "searches": counts.searches,
    }


def outcomes_table(result: Outcomes) -> ReportTable:
    """One row per need (service_id and service empty: all its services together) followed by
    one row per service for that need, busiest first."""
    rows: list[Mapping[str, Any]] = []
    for group in result.needs:
        rows.append(_row(None, None, group.need, group.total))
        for service_id, counts in sorted(
            group.services.items(), key=lambda item: (-item[1].detail_opens, item[0])
        ):
            name = result.service_names.get(service_id, service_id)
            rows.append(_row(service_id, name, group.need, counts))
    return ReportTable(
        columns=COLUMNS,
        rows=rows,
        title=(
            f"Outcomes, {result.since:%Y-%m-%d} to {result.until:%Y-%m-%d}: did families get "
            "help? Needs where they most often did not come first; a row without a service "
            "is the need's total."
        ),
    )


def outcomes_chart(
    result: Outcomes,
    label: Callable[[str | None], str],
    title: str,
    answer_labels: dict[str, str],
    axis_label: str,
    limit: int = 8,
) -> bytes | None:
    """Answers to check-ins per need, stacked (got help, couldn't reach, ...), as a PNG; None
    when no check-in was answered in the period."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, thread-safe
    from matplotlib.figure import Figure

    needs = [g for g in result.needs if g.total.answered][:limit]
    if not needs:
        return None
    colours = {
        "got_help": "#3c9d5d",
        "could_not_reach": "#e8a33d",
        "turned_away": "#d9534f",
        "wrong_information": "#8e5bb5",
        "not_yet": "#9aa5b1",
    }
    figure = Figure(figsize=(8, 1.6 + 0.55 * len(needs)), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    names = [_short(label(g.need)) for g in needs][::-1]
    left = [0] * len(needs)
    for column, colour in colours.items():
        values = [g.total.answers[column] for g in needs][::-1]
        axes.barh(names, values, left=left, color=colour, label=answer_labels[column])
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    axes.set_xlabel(axis_label)
    axes.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    figure.legend(loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    axes.set_xlim(0, max(left) * 1.1 + 0.5)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()


def _short(text: str, limit: int = 36) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
