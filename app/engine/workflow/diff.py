"""A semantic diff of two BPMN files: what a reviewer must see, not what the layout did.

bpmn-js-differ compares the diagrams a modeler draws; it reports a task moved to another lane as a layout
change, and it does not read SpiffWorkflow's extensions at all. Here each flow element is reduced to the
*aspects the engine executes*, read the way SpiffWorkflow 3.2.0 reads them, and the two versions are compared
aspect by aspect, each change with its old and new value:

- its name, and its Chinese name (the ``name.zh`` property, see names.py): a rename in either language;
- who performs a user task: its ``performer`` property, else (versions from before performers) the lane it is
  drawn in, and so the roles config/roles.toml gives that lane; the department expression (assignedDepartment);
- the form it renders: the file named and that file's content (fields, their order and the rules between them),
  as each side pinned it at deploy (``pinned``); a side without pinned forms (a submission not deployed yet, or
  a version deployed before forms were pinned) reads the forms folder *as it is now*;
- every script (script tasks, each preScript/postScript) and every condition (gateway flows, conditional
  events), the gateways' default flows;
- timers, with the SLA they name as the active profile of config/sla.toml counts it (duration, counting, start
  and the products on another track), service-task operators and parameters, multi-instance collections and
  loops, call-activity targets (and which deployed version of the target they bind, when the caller says).

A new element comes with what it does (``details``), a removed one with what it did. Where SpiffWorkflow keeps
only one of several elements (two postScripts: the last one runs), the diff shows the one that runs and flags
the duplicate; validation refuses such a file (validation._duplicate_extensions). Diagram interchange (shapes,
waypoints) is ignored on purpose.

Pure lxml over files loaded by parsing.load_document (no entities, no DTD, no network).
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from app.engine.config.settings import SlaProfile
from app.engine.workflow.names import CHINESE_NAME_PROPERTY
from app.engine.workflow.parsing import BPMN_NS, SPIFF_NS, load_document
from app.engine.workflow.performers import PERFORMER_PROPERTY, performer_lane

_B = f"{{{BPMN_NS}}}"
_S = f"{{{SPIFF_NS}}}"
FORM_PROPERTY = "formJsonSchemaFilename"
DEPARTMENT_PROPERTY = "assignedDepartment"
# Children of a process that are not flow elements of their own (their content belongs to another element).
_NOT_ELEMENTS = {"laneSet", "extensionElements", "documentation", "ioSpecification", "property",
                 "multiInstanceLoopCharacteristics", "standardLoopCharacteristics"}
_SUBPROCESSES = ("subProcess", "transaction", "adHocSubProcess")
_PERFORMED = ("userTask",)  # the tasks a person performs: their lane (or performer) decides who
_STRING_LITERAL = re.compile(r"""(?P<q>["'])(?P<s>[A-Za-z_][A-Za-z0-9_]*)(?P=q)""")
_EVENT_DEFINITIONS = ("timerEventDefinition", "messageEventDefinition", "signalEventDefinition",
                      "errorEventDefinition", "escalationEventDefinition", "terminateEventDefinition",
                      "conditionalEventDefinition", "cancelEventDefinition", "compensateEventDefinition")
# spiffworkflow extension elements read as something other than their text; unitTests never run in production.
_STRUCTURED_EXTENSIONS = {"properties", "serviceTaskOperator", "preScript", "postScript", "unitTests"}

# The aspects of an element, in the order a reviewer reads them ("parameter" stands for every "parameter:<id>").
ASPECT_ORDER = ("type", "name", "name_zh", "performer", "lane", "department", "form", "form_content",
                "form_field", "form_order", "form_rules", "operator", "result_variable", "parameter", "retries",
                "script", "pre_script", "post_script", "condition", "default", "timer", "sla", "event", "event_ref",
                "message_variable", "message_payload", "collection", "loop", "attached_to", "flow",
                "called_element", "called_version", "property", "duplicates", "container")
# Left out of a new or removed element's details: the row names them, or they are summed up by another entry.
_NOT_DETAILS = {"type", "name", "container", "form_rules"}


@dataclass(frozen=True)
class Change:
    """One difference. ``kind``: added | removed | changed | role (who performs a user task changed).
    ``details``: for an added (removed) element, what it does (did): (aspect, value) in reading order."""

    kind: str
    element_id: str
    element_type: str
    element_name: str | None = None
    aspect: str | None = None
    old: str | None = None
    new: str | None = None
    old_roles: tuple[str, ...] = ()
    new_roles: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["old_roles"], d["new_roles"] = list(self.old_roles), list(self.new_roles)
        d["details"] = [list(pair) for pair in self.details]
        return d


@dataclass
class Diff:
    changes: list[Change] = field(default_factory=list)
    # (element id, what is duplicated) in the new version: SpiffWorkflow keeps the last of each, silently.
    duplicates: list[tuple[str, str]] = field(default_factory=list)

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
              sla_profile: SlaProfile | None = None, forms_dir: Path | None = None,
              called: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {}),
              pinned: tuple[Mapping[str, str] | None, Mapping[str, str] | None] = (None, None)) -> Diff:
    """Compare two BPMN files. ``lane_roles`` (config/roles.toml) names the roles behind each lane;
    ``sla_profile`` (the active one) describes the SLAs timers name; ``forms_dir`` is where the forms named are
    read (None: forms are compared by name only); ``called``: for the old and the new file, process id -> the
    deployed version a call activity to it runs; ``pinned``: for the old and the new file, the forms its version
    pinned (file name -> content), None to read them from ``forms_dir``."""
    before = elements_of(old, sla_profile=sla_profile, forms=_FormReader(forms_dir, pinned[0]), called=called[0])
    after = elements_of(new, sla_profile=sla_profile, forms=_FormReader(forms_dir, pinned[1]), called=called[1])
    result = Diff(duplicates=[(i, a["duplicates"]) for i, a in after.items() if "duplicates" in a])
    for element_id in sorted(set(before) | set(after), key=lambda i: _order_key(i, before, after)):
        a, b = before.get(element_id), after.get(element_id)
        if a is None:
            assert b is not None  # the id is in before or in after
            result.changes.append(Change("added", element_id, b["type"], b.get("name"),
                                         details=_details(b, lane_roles)))
            continue
        if b is None:
            result.changes.append(Change("removed", element_id, a["type"], a.get("name"),
                                         details=_details(a, lane_roles)))
            continue
        name = b.get("name") or a.get("name")
        for aspect in _ordered(set(a) | set(b)):
            old_value, new_value = a.get(aspect), b.get(aspect)
            if old_value == new_value or (aspect == "form_order" and _fields(a) != _fields(b)):
                continue  # an added or removed field is named on its own; the order only when it alone moved
            if aspect == "called_version" and (old_value is None or new_value is None):
                continue  # a side whose bound versions are unknown; a new target is named by called_element
            if aspect == "performer":
                result.changes.append(Change(
                    "role", element_id, b["type"], name, aspect, old_value, new_value,
                    tuple(lane_roles.get(old_value, ())) if old_value else (),
                    tuple(lane_roles.get(new_value, ())) if new_value else ()))
            else:
                result.changes.append(Change("changed", element_id, b["type"], name, aspect, old_value, new_value))
    return result


