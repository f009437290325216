"""Check BPMN files before deployment and report every problem, each located at file, element and line.

SpiffWorkflow stops at the first problem, names it poorly and misses several that only fail at run time (a bad
timer expression makes a timer that silently never fires). Structural checks therefore run on the lxml tree;
SpiffWorkflow's own parse runs last, once the files are structurally sound.
"""
from __future__ import annotations

import ast
import json
import logging
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.engine.core.errors import DefinitionError, InvalidDefinition
from app.engine.workflow.parsing import (
    BPMN_NS,
    NSMAP,
    BpmnDocument,
    cleaned,
    document_process_ids,
    error_at,
    find_by_id,
    has_element_id,
    load_document,
    parse_process,
    schema_errors,
    shorten_tags,
)
from app.engine.workflow.performers import performer_errors
from app.engine.workflow.scripting import source_problems

log = logging.getLogger(__name__)
FORM_PROPERTY = "formJsonSchemaFilename"
_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
ProcessIndex = Mapping[str, bool]  # id of every process in the files -> whether it is executable
# SpiffWorkflow's parser follows the flow recursively, two Python frames per element: a chain much longer than
# this runs out of stack (RecursionError), and would make a task tree too deep to run anyway (runner.py).
MAX_FLOW_DEPTH = 250
_EXCEPTION_PREFIX = re.compile(r"^(?:\w+\.)*\w*(?:Error|Exception|Exit|Interrupt): ")


@dataclass(frozen=True)
class ValidationContext:
    """What a definition is checked against, besides its own files."""

    forms_dir: Path                                 # app/forms
    operators: frozenset[str]                       # service-task operators registered in app/tasks
    lane_roles: Mapping[str, Sequence[str]]         # lane name -> roles (config/roles.toml [lanes])
    evaluate: Callable[[str, dict], Any]            # evaluates a Python expression in our sandbox with task data
    sample_data: Sequence[dict]                     # representative task data to evaluate timer expressions with
    known_processes: frozenset[str] = frozenset()   # process ids deployed elsewhere (call activity targets)
    forms: Mapping[str, str] | None = None          # a draft's forms (file name -> content), over forms_dir


def validate_bpmn_files(files: Mapping[str, bytes], ctx: ValidationContext) -> list[DefinitionError]:
    """Every problem found in ``files`` (file name -> content); an empty list means the files can be deployed."""
    errors: list[DefinitionError] = []
    docs: list[BpmnDocument] = []
    for name, data in files.items():
        try:
            docs.append(load_document(name, data))
        except InvalidDefinition as ex:  # not XML at all: nothing more can be said about this file
            errors.extend(ex.errors)
    xml_ok = not errors
    structural = _duplicate_process_ids(docs)
    for doc in docs:
        duplicates, duplicate_ids = _duplicate_ids(doc)
        structural += duplicates + _shadowed_ids(doc) + schema_errors(doc, ignore_ids=duplicate_ids)
        structural += _dangling_references(doc)
        # What would crash SpiffWorkflow's parser (or make it answer without a location) is checked here first.
        structural += _executable(doc) + _event_definitions(doc) + _data_references(doc) + _flow_depth(doc)
    errors += structural
    processes: dict[str, bool] = {}  # process id -> executable
    for doc in docs:
        executable = set(document_process_ids(doc, executable=True))
        processes.update((pid, pid in executable) for pid in document_process_ids(doc))
    for doc in docs:
        for check in _DOCUMENT_CHECKS:
            try:
                errors += check(doc, ctx, processes)
            except Exception:
                log.exception("validation check %s failed on %s", check.__name__, doc.name)
                errors.append(error_at(doc.name, doc.root, f"The validator could not run its check "
                                                           f"'{check.__name__.strip('_')}' on this file; please "
                                                           "report it with the file."))
    if xml_ok and not structural:
        errors += _spiff_errors(files, docs, ctx, errors)
    return [cleaned(error) for error in errors]


# -- structure ---------------------------------------------------------------------------------------------

