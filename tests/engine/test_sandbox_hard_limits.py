"""Hard limits: what the in-code budget of limits.py cannot see is stopped by the sandbox worker process.

Finding M1: a straight line of C-level calls was never timed (200 x ``max(range(10**7))`` ran 55 s of CPU
against a 2 s budget), big integers escaped the memory count (1.3 GB against 50 MB), and a draft whose timer
expression was heavy held a web worker for 31.5 s when it was imported. Scripts now run in a sandbox worker whose
address space is capped and which is killed when its time is up (app/engine/workflow/sandbox.py); the web worker,
the scheduler and the CLI only wait, never longer than the budget.
"""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from app.engine.core.errors import ScriptFailed
from app.engine.governance import definitions, drafts
from app.engine.models import Incident
from app.engine.workflow import runner, sandbox
from app.engine.workflow.limits import Limits
from app.engine.workflow.parsing import parse_process
from app.engine.workflow.scripting import SandboxedScriptEngine, SandboxEnvironment, ScriptError, ValidationSandbox
from app.scheduler import fire_due_timers

SHORT = Limits(seconds=0.5, max_memory=20_000_000)
SMALL = Limits(seconds=5, max_memory=20_000_000)  # time enough, on a loaded machine, to reach the memory limit
# The in-code estimates switched off, as a way around them would: only the process's limits are left.
UNCHECKED = Limits(seconds=1, max_memory=20_000_000, max_bytes=10**15, max_int_bits=10**15)
SLOW = 2.0  # what "near the limit" may add on 2 shared cores under load (a worker start, a busy scheduler)

# One C call after another: no loop, so no tick of the in-code budget between them (0.2-0.5 s each).
STRAIGHT_LINE = "\n".join(f"m{i} = max(range(10**7)) + sum(range(10**7)) + min(range(10**7))" for i in range(200))
HEAVY_EXPRESSION = f"[{', '.join(['max(range(10**7))'] * 200)}]"


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _still_works(environment: SandboxEnvironment) -> None:
    data = {"amount": 120}
    environment.execute("doubled = amount * 2\nlabel = 'x' * 3", data)
    assert data == {"amount": 120, "doubled": 240, "label": "xxx"}
    assert environment.evaluate("[d * 2 for d in range(3)]", {}) == [0, 2, 4]


def test_a_straight_line_of_heavy_builtin_calls_is_stopped_near_its_time_limit():
    environment = SandboxEnvironment({}, SHORT)
    environment.evaluate("1 * 1", {})  # the worker is up: what follows times the script, not a process start
    started = time.monotonic()
    with pytest.raises(ScriptError) as caught:
        environment.execute(STRAIGHT_LINE, {})
    assert time.monotonic() - started < SHORT.seconds + SLOW
    assert "time budget of 0.5 s" in caught.value.message
    _still_works(environment)


def test_a_heavy_expression_is_stopped_near_its_time_limit():
    environment = SandboxEnvironment({}, SHORT)
    started = time.monotonic()
    with pytest.raises(ScriptError, match="time budget of 0.5 s"):
        environment.evaluate(HEAVY_EXPRESSION, {})
    assert time.monotonic() - started < SHORT.seconds + SLOW
    _still_works(environment)


@pytest.mark.parametrize("script", [
    "x = 7**300000\ny = [x + k for k in range(10**5)]",                  # big integers: each charged as one item
    "s = 'a' * 5_000_000\ny = [s.upper() for k in range(10**4)]",        # huge strings built by a method
    "l = [0] * 1_000_000\ny = [l[:] for k in range(10**4)]",              # huge lists copied by a slice
], ids=["big integers", "huge strings", "huge lists"])
def test_memory_the_budget_does_not_count_is_stopped_at_the_memory_limit(script):
    environment = SandboxEnvironment({}, SMALL)
    before = _resident_bytes()
    with pytest.raises(ScriptError) as caught:
        environment.execute(script, {})
    assert "memory limit of 20.0 MB" in caught.value.message and caught.value.line == 2
    assert _resident_bytes() - before < 50_000_000  # none of it was ever in this process
    _still_works(environment)


@pytest.mark.parametrize("script", ["x = 1 << (10**10)", "x = 10**(10**9)", "x = 'a' * 10**10", "x = [0] * 10**9",
                                    "x = 'ab'\nwhile True:\n    x = x + x"])
def test_a_huge_value_is_stopped_by_the_process_even_past_the_in_code_checks(script):
    environment = SandboxEnvironment({}, UNCHECKED)
    started = time.monotonic()
    with pytest.raises(ScriptError) as caught:
        environment.execute(script, {})
    assert time.monotonic() - started < UNCHECKED.seconds + SLOW
    assert "memory" in caught.value.message or "time budget" in caught.value.message
    _still_works(environment)