def elements_of(source: bytes | str, *, sla_profile: SlaProfile | None = None, forms: _FormReader | None = None,
                called: Mapping[str, str] = {}) -> dict[str, dict[str, Any]]:
    """element id -> {aspect: value} for every flow element of every process in the file."""
    root = load_document("diff.bpmn", source if isinstance(source, bytes) else source.encode("utf-8")).root
    # As SpiffWorkflow reads lanes: every flowNodeRef of the document by its exact text, the last one winning
    # (nested lanes come after their parent, so the innermost lane wins), the lane known by its name.
    lanes: dict[str, str | None] = {}
    for ref in root.iter(f"{_B}flowNodeRef"):
        if ref.text is not None:
            lanes[ref.text] = ref.getparent().get("name")
    reader = _Reader(lanes, sla_profile, forms or _FormReader(None), called)
    elements: dict[str, dict[str, Any]] = {}
    for process in root.iter(f"{_B}process"):
        reader.collect(process, process.get("id"), None, elements)
    return elements


class _Reader:
    def __init__(self, lanes: Mapping[str, str | None], sla_profile: SlaProfile | None, forms: _FormReader,
                 called: Mapping[str, str]):
        self.lanes, self.sla_profile, self.forms, self.called = lanes, sla_profile, forms, called

    def collect(self, container: etree._Element, container_id: str | None, inherited_lane: str | None,
                elements: dict[str, dict[str, Any]]) -> None:
        for child in container:
            if not isinstance(child.tag, str) or not child.tag.startswith(_B):
                continue
            kind = etree.QName(child).localname
            element_id = child.get("id")
            if kind in _NOT_ELEMENTS or not element_id:
                continue
            # SpiffWorkflow parses an embedded subprocess with the subprocess's lane: when it has one, every
            # element inside gets it, whatever its own flowNodeRef says.
            lane = inherited_lane if inherited_lane is not None else self.lanes.get(element_id)
            elements[element_id] = self.describe(child, kind, container_id, lane, len(elements))
            if kind in _SUBPROCESSES:
                self.collect(child, element_id, lane, elements)

    def describe(self, el: etree._Element, kind: str, container_id: str | None, lane: str | None,
                 position: int) -> dict[str, Any]:
        aspects: dict[str, Any] = {"_position": position, "type": kind, "container": container_id}
        duplicates: list[str] = []
        _put(aspects, "name", el.get("name"))
        extensions = _extension_elements(el)
        duplicates += [_repeated(f"spiffworkflow:{name}", nodes) for name, nodes in extensions.items()
                       if len(nodes) > 1]
        properties = self._properties(extensions.get("properties"), aspects, duplicates)
        if kind in _PERFORMED:
            _put(aspects, "performer", performer_lane(properties, lane))
        else:
            _put(aspects, "lane", lane)
        self._operator(extensions.get("serviceTaskOperator"), aspects, duplicates)
        if kind == "scriptTask":  # SpiffWorkflow takes the last child whose tag ends in "script"
            scripts = [c for c in el if isinstance(c.tag, str) and c.tag.endswith("script")]
            _put(aspects, "script", _text(scripts[-1]) if scripts else None)
            if len(scripts) > 1:
                duplicates.append(_repeated("bpmn:script", scripts))
        for name, aspect in (("preScript", "pre_script"), ("postScript", "post_script")):
            nodes = extensions.get(name)
            _put(aspects, aspect, _text(nodes[-1]) if nodes else None)
        for name, nodes in extensions.items():
            if name not in _STRUCTURED_EXTENSIONS:
                _put(aspects, name, _text(nodes[-1]))
        if kind == "sequenceFlow":
            aspects["flow"] = f"{el.get('sourceRef')} -> {el.get('targetRef')}"
            _put(aspects, "condition", _text(_first(el, "conditionExpression")))
        _put(aspects, "default", el.get("default"))
        if kind == "callActivity":
            _put(aspects, "called_element", el.get("calledElement"))
            _put(aspects, "called_version", self.called.get(el.get("calledElement") or ""))
        if kind == "boundaryEvent":
            aspects["attached_to"] = (el.get("attachedToRef") or "") + (
                "" if el.get("cancelActivity", "true") == "true" else " (non-interrupting)")
        self._events(el, aspects)
        loop = el.find(f"{_B}multiInstanceLoopCharacteristics")
        if loop is not None:
            aspects["collection"] = _collection(loop)
        loop = el.find(f"{_B}standardLoopCharacteristics")
        if loop is not None:
            aspects["loop"] = _standard_loop(loop)
        if duplicates:
            aspects["duplicates"] = "; ".join(duplicates) + ": the engine keeps only the last of each"
        return aspects

    def _properties(self, blocks: list[etree._Element] | None, aspects: dict[str, Any],
                    duplicates: list[str]) -> dict[str, str]:
        """SpiffWorkflow keeps the last properties element, and in it the last property of each name."""
        if not blocks:
            return {}
        properties: dict[str, str] = {}
        seen: dict[str, list[etree._Element]] = {}
        for prop in blocks[-1].iter(f"{_S}property"):
            name = prop.get("name")
            if name is not None:
                properties[name] = prop.get("value") or ""
                seen.setdefault(name, []).append(prop)
        duplicates += [_repeated(f"property '{name}'", nodes) for name, nodes in seen.items() if len(nodes) > 1]
        _put(aspects, "department", properties.get(DEPARTMENT_PROPERTY))
        # The Chinese name (names.py) is a name like the name attribute: a change of it reads as a rename.
        _put(aspects, "name_zh", " ".join(properties.get(CHINESE_NAME_PROPERTY, "").split()))
        form = properties.get(FORM_PROPERTY)
        if form:
            aspects["form"] = form
            aspects.update(self.forms.aspects(form))
        for name, value in properties.items():
            if name not in (FORM_PROPERTY, PERFORMER_PROPERTY, DEPARTMENT_PROPERTY, CHINESE_NAME_PROPERTY):
                _put(aspects, f"property:{name}", value)
        return properties

    @staticmethod
    def _operator(operators: list[etree._Element] | None, aspects: dict[str, Any], duplicates: list[str]) -> None:
        if not operators:
            return
        operator = operators[-1]
        _put(aspects, "operator", operator.get("id"))
        _put(aspects, "result_variable", operator.get("resultVariable"))
        seen: dict[str, list[etree._Element]] = {}
        for parameter in operator.iter(f"{_S}parameter"):
            if parameter.get("value") is None:  # SpiffWorkflow passes only parameters with a value
                continue
            kind = parameter.get("type")
            aspects[f"parameter:{parameter.get('id')}"] = parameter.get("value") + (f" ({kind})" if kind else "")
            seen.setdefault(parameter.get("id") or "", []).append(parameter)
        duplicates += [_repeated(f"parameter '{name}'", nodes) for name, nodes in seen.items() if len(nodes) > 1]
        retry = _first(operator, "retry", _S)
        if retry is not None:
            _put(aspects, "retries", ", ".join(f"{k}={retry.get(k)}" for k in ("retries", "backoff_base")
                                               if retry.get(k) is not None))

    def _events(self, el: etree._Element, aspects: dict[str, Any]) -> None:
        definitions = [d for d in el if isinstance(d.tag, str) and etree.QName(d).localname in _EVENT_DEFINITIONS]
        if definitions:
            aspects["event"] = ", ".join(etree.QName(d).localname for d in definitions)
        for definition in definitions:
            local = etree.QName(definition).localname
            for attribute in ("messageRef", "signalRef", "errorRef", "escalationRef"):
                _put(aspects, f"event_ref:{local}", definition.get(attribute))
            if local == "messageEventDefinition":
                _put(aspects, "message_variable", _text(_first(definition, "messageVariable", _S)))
                _put(aspects, "message_payload", _text(_first(definition, "messagePayload", _S)))
        if el.find(f"{_B}conditionalEventDefinition") is not None:  # the first bpmn:condition of the event
            _put(aspects, "condition", _text(_first(el, "condition")))
        if el.find(f"{_B}timerEventDefinition") is not None:
            # SpiffWorkflow: the first timeDate of the event, else its first timeDuration, else its first timeCycle.
            for form in ("timeDate", "timeDuration", "timeCycle"):
                expression = _text(_first(el, form))
                if expression is not None:
                    aspects["timer"] = f"{form}: {expression}"
                    _put(aspects, "sla", self._slas(expression))
                    break

    def _slas(self, expression: str) -> str | None:
        """The SLAs a timer expression names, each as the active profile counts it."""
        names = list(dict.fromkeys(m.group("s") for m in _STRING_LITERAL.finditer(expression)))
        profile = self.sla_profile
        if profile is None:
            return ", ".join(names) or None
        names = [name for name in names if name in profile.slas]
        if not names:
            return None
        return "; ".join(_sla_text(profile, name) for name in names) + f" (SLA profile {profile.name})"


