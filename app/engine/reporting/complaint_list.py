"""The complaint list and its CSV export: filters in SQL, the read policy's scope, keyset pages.

Newest first by id: a complaint's id is given at registration, in the order complaints are received, so the
primary key serves both the order and the keyset (``id < last``): page 2,000 costs what page 1 costs, at
100,000 complaints as at 100, with no index of its own. The filters are columns of the complaints row. Which
complaints an actor sees is read_policy.complaint_scope, which columns read_policy's field classes: a column
the actor may not see is blank, in the list and in the export alike.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select

from app.engine import audit
from app.engine.access import permissions, read_policy
from app.engine.access.permissions import TableSource
from app.engine.complaints.search import search_condition
from app.engine.core.actors import Actor
from app.engine.core.errors import InvalidSubmission, NotAllowed
from app.engine.core.times import OutOfRange, filter_day
from app.engine.models import Complaint
from app.engine.models.base import MAX_ROW_ID

if TYPE_CHECKING:
    from sqlalchemy import Row, Select

    from app.engine.config.settings import Settings
    from app.engine.runtime import UnitOfWork

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
EXPORT_BATCH = 1000
COLUMNS = ("id", "tracking_number", "received_at", "customer_name", "channel", "category", "severity", "status",
           "lead_department", "due_at", "is_overdue", "reopen_count", "closed_at")


@dataclass(frozen=True)
class ComplaintFilters:
    status: str | None = None
    category: str | None = None
    channel: str | None = None
    department: str | None = None          # the lead department
    overdue: bool | None = None
    received_from: date | None = None      # calendar dates in the reader's time zone
    received_to: date | None = None        # inclusive
    q: str | None = None                   # tracking-number prefix or part of the customer's name
    zone: tzinfo | None = None             # the time zone the dates are meant in (default UTC)


@dataclass
class ComplaintPage:
    rows: list[dict]
    next_cursor: str | None
    limit: int


# Who lists and exports: config/permissions.toml. A customer lists their own complaints (the read policy's
# scope) to follow them; the columns they may not see come back blank, as for everyone.

def may_list(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "complaint.list") or permissions.may(source, actor, "complaint.list_own")


def lists_only_own(source: TableSource, actor: Actor) -> bool:
    """A customer's list: their own complaints, followed rather than managed (no filters, no export)."""
    return not permissions.may(source, actor, "complaint.list") and permissions.may(source, actor, "complaint.list_own")


def may_export(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "complaint.export")


def parse_filters(args: Mapping[str, str], zone: tzinfo | None = None) -> ComplaintFilters:
    errors: dict[str, list[str]] = {}
    values: dict = {"zone": zone}
    for name in ("status", "category", "channel", "department"):
        if args.get(name):
            values[name] = args[name]
    if (args.get("q") or "").strip():
        values["q"] = args["q"].strip()
    if args.get("overdue") not in (None, ""):
        flag = {"true": True, "1": True, "false": False, "0": False}.get(str(args["overdue"]).lower())
        if flag is None:
            errors["overdue"] = ["Use true or false"]
        values["overdue"] = flag
    for name in ("received_from", "received_to"):
        if args.get(name):
            try:
                values[name] = filter_day(args[name])
            except OutOfRange as err:  # a real day, but one whose bounds would overflow (9999-12-31)
                errors[name] = [str(err)]
            except ValueError:
                errors[name] = ["Give a date as YYYY-MM-DD"]
    if errors:
        raise InvalidSubmission(errors)
    return ComplaintFilters(**values)


def _conditions(settings: Settings, actor: Actor, filters: ComplaintFilters, now: datetime) -> list:
    conditions = [read_policy.complaint_scope(settings, actor)]
    for name, column in (("status", Complaint.status), ("category", Complaint.category),
                         ("channel", Complaint.channel), ("department", Complaint.lead_department)):
        if getattr(filters, name):
            conditions.append(column == getattr(filters, name))
    if filters.overdue is True:
        conditions.append(or_(Complaint.is_overdue.is_(True), and_(Complaint.due_at <= now,
                                                                  Complaint.closed_at.is_(None))))
    elif filters.overdue is False:
        conditions.append(and_(Complaint.is_overdue.is_(False),
                               or_(Complaint.due_at.is_(None), Complaint.due_at > now)))
    zone = filters.zone or UTC
    if filters.received_from:
        conditions.append(Complaint.received_at >= datetime.combine(filters.received_from, time(), zone))
    if filters.received_to:
        end = datetime.combine(filters.received_to + timedelta(days=1), time(), zone)
        conditions.append(Complaint.received_at < end)
    if filters.q:
        conditions.append(search_condition(filters.q))
    return conditions