def _duplicate_ids(doc: BpmnDocument) -> tuple[list[DefinitionError], set[str]]:
    first_seen: dict[str, etree._Element] = {}
    errors, duplicates = [], set()
    for element in doc.root.iter(etree.Element):
        if not has_element_id(element):
            continue
        element_id = element.get("id")
        if element_id not in first_seen:
            first_seen[element_id] = element
            continue
        duplicates.add(element_id)
        errors.append(error_at(doc.name, element, (
            f"Duplicate id '{element_id}': used on line {first_seen[element_id].sourceline} and again on line "
            f"{element.sourceline}. Give one of the two elements a new id (and update the references to it).")))
    return errors, duplicates


def _shadowed_ids(doc: BpmnDocument) -> list[DefinitionError]:
    """SpiffWorkflow indexes EVERY id attribute of a process, the last one winning: an extension element such as
    ``<spiffworkflow:serviceTaskOperator id="send_reply">`` inside a task with id "send_reply" replaces that task,
    and parsing fails with "There is no support implemented for this task type"."""
    errors = []
    for process in _iter(doc, "process"):
        last: dict[str, etree._Element] = {}
        for element in process.iter(etree.Element):
            if element.get("id") is not None:
                last[element.get("id")] = element
        for element in process.iter(etree.Element):
            shadow = last.get(element.get("id"))
            if has_element_id(element) and shadow is not None and not has_element_id(shadow):
                errors.append(error_at(doc.name, element, (
                    f"Id '{element.get('id')}' is also the id of <{shorten_tags(shadow.tag)}> on line "
                    f"{shadow.sourceline}; SpiffWorkflow would take that element for this one and fail. "
                    f"Rename this element (e.g. 'Task_{element.get('id')}').")))
    return errors


def _duplicate_process_ids(docs: Sequence[BpmnDocument]) -> list[DefinitionError]:
    owner: dict[str, str] = {}
    errors = []
    for doc in docs:
        for process in _iter(doc, "process"):
            pid = process.get("id")
            if pid in owner and owner[pid] != doc.name:
                errors.append(error_at(doc.name, process, f"Process id '{pid}' is also defined in {owner[pid]}: "
                                                          "each process needs its own id."))
            owner.setdefault(pid, doc.name)
    return errors


def _dangling_references(doc: BpmnDocument) -> list[DefinitionError]:
    """Sequence flows (and boundary events) must reference an element of their own process or subprocess."""
    errors = []
    for container in (c for tag in _CONTAINERS for c in _iter(doc, tag)):
        nodes = {child.get("id") for child in container.iterchildren(etree.Element)
                 if child.get("id") and child.tag != _tag("sequenceFlow")}
        references = [(flow, attr) for flow in container.iterchildren(_tag("sequenceFlow"))
                      for attr in ("sourceRef", "targetRef")]
        references += [(event, "attachedToRef") for event in container.iterchildren(_tag("boundaryEvent"))]
        for element, attr in references:
            ref = element.get(attr)
            if ref is None or ref in nodes:
                continue
            where = ("is in another process or subprocess; connect elements of the same process only"
                     if find_by_id(doc.root, ref) is not None else "does not exist")
            errors.append(error_at(doc.name, element, f"{attr} '{ref}' {where}. Reconnect it in the modeler."))
    return errors


# -- content -----------------------------------------------------------------------------------------------

def _gateway_conditions(doc: BpmnDocument, ctx: ValidationContext, processes: ProcessIndex) -> list[DefinitionError]:
    errors = []
    for kind in ("exclusiveGateway", "inclusiveGateway"):
        for gateway in _iter(doc, kind):
            outgoing = [flow for flow in gateway.getparent().iterchildren(_tag("sequenceFlow"))
                        if flow.get("sourceRef") == gateway.get("id")]
            default = gateway.get("default")
            if default and default not in {flow.get("id") for flow in outgoing}:
                errors.append(error_at(doc.name, gateway, f"The default flow '{default}' is not one of this "
                                                          "gateway's outgoing flows."))
            if len(outgoing) < 2:
                continue
            for flow in outgoing:
                if flow.get("id") != default and not _condition(flow):
                    errors.append(error_at(doc.name, flow, (
                        f"This flow leaves {kind} '{gateway.get('id')}' without a conditionExpression and is not "
                        "the gateway's default flow: add a condition, or make it the default flow.")))
    return errors