def _sla_text(profile: SlaProfile, name: str) -> str:
    sla = profile.slas[name]
    text = f"{name} = {sla.duration} {sla.counting} from {sla.start}"
    tracks: dict[str, list[str]] = {}
    for product, mapping in profile.product_tracks.items():
        track = mapping.get(name)
        if track and track != name:
            tracks.setdefault(track, []).append(product)
    for track, products in sorted(tracks.items()):
        other = profile.slas.get(track)
        counted = f"{other.duration} {other.counting}" if other else "not in the profile"
        text += f", for {', '.join(sorted(products))}: {track} = {counted}"
    return text


class _FormReader:
    """The content of the forms named, read once per diff: from the forms a version pinned (``pinned``), else
    from the forms folder as it is now."""

    def __init__(self, forms_dir: Path | None, pinned: Mapping[str, str] | None = None):
        self.forms_dir, self.pinned = forms_dir, pinned
        self._cache: dict[str, dict[str, str]] = {}

    def aspects(self, name: str) -> dict[str, str]:
        if self.forms_dir is None and self.pinned is None:
            return {}
        if name not in self._cache:
            self._cache[name] = _form_aspects(self._load(name))
        return self._cache[name]

    def _load(self, name: str) -> dict | str:
        try:
            if self.pinned is not None:
                if name not in self.pinned:
                    return "not among the forms this version pinned"
                schema = json.loads(self.pinned[name])
            else:
                assert self.forms_dir is not None
                if Path(name).name != name or name in (".", ".."):
                    return f"not a file name in {self.forms_dir.name}/"
                path = self.forms_dir / name
                if not path.is_file():
                    return f"no such file in {self.forms_dir.name}/"
                schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return "not valid JSON"
        return schema if isinstance(schema, dict) else "not a JSON Schema object"


