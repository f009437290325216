"""Who performs a user task: its ``performer`` property, checked against the lane the task is drawn in.

Every user task names its performer, a lane of config/roles.toml [lanes], in
``<spiffworkflow:property name="performer" value="Approver" />``; the task's candidate roles are that lane's
roles. The diagram's lanes are the drawing of it: validation refuses a task drawn anywhere else (or in no lane),
so the roles a reviewer sees in the diagram are the roles the engine gives the task. The lane alone used to
decide, and moving a task inside an expanded subprocess in the modeler could silently drop it from its lane.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from lxml import etree

from app.engine.core.errors import DefinitionError
from app.engine.workflow.parsing import BPMN_NS, NSMAP, BpmnDocument, error_at

PERFORMER_PROPERTY = "performer"
_SUBPROCESSES = ("subProcess", "transaction", "adHocSubProcess")


def performer_lane(properties: Mapping[str, str], drawn_lane: str | None) -> str | None:
    """The lane whose roles work on a task, from its spiffworkflow properties and SpiffWorkflow's ``lane``.

    Definition versions deployed before performers existed have none: their running instances keep getting the
    roles of the lane the task is drawn in, so nothing running changes hands. Validation refuses any new version
    without a performer, so the fallback serves those old versions only."""
    return properties.get(PERFORMER_PROPERTY) or drawn_lane


def performer_errors(doc: BpmnDocument, lane_roles: Mapping[str, Sequence[str]]) -> list[DefinitionError]:
    """A user task whose performer is missing, is no lane of config/roles.toml, or is not the lane the task
    is drawn in (as SpiffWorkflow reads the drawing, see ``_drawing``)."""
    own, drawn, holder = _drawing(doc.root)
    known = ", ".join(f"'{lane}'" for lane in lane_roles) or "none"
    errors = []
    for task in doc.root.iter(f"{{{BPMN_NS}}}userTask"):
        task_id = task.get("id") or ""
        label = f"User task '{task_id}' (line {task.sourceline})"
        performer = _performer(task)
        lane = drawn.get(task_id)
        subprocess = holder.get(task_id)
        if performer is None or not performer.strip():
            problem = (f"{label} has no performer: add the spiffworkflow property '{PERFORMER_PROPERTY}' naming the "
                       f"lane of config/roles.toml whose roles work on it ({known}), "
                       + (f"here '{lane}', the lane it is drawn in." if lane else "and draw it in that lane."))
        elif performer not in lane_roles:
            problem = (f"{label} is performed by '{performer}', which is not a lane of config/roles.toml [lanes]: "
                       f"name one of {known} (the lane the task is drawn in).")
        elif (lane is None and own.get(task_id, "") is None) or (lane is not None and lane not in lane_roles):
            continue  # drawn in a lane without a name or unknown to config/roles.toml: the lane check says so
        elif lane is None:
            where = (f" (it sits in subprocess '{subprocess}', which is in no lane either)"
                     if subprocess is not None else "")
            problem = (f"{label} is performed by '{performer}' but drawn in no lane{where}: move it into the "
                       f"'{performer}' lane.")
        elif lane != performer:
            where = (f" (the lane of subprocess '{subprocess}', which holds it)"
                     if subprocess is not None and own.get(task_id) != lane else "")
            problem = (f"{label} is performed by '{performer}' but drawn in lane '{lane}'{where}: move it into the "
                       f"'{performer}' lane or change its performer.")
        elif own.get(task_id) not in (None, lane):
            problem = (f"{label} is drawn in lane '{own[task_id]}' but inside subprocess '{subprocess}', which lies "
                       f"in lane '{lane}' and gives all its tasks that lane: take the subprocess out of lane "
                       f"'{lane}' (a subprocess spanning lanes belongs to none), or move the task into it.")
        else:
            continue
        errors.append(error_at(doc.name, task, problem))
    return errors


def drawn_lanes(root: etree._Element) -> dict[str, str | None]:
    """element id -> the lane SpiffWorkflow 3.2.0 gives the element (its ``task_spec.lane``; None: no lane)."""
    return _drawing(root)[1]


def _performer(task: etree._Element) -> str | None:
    """The performer as SpiffWorkflow reads it: the last properties element wins, and in it the last property."""
    blocks = task.findall("bpmn:extensionElements/spiffworkflow:properties", NSMAP)
    if not blocks:
        return None
    found = blocks[-1].findall(f".//spiffworkflow:property[@name='{PERFORMER_PROPERTY}']", NSMAP)
    return found[-1].get("value") if found else None


def _drawing(root: etree._Element) -> tuple[dict[str, str | None], dict[str, str | None], dict[str, str]]:
    """(element id -> the lane whose flowNodeRef lists it, element id -> the lane SpiffWorkflow 3.2.0 gives it,
    element id -> id of the lane-giving subprocess around it).

    SpiffWorkflow reads the flowNodeRefs of the whole document (the last reference wins; nested lanes come after
    their parent, so the innermost lane wins), and parses an embedded subprocess with the subprocess's own lane:
    when the subprocess is in a lane, every task inside it gets that lane whatever its own flowNodeRef says;
    when it is in none, each task inside keeps the lane that lists it in the parent process's lane set."""
    own: dict[str, str | None] = {}
    for ref in root.iter(f"{{{BPMN_NS}}}flowNodeRef"):
        if ref.text is not None:  # matched by its exact text, as SpiffWorkflow does
            own[ref.text] = ref.getparent().get("name")
    drawn: dict[str, str | None] = {}
    holder: dict[str, str] = {}

    def walk(container: etree._Element, inherited: str | None, around: str | None) -> None:
        for child in container.iterchildren(etree.Element):
            element_id = child.get("id")
            if element_id is None or etree.QName(child).namespace != BPMN_NS:
                continue
            drawn[element_id] = inherited if inherited is not None else own.get(element_id)
            if around is not None:
                holder[element_id] = around
            if etree.QName(child).localname in _SUBPROCESSES:
                lane = drawn[element_id]
                # Name the subprocess that gives the lane, or (in no lane) the innermost one holding the task.
                walk(child, lane, around if inherited is not None else element_id)

    for process in root.iter(f"{{{BPMN_NS}}}process"):
        walk(process, None, None)
    return own, drawn, holder