def _timers(doc: BpmnDocument, ctx: ValidationContext, processes: ProcessIndex) -> list[DefinitionError]:
    errors = []
    for definition in _iter(doc, "timerEventDefinition"):
        event = definition.getparent()
        specs = list(definition.iterchildren(*(_tag(kind) for kind in _TIMER_KINDS)))
        if not specs:
            errors.append(error_at(doc.name, event, "The timer has no timeDuration, timeDate or timeCycle "
                                                    "expression, so it can never fire."))
            continue
        kind = etree.QName(specs[0]).localname
        problem = _timer_problem(kind, (specs[0].text or "").strip(), ctx)
        if problem:
            errors.append(error_at(doc.name, event, problem, line=specs[0].sourceline))
    return errors


def _timer_problem(kind: str, expression: str, ctx: ValidationContext) -> str | None:
    expected, check = _TIMER_KINDS[kind]
    if not expression:
        return f"The {kind} expression is empty; it must give {expected}."
    problems = source_problems(expression, "eval")
    if problems:
        return (f"The {kind} expression {expression!r} {_refusal(expression, 'eval')}: {problems[0][1]}. It is a "
                "Python expression; a literal is quoted, e.g. '\"PT24H\"'.")
    for index, data in enumerate(ctx.sample_data or [{}], start=1):
        try:
            value = ctx.evaluate(expression, dict(data))
        except Exception as ex:
            reason = _EXCEPTION_PREFIX.sub("", getattr(ex, "message", None) or str(ex))
            return (f"The {kind} expression {expression!r} fails with sample task data #{index} ({reason}). "
                    "It is a Python expression; a literal is quoted, e.g. '\"PT24H\"'.")
        try:
            check(value)
        except Exception:
            return (f"The {kind} expression {expression!r} gives {value!r} with sample task data #{index}, which "
                    f"is not {expected}: SpiffWorkflow only notices at run time and the timer then never fires.")
    return None


def _check_duration(value: Any) -> None:
    parsed = TimerEventDefinition.parse_iso_duration(_string(value))
    if not parsed:  # SpiffWorkflow accepts "" and "P" as a zero duration
        raise ValueError("empty duration")
    TimerEventDefinition.get_timedelta_from_start(parsed)


def _check_date(value: Any) -> None:
    TimerEventDefinition.get_datetime(_string(value))


