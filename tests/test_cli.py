"""The `complaintflow` command, invoked as a user would, against the test database.

The CLI builds its own runtime (system clock) from DATABASE_URL; the ``runtime`` fixture empties the tables
afterwards and lets the tests look at what the commands did through the services.
"""
from __future__ import annotations

import re
import shutil
from datetime import timedelta

from sqlalchemy import select

from app.engine.config.settings import DEFAULT_PROCESSES_DIR
from app.engine.governance import definitions
from app.engine.identity.users import actor_for
from app.engine.models import Complaint, ProcessInstance, User
from tests.support import CaseDriver

PROCESS_FILES = sorted(str(p) for p in DEFAULT_PROCESSES_DIR.glob("*.bpmn"))


def versions(runtime) -> dict[str, list[int]]:
    with runtime.unit_of_work() as uow:
        found: dict[str, list[int]] = {}
        for d in definitions.list_definitions(uow):
            found.setdefault(d.process_id, []).append(d.version)
        return found


def driver(runtime) -> CaseDriver:
    with runtime.unit_of_work() as uow:
        actors = {u.username: actor_for(u) for u in uow.session.scalars(select(User))}
    return CaseDriver(runtime, actors)


def instance_version(runtime, complaint_id: int) -> int:
    with runtime.unit_of_work() as uow:
        return uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == complaint_id)
                                   ).one().definition.version


def copy_processes(tmp_path):
    directory = tmp_path / "processes"
    directory.mkdir()
    for path in PROCESS_FILES:
        shutil.copy(path, directory)
    return directory


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path, fragment: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if fragment in line)


# --- init-db, load-demo -----------------------------------------------------------------------------------------

def test_init_db_is_idempotent_and_keeps_the_data(demo_cli, runtime):
    first = demo_cli("init-db")
    assert first.output.startswith("database ready: ")
    demo_cli("init-db")
    with runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(User).where(User.username == "intake")) is not None
    assert versions(runtime) == {"complaint_handling": [1], "escalation": [1], "mail_intake": [1]}


def test_load_demo_prints_users_and_definitions(cli, runtime):
    result = cli("load-demo")
    users_line, definitions_line = result.output.splitlines()
    assert users_line.startswith("users: ")
    assert {"intake", "coordinator", "cards.officer"} <= set(users_line.removeprefix("users: ").split(", "))
    assert sorted(definitions_line.removeprefix("definitions: ").split(", ")) == ["complaint_handling v1",
                                                                                 "escalation v1", "mail_intake v1"]
    assert versions(runtime) == {"complaint_handling": [1], "escalation": [1], "mail_intake": [1]}


# --- validate ---------------------------------------------------------------------------------------------------

def test_validate_accepts_the_shipped_processes(cli):
    result = cli("validate", *PROCESS_FILES)
    assert f"{len(PROCESS_FILES)} file(s) valid" in result.output


def test_validate_reports_every_error_with_file_line_and_element(cli, tmp_path):
    directory = copy_processes(tmp_path)
    broken = directory / "complaint_handling.bpmn"
    edit(broken, '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">approval_decision == "approve"'
                 '</bpmn:conditionExpression>', "")
    edit(broken, 'value="approve_resolution.schema.json"', 'value="approve_resolution_missing.schema.json"')

    result = cli("validate", *sorted(directory.glob("*.bpmn")), exit_code=1)
    flow_line = line_of(broken, 'id="flow_approved_to_send_reply"')
    form_line = line_of(broken, "approve_resolution_missing.schema.json")
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"complaint_handling.bpmn:{flow_line} [flow_approved_to_send_reply 'Approved']: ")
               and "conditionExpression" in line for line in lines), result.stderr
    assert any(line.startswith(f"complaint_handling.bpmn:{form_line} [approve_resolution 'Approve resolution']: ")
               and "approve_resolution_missing.schema.json" in line for line in lines), result.stderr
    assert lines[-1].startswith("2 error(s)")
    assert "valid" not in result.stdout


# --- deploy -----------------------------------------------------------------------------------------------------

def test_deploy_of_unchanged_files_creates_no_new_version(demo_cli, runtime):
    result = demo_cli("deploy")
    assert sorted(result.output.split("\n")[:3]) == ["complaint_handling v1 (complaint_handling.bpmn)",
                                                     "escalation v1 (escalation.bpmn)",
                                                     "mail_intake v1 (mail_intake.bpmn)"]
    demo_cli("deploy")
    assert versions(runtime) == {"complaint_handling": [1], "escalation": [1], "mail_intake": [1]}


