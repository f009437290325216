"""A person's saved inbox filters: a name and a filter set they open again with one click.

The filter set is stored as a query string of the inbox, normalised: only the keys the work list accepts
(``FILTER_KEYS``, the inbox's fields plus its tab), each validated by the work list's own parser, empty values and
unknown keys dropped, in a fixed order. So a saved filter always opens, and the same filters saved twice are the
same string. A due date is a calendar day (``due_before=YYYY-MM-DD``), read in the reader's time zone when opened,
as the inbox's own field is.

Names are unique per user and at most ``MAX_PER_USER`` filters are kept per user. A saved filter is a personal
preference, like the language and time zone (identity/users.set_preferences): it changes no case, no one else's
work and nobody's access, so it leaves no audit event; the audit trail stays the record of complaint handling.
Every function works on the actor's own filters only: another user's filter is NotFound, not NotAllowed.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select

from app.engine.core.actors import Actor
from app.engine.core.errors import InvalidSubmission, NotAllowed, NotFound
from app.engine.core.times import OutOfRange, filter_day
from app.engine.models import SavedFilter
from app.engine.models.base import MAX_ROW_ID
from app.engine.work import worklist

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

MAX_PER_USER = 20
MAX_NAME = 80
MAX_VALUE = 200
# The inbox's keys, in the order a normalised query string lists them.
# The messages are English sentences the pages translate (the catalog has them).
SAME_NAME = "You already have a saved filter of that name"
TOO_MANY = f"You can keep at most {MAX_PER_USER} saved filters; delete one first"
NO_FILTER = "Choose at least one filter to save"
NO_NAME = "Give the filter a name"
FILTER_KEYS = ("view", "q", "due_before", "overdue", "category", "channel", "urgent", "department", "lane")


def normalise(args: Mapping[str, str] | str) -> str:
    """The query string of the filters in ``args`` (a mapping or a query string) the work list accepts; unknown
    keys and empty values dropped; InvalidSubmission naming the key of a value the work list would refuse."""
    values = dict(parse_qsl(args.lstrip("?"))) if isinstance(args, str) else dict(args)
    kept = {key: str(values[key]).strip() for key in FILTER_KEYS if str(values.get(key) or "").strip()}
    errors: dict[str, list[str]] = {}
    if kept.get("view", "team") not in worklist.VIEWS:
        errors["view"] = [f"Choose one of: {', '.join(worklist.VIEWS)}"]
    for key, value in kept.items():
        if len(value) > MAX_VALUE:
            errors[key] = [f"At most {MAX_VALUE} characters"]
    checked = {k: v for k, v in kept.items() if k not in ("view", "due_before")}
    if "due_before" in kept:
        try:
            day = filter_day(kept["due_before"])
            checked["due_before"] = datetime.combine(day, time(), UTC).isoformat()
        except OutOfRange as err:
            errors["due_before"] = [str(err)]
        except ValueError:
            errors["due_before"] = ["Give a date as YYYY-MM-DD"]
    try:
        filters = worklist.parse_filters(checked)
    except InvalidSubmission as err:
        errors.update(err.errors)
    else:  # flags written one way: true / false
        for key, flag in (("overdue", filters.overdue if "overdue" in kept else None),
                          ("urgent", filters.urgent)):
            if flag is not None and key in kept:
                kept[key] = "true" if flag else "false"
        if kept.get("overdue") == "false":
            del kept["overdue"]  # "not only overdue" is no filter
    if errors:
        raise InvalidSubmission(errors)
    return urlencode(kept)


def list_filters(uow: UnitOfWork, actor: Actor) -> list[SavedFilter]:
    """The actor's saved filters, by name."""
    user_id = _user(actor)
    return list(uow.session.scalars(select(SavedFilter).where(SavedFilter.user_id == user_id)
                                    .order_by(func.lower(SavedFilter.name), SavedFilter.id)))


def save_filter(uow: UnitOfWork, actor: Actor, name: str, args: Mapping[str, str] | str) -> SavedFilter:
    """Save the filters of ``args`` under a new ``name`` (names are unique per user, case aside)."""
    user_id = _user(actor)
    name = _name(name)
    query = normalise(args)
    if not {key for key, _ in parse_qsl(query)} - {"view"}:  # a tab alone: the tabs are one click already
        raise InvalidSubmission({"query": [NO_FILTER]})
    if _named(uow, user_id, name) is not None:
        raise InvalidSubmission({"name": [SAME_NAME]})
    count = uow.session.scalar(select(func.count()).select_from(SavedFilter).where(SavedFilter.user_id == user_id))
    if (count or 0) >= MAX_PER_USER:
        raise InvalidSubmission({"name": [TOO_MANY]})
    now = uow.now()
    saved = SavedFilter(user_id=user_id, name=name, query=query, created_at=now, updated_at=now)
    uow.session.add(saved)
    uow.session.flush()
    return saved


def rename_filter(uow: UnitOfWork, actor: Actor, filter_id: int, name: str) -> SavedFilter:
    saved = _own(uow, actor, filter_id)
    name = _name(name)
    other = _named(uow, saved.user_id, name)
    if other is not None and other.id != saved.id:
        raise InvalidSubmission({"name": [SAME_NAME]})
    saved.name, saved.updated_at = name, uow.now()
    uow.session.flush()
    return saved


def delete_filter(uow: UnitOfWork, actor: Actor, filter_id: int) -> None:
    uow.session.delete(_own(uow, actor, filter_id))
    uow.session.flush()


def _user(actor: Actor) -> int:
    if actor.user_id is None or not actor.is_staff:
        raise NotAllowed("Saved filters belong to the staff's inbox")
    return actor.user_id


def _own(uow: UnitOfWork, actor: Actor, filter_id: int) -> SavedFilter:
    user_id = _user(actor)
    saved = uow.session.get(SavedFilter, filter_id) if 1 <= filter_id <= MAX_ROW_ID else None
    if saved is None or saved.user_id != user_id:  # someone else's is no business of the actor's
        raise NotFound(f"Saved filter {filter_id} does not exist")
    return saved


def _named(uow: UnitOfWork, user_id: int, name: str) -> SavedFilter | None:
    return uow.session.scalar(select(SavedFilter).where(SavedFilter.user_id == user_id,
                                                        func.lower(SavedFilter.name) == name.lower()))


def _name(raw: str) -> str:
    name = " ".join((raw or "").split())  # line breaks and runs of blanks become one space
    if not name:
        raise InvalidSubmission({"name": [NO_NAME]})
    if len(name) > MAX_NAME:
        raise InvalidSubmission({"name": [f"At most {MAX_NAME} characters"]})
    if any(ord(c) < 32 or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in name):
        raise InvalidSubmission({"name": ["Use letters, digits and punctuation only"]})
    return name


__all__ = ["FILTER_KEYS", "MAX_PER_USER", "delete_filter", "list_filters", "normalise", "rename_filter",
           "save_filter"]