def _check_cycle(value: Any) -> None:
    if not _string(value).upper().startswith("R"):
        raise ValueError("a recurring interval starts with R")
    TimerEventDefinition.parse_iso_recurring_interval(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


_TIMER_KINDS: dict[str, tuple[str, Callable[[Any], None]]] = {
    "timeDuration": ("an ISO 8601 duration such as 'PT24H' or 'P15D'", _check_duration),
    "timeDate": ("an ISO 8601 date or date-time such as '2026-01-31T17:00:00+00:00'", _check_date),
    "timeCycle": ("an ISO 8601 recurring interval such as 'R3/PT1H'", _check_cycle),
}


def _call_activities(doc: BpmnDocument, ctx: ValidationContext, processes: ProcessIndex) -> list[DefinitionError]:
    errors = []
    for call in _iter(doc, "callActivity"):
        target = (call.get("calledElement") or "").strip()
        if not target:
            problem: str | None = "The call activity has no calledElement: set it to the id of the process to call."
        elif target in processes:
            problem = None if processes[target] else (
                f"Calls process '{target}', which is not executable: set isExecutable=\"true\" on that process.")
        elif target in ctx.known_processes:
            problem = None
        else:
            problem = (f"Calls process '{target}', which is neither in these files nor deployed: fix calledElement, "
                       "add the process file to this deployment or deploy that process first.")
        if problem:
            errors.append(error_at(doc.name, call, problem))
    return errors


def _user_tasks(doc: BpmnDocument, ctx: ValidationContext, processes: ProcessIndex) -> list[DefinitionError]:
    errors = []
    for task in _iter(doc, "userTask"):
        prop = task.find(f"bpmn:extensionElements/spiffworkflow:properties/"
                         f"spiffworkflow:property[@name='{FORM_PROPERTY}']", NSMAP)
        filename = (prop.get("value") or "").strip() if prop is not None else ""
        if not filename:
            errors.append(error_at(doc.name, task, (
                f"The user task has no form: add the spiffworkflow property '{FORM_PROPERTY}' naming a JSON "
                f"Schema file in {ctx.forms_dir.name}/.")))
            continue
        problem = _form_problem(ctx.forms_dir, filename, ctx.forms)
        if problem:
            errors.append(error_at(doc.name, task, problem, line=prop.sourceline))
    return errors


# The messages name the forms folder, never its absolute path: they are shown to process owners in the modeler.
def _form_problem(forms_dir: Path, filename: str, drafted: Mapping[str, str] | None = None) -> str | None:
    """``drafted``: the forms a draft edits or adds, checked instead of the file of the same name."""
    relative = PurePath(filename)
    if relative.is_absolute() or ".." in relative.parts:
        return f"Form file '{filename}' must be a file name inside {forms_dir.name}/."
    path = forms_dir / relative
    if not (drafted and filename in drafted) and not path.is_file():
        return f"Form file '{filename}' does not exist in {forms_dir.name}/: add it or fix '{FORM_PROPERTY}'."
    try:
        text = drafted[filename] if drafted and filename in drafted else path.read_text(encoding="utf-8")
        schema = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as ex:
        return f"Form file '{filename}' is not valid JSON: {ex}."
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as ex:
        return f"Form file '{filename}' is not a valid JSON Schema (at {ex.json_path}): {ex.message}."
    return None


def _service_tasks(doc: BpmnDocument, ctx: ValidationContext, processes: ProcessIndex) -> list[DefinitionError]:
    errors = []
    known = ", ".join(sorted(ctx.operators)) or "none"
    for task in _iter(doc, "serviceTask"):
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NSMAP)
        name = (operator.get("id") or "").strip() if operator is not None else ""
        if not name:
            errors.append(error_at(doc.name, task, "The service task has no spiffworkflow:serviceTaskOperator id: "
                                                   f"set it to a registered operator ({known})."))
        elif name not in ctx.operators:
            errors.append(error_at(doc.name, task, f"Unknown service-task operator '{name}': the registered "
                                                   f"operators are {known}.", line=operator.sourceline))
    return errors


def _lanes(doc: BpmnDocument, ctx: ValidationContext, processes: ProcessIndex) -> list[DefinitionError]:
    errors = []
    known = ", ".join(f"'{lane}'" for lane in ctx.lane_roles) or "none"
    for lane in _iter(doc, "lane"):
        if lane.find("bpmn:childLaneSet/bpmn:lane", NSMAP) is not None:
            continue  # tasks belong to the innermost lane
        name = lane.get("name") or ""
        if not name.strip():
            problem = f"The lane has no name: name it after a lane of config/roles.toml ({known})."
        elif name not in ctx.lane_roles:
            problem = (f"Lane '{name}' is not in config/roles.toml [lanes], so nobody could work on its tasks: add it "
                       f"there with the roles allowed, or rename the lane to one of {known}.")
        elif not ctx.lane_roles[name]:
            problem = f"Lane '{name}' maps to no role in config/roles.toml [lanes]: list the roles that work on it."
        else:
            continue
        errors.append(error_at(doc.name, lane, problem))
    return errors


def _performers(doc: BpmnDocument, ctx: ValidationContext, processes: ProcessIndex) -> list[DefinitionError]:
    return performer_errors(doc, ctx.lane_roles)