def test_changed_file_deploys_version_2_and_running_cases_keep_version_1(demo_cli, runtime, tmp_path):
    case = driver(runtime)
    running = case.register()
    directory = copy_processes(tmp_path)
    edit(directory / "complaint_handling.bpmn", "<bpmn:documentation>The complaint is closed.</bpmn:documentation>",
         "<bpmn:documentation>The complaint is closed and archived.</bpmn:documentation>")

    result = demo_cli("deploy", directory)
    assert "complaint_handling v2 (complaint_handling.bpmn)" in result.output
    assert "escalation v1 (escalation.bpmn)" in result.output
    assert versions(runtime) == {"complaint_handling": [1, 2], "escalation": [1], "mail_intake": [1]}
    with runtime.unit_of_work() as uow:
        latest = definitions.latest_definition(uow.session, "complaint_handling")
        assert "closed and archived" in latest.bpmn_source

    case.classify(running)  # the running case goes on, on the version it started with
    assert instance_version(runtime, running) == 1
    assert case.ready_names(running) == ["triage_complaint"]
    assert instance_version(runtime, case.register(2)) == 2


def test_broken_deploy_prints_the_errors_and_deploys_nothing(demo_cli, runtime, tmp_path):
    directory = copy_processes(tmp_path)
    edit(directory / "complaint_handling.bpmn", 'value="triage_complaint.schema.json"',
         'value="no_such_form.schema.json"')
    # a valid change in the other file of the bundle: not deployed either
    edit(directory / "escalation.bpmn", "Called when a complaint misses an SLA deadline",
         "Called when a complaint has missed an SLA deadline")

    result = demo_cli("deploy", directory, exit_code=1)
    assert "[triage_complaint" in result.stderr and "no_such_form.schema.json" in result.stderr
    assert "1 error(s); nothing deployed" in result.stderr
    assert result.stdout == ""
    assert versions(runtime) == {"complaint_handling": [1], "escalation": [1], "mail_intake": [1]}


# --- simulate, fire-timers (tokens: tests/test_tokens_cli.py) -------------------------------------------------

def test_simulate_drives_complaints_to_closure_and_prints_the_rate(demo_cli, runtime):
    result = demo_cli("simulate", 3)
    assert re.search(r"^3 complaints, \d+ tasks completed in [\d.]+ s: [\d.]+ complaints/s$", result.output.strip())
    with runtime.unit_of_work() as uow:
        statuses = uow.session.scalars(select(Complaint.status)).all()
    assert statuses == ["closed"] * 3


def test_fire_timers_fires_the_first_response_timer_once_due(demo_cli, runtime):
    case = driver(runtime)
    cid = case.register()
    received = case.complaint(cid).received_at

    early = demo_cli("fire-timers", "--now", (received + timedelta(hours=23)).isoformat())
    # 23 of 24 hours: both thresholds (75 %, 90 %) passed by the same clock: one warning (the 90 % level) to the
    # intake desk (the lane of the unclaimed task) and the coordinator
    assert early.output.splitlines() == ["fired 0 timer(s) on 0 instance(s), 0 failed", "warned 1 time(s) (2 message(s))"]
    assert not case.complaint(cid).is_overdue

    late = demo_cli("fire-timers", "--now", (received + timedelta(hours=25)).isoformat())
    assert late.output.splitlines()[0] == "fired 1 timer(s) on 1 instance(s), 0 failed"
    complaint = case.complaint(cid)
    assert complaint.is_overdue and [b["sla"] for b in complaint.breached_slas] == ["first_response"]
    assert [t.state for t in case.timers(cid) if t.element_id == "first_response_overdue"] == ["fired"]
    assert case.ready_names(cid) == ["classify_complaint", "intervene_overdue_complaint"]


# --- users: a reset password or a deactivated account ends every session -----------------------------------------

def test_users_set_password_and_deactivate_end_the_users_sessions(demo_cli, runtime):
    from app.engine.identity import sessions
    from app.engine.identity.users import check_password, sign_in_record
    signs_in = lambda uow, password: check_password(sign_in_record(uow, "intake"), password)
    with runtime.unit_of_work() as uow:
        user = uow.session.scalar(select(User).where(User.username == "intake"))
        first = sessions.start(uow, user.id).session_id
    result = demo_cli("users", "set-password", "intake", "--password", "a-new-long-password")
    assert "1 session(s) ended" in result.output
    with runtime.unit_of_work() as uow:
        assert sessions.check(uow, first).user is None  # the browser signed in with the old password is out
        assert signs_in(uow, "a-new-long-password") is not None and signs_in(uow, "intake-demo") is None
        second = sessions.start(uow, user.id).session_id
    demo_cli("users", "deactivate", "intake")
    with runtime.unit_of_work() as uow:
        assert sessions.check(uow, second).user is None
        assert signs_in(uow, "a-new-long-password") is None
    assert "No user named 'nobody'" in demo_cli("users", "deactivate", "nobody", exit_code=1).output
