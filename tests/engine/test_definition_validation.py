"""Definition validation: every kind of error is reported once, at the right file, element and line.

The fixtures in tests/fixtures/bpmn are small and valid; each test breaks exactly one thing by string
replacement and checks what the validator says about it.
"""
from __future__ import annotations

import json
import sys
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the project is not installed into the venv
    sys.path.insert(0, str(ROOT))

from app.engine.config.settings import load_settings  # noqa: E402
from app.engine.core.errors import DefinitionError, InvalidDefinition  # noqa: E402
from app.engine.workflow.parsing import executable_process_ids, parse_process  # noqa: E402
from app.engine.workflow.scripting import SandboxEnvironment  # noqa: E402
from app.engine.workflow.validation import ValidationContext, validate_bpmn_files  # noqa: E402
from app.tasks import OPERATORS  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
MAIN, SUB = "minimal.bpmn", "subprocess.bpmn"
MAIN_TEXT = (FIXTURES / MAIN).read_text(encoding="utf-8")
SUB_TEXT = (FIXTURES / SUB).read_text(encoding="utf-8")
STARTED = "2026-03-02T09:00:00+00:00"
SLA_NAMES = frozenset(load_settings().sla_profile.slas)


def sla_due_at(name: str, start: str | None = None, product: str | None = None) -> str:
    if name not in SLA_NAMES:
        raise KeyError(f"unknown SLA {name!r}")
    base = datetime.fromisoformat(start) if start else datetime.now(UTC)
    return (base + timedelta(days=1)).isoformat()


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def evaluate(expression: str, data: dict):
    return SANDBOX.evaluate(expression, dict(data))  # the production sandbox, with our stand-in functions


def sla_defined(name: str) -> bool:
    return name in SLA_NAMES


SANDBOX = SandboxEnvironment({"sla_due_at": sla_due_at, "sla_defined": sla_defined, "now_iso": now_iso})
# First-pass cases (as services/definitions.py samples them) and a reopened one, whose handling deadline is
# the review clock counted from review_requested_at.
# After the decision: the reply's date (the verification window) and a verification request.
AFTER_DECISION = {"reply": {"sent_at": STARTED}, "verification_request": {"requested_at": STARTED}}
SAMPLES = [*({"urgent": urgent, "received_at": STARTED, "sla_clock_start": STARTED, "product": "credit_card",
              "reopen_count": 0, **AFTER_DECISION} for urgent in (True, False)),
           {"urgent": False, "received_at": STARTED, "sla_clock_start": STARTED, "product": "credit_card",
            "reopen_count": 1, "review_requested_at": STARTED, **AFTER_DECISION}]


@pytest.fixture
def forms_dir(tmp_path: Path) -> Path:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "review.schema.json").write_text(json.dumps(
        {"type": "object", "properties": {"decision": {"enum": ["accept", "reject"]}}, "required": ["decision"]}))
    (forms / "not_json.schema.json").write_text('{"type": "object",')
    (forms / "not_schema.schema.json").write_text(json.dumps({"type": 12}))
    return forms


@pytest.fixture
def ctx(forms_dir: Path) -> ValidationContext:
    return ValidationContext(
        forms_dir=forms_dir, operators=frozenset({"send_reply"}), lane_roles={"Intake desk": ["intake_agent"]},
        evaluate=evaluate, sample_data=SAMPLES,
    )


def files(main: str = MAIN_TEXT, sub: str | None = SUB_TEXT) -> dict[str, bytes]:
    result = {MAIN: main.encode("utf-8")}
    if sub is not None:
        result[SUB] = sub.encode("utf-8")
    return result


def broken(old: str, new: str, text: str = MAIN_TEXT) -> str:
    assert text.count(old) == 1, f"fixture should contain {old!r} exactly once"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def the_error(errors: list[DefinitionError]) -> DefinitionError:
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


# -- the valid fixture -------------------------------------------------------------------------------------

def test_minimal_fixture_is_valid(ctx):
    assert validate_bpmn_files(files(), ctx) == []


