"""The work list (services/worklist.py): views, filters in SQL, keyset pages, permissions, follow-up dates."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.engine.complaints import registration
from app.engine.core.errors import InvalidSubmission, NotAllowed
from app.engine.demo.simulation import sample_registration
from app.engine.models import Complaint, UserTask
from app.engine.work import worklist
from app.engine.work.worklist import TaskFilters


def page(runtime, actor, view="team", limit=50, after=None, **filters):
    with runtime.unit_of_work() as uow:
        return worklist.list_tasks(uow, actor, view=view, filters=TaskFilters(**filters), after=after, limit=limit)


def ids(runtime, actor, view="team", **filters) -> list[int]:
    return [item.id for item in page(runtime, actor, view, limit=200, **filters).items]


def every_page(runtime, actor, view, limit, **filters) -> list[int]:
    seen, after = [], None
    for _ in range(100):   # a cursor that does not advance must fail the test, not hang it
        result = page(runtime, actor, view, limit=limit, after=after, **filters)
        assert len(result.items) <= limit
        seen += [item.id for item in result.items]
        if result.next_cursor is None:
            return seen
        after = result.next_cursor
    raise AssertionError(f"still paging after 100 pages: {seen[:20]}...")


def set_tasks(runtime, task_ids, **values) -> None:
    with runtime.unit_of_work() as uow:
        uow.session.execute(update(UserTask).where(UserTask.id.in_(list(task_ids))).values(**values))


def ready_task(case, cid, name="classify_complaint") -> UserTask:
    return case.task(cid, name)


# --- views -----------------------------------------------------------------------------------------------

def test_team_view_is_my_lanes_and_department_unclaimed(case, actors):
    first, second = case.register(1), case.register(2)
    classify = [ready_task(case, first).id, ready_task(case, second).id]
    assert ids(case.runtime, actors["intake"]) == classify
    assert ids(case.runtime, actors["approver"]) == []
    case.classify(first)
    triage = ready_task(case, first, "triage_complaint").id
    assert ids(case.runtime, actors["coordinator"]) == [classify[1], triage]   # the intake lane is theirs too
    case.triage(first, lead="cards", co=["e_banking"])
    cards = case.task(first, "investigate_complaint", "cards").id
    assert ids(case.runtime, actors["cards.officer"]) == [cards]
    assert ids(case.runtime, actors["e_banking.officer"]) == [case.task(first, "investigate_complaint",
                                                                        "e_banking").id]
    # Claimed by someone: gone from the team list, in the claimant's own.
    set_tasks(case.runtime, [classify[1]], assignee_id=actors["coordinator"].user_id)
    assert ids(case.runtime, actors["intake"]) == []
    assert ids(case.runtime, actors["coordinator"], "mine") == [classify[1]]
    assert ids(case.runtime, actors["intake"], "mine") == []


def test_mine_hides_a_task_until_its_follow_up_date(case, actors, clock):
    cid = case.register()
    task_id = ready_task(case, cid).id
    intake = actors["intake"]
    set_tasks(case.runtime, [task_id], assignee_id=intake.user_id, follow_up_at=clock.now() + timedelta(days=2))
    assert ids(case.runtime, intake, "mine") == []
    assert ids(case.runtime, intake, "mine", include_follow_up=True) == [task_id]
    with case.runtime.unit_of_work() as uow:
        assert worklist.count_tasks(uow, intake) == {"mine": 0, "team": 0}
    clock.advance(days=2)
    assert ids(case.runtime, intake, "mine") == [task_id]
    with case.runtime.unit_of_work() as uow:
        assert worklist.count_tasks(uow, intake) == {"mine": 1, "team": 0}


def test_all_view_is_for_coordinators_and_heads_only(case, actors):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    expected = sorted(t.id for t in case.ready(cid))
    for name in ("coordinator", "head"):
        assert sorted(ids(case.runtime, actors[name], "all")) == expected
    for name in ("intake", "cards.officer", "approver", "customer"):
        with pytest.raises(NotAllowed):
            page(case.runtime, actors[name], "all")
    with pytest.raises(InvalidSubmission):
        page(case.runtime, actors["coordinator"], "everything")


def test_a_customer_sees_only_tasks_on_their_own_complaints(case, actors):
    customer = actors["customer"]
    with case.runtime.unit_of_work() as uow:
        own = registration.register_complaint(uow, customer, sample_registration(5)).id
    other = case.register(6)
    for cid in (own, other):
        case.classify(cid)
        case.triage(cid, lead="cards")
        case.investigate(cid, "cards")
        case.draft(cid)
        case.approve(cid)
    feedback = {cid: ready_task(case, cid, "record_feedback").id for cid in (own, other)}
    assert ids(case.runtime, customer) == [feedback[own]]
    assert sorted(ids(case.runtime, actors["intake"])) == sorted(feedback.values())   # the desk answers the phone
    item = page(case.runtime, customer).items[0]
    assert item.customer_name == "Customer 5" and item.severity is None and item.urgent is None  # read policy
    with case.runtime.unit_of_work() as uow:
        assert worklist.count_tasks(uow, customer) == {"mine": 0, "team": 1}


# --- rows, order and pages -------------------------------------------------------------------------------

def test_a_row_carries_what_the_inbox_shows_and_the_sla_used(case, actors, clock):
    cid = case.register(3)
    item = page(case.runtime, actors["intake"]).items[0]
    complaint = case.complaint(cid)
    assert (item.tracking_number, item.customer_name, item.category, item.channel) == (
        complaint.tracking_number, "Customer 3", complaint.category, complaint.channel)
    assert item.title and item.form == "classify_complaint.schema.json" and item.due_at is not None
    assert item.sla_started_at == clock.now() and item.sla_used == 0
    span = item.due_at - item.sla_started_at
    clock.advance(span * 0.8)
    item = page(case.runtime, actors["intake"]).items[0]
    assert item.sla_used == pytest.approx(0.8, abs=0.001) and not item.is_overdue
    clock.advance(span * 0.3)
    item = page(case.runtime, actors["intake"]).items[0]
    assert item.sla_used > 1 and item.is_overdue and item.as_dict()["is_overdue"] is True


def test_keyset_pages_are_stable_with_equal_and_missing_due_times(case, actors, clock):
    cids = [case.register(n) for n in range(9)]
    tasks = [ready_task(case, cid).id for cid in cids]
    due = clock.now() + timedelta(hours=5)
    set_tasks(case.runtime, tasks[0:4], due_at=due)                       # four share one due time
    set_tasks(case.runtime, tasks[4:6], due_at=due - timedelta(hours=1))  # two come first
    set_tasks(case.runtime, tasks[6:8], due_at=None)                       # two have none: last, by id
    expected = tasks[4:6] + tasks[0:4] + [tasks[8]] + tasks[6:8]           # tasks[8] keeps its real due time
    with case.runtime.unit_of_work() as uow:
        real_due = uow.session.get(UserTask, tasks[8]).due_at
    assert real_due > due
    intake = actors["intake"]
    assert ids(case.runtime, intake) == expected
    for limit in (1, 2, 3, 4, 8, 9):
        assert every_page(case.runtime, intake, "team", limit) == expected
    # A task completed between two pages neither shifts nor repeats the rest.
    first = page(case.runtime, intake, limit=3)
    case.classify(cids[4])
    rest = every_page_after(case.runtime, intake, first.next_cursor, 3)
    assert [i.id for i in first.items] + rest == expected


def every_page_after(runtime, actor, after, limit) -> list[int]:
    seen = []
    for _ in range(100):
        if not after:
            return seen
        result = page(runtime, actor, limit=limit, after=after)
        seen += [item.id for item in result.items]
        after = result.next_cursor
    raise AssertionError(f"still paging after 100 pages: {seen[:20]}...")


def test_a_cursor_not_handed_out_is_refused(case, actors):
    case.register()
    # ... including ids no row can have ([null, 10**30] and [null, 0]): the database would fail on them (a 500).
    for cursor in ("garbage", "W10", "WyJ4IiwgMV0", "W251bGwsMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMF0",
                   "W251bGwsMF0"):
        with pytest.raises(InvalidSubmission):
            page(case.runtime, actors["intake"], after=cursor)


# --- filters ---------------------------------------------------------------------------------------------

def test_filters(case, actors, clock):
    intake, coordinator = actors["intake"], actors["coordinator"]
    cids = [case.register(n) for n in range(4)]
    tasks = {cid: ready_task(case, cid).id for cid in cids}
    # sample_registration(n): category CATEGORIES[n % 8], channel CHANNELS[n % 7]; make one urgent.
    with case.runtime.unit_of_work() as uow:
        uow.session.execute(update(Complaint).where(Complaint.id == cids[2]).values(urgent=True))
        rows = {c.id: c for c in uow.session.scalars(select(Complaint))}
    assert ids(case.runtime, intake, category=rows[cids[1]].category) == [tasks[cids[1]]]
    assert ids(case.runtime, intake, channel=rows[cids[3]].channel) == [tasks[cids[3]]]
    assert ids(case.runtime, intake, urgent=True) == [tasks[cids[2]]]
    assert tasks[cids[2]] not in ids(case.runtime, intake, urgent=False)
    assert ids(case.runtime, intake, lane="Intake desk") == list(tasks.values())
    assert ids(case.runtime, intake, lane="Departments") == []

    # Search: tracking-number prefix in any case, any part of the name in any case.
    tracking = rows[cids[3]].tracking_number
    assert ids(case.runtime, intake, q=tracking[:-2].lower()) == [tasks[cids[3]]]
    assert ids(case.runtime, intake, q="customer 2") == [tasks[cids[2]]]
    assert ids(case.runtime, intake, q="TOMER 1") == [tasks[cids[1]]]
    assert ids(case.runtime, intake, q="%") == []                         # wildcards are literal
    assert ids(case.runtime, intake, q=tracking[3:]) == []                # tracking numbers match by prefix only

    # Due before / overdue.
    set_tasks(case.runtime, [tasks[cids[0]]], due_at=clock.now() + timedelta(hours=1))
    assert ids(case.runtime, intake, due_before=clock.now() + timedelta(hours=2)) == [tasks[cids[0]]]
    assert ids(case.runtime, intake, overdue=True) == []
    clock.advance(hours=1)
    assert ids(case.runtime, intake, overdue=True) == [tasks[cids[0]]]

    # Department: in the "all" view, the tasks of one department.
    case.classify(cids[0])
    case.triage(cids[0], lead="cards", co=["e_banking"])
    cards = case.task(cids[0], "investigate_complaint", "cards").id
    assert ids(case.runtime, coordinator, "all", department="cards") == [cards]
    assert ids(case.runtime, actors["e_banking.officer"], department="cards") == []


def test_counts_match_the_lists(case, actors):
    for n in range(3):
        case.register(n)
    cid = case.register(3)
    case.classify(cid)
    coordinator = actors["coordinator"]
    set_tasks(case.runtime, [ready_task(case, cid, "triage_complaint").id], assignee_id=coordinator.user_id)
    with case.runtime.unit_of_work() as uow:
        counts = worklist.count_tasks(uow, coordinator)
    assert counts == {view: len(ids(case.runtime, coordinator, view)) for view in ("mine", "team", "all")}
    assert counts == {"mine": 1, "team": 3, "all": 4}


def test_parse_filters_and_limit():
    filters = worklist.parse_filters({"category": "product", "overdue": "true", "urgent": "0", "q": "  li ",
                                      "due_before": "2026-11-30T18:00:00+08:00", "follow_up": "yes"})
    assert (filters.category, filters.overdue, filters.urgent, filters.q, filters.include_follow_up) == (
        "product", True, False, "li", True)
    assert filters.due_before.isoformat() == "2026-11-30T10:00:00+00:00"
    with pytest.raises(InvalidSubmission) as err:
        worklist.parse_filters({"overdue": "maybe", "due_before": "tomorrow"})
    assert set(err.value.errors) == {"overdue", "due_before"}
    assert worklist.parse_limit(None) == 50 and worklist.parse_limit("200") == 200
    for bad in ("0", "201", "x"):
        with pytest.raises(InvalidSubmission):
            worklist.parse_limit(bad)


# --- the API ---------------------------------------------------------------------------------------------

def test_api_pages_with_a_next_link_and_counts(case, demo):
    import base64

    from app.web import create_app

    for n in range(5):
        case.register(n)
    client = create_app(runtime=demo, config={"TESTING": True}).test_client()
    headers = {"Authorization": "Basic " + base64.b64encode(b"intake:intake-demo").decode()}
    response = client.get("/api/v1/tasks?limit=2", headers=headers)
    assert response.status_code == 200
    body = response.json
    assert body["view"] == "team" and len(body["tasks"]) == 2 and body["counts"] == {"mine": 0, "team": 5}
    assert {"tracking_number", "customer_name", "due_at", "sla_used", "title"} <= set(body["tasks"][0])
    seen = [t["id"] for t in body["tasks"]]
    while body["next"]:
        assert "limit=2" in body["next"]
        body = client.get(body["next"], headers=headers).json
        assert "counts" not in body
        seen += [t["id"] for t in body["tasks"]]
    assert len(seen) == len(set(seen)) == 5
    assert client.get("/api/v1/tasks?view=all", headers=headers).status_code == 403
    assert client.get("/api/v1/tasks?limit=500", headers=headers).status_code == 422
    assert client.get("/api/v1/tasks?after=nonsense", headers=headers).status_code == 422
