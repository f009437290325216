"""Turn BPMN files into SpiffWorkflow specs; every failure becomes an InvalidDefinition naming file, element and line.

SpiffWorkflow's own errors are weak (raw UnicodeDecodeError for binary files, ``line_number`` always empty, a
misleading "found two items" for a flow to a missing element), so files are loaded with lxml here first and
SpiffWorkflow's exceptions are located again in those trees.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Collection, Mapping
from copy import deepcopy
from dataclasses import dataclass, replace

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from app.engine.core.errors import DefinitionError, InvalidDefinition
from app.engine.workflow.timer_clock import use_step_clock

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
# BPMN model and diagram elements: their ids are document ids (xs:ID). Extension elements also have "id"
# attributes (spiffworkflow:serviceTaskOperator id="send_reply") that are names, not element ids.
OMG_NS_PREFIX = "http://www.omg.org/spec/"

# The XSD validator object is shared by the whole process and keeps its error log on itself.
_SCHEMA_LOCK = threading.Lock()
_ID_TYPE_ERROR = re.compile(r"attribute 'id': '([^']*)' is not a valid value of the atomic type 'xs:ID'")
_MISSING_TARGET = re.compile(r"we found two items.*\((.*)\)$", re.S)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)
_ELEMENT_START = re.compile(rb"<[A-Za-z_]")
_OBJECT_REPR = re.compile(r"<(?:Element )?([^<>]*?) (?:object )?at 0x[0-9a-fA-F]+>")
_RAW_BYTES = re.compile(r"""b(['"])<.*?(?<!\\)\1""", re.S)


@dataclass(frozen=True)
class BpmnDocument:
    """One well-formed BPMN file: its name (as given by the caller) and its lxml root element."""

    name: str
    root: etree._Element


def make_parser() -> SpiffBpmnParser:
    """A parser that reads the spiffworkflow extensions and validates each file against the BPMN XSD."""
    return SpiffBpmnParser(validator=VALIDATOR)


def parse_process(
    files: Mapping[str, bytes], process_id: str, *, external: Collection[str] = frozenset()
) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    """Parse ``files`` together; return the spec of ``process_id`` and the specs of the processes it calls.

    Call activities may target the processes named in ``external`` (deployed elsewhere); those are left out of
    the returned dict and must be supplied by the caller. Raises InvalidDefinition on any problem.
    """
    docs = load_documents(files)
    errors = [error for doc in docs.values() for error in schema_errors(doc)]
    if errors:
        raise InvalidDefinition(errors)
    parser = make_parser()
    try:
        for doc in docs.values():
            parser.add_bpmn_xml(doc.root, filename=doc.name)
        if parser.get_process_parser(process_id) is None:
            raise InvalidDefinition([DefinitionError(
                file=", ".join(docs), message=f"There is no process with id '{process_id}' in these files; "
                f"the executable processes are: {', '.join(parser.get_process_ids()) or 'none'}.")])
        spec = parser.get_spec(process_id)
        subprocess_specs = _subprocess_specs(parser, spec, docs, external)
        use_step_clock(spec, *subprocess_specs.values())   # timers decide on the step's clock, not the machine's
        return spec, subprocess_specs
    except InvalidDefinition:
        raise
    except Exception as ex:  # a user-supplied file must never escape as anything but InvalidDefinition
        raise InvalidDefinition([_convert(ex, docs)]) from ex


def executable_process_ids(files: Mapping[str, bytes]) -> list[str]:
    """Ids of the executable processes in ``files`` (SpiffWorkflow treats a missing isExecutable as true)."""
    return [pid for doc in load_documents(files).values() for pid in document_process_ids(doc, executable=True)]


def document_process_ids(doc: BpmnDocument, *, executable: bool = False) -> list[str]:
    """Ids of the processes declared in one document, optionally only the executable ones."""
    return [
        process.get("id") for process in doc.root.iter(f"{{{BPMN_NS}}}process")
        if process.get("id") and (not executable or process.get("isExecutable", "true") == "true")
    ]


def form_names(source: bytes | str) -> set[str]:
    """The form files (formJsonSchemaFilename) the user tasks of one BPMN file name."""
    doc = load_document("form_names", source.encode("utf-8") if isinstance(source, str) else source)
    return {value.strip() for value in doc.root.xpath(
        "//bpmn:userTask/bpmn:extensionElements/spiffworkflow:properties/"
        "spiffworkflow:property[@name='formJsonSchemaFilename']/@value", namespaces=NSMAP) if value.strip()}


def load_documents(files: Mapping[str, bytes]) -> dict[str, BpmnDocument]:
    """Load every file; raises InvalidDefinition listing every file that is not well-formed XML."""
    docs, errors = {}, []
    for name, data in files.items():
        try:
            docs[name] = load_document(name, data)
        except InvalidDefinition as ex:
            errors.extend(ex.errors)
    if errors:
        raise InvalidDefinition(errors)
    return docs


def load_document(name: str, data: bytes) -> BpmnDocument:
    """Parse one file (entities and network access disabled); raises InvalidDefinition with one error."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data.strip():
        raise _file_error(name, "The file is empty: export the diagram again as BPMN 2.0 XML.")
    if b"\x00" in data:
        raise _file_error(name, "The file is binary (or UTF-16) data, not BPMN XML: "
                                "upload the .bpmn file saved by the modeler, encoded as UTF-8.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise _file_error(name, f"The file is not UTF-8 text (byte 0x{data[ex.start]:02x} at offset {ex.start}): "
                                "save it as UTF-8 BPMN XML.", line=data.count(b"\n", 0, ex.start) + 1) from None
    doctype = _DOCTYPE.search(data)
    root_start = _ELEMENT_START.search(data)
    if doctype and (root_start is None or doctype.start() < root_start.start()):  # before any parse error it causes
        raise _doctype_error(name, data, doctype.start())
    # Never resolve entities, load a DTD or touch the network (XXE); parsers are not thread-safe: one per call.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as ex:
        line, column = ex.position
        message = re.sub(r", line \d+, column \d+$", "", ex.msg or str(ex))
        raise _file_error(name, f"Malformed XML at column {column}: {clean_text(message)}.", line=line) from ex
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _doctype_error(name, data, max(data.find(b"<!DOCTYPE"), 0))
    return BpmnDocument(name, root)


def _doctype_error(name: str, data: bytes, offset: int) -> InvalidDefinition:
    return _file_error(name, "The file has a DOCTYPE declaration (a DTD, possibly with entities that point to other "
                             "files or addresses). BPMN 2.0 files never need one and it is refused for safety: "
                             "remove the <!DOCTYPE ...> block and any &entity; references.",
                       line=data.count(b"\n", 0, offset) + 1)


def schema_errors(doc: BpmnDocument, *, ignore_ids: Collection[str] = ()) -> list[DefinitionError]:
    """Every BPMN/spiffworkflow XSD violation of one document, located at its element.

    ``ignore_ids``: ids whose xs:ID violation (a duplicate id) the caller reports better itself.
    """
    root = doc.root
    if root.tag != f"{{{BPMN_NS}}}definitions":
        return [DefinitionError(doc.name, f"The root element is <{shorten_tags(str(root.tag))}>, not "
                                          "<bpmn:definitions>: this is not a BPMN 2.0 file.", line=root.sourceline)]
    copy = deepcopy(root)  # the validator rewrites some correlation elements in place
    with _SCHEMA_LOCK:
        VALIDATOR.preprocess(copy)
        VALIDATOR.validator.validate(copy)
        entries = list(VALIDATOR.validator.error_log)
    errors = []
    for entry in entries:
        duplicate = _ID_TYPE_ERROR.search(entry.message)
        if duplicate and duplicate.group(1) in ignore_ids:
            continue
        message = shorten_tags(entry.message)
        if duplicate:
            message += " Ids must be unique in the file, start with a letter or '_' and contain no spaces."
        errors.append(error_at(doc.name, _element_for(copy, entry), f"Schema violation: {message}", line=entry.line))
    return errors


def error_at(file: str, element: etree._Element | None, message: str, *, line: int | None = None) -> DefinitionError:
    """A DefinitionError for ``element``, named by it or by its nearest ancestor that has an id."""
    owner = element
    while owner is not None and not has_element_id(owner):
        owner = owner.getparent()
    return DefinitionError(
        file=file, message=clean_text(message),
        element_id=owner.get("id") if owner is not None else None,
        element_name=clean_text(owner.get("name") or "") or None if owner is not None else None,
        line=line or (element.sourceline if element is not None else None),
    )


def clean_text(text: str) -> str:
    """One line, without internals: modelers put newlines in names (one error must stay one line), and
    SpiffWorkflow's messages may carry object reprs with memory addresses or raw XML bytes."""
    text = _OBJECT_REPR.sub(lambda m: f"<{shorten_tags(m.group(1))}>", text)
    text = _RAW_BYTES.sub("(the element)", text)
    return " ".join(text.split())


def cleaned(error: DefinitionError) -> DefinitionError:
    return replace(error, message=clean_text(error.message),
                   element_name=clean_text(error.element_name) if error.element_name else None)


def find_by_id(root: etree._Element, element_id: str) -> etree._Element | None:
    """The first element of the document whose id attribute is ``element_id``."""
    found = root.xpath("//*[@id=$id][starts-with(namespace-uri(), $ns)]", id=element_id, ns=OMG_NS_PREFIX)
    return found[0] if found else None


def has_element_id(element: etree._Element) -> bool:
    """Whether the element's id attribute is a document id (BPMN model or diagram), not an extension's name."""
    return element.get("id") is not None and (etree.QName(element).namespace or "").startswith(OMG_NS_PREFIX)


def shorten_tags(text: str) -> str:
    """Replace ``{namespace-uri}`` with the usual prefixes in a message."""
    return text.replace(f"{{{BPMN_NS}}}", "bpmn:").replace(f"{{{SPIFF_NS}}}", "spiffworkflow:")


def _subprocess_specs(parser: SpiffBpmnParser, spec: BpmnProcessSpec, docs: Mapping[str, BpmnDocument],
                      external: Collection[str]) -> dict[str, BpmnProcessSpec]:
    """SpiffBpmnParser.get_subprocess_specs, but a call to a missing process names the calling element."""
    found: dict[str, BpmnProcessSpec] = {}
    pending = [spec]
    while pending:
        caller = pending.pop()
        for task_spec in caller.task_specs.values():
            if not isinstance(task_spec, SubWorkflowTask) or task_spec.spec in found:
                continue
            if parser.get_process_parser(task_spec.spec) is None:
                if task_spec.spec in external:
                    continue
                raise InvalidDefinition([_located(
                    docs, caller.file, getattr(task_spec, "bpmn_id", None) or task_spec.name,
                    f"Calls process '{task_spec.spec}', which is in none of these files and is not deployed: "
                    "fix calledElement or deploy that process first.")])
            found[task_spec.spec] = parser.get_spec(task_spec.spec)
            pending.append(found[task_spec.spec])
    return found


def _convert(ex: Exception, docs: Mapping[str, BpmnDocument]) -> DefinitionError:
    """Locate a SpiffWorkflow (or lxml) exception in our own trees, in words a process owner can act on."""
    if _caused_by(ex, RecursionError):
        element_id = ex.id if isinstance(ex, ValidationException) else None
        return _located(docs, getattr(ex, "file_name", None), element_id, (
            "The flow is too long for the engine: SpiffWorkflow follows a sequence of elements recursively and "
            "runs out of depth here. Split the process into call activities or subprocesses."))
    if isinstance(ex, ValidationException):
        message = str(ex.args[0]) if ex.args else "invalid definition"
        inner = ex.__context__
        if isinstance(inner, Exception) and not isinstance(inner, ValidationException) \
                and message.startswith(f"{type(inner).__name__}("):  # SpiffWorkflow wrapped repr(its own error)
            message = _unsupported(ex.tag or "element")
        missing = _MISSING_TARGET.search(message)
        if missing:
            message = (f"A sequence flow leaving this element targets '{missing.group(1)}', "
                       "which is not an element of this process.")
        if ex.tag and not ex.tag.startswith("bpmn:"):
            message += (f" (SpiffWorkflow reached <{shorten_tags(ex.tag)}>: an extension element has the id "
                        f"'{ex.id}' of a BPMN element; rename that BPMN element.)")
        line = ex.line_number if isinstance(ex.line_number, int) else None
        return _located(docs, ex.file_name, ex.id, message, line=line)
    if isinstance(ex, etree.LxmlError):
        return _located(docs, None, None, f"XML error: {clean_text(str(ex))}", line=getattr(ex, "lineno", None))
    # Anything else is SpiffWorkflow failing on a construct it does not support (e.g. NotImplementedError with
    # the element's raw XML, TypeError from its own error path): name the element if the traceback has it.
    node = _failing_node(ex)
    doc = next((d for d in docs.values() if node is not None and d.root is node.getroottree().getroot()), None)
    if doc is not None and node is not None:
        return error_at(doc.name, node, _unsupported(node.tag))
    return _located(docs, None, None, "SpiffWorkflow could not parse the definition: it uses a construct this "
                                      "engine does not support.")


def _unsupported(tag: str) -> str:
    return (f"This engine (SpiffWorkflow) cannot run <{shorten_tags(tag)}> as modelled: it does not support this "
            "kind of element or event here.")


def _caused_by(ex: BaseException | None, kind: type) -> bool:
    seen = set()
    while ex is not None and id(ex) not in seen:
        if isinstance(ex, kind):
            return True
        seen.add(id(ex))
        ex = ex.__cause__ or ex.__context__
    return False


def _failing_node(ex: BaseException) -> etree._Element | None:
    """The lxml node SpiffWorkflow's parser was working on when it raised (its ``self.node``)."""
    tb, node = ex.__traceback__, None
    while tb is not None:
        candidate = getattr(tb.tb_frame.f_locals.get("self"), "node", None)
        if isinstance(candidate, etree._Element):
            node = candidate
        tb = tb.tb_next
    return node


def _located(docs: Mapping[str, BpmnDocument], file: str | None, element_id: str | None, message: str, *,
             line: int | None = None) -> DefinitionError:
    if not file and len(docs) == 1:
        file = next(iter(docs))
    doc = docs.get(file) if file else None
    element = find_by_id(doc.root, element_id) if doc is not None and element_id else None
    if doc is not None and element is not None:
        return error_at(doc.name, element, message, line=line)
    return DefinitionError(file=file or ", ".join(docs), message=clean_text(message), element_id=element_id or None,
                           line=line)


def _element_for(root: etree._Element, entry: etree._LogEntry) -> etree._Element | None:
    """The element an XSD error log entry is about: by its XPath, else the innermost element on its line."""
    prefixes = {p: uri for el in root.iter(etree.Element) for p, uri in el.nsmap.items() if p}
    try:
        found = root.getroottree().xpath(entry.path, namespaces=prefixes) if entry.path else []
    except etree.XPathError:
        found = []
    if len(found) == 1 and isinstance(found[0], etree._Element):
        return found[0]
    on_line = [el for el in root.iter(etree.Element) if el.sourceline == entry.line]
    return on_line[-1] if on_line else None


def _file_error(name: str, message: str, *, line: int | None = None) -> InvalidDefinition:
    return InvalidDefinition([DefinitionError(file=name, message=message, line=line)])