def _form_aspects(schema: dict | str) -> dict[str, str]:
    """One aspect per field (required or optional, and its schema), the field order, and the form's other
    keywords (title, additionalProperties, if/then ...) as one: what the renderer and the server's validation use."""
    if isinstance(schema, str):
        return {"form_content": schema}
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    required = required if isinstance(required, list) else []
    aspects = {f"form_field:{name}": ("required " if name in required else "optional ") + _json(sub)
               for name, sub in properties.items()}
    aspects["form_order"] = ", ".join(f"{name}{'*' if name in required else ''}" for name in properties)
    rules = {k: v for k, v in schema.items() if k not in ("properties", "required", "$schema", "$id")}
    if rules:
        aspects["form_rules"] = _json(rules)
    return aspects


def _fields(aspects: Mapping[str, Any]) -> set[str]:
    return {key for key in aspects if key.startswith("form_field:")}


def _details(aspects: Mapping[str, Any], lane_roles: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    """What a new (or removed) element does: every executed aspect, the performer's roles beside it."""
    details: list[tuple[str, str]] = []
    for key in _ordered(set(aspects)):
        if key in _NOT_DETAILS or key.startswith("form_field:"):
            continue
        details.append((key, str(aspects[key])))
        if key == "performer":
            details.append(("roles", ", ".join(lane_roles.get(aspects[key], ())) or "-"))
    return tuple(details)


def _ordered(keys: set[str]) -> list[str]:
    def key(aspect: str) -> tuple[int, str]:
        group = aspect.split(":", 1)[0]
        return (ASPECT_ORDER.index(group) if group in ASPECT_ORDER else len(ASPECT_ORDER), aspect)
    return sorted((k for k in keys if not k.startswith("_")), key=key)


def _order_key(element_id, before, after):
    source = after.get(element_id) or before.get(element_id)
    return (source["_position"], element_id)


def _extension_elements(el: etree._Element) -> dict[str, list[etree._Element]]:
    """localname -> every spiffworkflow element directly in the element's extensionElements, in document order
    (SpiffWorkflow reads ./bpmn:extensionElements/spiffworkflow:* into a dict: the last of each name wins)."""
    found: dict[str, list[etree._Element]] = {}
    for extensions in el.iterchildren(f"{_B}extensionElements"):
        for child in extensions.iterchildren(f"{_S}*"):
            found.setdefault(etree.QName(child).localname, []).append(child)
    return found


def _repeated(what: str, nodes: list[etree._Element]) -> str:
    return f"{what} {len(nodes)} times (lines {', '.join(str(n.sourceline) for n in nodes)})"


def _collection(loop: etree._Element) -> str:
    parts = ["sequential" if loop.get("isSequential") == "true" else "parallel"]
    if loop.get(f"{_S}scriptsOnInstances") == "true":
        parts.append("scripts on each instance")
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


def _standard_loop(loop: etree._Element) -> str:
    parts = [f"test {'before' if loop.get('testBefore', 'false') == 'true' else 'after'}"]
    if loop.get("loopMaximum") is not None:
        parts.append(f"maximum={loop.get('loopMaximum')}")
    condition = _text(loop.find(f"{_B}loopCondition"))
    if condition:
        parts.append(f"condition={condition}")
    return "; ".join(parts)


def _first(el: etree._Element, local: str, namespace: str = _B) -> etree._Element | None:
    """The first descendant of that name, as SpiffWorkflow's ``first(xpath('.//...'))`` finds it."""
    return next(el.iterdescendants(f"{namespace}{local}"), None)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def _put(aspects: dict, key: str, value: object) -> None:
    if value is not None and value != "":
        aspects[key] = value