def test_the_functions_of_the_process_still_serve_scripts_in_the_worker():
    """``sla_due_at`` and friends run in this process (its clock, its settings); scripts call them as before,
    catch what they raise, and get the same messages."""
    calls = []

    def sla_due_at(name, start=None):
        calls.append((name, start))
        if name == "nope":
            raise KeyError(f"unknown SLA {name!r}")
        return f"due:{name}:{start}"

    environment = SandboxEnvironment({"sla_due_at": sla_due_at}, SHORT)
    data = {"received_at": "t0"}
    environment.execute("due = sla_due_at('first_response', received_at)\ntry:\n    sla_due_at('nope')\n"
                        "except KeyError as err:\n    caught = str(err)", data)
    assert data == {"received_at": "t0", "due": "due:first_response:t0", "caught": "\"unknown SLA 'nope'\""}
    with pytest.raises(ScriptError, match="KeyError: \"unknown SLA 'nope'\""):
        environment.execute("x = 2 * 2\ndue = sla_due_at('nope')", {})
    assert calls == [("first_response", "t0"), ("nope", None), ("nope", None)]


def test_bounded_expressions_run_here_and_the_others_in_a_worker():
    environment = SandboxEnvironment({"sla_due_at": lambda name, start=None: f"{name}@{start}"}, SHORT)
    before = sandbox.POOL.evaluations
    assert environment.evaluate('decision == "approve" and not reopened', {"decision": "approve",
                                                                          "reopened": False}) is True
    assert environment.evaluate('sla_due_at("review", at) if n else "x"', {"n": 1, "at": "t"}) == "review@t"
    assert sandbox.POOL.evaluations == before
    assert environment.evaluate("n * 2", {"n": 2}) == 4
    assert environment.evaluate("max([n, 3])", {"n": 2}) == 3
    assert sandbox.POOL.evaluations == before + 2


def test_a_worker_hands_back_only_plain_values():
    environment = SandboxEnvironment({}, SHORT)
    with pytest.raises(ScriptError, match="cannot be kept"):
        environment.execute("r = range(10**6)", {})  # "a" in r loops in C, and bounded expressions run here
    with pytest.raises(ScriptError, match="cannot be kept"):
        environment.execute("g = (k for k in [1])", {})
    with pytest.raises(ScriptError, match="cannot be kept: a value that holds itself"):
        environment.execute("a = []\na.append(a)", {})
    data: dict = {}
    environment.execute("s = {1, 2}\nf = frozenset(s)\nc = 1j", data)
    assert data == {"s": {1, 2}, "f": frozenset({1, 2}), "c": 1j}


def test_shared_values_come_back_as_the_tree_they_stand_for_within_the_memory_limit():
    """``a1 = [a0, a0]`` ... sixty times is a few objects in the worker, but 2**60 copies once stored as JSON: it
    is handed back as the tree it stands for, so it meets the memory limit in the worker, not the serializer here."""
    environment = SandboxEnvironment({}, SMALL)
    bomb = "a0 = ['x' * 100]\n" + "\n".join(f"a{i + 1} = [a{i}, a{i}]" for i in range(60))
    with pytest.raises(ScriptError, match="memory limit of 20.0 MB"):
        environment.execute(bomb, {})
    data: dict = {}
    environment.execute("x = [1, 2]\ny = [x, x]", data)
    assert data == {"x": [1, 2], "y": [[1, 2], [1, 2]]} and data["y"][0] is not data["y"][1]


# -- validation: the same limits, and never longer than its own total -------------------------------------------