def _python_syntax(doc: BpmnDocument, ctx: ValidationContext, processes: ProcessIndex) -> list[DefinitionError]:
    """Every script and expression compiled with the sandbox's own compiler: what it refuses at run time
    (``__class__``, ``__import__``, ``.format``, ``_x``) is refused here, at the line it is on."""
    errors = []
    for source, mode, owner, what in _python_sources(doc):
        problems = source_problems(source, mode)
        if not problems:
            continue
        offset = source[:len(source) - len(source.lstrip())].count("\n") if mode == "eval" else 0
        refusal = _refusal(source, mode)
        for script_line, message in problems:
            line = owner.sourceline + offset + max((script_line or 1) - 1, 0)
            where = f" (line {script_line} of the {what})" if script_line else ""
            errors.append(error_at(doc.name, owner, f"The {what} {refusal}: {message}{where}.", line=line))
    for task in _iter(doc, "scriptTask"):
        script = task.find("bpmn:script", NSMAP)
        if script is None or not (script.text or "").strip():
            errors.append(error_at(doc.name, task, "The script task has no script: write one or use another task "
                                                   "type."))
    return errors


def _python_sources(doc: BpmnDocument) -> Iterator[tuple[str, str, etree._Element, str]]:
    """(source, compile mode, element, description) of every Python snippet the engine will run."""
    for condition in _iter(doc, "conditionExpression"):
        if (condition.text or "").strip():
            yield condition.text, "eval", condition, "conditionExpression"
    for script in _iter(doc, "script"):
        if (script.text or "").strip():
            yield script.text, "exec", script, "script"
    for kind in ("preScript", "postScript"):
        for script in doc.root.iter(f"{{{NSMAP['spiffworkflow']}}}{kind}"):
            if (script.text or "").strip():
                yield script.text, "exec", script, kind
    for parameter in doc.root.iter(f"{{{NSMAP['spiffworkflow']}}}parameter"):
        if (parameter.get("value") or "").strip():
            yield parameter.get("value"), "eval", parameter, f"value of service parameter '{parameter.get('id')}'"
    for kind in ("completionCondition", "loopCardinality", "condition"):
        for expression in _iter(doc, kind):
            if (expression.text or "").strip():
                yield expression.text, "eval", expression, kind


def _refusal(source: str, mode: str) -> str:
    """How to say why the sandbox refuses ``source``: plain Python syntax, or the sandbox's own rules."""
    try:
        with warnings.catch_warnings():  # e.g. invalid escape sequences: not our concern here
            warnings.simplefilter("ignore")
            ast.parse(source.strip() if mode == "eval" else source, "<bpmn>", mode)
    except (SyntaxError, ValueError):
        return "is not valid Python"
    return "is refused by the script sandbox"


def _duplicate_extensions(doc: BpmnDocument, ctx: ValidationContext,
                          processes: ProcessIndex) -> list[DefinitionError]:
    """SpiffWorkflow reads an element's spiffworkflow extensions into a dict by name: of two postScripts (two
    preScripts, two properties blocks, two service operators ...) only the last runs, and of two properties or
    parameters with one name only the last counts, without a word. The review's diff shows the one that runs;
    here the file is refused, at the element and the line of the repeated one."""
    errors = []
    spiff = f"{{{NSMAP['spiffworkflow']}}}"
    owners = dict.fromkeys(extensions.getparent() for extensions in _iter(doc, "extensionElements"))
    for owner in owners:
        seen: dict[str, etree._Element] = {}
        for extensions in owner.iterchildren(_tag("extensionElements")):
            for child in extensions.iterchildren(f"{spiff}*"):
                name = etree.QName(child).localname
                first = seen.setdefault(name, child)
                if first is not child:
                    errors.append(error_at(doc.name, owner, (
                        f"<spiffworkflow:{name}> appears again on line {child.sourceline} (first on line "
                        f"{first.sourceline}): the engine keeps only the last one and silently ignores the other. "
                        f"Merge them into one <spiffworkflow:{name}>."), line=child.sourceline))
        for container, item, key in (("properties", "property", "name"),
                                     ("serviceTaskOperator", "parameter", "id")):
            for block in (b for e in owner.iterchildren(_tag("extensionElements"))
                          for b in e.iterchildren(f"{spiff}{container}")):
                named: dict[str, etree._Element] = {}
                for element in block.iter(f"{spiff}{item}"):
                    first = named.setdefault(element.get(key) or "", element)
                    if first is not element:
                        errors.append(error_at(doc.name, owner, (
                            f"The spiffworkflow {item} '{element.get(key)}' is set again on line "
                            f"{element.sourceline} (first on line {first.sourceline}): the engine keeps only the "
                            "last value and silently ignores the other. Keep one."), line=element.sourceline))
    return errors


