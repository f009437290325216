"""The user tasks segregation of duties keys on (config/segregation.toml) stay user tasks under their ids.

The engine checks the rules whatever the diagram says, but by BPMN element id: a new version that renamed the
guarded approval, dropped the investigation whose completions disqualify, or made the approval a script task
would escape them without a word. So a definition is refused when the version it replaces (the deployed one,
else the shipped file in processes/) has an element id a rule names and the new file no longer has that id as a
user task. The rules stay in one place: the ids come from the loaded rules (``Segregation.named_elements``).
"""
from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from app.engine.config.segregation import FILE_NAME, Segregation
from app.engine.core.errors import DefinitionError, InvalidDefinition
from app.engine.workflow.parsing import BPMN_NS, error_at, has_element_id, load_document

_USES = {"task": "guards", "tasks": "counts the completions of", "round_starts_after": "starts a new round after"}
_HOW = "Keep the element id; rename its label instead"


def guarded_element_errors(files: Mapping[str, bytes], replaced: Mapping[str, bytes],
                           segregation: Segregation) -> list[DefinitionError]:
    """Errors for the processes of ``files`` (file name -> content) that lose a user task a rule names, against
    ``replaced`` (process id -> the source of the version each replaces). A file that does not load is left to
    the other checks."""
    named = segregation.named_elements()
    errors: list[DefinitionError] = []
    if not named:
        return errors
    for name, data in files.items():
        try:
            doc = load_document(name, data)
        except InvalidDefinition:
            continue
        for process in doc.root.iter(f"{{{BPMN_NS}}}process"):
            before = _process_ids(replaced.get(process.get("id") or ""), process.get("id"))
            if not before:
                continue
            now = {element.get("id"): element for element in process.iter(etree.Element) if has_element_id(element)}
            for element_id, rule, key in named:
                if element_id not in before:
                    continue
                element = now.get(element_id)
                kind = etree.QName(element).localname if element is not None else None
                if kind == "userTask":
                    continue
                change = (f"no longer has '{element_id}'" if element is None
                          else f"makes '{element_id}' a {kind}, not a user task")
                errors.append(error_at(doc.name, element if element is not None else process, (
                    f"This version {change}, which rule '{rule.name}' of config/{FILE_NAME} {_USES[key]} "
                    f"(\"{rule.title}\"): the rule would silently stop applying. {_HOW}"
                    f"{'' if element is None else ', and keep it a user task'}.")))
    return errors


def _process_ids(source: bytes | None, process_id: str | None) -> frozenset[str]:
    """The element ids inside process ``process_id`` of ``source`` (empty if there is none or it does not load)."""
    if not source or not process_id:
        return frozenset()
    try:
        doc = load_document("(current version)", source)
    except InvalidDefinition:
        return frozenset()
    for process in doc.root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") == process_id:
            return frozenset(e.get("id") for e in process.iter(etree.Element) if has_element_id(e))
    return frozenset()