def _query(uow: UnitOfWork, actor: Actor, filters: ComplaintFilters) -> Select:
    return (select(*[getattr(Complaint, c) for c in COLUMNS])
            .where(*_conditions(uow.settings, actor, filters, uow.now())))


def list_complaints(uow: UnitOfWork, actor: Actor, filters: ComplaintFilters | None = None, *, after: str | None = None,
                    limit: int = DEFAULT_LIMIT) -> ComplaintPage:
    if not may_list(uow, actor):
        raise NotAllowed("The complaint list is for complaint management, its head, compliance and (their own "
                         "complaints) customers")
    limit = max(1, min(int(limit), MAX_LIMIT))
    query = _query(uow, actor, filters or ComplaintFilters())
    if after:
        query = query.where(Complaint.id < decode_cursor(after))
    rows = uow.session.execute(query.order_by(Complaint.id.desc()).limit(limit + 1)).all()
    hidden = _hidden(uow, actor)
    shown = [_row(r, hidden) for r in rows[:limit]]
    cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return ComplaintPage(rows=shown, next_cursor=cursor, limit=limit)


def export_rows(uow: UnitOfWork, actor: Actor, filters: ComplaintFilters | None = None) -> Iterator[dict]:
    """Every complaint the filters match, newest first, in batches (the export never holds them all)."""
    if not may_export(uow, actor):
        raise NotAllowed("Exports are for the head of complaints and compliance")
    query = _query(uow, actor, filters or ComplaintFilters())
    hidden = _hidden(uow, actor)
    last_id = None
    while True:
        batch = query if last_id is None else query.where(Complaint.id < last_id)
        rows = uow.session.execute(batch.order_by(Complaint.id.desc()).limit(EXPORT_BATCH)).all()
        for row in rows:
            yield _row(row, hidden)
        if len(rows) < EXPORT_BATCH:
            return
        last_id = rows[-1].id


def _hidden(uow: UnitOfWork, actor: Actor) -> frozenset[str]:
    visible = read_policy.visible_classes(uow, actor)
    return frozenset(c for c in COLUMNS if read_policy.COMPLAINT_FIELDS.get(c, read_policy.INTERNAL) not in visible)


def _row(row: Row, hidden: frozenset[str]) -> dict:
    return {c: (None if c in hidden else getattr(row, c)) for c in COLUMNS}


def record_export(uow: UnitOfWork, actor: Actor, filters: ComplaintFilters | None, *, rows: int,
                  complete: bool) -> None:
    """Who exported which complaints (the filters) and how many rows left the system; ``complete`` is False
    when the export broke off (the reader went away, an error) after ``rows`` rows."""
    audit.record(uow, actor, "complaints_exported", format="csv", filters=filter_values(filters), rows=rows,
                 complete=complete)


def filter_values(filters: ComplaintFilters | None) -> dict:
    """The filters that were set, as JSON values (dates as YYYY-MM-DD, the zone they are meant in by name)."""
    values: dict = {}
    for name, value in vars(filters or ComplaintFilters()).items():
        if value is not None:
            values[name] = value.isoformat() if isinstance(value, date) else str(value) if name == "zone" else value
    return values


def encode_cursor(row: Row) -> str:
    return base64.urlsafe_b64encode(json.dumps([row.id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        (complaint_id,) = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(complaint_id, int) or not 1 <= complaint_id <= MAX_ROW_ID:
            raise ValueError(complaint_id)  # out of range, the database would fail on it
        return complaint_id
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidSubmission(
            {"after": ["This cursor is not one this list handed out; start from page one"]}) from None
