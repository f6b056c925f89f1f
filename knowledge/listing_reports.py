"""Families' reports of wrong listings, and the coordinators' review queue.

A report starts as a draft while the family types the right value (or what is wrong), is open
once sent, and ends applied (the fix went into the listing through knowledge.listing_changes)
or dismissed. Coordinators never see who reported; the reporting chat is kept only while the
report is open. The session is the caller's; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.directory import ServiceRecord, service_record
from knowledge.freshness import OPEN
from knowledge.hours import MINUTES_PER_DAY, WEEKDAYS
from knowledge.listing_changes import (
    Change,
    InvalidValue,
    change_address,
    change_hours,
    change_phone,
    close_listing,
    normalize_phone,
)
from knowledge.models import ListingReport, Service, utcnow
from knowledge.opening_hours import parse_opening_hours
from knowledge.reports import ReportTable

PROBLEMS = ("phone", "hours", "address", "closed", "other")
FIXABLE = ("phone", "hours", "address", "closed")  # the fields a fix can change
DRAFT, APPLIED, DISMISSED = "draft", "applied", "dismissed"
MAX_SUGGESTION = 300
DRAFT_TTL = timedelta(hours=2)
EDIT_TTL = timedelta(hours=2)
REVIEW_SOURCE = "review"


def clean_suggestion(text: str | None) -> str | None:
    flat = " ".join((text or "").split())[:MAX_SUGGESTION]
    return flat or None


# --- the family's side ---------------------------------------------------------------------------


async def start_report(
    session: AsyncSession,
    *,
    service_id: str,
    problem: str,
    chat_id: int,
    source: str = "card",
    now: datetime | None = None,
) -> tuple[ListingReport, bool] | None:
    """A new report (a draft, or open at once for "closed for good"); with it, False when the
    chat already has this very report open (it is not filed twice). None: no such service."""
    if problem not in PROBLEMS or await session.get(Service, service_id) is None:
        return None
    now = now or utcnow()
    existing = await session.scalar(
        select(ListingReport).where(
            ListingReport.reporter_chat_id == chat_id,
            ListingReport.service_id == service_id,
            ListingReport.problem == problem,
            ListingReport.status == OPEN,
        )
    )
    if existing is not None:
        return existing, False
    await discard_drafts(session, chat_id)
    report = ListingReport(
        service_id=service_id,
        problem=problem,
        status=OPEN if problem == "closed" else DRAFT,
        source=source,
        reporter_chat_id=chat_id,
        created_at=now,
    )
    session.add(report)
    await session.flush()
    return report, True


async def chats_with_drafts(session: AsyncSession, now: datetime | None = None) -> set[int]:
    """Every chat whose report waits for its text (started lately)."""
    now = now or utcnow()
    rows = await session.scalars(
        select(ListingReport.reporter_chat_id).where(
            ListingReport.status == DRAFT, ListingReport.created_at > now - DRAFT_TTL
        )
    )
    return {chat_id for chat_id in rows if chat_id is not None}


async def draft_of(
    session: AsyncSession, chat_id: int, now: datetime | None = None
) -> ListingReport | None:
    """The chat's report waiting for its text, if it started one lately."""
    now = now or utcnow()
    return await session.scalar(
        select(ListingReport)
        .where(
            ListingReport.reporter_chat_id == chat_id,
            ListingReport.status == DRAFT,
            ListingReport.created_at > now - DRAFT_TTL,
        )
        .order_by(ListingReport.id.desc())
        .limit(1)
    )


async def submit_report(
    session: AsyncSession, report_id: int, chat_id: int, suggestion: str | None
) -> ListingReport | None:
    """Send the chat's draft to the review queue, with the right value or what is wrong."""
    report = await session.get(ListingReport, report_id)
    if report is None or report.reporter_chat_id != chat_id or report.status != DRAFT:
        return None
    report.suggestion = clean_suggestion(suggestion)
    report.status = OPEN
    await session.flush()
    return report


async def discard_drafts(session: AsyncSession, chat_id: int) -> None:
    await session.execute(
        delete(ListingReport).where(
            ListingReport.reporter_chat_id == chat_id, ListingReport.status == DRAFT
        )
    )


async def forget_reporter(session: AsyncSession, chat_id: int) -> None:
    """/forget: drafts go; sent reports stay for the listing's sake, without the chat."""
    await discard_drafts(session, chat_id)
    await session.execute(
        update(ListingReport)
        .where(ListingReport.reporter_chat_id == chat_id)
        .values(reporter_chat_id=None)
        .execution_options(synchronize_session=False)
    )
    for column in (ListingReport.resolved_by, ListingReport.editing_by):
        await session.execute(
            update(ListingReport)
            .where(column == chat_id)
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )


# --- the coordinators' side ----------------------------------------------------------------------


async def open_reports(session: AsyncSession, limit: int = 200) -> list[ListingReport]:
    """The review queue, oldest first."""
    return list(
        await session.scalars(
            select(ListingReport)
            .where(ListingReport.status == OPEN)
            .order_by(ListingReport.created_at, ListingReport.id)
            .limit(limit)
        )
    )


async def count_open(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(ListingReport).where(ListingReport.status == OPEN)
        )
        or 0
    )