def test_minimal_fixture_parses(ctx):
    spec, subprocess_specs = parse_process(files(), "Process_minimal")
    assert spec.name == "Process_minimal"
    assert set(subprocess_specs) == {"Process_sub"}
    assert executable_process_ids(files()) == ["Process_minimal", "Process_sub"]


# -- 1, 2: not XML -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, expected, line", [
    (b"", "empty", None),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary", None),
    (MAIN_TEXT.replace("Minimal complaint", "Minimal r\xe9clamation").encode("latin-1"), "not UTF-8",
     line_of(MAIN_TEXT, "Minimal complaint")),
])
def test_file_that_is_not_xml_is_reported_once(ctx, data, expected, line):
    error = the_error(validate_bpmn_files({MAIN: data, SUB: SUB_TEXT.encode()}, ctx))
    assert (error.file, error.line) == (MAIN, line)
    assert expected in error.message


def test_malformed_xml_names_its_line(ctx):
    text = broken("<bpmn:incoming>Flow_done</bpmn:incoming>", "<bpmn:incoming>Flow_done</bpmn:incomin>")
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.file, error.line) == (MAIN, line_of(text, "</bpmn:incomin>"))
    assert error.message.startswith("Malformed XML")


# -- 3: schema ---------------------------------------------------------------------------------------------

def test_schema_violation_names_the_element(ctx):
    text = broken('cancelActivity="false"', 'cancelActivity="sometimes"')
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.element_name) == ("Timer_reminder", "Reminder due")
    assert error.line == line_of(text, 'cancelActivity="sometimes"')
    assert "cancelActivity" in error.message and "{http" not in error.message


def test_unknown_child_element_names_its_parent(ctx):
    text = broken("<bpmn:incoming>Flow_done</bpmn:incoming>", "<bpmn:incomin>Flow_done</bpmn:incomin>")
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.line) == ("End_done", line_of(text, "<bpmn:incomin>"))


# -- 4: ids ------------------------------------------------------------------------------------------------

def test_duplicate_id_names_both_lines(ctx):
    text = broken('id="Flow_done"', 'id="Flow_start"')
    error = the_error(validate_bpmn_files(files(text), ctx))
    first, second = line_of(MAIN_TEXT, 'id="Flow_start"'), line_of(MAIN_TEXT, 'id="Flow_done"')
    assert (error.element_id, error.line) == ("Flow_start", second)
    assert f"line {first}" in error.message and f"line {second}" in error.message


def test_task_id_shadowed_by_an_extension_id_is_reported(ctx):
    # SpiffWorkflow indexes every id attribute: the operator element would replace the task itself.
    text = broken('serviceTaskOperator id="send_reply"', 'serviceTaskOperator id="Task_reply"')
    context = ValidationContext(ctx.forms_dir, frozenset({"Task_reply"}), ctx.lane_roles, evaluate, SAMPLES)
    error = the_error(validate_bpmn_files(files(text), context))
    assert (error.element_id, error.line) == ("Task_reply", line_of(text, 'id="Task_reply"'))
    assert "serviceTaskOperator" in error.message


def test_repeated_extension_ids_are_not_duplicate_ids_but_a_repeated_parameter(ctx):
    # Not two elements with one id; but SpiffWorkflow would pass only the last value, silently (issue 24).
    text = broken('<spiffworkflow:parameter id="template" type="str" value="\'accepted\'" />',
                  '<spiffworkflow:parameter id="template" type="str" value="\'accepted\'" />'
                  '<spiffworkflow:parameter id="template" type="str" value="\'again\'" />')
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert "Duplicate id" not in error.message and "parameter 'template' is set again" in error.message
    assert (error.element_id, error.line) == ("Task_reply", line_of(text, "value=\"'again'\""))


# -- 5: dangling references --------------------------------------------------------------------------------