# -- what SpiffWorkflow's parser cannot take (it crashes, or answers without a location) ----------------------

def _executable(doc: BpmnDocument) -> list[DefinitionError]:
    """A file must give the engine something to run: bpmn.io's new diagram has isExecutable="false", and a
    deployment of only such processes used to "succeed" deploying nothing."""
    processes = list(_iter(doc, "process"))
    executable = [p for p in processes if p.get("isExecutable", "true") == "true"]
    if executable:
        return [error_at(doc.name, process, "The process has no start event: add one where the process begins.")
                for process in executable if process.find("bpmn:startEvent", NSMAP) is None]
    if not processes:
        return [error_at(doc.name, doc.root, "The file has no <bpmn:process>: there is nothing to run (a "
                                             "collaboration or diagram alone cannot be deployed).")]
    return [error_at(doc.name, process, "The process is not executable (isExecutable=\"false\") and no process "
                                        "in this file is: set isExecutable=\"true\" on the process to deploy.")
            for process in processes]


_EVENT_REFERENCES = {"messageEventDefinition": ("messageRef", "message"),
                     "signalEventDefinition": ("signalRef", "signal"),
                     "errorEventDefinition": ("errorRef", "error"),
                     "escalationEventDefinition": ("escalationRef", "escalation")}
_BOUNDARY_DEFINITIONS = {"timerEventDefinition", "messageEventDefinition", "signalEventDefinition",
                         "errorEventDefinition", "escalationEventDefinition", "cancelEventDefinition",
                         "conditionalEventDefinition"}


def _event_definitions(doc: BpmnDocument) -> list[DefinitionError]:
    errors = []
    for local, (attr, target) in _EVENT_REFERENCES.items():
        known = {element.get("id") for element in _iter(doc, target)}
        for definition in _iter(doc, local):
            ref = definition.get(attr)
            if ref is None or ref in known:
                continue
            if _local_ref(ref) in known:  # SpiffWorkflow looks references up by the literal text
                problem = (f"The event's {attr} '{ref}' has a namespace prefix this engine does not resolve: write "
                           f"{attr}=\"{_local_ref(ref)}\".")
            else:
                problem = (f"The event's {attr} '{ref}' names no <bpmn:{target}> of this file: add the {target} "
                           "definition or fix the reference in the modeler.")
            errors.append(error_at(doc.name, definition.getparent(), problem, line=definition.sourceline))
    for definition in _iter(doc, "compensateEventDefinition"):
        errors.append(error_at(doc.name, definition.getparent(), "Compensation events are not supported by this "
                                                                 "engine: model the undo step as an ordinary path.",
                               line=definition.sourceline))
    for event in _iter(doc, "boundaryEvent"):
        kinds = {etree.QName(child).localname for child in event.iterchildren(etree.Element)
                 if etree.QName(child).localname.endswith("EventDefinition")}
        if not kinds:
            errors.append(error_at(doc.name, event, "The boundary event has no event definition (timer, message, "
                                                    "error, signal, escalation...): it could never be triggered."))
        elif not kinds & _BOUNDARY_DEFINITIONS and "compensateEventDefinition" not in kinds:
            errors.append(error_at(doc.name, event, f"This engine cannot attach a {', '.join(sorted(kinds))} "
                                                    "boundary event to a task."))
    return errors


