"""Modeler round trip: a process owner opens our diagrams in bpmn-js / Camunda Modeler and saves them.

The re-saved files must still lint clean, keep every SpiffWorkflow extension, pass our validator and run the
full complaint lifecycle through the real services and database. The Node tools live in tools/bpmn; this
test installs them (npm ci) when they are missing and fails, rather than skips, when Node or npm is absent:
CI must run it.
"""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from app.composition import build_runtime
from app.engine.config.settings import load_settings
from app.engine.core.actors import SYSTEM
from app.engine.demo.loader import load_demo
from app.engine.governance import definitions
from app.engine.identity.users import actor_for
from app.engine.intake.mail import take_in
from app.engine.models import Complaint, ProcessInstance, User, UserTask
from app.engine.work import user_tasks
from app.intake.parsing import parse
from app.scheduler import fire_due_timers
from tests.support import CaseDriver

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "bpmn"
PROCESSES = ROOT / "processes"
PROCESS_FILES = ("complaint_handling.bpmn", "escalation.bpmn", "mail_intake.bpmn")
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable, with tools/bpmn/node_modules installed from package-lock.json if missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js (>= 20) is required for the modeler round trip test: install node and npm")
    if not (TOOLS / "node_modules").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"npm is required to install the BPMN tools into {TOOLS / 'node_modules'}: install npm")
        result = _run([npm, "ci", "--no-audit", "--no-fund"], cwd=TOOLS)
        if result.returncode != 0:
            pytest.fail(f"`npm ci` in {TOOLS} failed:\n{result.stdout}\n{result.stderr}")
    return node


def lint(node: str, *files: Path) -> subprocess.CompletedProcess:
    return _run([node, str(TOOLS / "lint.mjs"), *map(str, files)], cwd=ROOT)


@pytest.fixture(scope="session")
def resaved_dir(node, tmp_path_factory) -> Path:
    """processes/*.bpmn read and written back as the modeler does on save."""
    directory = tmp_path_factory.mktemp("resaved")
    for name in PROCESS_FILES:
        result = _run([node, str(TOOLS / "roundtrip.mjs"), str(PROCESSES / name), str(directory / name)], cwd=ROOT)
        assert result.returncode == 0, f"roundtrip of {name} failed:\n{result.stdout}\n{result.stderr}"
    return directory


def spiff_extensions(path: Path) -> list[tuple]:
    """Every spiffworkflow element, with the id of the BPMN element it belongs to, its attributes and text."""
    found = []

    def walk(element, owner):
        owner = element.get("id", owner) if element.tag.startswith(f"{{{BPMN_NS}}}") else owner
        if element.tag.startswith(f"{{{SPIFF_NS}}}"):
            found.append((owner, element.tag.split("}")[1], tuple(sorted(element.attrib.items())),
                          (element.text or "").strip()))
        for child in element:
            walk(child, owner)

    walk(ET.parse(path).getroot(), None)
    return found


# --- the modeler's view: lint and extensions --------------------------------------------------------------------