def test_flow_to_missing_element_names_the_flow(ctx):
    text = broken('targetRef="End_done"', 'targetRef="End_gone"')
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.line) == ("Flow_done", line_of(text, 'id="Flow_done"'))
    assert "End_gone" in error.message and "does not exist" in error.message
    assert "two items" not in error.message


def test_flow_from_element_of_another_process_is_reported(ctx):
    text = broken('sourceRef="Call_escalate"', 'sourceRef="Start_sub"')
    sub_process = SUB_TEXT[SUB_TEXT.index("<bpmn:process"):]  # ends with </bpmn:definitions>
    sub_in_same_file = text.replace("</bpmn:definitions>", sub_process)
    error = the_error(validate_bpmn_files(files(sub_in_same_file, sub=None), ctx))
    assert error.element_id == "Flow_done" and "another process" in error.message


# -- 6: gateways -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gateway", ["exclusiveGateway", "inclusiveGateway"])
def test_gateway_flow_without_condition_names_the_flow(ctx, gateway):
    text = broken('<bpmn:conditionExpression>decision == "accept"</bpmn:conditionExpression>', "")
    text = text.replace("bpmn:exclusiveGateway", f"bpmn:{gateway}")
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.element_name) == ("Flow_accepted", "accepted")
    assert error.line == line_of(text, 'id="Flow_accepted"')
    assert "Gateway_decide" in error.message and "default" in error.message


# -- 7: timers ---------------------------------------------------------------------------------------------

REMINDER = '<bpmn:timeDuration>"PT24H"</bpmn:timeDuration>'
DEADLINE = '<bpmn:timeDate>sla_due_at("decision", sla_clock_start)</bpmn:timeDate>'


@pytest.mark.parametrize("old, new, element_id, expected", [
    (REMINDER, '<bpmn:timeDuration>"PT24X"</bpmn:timeDuration>', "Timer_reminder", "not an ISO 8601 duration"),
    (REMINDER, "<bpmn:timeDuration>PT24H</bpmn:timeDuration>", "Timer_reminder", "name 'PT24H' is not defined"),
    (REMINDER, '<bpmn:timeDuration>"P"</bpmn:timeDuration>', "Timer_reminder", "not an ISO 8601 duration"),
    (REMINDER, "<bpmn:timeDuration>24</bpmn:timeDuration>", "Timer_reminder", "not an ISO 8601 duration"),
    (REMINDER, '<bpmn:timeCycle>"R3/PT1X"</bpmn:timeCycle>', "Timer_reminder", "recurring interval"),
    (REMINDER, '<bpmn:timeCycle>"PT1H"</bpmn:timeCycle>', "Timer_reminder", "recurring interval"),
    (REMINDER, "<bpmn:timeDuration></bpmn:timeDuration>", "Timer_reminder", "empty"),
    (DEADLINE, '<bpmn:timeDate>sla_due_at("decison", sla_clock_start)</bpmn:timeDate>', "Timer_deadline",
     "unknown SLA 'decison'"),
    (DEADLINE, '<bpmn:timeDate>"P15D"</bpmn:timeDate>', "Timer_deadline", "not an ISO 8601 date"),
    (DEADLINE, "<bpmn:timeDate>sla_due_at(</bpmn:timeDate>", "Timer_deadline", "is not valid Python"),
    # every sample is tried: this one only fails for non-urgent complaints
    (DEADLINE, '<bpmn:timeDate>sla_due_at("urgent_handling" if urgent else "soon", sla_clock_start)</bpmn:timeDate>',
     "Timer_deadline", "sample task data #2"),
])
def test_bad_timer_expression_names_the_timer(ctx, old, new, element_id, expected):
    text = broken(old, new)
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.file, error.element_id, error.line) == (MAIN, element_id, line_of(text, new))
    assert expected in error.message


@pytest.mark.parametrize("new", [
    '<bpmn:timeCycle>"R3/PT1H"</bpmn:timeCycle>',
    '<bpmn:timeDate>now_iso()</bpmn:timeDate>',
    '<bpmn:timeDuration>"PT12H" if urgent else "P15D"</bpmn:timeDuration>',
])
def test_good_timer_expressions_pass(ctx, new):
    assert validate_bpmn_files(files(broken(REMINDER, new)), ctx) == []


