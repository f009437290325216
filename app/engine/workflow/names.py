"""The names a BPMN file gives its elements, in each language it gives them.

The English name is the ``name`` attribute, as the owner wrote it (whitespace folded: the modeler wraps long
names over lines). A Chinese name is the spiffworkflow property ``name.zh`` of the element (task, event, gateway,
subprocess, lane, the process itself), written the way the ``performer`` property is and read the way
SpiffWorkflow reads properties: the last properties element of the element, and in it the last property of
that name. Pages show it to a Chinese reader; without one they translate the English name through the catalog.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from app.engine.workflow.parsing import NSMAP, load_document

CHINESE_NAME_PROPERTY = "name.zh"


@dataclass(frozen=True)
class ElementNames:
    """element id -> name, per language: ``english`` as the ``name`` attribute says, ``chinese`` where the
    element has a ``name.zh`` property (a name without it is translated through the catalog)."""

    english: Mapping[str, str] = field(default_factory=dict)
    chinese: Mapping[str, str] = field(default_factory=dict)

    def merged(self, other: ElementNames) -> ElementNames:
        """These names with ``other``'s over them (a case's own version over the versions it calls)."""
        return ElementNames({**self.english, **other.english}, {**self.chinese, **other.chinese})


def element_names(source: bytes | str) -> ElementNames:
    """The names of every element of one BPMN file that has an id (flow elements, lanes, processes)."""
    root = load_document("names.bpmn", source.encode("utf-8") if isinstance(source, str) else source).root
    english: dict[str, str] = {}
    chinese: dict[str, str] = {}
    for node in root.iter(etree.Element):
        element_id = node.get("id")
        if not element_id:
            continue
        name = _folded(node.get("name"))
        if name:
            english[element_id] = name
        zh = chinese_name(node)
        if zh:
            chinese[element_id] = zh
    return ElementNames(english, chinese)


def chinese_name(element: etree._Element) -> str | None:
    """The element's ``name.zh`` property (whitespace folded), None when it has none or an empty one."""
    blocks = element.findall("bpmn:extensionElements/spiffworkflow:properties", NSMAP)
    if not blocks:
        return None
    found = blocks[-1].findall(f".//spiffworkflow:property[@name='{CHINESE_NAME_PROPERTY}']", NSMAP)
    return _folded(found[-1].get("value")) if found else None


def _folded(text: str | None) -> str | None:
    return " ".join(text.split()) or None if text else None