def _data_references(doc: BpmnDocument) -> list[DefinitionError]:
    """Data stores need an implementation the engine does not have; data associations must name a data
    object of the file (SpiffWorkflow's own errors have no location or show a memory address)."""
    errors = [error_at(doc.name, store, f"Data store '{store.get('name') or store.get('id')}' cannot be used: "
                                        "this engine has no data store implementations. Keep the data in "
                                        "process variables (data objects) instead.")
              for store in _iter(doc, "dataStore")]
    objects = {element.get("id") for element in _iter(doc, "dataObject")}
    references = {element.get("id"): element for element in _iter(doc, "dataObjectReference")}
    stores = {element.get("id") for element in _iter(doc, "dataStoreReference")}
    for kind, ref_tag in (("dataInputAssociation", "sourceRef"), ("dataOutputAssociation", "targetRef")):
        for association in _iter(doc, kind):
            for ref in association.iterchildren(_tag(ref_tag)):
                target = (ref.text or "").strip()
                if target in objects or (target in references
                                         and references[target].get("dataObjectRef") in objects):
                    continue
                if target in stores:
                    problem = (f"The {kind} uses data store reference '{target}': this engine has no data store "
                               "implementations.")
                elif target in references:
                    problem = (f"The {kind} uses data object reference '{target}', whose dataObjectRef "
                               f"'{references[target].get('dataObjectRef')}' names no data object.")
                else:
                    problem = (f"The {kind}'s {ref_tag} '{target}' names no data object of this process: "
                               "connect it to a data object in the modeler.")
                errors.append(error_at(doc.name, association.getparent(), problem, line=ref.sourceline))
    return errors


def _flow_depth(doc: BpmnDocument) -> list[DefinitionError]:
    """The longest chain SpiffWorkflow's recursive parser would follow (depth-first along outgoing flows, as it
    does), measured without recursion; refused past MAX_FLOW_DEPTH elements."""
    errors = []
    for container in (c for tag in _CONTAINERS for c in _iter(doc, tag)):
        nodes = {child.get("id"): child for child in container.iterchildren(etree.Element) if child.get("id")}
        outgoing: dict[str, list[str]] = {}
        for flow in container.iterchildren(_tag("sequenceFlow")):
            outgoing.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
        seen: set[str] = set()
        for start in container.iterchildren(_tag("startEvent")):
            stack = [(start.get("id"), 1)]
            while stack:
                node_id, depth = stack.pop()
                if node_id in seen or node_id not in nodes:
                    continue
                seen.add(node_id)
                if depth > MAX_FLOW_DEPTH:
                    errors.append(error_at(doc.name, nodes[node_id], (
                        f"This element is more than {MAX_FLOW_DEPTH} elements down one chain of the flow: the engine "
                        "cannot parse or run a process that long. Split it into call activities or subprocesses.")))
                    break
                stack.extend((target, depth + 1) for target in reversed(outgoing.get(node_id, [])))
            if errors:
                return errors
    return errors


def _local_ref(ref: str) -> str:
    """``tns:Message_1`` -> ``Message_1`` (some modelers qualify references with a prefix)."""
    return ref.rsplit(":", 1)[-1]


_DOCUMENT_CHECKS = (_gateway_conditions, _timers, _call_activities, _user_tasks, _service_tasks, _lanes,
                    _performers, _python_syntax, _duplicate_extensions)


# -- SpiffWorkflow's own parse -----------------------------------------------------------------------------

def _spiff_errors(files: Mapping[str, bytes], docs: Sequence[BpmnDocument], ctx: ValidationContext,
                  reported: list[DefinitionError]) -> list[DefinitionError]:
    """What SpiffWorkflow itself refuses, minus what was already reported for the same element."""
    located = {(error.file, error.element_id) for error in reported if error.element_id}
    found: list[DefinitionError] = []
    for doc in docs:
        for process_id in document_process_ids(doc, executable=True):
            try:
                parse_process(files, process_id, external=ctx.known_processes)
            except InvalidDefinition as ex:
                process = find_by_id(doc.root, process_id)
                for error in ex.errors:
                    if not error.line and not error.element_id:  # SpiffWorkflow named nothing: say which process
                        error = error_at(doc.name, process, error.message)
                    if (error.file, error.element_id) not in located and error not in found:
                        found.append(error)
    return found


# -- helpers -----------------------------------------------------------------------------------------------

def _tag(local: str) -> str:
    return f"{{{BPMN_NS}}}{local}"


def _iter(doc: BpmnDocument, local: str) -> Iterator[etree._Element]:
    return doc.root.iter(_tag(local))


def _condition(flow: etree._Element) -> str:
    condition = flow.find("bpmn:conditionExpression", NSMAP)
    return (condition.text or "").strip() if condition is not None else ""