def test_timer_without_expression_is_reported(ctx):
    text = broken(REMINDER, "")
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert error.element_id == "Timer_reminder" and "never fire" in error.message


# -- 8: call activities ------------------------------------------------------------------------------------

def test_call_to_unknown_process_names_the_call_activity(ctx):
    text = broken('calledElement="Process_sub"', 'calledElement="Process_gone"')
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.element_name) == ("Call_escalate", "Escalate")
    assert error.line == line_of(text, 'id="Call_escalate"') and "Process_gone" in error.message


def test_call_to_process_deployed_elsewhere_is_accepted(ctx):
    context = ValidationContext(ctx.forms_dir, ctx.operators, ctx.lane_roles, evaluate, SAMPLES,
                                known_processes=frozenset({"Process_sub"}))
    assert validate_bpmn_files(files(sub=None), context) == []
    error = the_error(validate_bpmn_files(files(sub=None), ctx))
    assert error.element_id == "Call_escalate"


def test_parse_process_names_the_call_activity_of_a_missing_process():
    with pytest.raises(InvalidDefinition) as raised:
        parse_process(files(sub=None), "Process_minimal")
    error = the_error(raised.value.errors)
    assert (error.element_id, error.line) == ("Call_escalate", line_of(MAIN_TEXT, 'id="Call_escalate"'))
    _spec, subprocess_specs = parse_process(files(sub=None), "Process_minimal", external={"Process_sub"})
    assert subprocess_specs == {}


# -- 9: user-task forms ------------------------------------------------------------------------------------

FORM = '<spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />'


@pytest.mark.parametrize("new, expected", [
    ("", "has no form"),
    (FORM.replace("review", "missing"), "does not exist"),
    (FORM.replace("review", "not_json"), "not valid JSON"),
    (FORM.replace("review", "not_schema"), "not a valid JSON Schema"),
    (FORM.replace("review", "../forms/review"), "inside"),
])
def test_user_task_form_problems_name_the_task(ctx, new, expected):
    text = broken(FORM, new)
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.element_name) == ("Task_review", "Review complaint")
    assert error.line == line_of(text, new or 'id="Task_review"')
    assert expected in error.message


# -- 10: service tasks -------------------------------------------------------------------------------------

def test_unknown_service_operator_names_the_task(ctx):
    text = broken('serviceTaskOperator id="send_reply"', 'serviceTaskOperator id="send_replies"')
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.element_name) == ("Task_reply", "Send reply")
    assert error.line == line_of(text, "send_replies")
    assert "send_replies" in error.message and "send_reply" in error.message


# -- 11: lanes ---------------------------------------------------------------------------------------------

def test_lane_missing_from_roles_is_reported(ctx):
    text = broken('name="Intake desk"', 'name="Front desk"')
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.element_name, error.line) == ("Lane_intake", "Front desk", line_of(text, "Front"))
    assert "roles.toml" in error.message


def test_lane_without_roles_is_reported(ctx):
    context = ValidationContext(ctx.forms_dir, ctx.operators, {"Intake desk": []}, evaluate, SAMPLES)
    error = the_error(validate_bpmn_files(files(), context))
    assert error.element_id == "Lane_intake" and "no role" in error.message


def test_lane_without_name_is_reported(ctx):
    text = broken(' name="Intake desk"', "")
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.element_name) == ("Lane_intake", None)
    assert "no name" in error.message


# -- 12: Python syntax -------------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, element_id", [
    ('decision == "accept"', 'decision = = "accept"', "Flow_accepted"),
    ('<bpmn:script>note = "rejected"</bpmn:script>', '<bpmn:script>note = "rejected\n</bpmn:script>', "Script_note"),
    ("reviewed = True</spiffworkflow:postScript>", "reviewed = = True</spiffworkflow:postScript>", "Task_review"),
    ("value=\"'accepted'\"", "value=\"'accepted\"", "Task_reply"),
])
def test_invalid_python_names_the_element(ctx, old, new, element_id):
    text = broken(old, new)
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.line) == (element_id, line_of(text, new))
    assert "not valid Python" in error.message