def test_validation_refuses_a_heavy_timer_expression_within_the_limit(demo, monkeypatch):
    monkeypatch.setenv("COMPLAINTFLOW_SCRIPT_SECONDS", "0.5")
    files = definitions.read_directory(demo.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    timer = 'sla_due_at("first_response", received_at)'
    assert source.count(timer) == 1
    files["complaint_handling.bpmn"] = source.replace(timer, f"{timer} if {HEAVY_EXPRESSION} else None").encode()
    started = time.monotonic()
    errors = definitions.validate_files(demo, files)
    assert time.monotonic() - started < 0.5 + SLOW
    [error] = errors
    assert error.element_id == "first_response_overdue" and "time budget of 0.5 s" in error.message


def test_a_validation_spends_at_most_its_total_on_expressions():
    environment = ValidationSandbox({}, SHORT, total_seconds=1.0)
    started = time.monotonic()
    for _ in range(6):  # six heavy timers: without the total, six times the limit
        with pytest.raises(ScriptError):
            environment.evaluate(HEAVY_EXPRESSION, {})
    assert time.monotonic() - started < 1.0 + SLOW
    with pytest.raises(ScriptError, match="spent the 1 s"):
        environment.evaluate('"PT24H"', {})


def test_importing_a_draft_with_a_heavy_timer_is_refused_quickly(demo, actors, monkeypatch):
    monkeypatch.setenv("COMPLAINTFLOW_SCRIPT_SECONDS", "0.5")
    source = definitions.read_directory(demo.settings.processes_dir)["complaint_handling.bpmn"].decode()
    timer = 'sla_due_at("first_response", received_at)'
    started = time.monotonic()
    with demo.unit_of_work() as uow:
        _, result = drafts.import_draft(uow, actors["owner"], "complaint_handling.bpmn",
                                        source.replace(timer, f"{timer} if {HEAVY_EXPRESSION} else None").encode())
    assert time.monotonic() - started < 0.5 + SLOW
    assert not result.valid
    [error] = result.errors
    assert error.element_id == "first_response_overdue" and "time budget" in error.message


# -- a running case: the breach is the failing step's incident, naming the element ----------------------------

WEIGH_BREACH = """<bpmn:scriptTask id="weigh_breach" name="Weigh the breach">
      <bpmn:incoming>flow_breached_to_weigh</bpmn:incoming><bpmn:outgoing>flow_breached_to_flag</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="flow_breached_to_weigh" sourceRef="sla_breached" targetRef="weigh_breach" />
    <bpmn:serviceTask id="flag_overdue_task" """


def _deploy_escalation_with(runtime, actor, script: str) -> None:
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["escalation.bpmn"].decode()
    for old, new in [('<bpmn:serviceTask id="flag_overdue_task" ', WEIGH_BREACH.format(script=script)),
                     ("<bpmn:outgoing>flow_breached_to_flag</bpmn:outgoing>\n    </bpmn:startEvent>",
                      "<bpmn:outgoing>flow_breached_to_weigh</bpmn:outgoing>\n    </bpmn:startEvent>"),
                     ('id="flow_breached_to_flag" sourceRef="sla_breached"',
                      'id="flow_breached_to_flag" sourceRef="weigh_breach"'),
                     ("<bpmn:flowNodeRef>flag_overdue_task</bpmn:flowNodeRef>",
                      "<bpmn:flowNodeRef>weigh_breach</bpmn:flowNodeRef><bpmn:flowNodeRef>flag_overdue_task</bpmn:flowNodeRef>")]:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    files["escalation.bpmn"] = source.encode()
    with runtime.unit_of_work() as uow:
        definitions.deploy(uow, actor, files)


@pytest.mark.parametrize("script, seconds, limit", [
    (STRAIGHT_LINE, 0.5, "time budget of 0.5 s"),
    ("x = 7**300000\ny = [x + k for k in range(10**5)]", 5, "memory limit of 20.0 MB"),
], ids=["time", "memory"])
def test_a_running_case_whose_script_breaches_a_limit_gets_an_incident_naming_the_element(
        case, actors, clock, monkeypatch, script, seconds, limit):
    monkeypatch.setenv("COMPLAINTFLOW_SCRIPT_SECONDS", str(seconds))
    monkeypatch.setenv("COMPLAINTFLOW_SCRIPT_MAX_MEMORY", "20000000")
    _deploy_escalation_with(case.runtime, actors["owner"], script)
    cid = case.register()
    clock.advance(hours=25)  # the first-response timer is due: its escalation runs the script
    started = time.monotonic()
    report = fire_due_timers(case.runtime)
    assert time.monotonic() - started < seconds + 2 * SLOW
    assert report.failed == 1 and report.incidents_opened == 1
    with case.runtime.unit_of_work() as uow:
        [incident] = uow.session.scalars(select(Incident))
        assert (incident.complaint_id, incident.element_id, incident.state) == (cid, "weigh_breach", "open")
        assert incident.error_type == ScriptFailed.__name__
        assert "Weigh the breach" in incident.message and limit in incident.message
    # The step was rolled back: the timer still waits, to be retried after the backoff.
    assert next(t for t in case.timers(cid) if t.element_id == "first_response_overdue").state == "waiting"


def test_a_script_task_of_heavy_builtin_calls_is_a_script_failed_naming_it():
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:scriptTask id="work" name="Compute refund"><bpmn:script>{STRAIGHT_LINE}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    spec, subprocess_specs = parse_process({"p.bpmn": bpmn.encode()}, "p")
    with pytest.raises(ScriptFailed) as caught:
        runner.start(spec, subprocess_specs, SandboxedScriptEngine({}, limits=SHORT), {})
    assert caught.value.element_id == "work" and "time budget of 0.5 s" in caught.value.message


# -- the workers themselves ---------------------------------------------------------------------------------------

def test_a_worker_whose_heap_grew_retires_before_running_and_the_next_one_runs_the_script(monkeypatch):
    from app.engine.workflow import sandbox_wire, sandbox_worker
    requests_read, requests_write = os.pipe()
    replies_read, replies_write = os.pipe()
    os.write(requests_write, sandbox_wire.dump(("run", "exec", "ran = True", {}, {}, (), {}, SHORT)))
    sandbox_worker.serve(sandbox_worker._Pipe(requests_read, replies_write), ceiling=0)  # past it: says so, ends
    assert sandbox_wire.load_from_worker(sandbox_wire.read_until(replies_read, time.monotonic() + 5, 1000)) \
        == ("retired",)
    for fd in (requests_read, requests_write, replies_read, replies_write):
        os.close(fd)

    retiring = []
    real_run = sandbox._Worker.run

    def first_one_retires(worker, *args):
        if not retiring:
            retiring.append(worker)
            return ("retired",)
        return real_run(worker, *args)

    monkeypatch.setattr(sandbox._Worker, "run", first_one_retires)
    data: dict = {}
    SandboxEnvironment({}, SHORT).execute("ran = True", data)
    assert data == {"ran": True} and retiring[0].process.returncode is not None  # ended, not given back