def test_original_diagrams_lint_clean(node):
    result = lint(node, *(PROCESSES / name for name in PROCESS_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s), 0 warning(s)" in result.stdout


def test_resaved_diagrams_lint_clean(node, resaved_dir):
    result = lint(node, *(resaved_dir / name for name in PROCESS_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 file(s): 0 error(s), 0 warning(s)" in result.stdout


def test_lint_fails_on_a_disconnected_task(node, resaved_dir, tmp_path):
    """The lint checks above can fail: bpmnlint:recommended rejects a task with no flows."""
    source = (resaved_dir / "escalation.bpmn").read_text(encoding="utf-8")
    broken = tmp_path / "escalation.bpmn"
    broken.write_text(source.replace("</bpmn:laneSet>", '</bpmn:laneSet>\n    <bpmn:task id="orphan_task" />', 1),
                      encoding="utf-8")
    result = lint(node, broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "orphan_task" in result.stdout and "(no-disconnected)" in result.stdout


@pytest.mark.parametrize("name", PROCESS_FILES)
def test_resaved_diagram_keeps_every_spiffworkflow_extension(resaved_dir, name):
    original, resaved = spiff_extensions(PROCESSES / name), spiff_extensions(resaved_dir / name)
    assert resaved == original
    names = {tag for _, tag, _, _ in resaved}
    assert "serviceTaskOperator" in names
    if name == "complaint_handling.bpmn":
        forms = {dict(attrs)["value"] for _, tag, attrs, _ in resaved
                 if tag == "property" and dict(attrs).get("name") == "formJsonSchemaFilename"}
        assert "classify_complaint.schema.json" in forms and "approve_resolution.schema.json" in forms
    text = (resaved_dir / name).read_text(encoding="utf-8")
    assert "spiffworkflow:serviceTaskOperator" in text


def test_resaved_diagrams_pass_our_validator(resaved_dir):
    runtime = build_runtime("sqlite://", settings=replace(load_settings(), processes_dir=resaved_dir))
    try:
        errors = definitions.validate_files(runtime, definitions.read_directory(resaved_dir))
    finally:
        runtime.close()
    assert [str(e) for e in errors] == []


# --- the engine's view: full lifecycles on the re-saved files ---------------------------------------------------

@pytest.fixture
def resaved_runtime(runtime, database_url, clock, resaved_dir):
    """A runtime deploying from the re-saved files, on the test database (emptied by the ``runtime`` fixture)."""
    rt = build_runtime(database_url, clock=clock, settings=replace(load_settings(), processes_dir=resaved_dir))
    with rt.unit_of_work() as uow:
        load_demo(uow)
    yield rt
    rt.close()


@pytest.fixture
def case(resaved_runtime):
    with resaved_runtime.unit_of_work() as uow:
        actors = {u.username: actor_for(u) for u in uow.session.scalars(select(User))}
    return CaseDriver(resaved_runtime, actors)


def assert_runs_resaved_definition(case, cid, resaved_dir):
    with case.runtime.unit_of_work() as uow:
        instance = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == cid)).one()
        assert instance.definition.process_id == "complaint_handling"
        assert instance.definition.bpmn_source == (resaved_dir / "complaint_handling.bpmn").read_text(encoding="utf-8")


def test_deployed_definitions_are_the_resaved_files(case, resaved_dir):
    with case.runtime.unit_of_work() as uow:
        deployed = {d.file_name: d for d in definitions.list_definitions(uow)}
        assert sorted(deployed) == sorted(PROCESS_FILES)
        for name, definition in deployed.items():
            assert definition.version == 1
            assert definition.bpmn_source == (resaved_dir / name).read_text(encoding="utf-8")


def test_resaved_process_two_departments_rejection_reopen_then_resolved(case, resaved_dir):
    cid = case.register()
    assert_runs_resaved_definition(case, cid, resaved_dir)
    case.classify(cid)
    case.triage(cid, lead="cards", co=["operations"])
    assert sorted(t.department for t in case.ready(cid)) == ["cards", "operations"]
    case.investigate(cid, "operations")
    case.investigate(cid, "cards")
    case.draft(cid, message="First draft")
    case.reject(cid, "Name the refund date")
    assert case.task(cid, "draft_resolution").context["approval_comment"] == "Name the refund date"
    case.draft(cid, message="Second draft")
    case.approve(cid)
    case.feedback(cid, False, 2)
    assert case.complaint(cid).status == "reopened"
    case.reopen(cid, "investigation")
    assert sorted(t.department for t in case.ready(cid)) == ["cards", "operations"]
    case.investigate(cid, "cards", facts="Second look")
    case.investigate(cid, "operations", facts="Second look")
    case.draft(cid, message="Third draft")
    case.approve(cid)
    case.feedback(cid, True, 4)

    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome, complaint.reopen_count) == ("closed", "resolved", 1)
    replies = case.messages(cid, "reply")
    assert len(replies) == 2 and "Second draft" in replies[0].body and "Third draft" in replies[1].body
    assert case.ready(cid) == []
    with case.runtime.unit_of_work() as uow:
        instance = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == cid)).one()
        assert instance.status == "completed"


def test_resaved_process_escalates_an_overdue_first_response(case, clock, resaved_dir):
    cid = case.register()
    assert_runs_resaved_definition(case, cid, resaved_dir)
    clock.advance(hours=23)
    assert fire_due_timers(case.runtime).fired == 0
    clock.advance(hours=2)
    report = fire_due_timers(case.runtime)
    assert (report.fired, report.failures) == (1, {})
    complaint = case.complaint(cid)
    assert complaint.is_overdue and complaint.escalation_level == 1
    assert [b["sla"] for b in complaint.breached_slas] == ["first_response"]
    assert {"coordinator@bank.example", "head@bank.example"} <= {m.recipient for m in case.messages(cid, "escalation")}
    # The first response stays open (non-interrupting) and the head is asked to intervene (escalation.bpmn).
    assert case.ready_names(cid) == ["classify_complaint", "intervene_overdue_complaint"]


def test_resaved_mail_intake_registers_the_complaint_a_mail_brought(case, resaved_dir):
    raw = (ROOT / "tests" / "fixtures" / "mail" / "html_only.eml").read_bytes()
    with case.runtime.unit_of_work() as uow:
        taken = take_in(uow, SYSTEM, parse(raw), "maildir")
        instance = uow.session.get_one(ProcessInstance, taken.instance_id)
        assert instance.definition.bpmn_source == (resaved_dir / "mail_intake.bpmn").read_text(encoding="utf-8")
        task = uow.session.scalars(select(UserTask).where(UserTask.instance_id == taken.instance_id)).one()
    with case.runtime.unit_of_work() as uow:
        user_tasks.complete_user_task(uow, case.actors["intake"], task.id, {
            "intake_decision": "register", "customer_name": "Jing Chen", "customer_contact": "jing.chen@example.org",
            "product": "credit_card", "category": "service_quality",
            "description": "The branch refused my cash deposit on 1 December."})
    with case.runtime.unit_of_work() as uow:
        assert uow.session.scalars(select(Complaint)).one().channel == "email"
