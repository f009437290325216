"""A semantic diff of two BPMN files: what a reviewer must see, not what the layout did.

bpmn-js-differ compares the diagrams a modeler draws; it reports a task moved to another lane as a layout
change, and it does not read SpiffWorkflow's extensions at all. Here each flow element is reduced to the
*aspects that decide behaviour* (its lane and so its roles, form, operator and parameters, scripts, gateway
conditions, timer expressions and the SLA names in them, multi-instance collections, ...) and the two
versions are compared aspect by aspect, each change with its old and new value. Diagram interchange (shapes,
waypoints) is ignored on purpose.

Pure lxml over files loaded by parsing.load_document (no entities, no DTD, no network).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from lxml import etree

from app.engine.workflow.parsing import BPMN_NS, SPIFF_NS, load_document

_B = f"{{{BPMN_NS}}}"
_S = f"{{{SPIFF_NS}}}"
# Children of a process that are not flow elements of their own (their content belongs to another element).
_NOT_ELEMENTS = {"laneSet", "extensionElements", "documentation", "ioSpecification", "property",
                 "multiInstanceLoopCharacteristics", "standardLoopCharacteristics"}
_STRING_LITERAL = re.compile(r"""(?P<q>["'])(?P<s>[A-Za-z_][A-Za-z0-9_]*)(?P=q)""")
_EVENT_DEFINITIONS = ("timerEventDefinition", "messageEventDefinition", "signalEventDefinition",
                      "errorEventDefinition", "escalationEventDefinition", "terminateEventDefinition",
                      "conditionalEventDefinition", "cancelEventDefinition", "compensateEventDefinition")

# The aspects of an element, in the order a reviewer reads them.
ASPECT_ORDER = ("type", "name", "lane", "form", "operator", "result_variable", "script", "pre_script",
                "post_script", "condition", "timer", "sla", "event", "collection", "attached_to", "flow",
                "called_element", "container")


@dataclass(frozen=True)
class Change:
    """One difference. ``kind``: added | removed | changed | role (a lane move: who does the work changed)."""

    kind: str
    element_id: str
    element_type: str
    element_name: str | None = None
    aspect: str | None = None
    old: str | None = None
    new: str | None = None
    old_roles: tuple[str, ...] = ()
    new_roles: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["old_roles"], d["new_roles"] = list(self.old_roles), list(self.new_roles)
        return d


@dataclass
class Diff:
    changes: list[Change] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def role_changes(self) -> list[Change]:
        return self.of_kind("role")

    def highlights(self) -> dict[str, str]:
        """element id -> added | removed | changed, for the visual diff (role changes count as changed)."""
        marks: dict[str, str] = {}
        for change in self.changes:
            mark = "changed" if change.kind == "role" else change.kind
            if marks.get(change.element_id) in (None, "changed"):
                marks[change.element_id] = mark
        return marks


def diff_bpmn(old: bytes | str, new: bytes | str, *, lane_roles: Mapping[str, tuple[str, ...]] = {},
              sla_names: frozenset[str] | None = None) -> Diff:
    """Compare two BPMN files. ``lane_roles`` (config/roles.toml) names the roles behind each lane;
    ``sla_names`` (the active profile) picks the SLA names out of timer expressions."""
    before = elements_of(old, sla_names)
    after = elements_of(new, sla_names)
    result = Diff()
    for element_id in sorted(set(before) | set(after), key=lambda i: _order_key(i, before, after)):
        a, b = before.get(element_id), after.get(element_id)
        if a is None:
            assert b is not None  # the id is in before or in after
            result.changes.append(Change("added", element_id, b["type"], b.get("name")))
            continue
        if b is None:
            result.changes.append(Change("removed", element_id, a["type"], a.get("name")))
            continue
        for aspect in _aspects(a, b):
            old_value, new_value = a.get(aspect), b.get(aspect)
            if old_value == new_value:
                continue
            name = b.get("name") or a.get("name")
            if aspect == "lane":
                result.changes.append(Change(
                    "role", element_id, b["type"], name, aspect, old_value, new_value,
                    tuple(lane_roles.get(old_value, ())) if old_value else (),
                    tuple(lane_roles.get(new_value, ())) if new_value else ()))
            else:
                result.changes.append(Change("changed", element_id, b["type"], name, aspect, old_value, new_value))
    return result


def _order_key(element_id, before, after):
    source = after.get(element_id) or before.get(element_id)
    return (source["_position"], element_id)


def _aspects(a: dict, b: dict) -> list[str]:
    keys = (set(a) | set(b)) - {"_position"}
    known = [k for k in ASPECT_ORDER if k in keys]
    return known + sorted(keys - set(ASPECT_ORDER))


def elements_of(source: bytes | str, sla_names: frozenset[str] | None = None) -> dict[str, dict]:
    """element id -> {aspect: value} for every flow element of every process in the file."""
    root = load_document("diff.bpmn", source if isinstance(source, bytes) else source.encode("utf-8")).root
    lanes: dict[str, str] = {}
    # Nested lanes: the innermost lane (met last in document order) is the one SpiffWorkflow assigns.
    for lane in root.iter(f"{_B}lane"):
        for ref in lane.findall(f"{_B}flowNodeRef"):
            if ref.text:
                lanes[ref.text.strip()] = lane.get("name") or lane.get("id")
    elements: dict[str, dict] = {}
    for process in root.iter(f"{_B}process"):
        _collect(process, process.get("id"), lanes, sla_names, elements)
    return elements


def _collect(container: etree._Element, container_id: str | None, lanes: Mapping[str, str],
             sla_names: frozenset[str] | None, elements: dict[str, dict]) -> None:
    for child in container:
        if not isinstance(child.tag, str) or not child.tag.startswith(_B):
            continue
        kind = etree.QName(child).localname
        if kind in _NOT_ELEMENTS or not child.get("id"):
            continue
        element_id = child.get("id")
        elements[element_id] = _describe(child, kind, container_id, lanes, sla_names, len(elements))
        if kind in ("subProcess", "transaction", "adHocSubProcess"):
            _collect(child, element_id, lanes, sla_names, elements)


def _describe(el: etree._Element, kind: str, container_id: str | None, lanes: Mapping[str, str],
              sla_names: frozenset[str] | None, position: int) -> dict:
    aspects: dict = {"_position": position, "type": kind, "container": container_id}
    _put(aspects, "name", el.get("name"))
    _put(aspects, "lane", lanes.get(el.get("id")))
    if kind == "sequenceFlow":
        aspects["flow"] = f"{el.get('sourceRef')} -> {el.get('targetRef')}"
        _put(aspects, "condition", _text(el.find(f"{_B}conditionExpression")))
    if kind == "scriptTask":
        _put(aspects, "script", _text(el.find(f"{_B}script")))
    if kind == "callActivity":
        _put(aspects, "called_element", el.get("calledElement"))
    if kind == "boundaryEvent":
        aspects["attached_to"] = el.get("attachedToRef") + (
            "" if el.get("cancelActivity", "true") == "true" else " (non-interrupting)")
    for name in ("default",):
        _put(aspects, name, el.get(name))
    extensions = el.find(f"{_B}extensionElements")
    if extensions is not None:
        _extensions(extensions, aspects)
    events = [etree.QName(d).localname for d in el if isinstance(d.tag, str)
              and etree.QName(d).localname in _EVENT_DEFINITIONS]
    if events:
        aspects["event"] = ", ".join(events)
    timer = el.find(f"{_B}timerEventDefinition")
    if timer is not None:
        for form in ("timeDate", "timeDuration", "timeCycle"):
            expression = _text(timer.find(f"{_B}{form}"))
            if expression is not None:
                aspects["timer"] = f"{form}: {expression}"
                names = _sla_names(expression, sla_names)
                _put(aspects, "sla", ", ".join(names) if names else None)
    for definition, attribute in (("messageEventDefinition", "messageRef"), ("signalEventDefinition", "signalRef"),
                                  ("errorEventDefinition", "errorRef")):
        found = el.find(f"{_B}{definition}")
        if found is not None:
            _put(aspects, f"event_ref:{definition}", found.get(attribute))
    loop = el.find(f"{_B}multiInstanceLoopCharacteristics")
    if loop is not None:
        aspects["collection"] = _collection(loop)
    return aspects


def _extensions(extensions: etree._Element, aspects: dict) -> None:
    for prop in extensions.iter(f"{_S}property"):
        name = prop.get("name")
        if name == "formJsonSchemaFilename":
            _put(aspects, "form", prop.get("value"))
        elif name:
            _put(aspects, f"property:{name}", prop.get("value"))
    operator = extensions.find(f"{_S}serviceTaskOperator")
    if operator is not None:
        _put(aspects, "operator", operator.get("id"))
        _put(aspects, "result_variable", operator.get("resultVariable"))
        for parameter in operator.iter(f"{_S}parameter"):
            value = parameter.get("value")
            kind = parameter.get("type")
            aspects[f"parameter:{parameter.get('id')}"] = value + (f" ({kind})" if kind else "")
    _put(aspects, "pre_script", _text(extensions.find(f"{_S}preScript")))
    _put(aspects, "post_script", _text(extensions.find(f"{_S}postScript")))
    for name in ("instructionsForEndUser", "unitTests"):
        _put(aspects, name, _text(extensions.find(f"{_S}{name}")))


def _collection(loop: etree._Element) -> str:
    parts = ["sequential" if loop.get("isSequential") == "true" else "parallel"]
    for tag, label in (("loopDataInputRef", "input"), ("loopDataOutputRef", "output"),
                       ("loopCardinality", "cardinality"), ("completionCondition", "completion")):
        value = _text(loop.find(f"{_B}{tag}"))
        if value:
            parts.append(f"{label}={value}")
    for tag, label in (("inputDataItem", "item"), ("outputDataItem", "output item")):
        item = loop.find(f"{_B}{tag}")
        if item is not None:
            parts.append(f"{label}={item.get('name') or item.get('id')}")
    return "; ".join(parts)


def _sla_names(expression: str, sla_names: frozenset[str] | None) -> list[str]:
    found = [m.group("s") for m in _STRING_LITERAL.finditer(expression)]
    if sla_names is not None:
        found = [name for name in found if name in sla_names]
    return list(dict.fromkeys(found))


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def _put(aspects: dict, key: str, value: object) -> None:
    if value is not None and value != "":
        aspects[key] = value