async def open_report(session: AsyncSession, report_id: int) -> ListingReport | None:
    report = await session.get(ListingReport, report_id)
    return report if report is not None and report.status == OPEN else None


def ready_fix(report: ListingReport) -> str | None:
    """The value the family gave, when it can go into the listing as it is."""
    if report.problem == "closed":
        return ""
    if not report.suggestion:
        return None
    try:
        if report.problem == "phone":
            return normalize_phone(report.suggestion)
    except InvalidValue:
        return None
    if report.problem == "hours":
        return report.suggestion if parse_opening_hours(report.suggestion) else None
    if report.problem == "address":
        return report.suggestion
    return None


async def _resolve(
    session: AsyncSession, report: ListingReport, status: str, by: int, now: datetime
) -> None:
    report.status = status
    report.resolved_at = now
    report.resolved_by = by
    report.reporter_chat_id = None
    report.editing_by = report.editing_field = report.editing_since = None
    await session.flush()


async def apply_fix(
    session: AsyncSession,
    report_id: int,
    *,
    field: str,
    value: str,
    coordinator: int,
    now: datetime | None = None,
) -> Change | None:
    """Change the listing's `field` to `value` (recorded with who and when), and resolve this
    report and the others that said the same. None: the report is no longer open.
    Raises InvalidValue when the value does not fit the field."""
    now = now or utcnow()
    report = await session.scalar(
        select(ListingReport)
        .where(ListingReport.id == report_id, ListingReport.status == OPEN)
        .with_for_update()
    )
    if report is None or field not in FIXABLE:
        return None
    options = {"source": REVIEW_SOURCE, "changed_by": coordinator, "now": now}
    if field == "phone":
        change = await change_phone(session, report.service_id, value, **options)  # type: ignore[arg-type]
    elif field == "hours":
        change = await change_hours(session, report.service_id, value, **options)  # type: ignore[arg-type]
    elif field == "address":
        change = await change_address(session, report.service_id, value, **options)  # type: ignore[arg-type]
    else:
        change = await close_listing(session, report.service_id, **options)  # type: ignore[arg-type]
    same = list(
        await session.scalars(
            select(ListingReport).where(
                ListingReport.service_id == report.service_id,
                ListingReport.status == OPEN,
                ListingReport.problem.in_((field, report.problem)),
            )
        )
    )
    for resolved in {report, *same}:
        await _resolve(session, resolved, APPLIED, coordinator, now)
    return change


async def dismiss(
    session: AsyncSession, report_id: int, *, coordinator: int, now: datetime | None = None
) -> bool:
    report = await open_report(session, report_id)
    if report is None:
        return False
    await _resolve(session, report, DISMISSED, coordinator, now or utcnow())
    return True


async def start_editing(
    session: AsyncSession,
    report_id: int,
    *,
    field: str,
    coordinator: int,
    now: datetime | None = None,
) -> ListingReport | None:
    """The coordinator will type the right value for `field` (one edit at a time each)."""
    report = await open_report(session, report_id)
    if report is None or field not in FIXABLE:
        return None
    await stop_editing(session, coordinator)
    report.editing_by = coordinator
    report.editing_field = field
    report.editing_since = now or utcnow()
    await session.flush()
    return report


async def editing_of(
    session: AsyncSession, coordinator: int, now: datetime | None = None
) -> ListingReport | None:
    now = now or utcnow()
    return await session.scalar(
        select(ListingReport).where(
            ListingReport.editing_by == coordinator,
            ListingReport.status == OPEN,
            ListingReport.editing_since > now - EDIT_TTL,
        )
    )


async def stop_editing(session: AsyncSession, coordinator: int) -> None:
    await session.execute(
        update(ListingReport)
        .where(ListingReport.editing_by == coordinator)
        .values(editing_by=None, editing_field=None, editing_since=None)
        .execution_options(synchronize_session=False)
    )


# --- the queue as a table (`resource-finder review list`) ----------------------------------------

REVIEW_COLUMNS = (
    "id",
    "service_id",
    "service",
    "problem",
    "suggestion",
    "source",
    "reported_at",
    "phone",
    "address",
    "hours",
)


def _week(record: ServiceRecord) -> str:
    """The hours as a 24-hour week for the review table (a file, not a card: no locale)."""
    return "; ".join(
        f"{WEEKDAYS[i.weekday]} {_hhmm(i.opens)}-{_hhmm(i.closes)}" for i in record.hours
    )


def _hhmm(minutes: int) -> str:
    minutes %= MINUTES_PER_DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


async def review_table(session: AsyncSession) -> ReportTable:
    """The open reports, oldest first, each with the listing as it is now."""
    rows: list[Mapping[str, Any]] = []
    for report in await open_reports(session):
        record = await service_record(session, report.service_id)
        rows.append(
            {
                "id": report.id,
                "service_id": report.service_id,
                "service": record.name if record else None,
                "problem": report.problem,
                "suggestion": report.suggestion,
                "source": report.source,
                "reported_at": report.created_at,
                "phone": ", ".join(line.number for line in record.phones) if record else None,
                "address": "; ".join(p.address for p in record.places if p.address)
                if record
                else None,
                "hours": _week(record) if record else None,
            }
        )
    return ReportTable(REVIEW_COLUMNS, rows, "Reports waiting for review, oldest first")
