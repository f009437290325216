"""Saved inbox filters (work/saved_filters.py): normalised and validated on save, per user, named once each,
at most MAX_PER_USER each."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.engine.core.errors import InvalidSubmission, NotAllowed, NotFound
from app.engine.models import AuditEvent, SavedFilter
from app.engine.work import saved_filters
from app.engine.work.saved_filters import MAX_PER_USER


def _run(runtime, command, *args):
    with runtime.unit_of_work() as uow:
        return command(uow, *args)


def _names(runtime, actor) -> list[str]:
    return [f.name for f in _run(runtime, saved_filters.list_filters, actor)]


def test_the_query_keeps_only_the_work_lists_filters_in_one_order():
    query = saved_filters.normalise("?department=cards&after=abc&view=all&evil=1&urgent=yes&overdue=false"
                                    "&q=%20CF-2026%20&limit=5&due_before=2027-01-31&category=")
    assert query == "view=all&q=CF-2026&due_before=2027-01-31&urgent=true&department=cards"
    assert saved_filters.normalise({"overdue": "1", "view": "team"}) == "view=team&overdue=true"
    assert saved_filters.normalise({"after": "x"}) == ""


@pytest.mark.parametrize(("args", "field"), [
    ({"view": "everything"}, "view"),
    ({"due_before": "31/01/2027"}, "due_before"),
    ({"due_before": "0001-01-01"}, "due_before"),
    ({"urgent": "maybe"}, "urgent"),
    ({"q": "x" * 201}, "q"),
])
def test_a_value_the_work_list_would_refuse_is_refused_on_save(args, field):
    with pytest.raises(InvalidSubmission) as refused:
        saved_filters.normalise(args)
    assert field in refused.value.errors


def test_filters_are_each_users_own(demo, actors):
    coordinator, officer = actors["coordinator"], actors["cards.officer"]
    saved = _run(demo, saved_filters.save_filter, coordinator, "Overdue cards",
                 {"view": "all", "department": "cards", "overdue": "true", "next": "/elsewhere"})
    assert saved.query == "view=all&overdue=true&department=cards"
    _run(demo, saved_filters.save_filter, officer, "Overdue cards", {"overdue": "true"})  # same name, other user
    assert _names(demo, coordinator) == _names(demo, officer) == ["Overdue cards"]
    for command, args in ((saved_filters.rename_filter, ("Mine now",)), (saved_filters.delete_filter, ())):
        with pytest.raises(NotFound):
            _run(demo, command, officer, saved.id, *args)
    _run(demo, saved_filters.rename_filter, coordinator, saved.id, "  Overdue\n cards (all) ")
    assert _names(demo, coordinator) == ["Overdue cards (all)"]
    _run(demo, saved_filters.delete_filter, coordinator, saved.id)
    assert _names(demo, coordinator) == [] and _names(demo, officer) == ["Overdue cards"]
    # A personal preference: no audit event (see the module's docstring).
    with demo.unit_of_work() as uow:
        assert not uow.session.scalar(select(func.count()).select_from(AuditEvent)
                                      .where(AuditEvent.action.like("%filter%")))


def test_names_are_unique_per_user_whatever_the_case(demo, actors):
    coordinator = actors["coordinator"]
    first = _run(demo, saved_filters.save_filter, coordinator, "Urgent", {"urgent": "true"})
    second = _run(demo, saved_filters.save_filter, coordinator, "Cards", {"department": "cards"})
    with pytest.raises(InvalidSubmission) as same:
        _run(demo, saved_filters.save_filter, coordinator, "URGENT", {"urgent": "false"})
    assert same.value.errors == {"name": [saved_filters.SAME_NAME]}
    with pytest.raises(InvalidSubmission):
        _run(demo, saved_filters.rename_filter, coordinator, second.id, "urgent")
    _run(demo, saved_filters.rename_filter, coordinator, first.id, "urgent")  # its own name, another case
    assert _names(demo, coordinator) == ["Cards", "urgent"]


@pytest.mark.parametrize(("name", "args", "field"), [
    ("", {"urgent": "true"}, "name"),
    ("   ", {"urgent": "true"}, "name"),
    ("x" * 81, {"urgent": "true"}, "name"),
    ("Evil \u202e name", {"urgent": "true"}, "name"),
    ("Nothing", {"view": "team"}, "query"),
])
def test_a_filter_needs_a_name_and_a_filter(demo, actors, name, args, field):
    with pytest.raises(InvalidSubmission) as refused:
        _run(demo, saved_filters.save_filter, actors["coordinator"], name, args)
    assert field in refused.value.errors


def test_at_most_so_many_per_user(demo, actors):
    coordinator = actors["coordinator"]
    for n in range(MAX_PER_USER):
        _run(demo, saved_filters.save_filter, coordinator, f"Filter {n}", {"q": f"CF-{n}"})
    with pytest.raises(InvalidSubmission) as full:
        _run(demo, saved_filters.save_filter, coordinator, "One more", {"q": "CF"})
    assert full.value.errors == {"name": [saved_filters.TOO_MANY]}
    _run(demo, saved_filters.save_filter, actors["head"], "One more", {"q": "CF"})  # someone else's limit
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(SavedFilter)) == MAX_PER_USER + 1


def test_customers_keep_no_saved_filters(demo, actors):
    with pytest.raises(NotAllowed):
        _run(demo, saved_filters.save_filter, actors["customer"], "Mine", {"q": "CF"})
    with pytest.raises(NotAllowed):
        _run(demo, saved_filters.list_filters, actors["customer"])
