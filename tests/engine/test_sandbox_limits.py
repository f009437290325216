"""Scripts and expressions run with a time budget and a memory bound; whatever they raise is one clean error.

Each runaway here used to hang the web worker or the scheduler, or to eat the machine's memory; ``raise
SystemExit`` used to escape the JSON error handling. Now each is a ScriptFailed naming the BPMN element, raised
before anything is saved. The limits live in the compiled script and in the sandbox worker process that runs it
(test_sandbox_hard_limits.py): no signal or setrlimit touches the caller's process.
"""
from __future__ import annotations

import threading
import time

import pytest

from app.engine.core.errors import ScriptFailed
from app.engine.workflow import runner
from app.engine.workflow.limits import Limits
from app.engine.workflow.parsing import parse_process
from app.engine.workflow.scripting import SandboxedScriptEngine, SandboxEnvironment, ScriptError

FAST = Limits(seconds=0.3)

RUNAWAYS = [
    ("while True: pass", "time budget"),
    ("i = 0\nwhile True:\n    i += 1", "time budget"),
    ("def f(n):\n    return f(n + 1) + f(n + 2)\nf(0)", "RecursionError"),
    ("x = [i for i in range(10**7)]", "budget"),
    ("while True:\n    try:\n        while True: pass\n    except:\n        pass", "time budget"),
    ("x = 'a' * 10**10", "more than the 10.0 MB allowed"),
    ("x = [0] * 10**10", "more than the 10.0 MB allowed"),
    ("x = 9**9**9", "bits"),
    ("x = pow(9, 9**9)", "bits"),
    ("x = 1 << 10**10", "bits"),
    ("x = list(range(10**9))", "range()"),
    ("x = sum(range(10**12))", "range()"),
    ("x = 'ab'\nwhile True:\n    x += x", "more than the 10.0 MB allowed"),
    ("x = []\nwhile True:\n    x.append(1)", "budget"),
    ("d = {}\ni = 0\nwhile True:\n    d[i] = i\n    i += 1", "budget"),
    ("x = ''.join('x' * 1000 for i in range(10**6))", "budget"),
    ("x = f'{1:>{10**10}}'", "more than the 10.0 MB allowed"),
    ("x = '%10000000000d' % 1", "more than the 10.0 MB allowed"),
    ("x = ('a' * 10**6).replace('a', 'a' * 100)", "more than the 10.0 MB allowed"),
    ("x = ('a' * 10**6).center(10**10)", "more than the 10.0 MB allowed"),
]


@pytest.mark.parametrize("script, reason", RUNAWAYS, ids=[s.split("\n")[-1][:40] for s, _ in RUNAWAYS])
def test_runaway_scripts_stop_quickly_with_the_reason(script, reason):
    started = time.monotonic()
    with pytest.raises(ScriptError) as caught:
        SandboxEnvironment({}, FAST).execute(script, {})
    assert time.monotonic() - started < 3 * FAST.seconds + 1.5  # generous: 2 shared cores under load
    assert reason in caught.value.message


def test_the_limits_do_not_disturb_ordinary_scripts():
    data = {"amount": 120, "departments": ["cards", "loans"]}
    SandboxEnvironment({}, FAST).execute(
        "total = 0\nfor i in range(1000):\n    total += i\nlabel = 'x' * 3 + f'{amount:>6}' + '%03d' % 7\n"
        "names = sorted({d.upper() for d in departments})\nparts = ','.join(names).split(',')\n"
        "big = 2 ** 64 << 3\nitems = list(map(lambda d: d * 2, departments))\nitems += ['z']\n"
        "lookup = dict(a=1)\nlookup['b'] = 2", data)
    assert data["total"] == 499500 and data["label"] == "xxx   120007"
    assert data["names"] == ["CARDS", "LOANS"] == data["parts"] and data["big"] == 2 ** 67
    assert data["items"] == ["cardscards", "loansloans", "z"] and data["lookup"] == {"a": 1, "b": 2}


def test_expressions_have_the_same_limits():
    environment = SandboxEnvironment({}, FAST)
    assert environment.evaluate("amount > 100 and 'x' * 2 == 'xx'", {"amount": 120}) is True
    with pytest.raises(ScriptError, match="bits"):
        environment.evaluate("9**9**9", {})
    with pytest.raises(ScriptError, match="time budget"):
        environment.evaluate("[x for x in range(10**7) for y in range(10**7)]", {})