def test_python_error_line_points_into_a_multiline_script(ctx):
    text = broken('<bpmn:script>note = "rejected"</bpmn:script>', '<bpmn:script>note = "rejected"\nif note\n'
                                                                    '  pass</bpmn:script>')
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.element_id, error.line) == ("Script_note", line_of(text, "if note"))


# -- 13: SpiffWorkflow's own parse -------------------------------------------------------------------------

def test_spiffworkflow_parse_error_is_located(ctx):
    sub = broken('<bpmn:startEvent id="Start_sub">', '<bpmn:task id="Start_sub">', SUB_TEXT)
    sub = broken("</bpmn:startEvent>", "</bpmn:task>", sub)
    error = the_error(validate_bpmn_files(files(sub=sub), ctx))
    assert (error.file, error.element_id, error.line) == (SUB, "Process_sub", line_of(sub, 'id="Process_sub"'))
    assert "start event" in error.message.lower()


def test_parse_process_converts_spiffworkflow_errors():
    sub = broken('<bpmn:startEvent id="Start_sub">', '<bpmn:task id="Start_sub">', SUB_TEXT)
    sub = broken("</bpmn:startEvent>", "</bpmn:task>", sub)
    with pytest.raises(InvalidDefinition) as raised:
        parse_process(files(sub=sub), "Process_sub")
    error = the_error(raised.value.errors)
    assert (error.file, error.element_id, error.line) == (SUB, "Process_sub", line_of(sub, 'id="Process_sub"'))


def test_parse_process_reports_xml_errors_with_file_and_line():
    text = broken("<bpmn:incoming>Flow_done</bpmn:incoming>", "<bpmn:incoming>Flow_done</bpmn:incomin>")
    with pytest.raises(InvalidDefinition) as raised:
        parse_process(files(text), "Process_minimal")
    error = the_error(raised.value.errors)
    assert (error.file, error.line) == (MAIN, line_of(text, "</bpmn:incomin>"))


def test_every_error_is_reported_at_once(ctx):
    text = broken('"PT24H"', '"PT24X"')
    text = broken('serviceTaskOperator id="send_reply"', 'serviceTaskOperator id="send_replies"', text)
    text = broken('name="Intake desk"', 'name="Front desk"', text)
    text = broken('calledElement="Process_sub"', 'calledElement="Process_gone"', text)
    errors = validate_bpmn_files(files(text), ctx)
    assert {e.element_id for e in errors} == {"Timer_reminder", "Task_reply", "Lane_intake", "Call_escalate"}


# -- the real process definitions --------------------------------------------------------------------------

def test_shipped_process_definitions_are_valid():
    names = ["complaint_handling.bpmn", "escalation.bpmn"]
    shipped = {name: (ROOT / "processes" / name).read_bytes() for name in names}
    roles = tomllib.loads((ROOT / "config" / "roles.toml").read_text(encoding="utf-8"))["lanes"]
    context = ValidationContext(
        forms_dir=ROOT / "app" / "forms",
        operators=frozenset(OPERATORS),   # every operator app/tasks registers, as the composition root hands them
        lane_roles=roles, evaluate=evaluate, sample_data=SAMPLES,
    )
    errors = validate_bpmn_files(shipped, context)
    assert errors == [], "\n".join(str(e) for e in errors)


# -- what crashed the validator or SpiffWorkflow's parser (issue 14) ---------------------------------------------

def test_doctype_with_an_external_entity_is_refused_and_never_resolved(ctx, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    text = MAIN_TEXT.replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                             f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE definitions [\n'
                             f'  <!ENTITY xxe SYSTEM "file://{secret}">\n]>\n', 1)
    text = broken('name="Note rejection"', 'name="&xxe;"', text)
    assert "<!DOCTYPE" in text
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert (error.file, error.line) == (MAIN, line_of(text, "<!DOCTYPE"))
    assert "DOCTYPE" in error.message and "TOP-SECRET" not in str(error)
    with pytest.raises(InvalidDefinition, match="DOCTYPE"):
        parse_process(files(text), "Process_minimal")


@pytest.mark.parametrize("old, new, element_id, expected", [
    ('<bpmn:timerEventDefinition id="TimerDef_reminder">',
     ('<bpmn:messageEventDefinition id="Msg_def" messageRef="Message_missing" /><bpmn:timerEventDefinition '
     'id="TimerDef_reminder">'), "Timer_reminder", "messageRef 'Message_missing' names no <bpmn:message>"),
    ('<bpmn:timerEventDefinition id="TimerDef_reminder">',
     '<bpmn:compensateEventDefinition id="Comp_def" /><bpmn:timerEventDefinition id="TimerDef_reminder">',
     "Timer_reminder", "Compensation events are not supported"),
])
def test_unsupported_or_unresolved_event_definitions_are_located(ctx, old, new, element_id, expected):
    text = broken(old, new)
    errors = validate_bpmn_files(files(text), ctx)
    assert any(e.element_id == element_id and expected in e.message and e.line for e in errors), \
        [str(e) for e in errors]


def test_a_boundary_event_without_definition_is_located(ctx):
    start = MAIN_TEXT.index('<bpmn:boundaryEvent id="Timer_reminder"')
    end = MAIN_TEXT.index("</bpmn:boundaryEvent>", start) + len("</bpmn:boundaryEvent>")
    text = MAIN_TEXT[:start] + ('<bpmn:boundaryEvent id="Timer_reminder" name="Reminder due" '
                                'attachedToRef="Task_review"><bpmn:outgoing>Flow_remind</bpmn:outgoing>'
                                '</bpmn:boundaryEvent>') + MAIN_TEXT[end:]
    errors = validate_bpmn_files(files(text), ctx)
    assert any(e.element_id == "Timer_reminder" and "no event definition" in e.message for e in errors), \
        [str(e) for e in errors]


def test_data_stores_and_unresolved_data_associations_are_located(ctx):
    text = broken('<bpmn:script>note = "rejected"</bpmn:script>',
                  '<bpmn:dataInputAssociation id="In_1"><bpmn:sourceRef>Nowhere</bpmn:sourceRef>'
                  '</bpmn:dataInputAssociation><bpmn:script>note = "rejected"</bpmn:script>')
    text = broken("</bpmn:process>", '<bpmn:dataStoreReference id="Store_ref" dataStoreRef="Store_1" />'
                  "</bpmn:process>", text.replace("</bpmn:process>", "</bpmn:process>", 1)) \
        if text.count("</bpmn:process>") == 1 else text
    text = text.replace("</bpmn:definitions>", '<bpmn:dataStore id="Store_1" name="Ledger" /></bpmn:definitions>')
    errors = validate_bpmn_files(files(text), ctx)
    located = {(e.element_id, e.line) for e in errors}
    assert all(e.line and e.element_id for e in errors), [str(e) for e in errors]
    assert any("names no data object" in e.message and e.element_id == "Script_note" for e in errors)
    assert any("Data store 'Ledger'" in e.message and e.element_id == "Store_1" for e in errors)
    assert all("0x" not in e.message for e in errors) and located


def test_a_chain_too_long_for_the_engine_is_refused_without_recursion_error(ctx):
    count = 490
    tasks = "".join(f'<bpmn:task id="t{i}" /><bpmn:sequenceFlow id="f{i}" sourceRef="{"start" if i == 0 else f"t{i - 1}"}" '
                    f'targetRef="t{i}" />' for i in range(count))
    text = (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
            f'20100524/MODEL" id="d" targetNamespace="t">\n<bpmn:process id="chain" isExecutable="true">'
            f'<bpmn:startEvent id="start" />{tasks}<bpmn:endEvent id="end" /><bpmn:sequenceFlow id="fe" '
            f'sourceRef="t{count - 1}" targetRef="end" /></bpmn:process></bpmn:definitions>')
    error = the_error(validate_bpmn_files({"chain.bpmn": text.encode()}, ctx))
    assert error.element_id == "t249" and "Split it into call activities" in error.message


def test_a_runaway_timer_expression_does_not_hang_validation(ctx):
    text = broken(REMINDER, "<bpmn:timeDuration>9**9**9</bpmn:timeDuration>")
    started = time.monotonic()
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert time.monotonic() - started < 5
    assert error.element_id == "Timer_reminder" and "bits" in error.message


def test_names_with_newlines_keep_each_error_on_one_line(ctx):
    text = broken('name="Note rejection"', 'name="Note&#10;rejection"')
    text = broken('<bpmn:script>note = "rejected"</bpmn:script>', "<bpmn:script></bpmn:script>", text)
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert error.element_name == "Note rejection" and "\n" not in str(error)


def test_a_process_without_start_event_is_located(ctx):
    text = SUB_TEXT
    start = text.index("<bpmn:startEvent")
    end = text.index("</bpmn:startEvent>") + len("</bpmn:startEvent>")
    text = text[:start] + text[end:]
    errors = validate_bpmn_files(files(sub=text), ctx)
    assert errors and all(e.line and e.element_id for e in errors), [str(e) for e in errors]
    assert any("start event" in e.message.lower() and e.file == SUB for e in errors)


def test_a_file_whose_processes_are_all_not_executable_is_not_valid(ctx):
    text = SUB_TEXT.replace('isExecutable="true"', 'isExecutable="false"')
    assert text != SUB_TEXT
    errors = validate_bpmn_files({SUB: text.encode()}, ctx)
    assert any("not executable" in e.message and e.element_id == "Process_sub" and e.line for e in errors)


@pytest.mark.parametrize("old, new, element_id, expected", [
    ('<bpmn:script>note = "rejected"</bpmn:script>', '<bpmn:script>note = "x"\ncls = ().__class__</bpmn:script>',
     "Script_note", '"__class__" is an invalid attribute name'),
    ('<bpmn:script>note = "rejected"</bpmn:script>', '<bpmn:script>note = "{}".format(1)</bpmn:script>',
     "Script_note", '".format()" is not allowed'),
    ('<bpmn:conditionExpression>decision == "accept"</bpmn:conditionExpression>',
     "<bpmn:conditionExpression>__import__('os')</bpmn:conditionExpression>", "Flow_accepted", '"__import__"'),
    ("""value="'accepted'" """, """value="_secret" """, "Task_reply", '"_secret" is an invalid variable name'),
    (REMINDER, "<bpmn:timeDuration>().__class__</bpmn:timeDuration>", "Timer_reminder", "__class__"),
])
def test_the_sandbox_compiler_refuses_forbidden_names_at_their_line(ctx, old, new, element_id, expected):
    text = broken(old, new)
    error = the_error(validate_bpmn_files(files(text), ctx))
    assert error.element_id == element_id and expected in error.message
    assert "refused by the script sandbox" in error.message
    last_line = new.split("\n")[-1]
    assert error.line == line_of(text, last_line if "\n" in new else new)


@pytest.mark.parametrize("bundle", [{}, {SUB: SUB_TEXT.replace('isExecutable="true"', 'isExecutable="false"').encode()}],
                         ids=["no files", "nothing executable"])
def test_deploy_never_deploys_nothing_quietly(runtime, bundle):
    from app.engine.core.actors import SYSTEM
    from app.engine.governance import definitions
    from app.engine.models import ProcessDefinition
    with pytest.raises(InvalidDefinition, match="executable|nothing was deployed"), runtime.unit_of_work() as uow:
        definitions.deploy(uow, SYSTEM, bundle)
    with runtime.unit_of_work() as uow:
        assert uow.session.query(ProcessDefinition).count() == 0