def test_budgets_are_configurable():
    with pytest.raises(ScriptError, match="more than the 0.0 MB allowed"):
        SandboxEnvironment({}, Limits(max_bytes=1000)).execute("x = 'a' * 2000", {})
    data = {}
    SandboxEnvironment({}, Limits(max_bytes=100_000_000, max_memory=200_000_000)).execute("x = 'a' * 20_000_000",
                                                                                           data)
    assert len(data["x"]) == 20_000_000


def test_limits_are_per_run_not_process_wide():
    """A runaway in one thread does not slow or stop a script in another (no signal, no setrlimit)."""
    environment = SandboxEnvironment({}, Limits(seconds=1.0))
    results = {}

    def runaway():
        try:
            environment.execute("while True: pass", {})
        except ScriptError as err:
            results["runaway"] = err.message

    thread = threading.Thread(target=runaway)
    thread.start()
    data = {}
    environment.execute("x = sum(range(1000))", data)
    thread.join(timeout=10)
    assert data["x"] == 499500 and "time budget" in results["runaway"]


@pytest.mark.parametrize("raised", ["SystemExit", "SystemExit(3)", "KeyboardInterrupt", "GeneratorExit",
                                    "BaseException('x')", "MemoryError"])
def test_every_exception_a_script_raises_is_a_script_error(raised):
    with pytest.raises(ScriptError) as caught:
        SandboxEnvironment({}, FAST).execute(f"x = 1\nraise {raised}", {})
    assert caught.value.line == 2


def test_a_real_interrupt_is_not_mistaken_for_the_scripts_own():
    """Ctrl+C (or a worker being stopped) while a script runs still stops the process."""
    import _thread
    import signal
    # interrupt_main() does nothing while SIGINT is ignored, as it is for a job started in the background
    # (nohup, setsid, &): install Python's own handler for this test, whatever disposition the run inherited.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            SandboxEnvironment({}, Limits(seconds=10)).execute("i = 0\nwhile True:\n    i += 1", {})
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)


# -- through a workflow: the element is named and nothing of the step is kept ----------------------------------

def _workflow_with(script: str, *, condition: str = "True"):
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="set_up"/>
    <bpmn:scriptTask id="set_up" name="Set up"><bpmn:script>ready = True</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="set_up" targetRef="route"/>
    <bpmn:exclusiveGateway id="route" name="Route" default="f4"/>
    <bpmn:sequenceFlow id="f3" sourceRef="route" targetRef="work">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="route" targetRef="work"/>
    <bpmn:scriptTask id="work" name="Compute&#10;refund"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f5" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return parse_process({"p.bpmn": bpmn.encode()}, "p")


@pytest.mark.parametrize("script, reason", [
    ("raise SystemExit", "it raised SystemExit"),
    ("while True: pass", "time budget"),
    ("x = 'a' * 10**10", "MB allowed"),
    ("x = 1 / 0", "ZeroDivisionError: division by zero"),
])
def test_a_failing_script_task_is_a_script_failed_naming_the_element(script, reason):
    spec, subprocess_specs = _workflow_with(script)
    with pytest.raises(ScriptFailed) as caught:
        runner.start(spec, subprocess_specs, SandboxedScriptEngine({}, limits=FAST), {})
    assert caught.value.element_id == "work" and caught.value.element_name == "Compute refund"
    assert reason in caught.value.message and "(work)" in caught.value.message


def test_a_runaway_gateway_condition_is_a_script_failed_naming_the_gateway():
    spec, subprocess_specs = _workflow_with("done = True", condition="9**9**9 &gt; 0")
    with pytest.raises(ScriptFailed) as caught:
        runner.start(spec, subprocess_specs, SandboxedScriptEngine({}, limits=FAST), {})
    assert caught.value.element_id == "route" and "bits" in caught.value.message


def test_the_web_answers_a_script_failure_with_json_naming_the_element(runtime):
    """What the API does with a step whose script raised SystemExit: a JSON error, not gunicorn's HTML 500."""
    from app.web import create_app
    app = create_app(runtime=runtime, config={"TESTING": True})
    spec, subprocess_specs = _workflow_with("raise SystemExit")

    @app.get("/api/v1/_script_probe")
    def probe():
        runner.start(spec, subprocess_specs, SandboxedScriptEngine({}, limits=FAST), {})
        return {}

    response = app.test_client().get("/api/v1/_script_probe")
    assert response.status_code == 500 and response.is_json
    body = response.get_json()
    assert body["error"] == "script_failed" and body["element_id"] == "work"
    assert "SystemExit" in body["message"]
