"""Process owners' drafts of a BPMN file: open from a version or an imported file, save, validate, deploy.

A draft replaces one file of the *bundle* (the current source of every deployed process): it is validated and
deployed together with the others, so a call activity to the escalation process resolves exactly as it will at
run time, and `definitions.deploy` only makes a new version of what changed. Validation is the CLI's own
(`definitions.validate_files`); deploying re-validates on the server whatever the page showed, and refuses a
deploy without a reason. Later desks (review, sign-off, migration) reuse `bundle_for`, `version_info` and
`deploy_draft`'s recorded who / when / why / checksum.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine import audit
from app.engine.access import permissions
from app.engine.access.permissions import TableSource
from app.engine.core.actors import Actor
from app.engine.core.errors import DefinitionError, InvalidDefinition, InvalidSubmission, NotFound
from app.engine.governance import definitions, reviews
from app.engine.models import ProcessDefinition, ProcessDraft
from app.engine.workflow.parsing import executable_process_ids

if TYPE_CHECKING:
    from app.engine.models import DefinitionReview
    from app.engine.runtime import Operator, Runtime, UnitOfWork

MAX_SOURCE_BYTES = 2_000_000
_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}\.bpmn$")


def require_editor(source: TableSource, actor: Actor) -> None:
    permissions.require(source, actor, "definition.edit", "Only process owners edit and deploy process definitions")


def may_edit(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "definition.edit")


@dataclass(frozen=True)
class ValidationResult:
    errors: list[DefinitionError]

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"valid": self.valid, "errors": [e.as_dict() for e in self.errors]}


# --- reading -------------------------------------------------------------------------------------------------

def list_versions(uow: UnitOfWork, actor: Actor) -> list[ProcessDefinition]:
    require_editor(uow, actor)
    return definitions.list_definitions(uow)


def list_drafts(uow: UnitOfWork, actor: Actor) -> list[ProcessDraft]:
    require_editor(uow, actor)
    return list(uow.session.scalars(select(ProcessDraft).order_by(ProcessDraft.process_id, ProcessDraft.id)))


def get_version(uow: UnitOfWork, actor: Actor, definition_id: int) -> ProcessDefinition:
    require_editor(uow, actor)
    definition = uow.session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"There is no process definition {definition_id}")
    return definition


def get_draft(uow: UnitOfWork, actor: Actor, draft_id: int) -> ProcessDraft:
    require_editor(uow, actor)
    draft = uow.session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound(f"There is no draft {draft_id}")
    return draft


def version_info(definition: ProcessDefinition) -> dict:
    """Who deployed a version, when, why, and its checksum: what the review desk shows."""
    return {"id": definition.id, "process_id": definition.process_id, "version": definition.version,
            "name": definition.name, "file_name": definition.file_name, "checksum": definition.checksum,
            "deployed_at": definition.deployed_at.isoformat(), "deployed_by": definition.deployed_by,
            "reason": definition.deploy_reason}


def bundle_for(uow: UnitOfWork, replace: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The current source of every deployed process, by file name, with ``replace`` put over it."""
    latest: dict[str, ProcessDefinition] = {}
    for definition in definitions.list_definitions(uow):  # ordered by version: the last one wins
        latest[definition.process_id] = definition
    files = {d.file_name: d.bpmn_source.encode("utf-8") for d in latest.values()}
    files.update(replace or {})
    return files


# --- editing -------------------------------------------------------------------------------------------------

def open_draft(uow: UnitOfWork, actor: Actor, definition_id: int, source: str | None = None) -> ProcessDraft:
    """A new draft of a deployed version (its source, or ``source`` when the editor already changed it)."""
    definition = get_version(uow, actor, definition_id)
    now = uow.now()
    draft = ProcessDraft(process_id=definition.process_id, file_name=definition.file_name,
                         bpmn_source=_checked_source(source) if source is not None else definition.bpmn_source,
                         base_version=definition.version, author=actor.username, created_at=now, updated_at=now)
    uow.session.add(draft)
    uow.session.flush()
    audit.record(uow, actor, "draft_opened", draft_id=draft.id, process_id=draft.process_id,
                 base_version=definition.version)
    return draft


def import_draft(uow: UnitOfWork, actor: Actor, file_name: str, data: bytes) -> tuple[ProcessDraft, ValidationResult]:
    """A draft from a file saved by a desktop modeler. It is validated like any draft; an invalid file is kept
    as a draft (so it can be fixed here) but, like any draft, can only be deployed once valid."""
    require_editor(uow, actor)
    source = _checked_source(data)
    process_ids = _executable_ids(file_name, source)
    if len(process_ids) != 1:
        raise InvalidSubmission({"file": ["The file must hold exactly one executable process"]})
    process_id = process_ids[0]
    existing = uow.session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
                                   .order_by(ProcessDefinition.version.desc()).limit(1)).first()
    name = existing.file_name if existing else _safe_file_name(file_name)
    now = uow.now()
    draft = ProcessDraft(process_id=process_id, file_name=name, bpmn_source=source,
                         base_version=existing.version if existing else None, author=actor.username,
                         created_at=now, updated_at=now)
    uow.session.add(draft)
    uow.session.flush()
    audit.record(uow, actor, "draft_imported", draft_id=draft.id, process_id=process_id, file=file_name)
    return draft, validate_draft(uow, actor, draft.id)


def save_draft(uow: UnitOfWork, actor: Actor, draft_id: int, source: str | bytes) -> ProcessDraft:
    draft = get_draft(uow, actor, draft_id)
    draft.bpmn_source = _checked_source(source)
    draft.updated_at = uow.now()
    draft.author = actor.username  # the last editor answers for what is in it
    uow.session.flush()
    return draft


def validate_draft(uow: UnitOfWork, actor: Actor, draft_id: int) -> ValidationResult:
    """The CLI's validator over the bundle with this draft in place of its file."""
    draft = get_draft(uow, actor, draft_id)
    files = bundle_for(uow, {draft.file_name: draft.bpmn_source.encode("utf-8")})
    errors = definitions.validate_files(uow.runtime, files)
    errors += _process_mismatch(draft)
    return ValidationResult(errors)


def deploy_draft(uow: UnitOfWork, actor: Actor, draft_id: int, reason: str) -> ProcessDefinition:
    """Deploy a valid draft as a new immutable version (who, when, why, checksum) and remove the draft. New
    complaints start on it; running ones stay on the version they pinned."""
    draft = get_draft(uow, actor, draft_id)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidSubmission({"reason": ["Say why this version is deployed"]})
    result = validate_draft(uow, actor, draft_id)
    if not result.valid:  # the server decides, whatever the page's button showed
        raise InvalidDefinition(result.errors)
    previous = uow.session.scalars(select(ProcessDefinition.id).where(
        ProcessDefinition.process_id == draft.process_id).order_by(ProcessDefinition.version.desc()).limit(1)).first()
    files = bundle_for(uow, {draft.file_name: draft.bpmn_source.encode("utf-8")})
    current = definitions.deploy(uow, actor, files, reason=reason)
    definition = next(d for d in current if d.process_id == draft.process_id)
    if definition.id == previous:  # nothing changed: the latest version already has this source
        raise InvalidSubmission({"": ["The draft is identical to the current version: nothing to deploy"]})
    audit.record(uow, actor, "draft_deployed", draft_id=draft.id, process_id=draft.process_id,
                 version=definition.version, checksum=definition.checksum, reason=reason)
    uow.session.delete(draft)
    uow.session.flush()
    return definition


def submit_for_review(uow: UnitOfWork, actor: Actor, draft_id: int, comment: str | None = None) -> DefinitionReview:
    """Ask compliance to sign off the draft as saved (services/reviews.py keys the sign-off by its checksum).
    Only a valid draft: a file that cannot be deployed is not worth a reviewer's time, and fixing it would change
    the bytes and need a second review anyway."""
    get_draft(uow, actor, draft_id)
    result = validate_draft(uow, actor, draft_id)
    if not result.valid:
        raise InvalidDefinition(result.errors)
    return reviews.submit_draft(uow, actor, draft_id, comment)


def discard_draft(uow: UnitOfWork, actor: Actor, draft_id: int) -> None:
    draft = get_draft(uow, actor, draft_id)
    audit.record(uow, actor, "draft_discarded", draft_id=draft.id, process_id=draft.process_id)
    uow.session.delete(draft)
    uow.session.flush()


# --- what the editor offers ------------------------------------------------------------------------------------

def editor_choices(runtime: Runtime) -> dict:
    """The choices of the modeler's properties panel, from the same data the validator checks against."""
    settings = runtime.settings
    forms = sorted(p.name for p in settings.forms_dir.glob("*.schema.json"))
    operators = [{"id": name, "parameters": _operator_parameters(func)}
                 for name, func in sorted(runtime.operators.items())]
    profile = settings.sla_profile
    slas = [{"name": name, "duration": sla.duration, "counting": sla.counting, "description": sla.description}
            for name, sla in profile.slas.items()]
    lanes = [{"name": lane, "roles": list(roles)} for lane, roles in settings.lane_roles.items()]
    return {"forms": forms, "operators": operators, "sla_profile": profile.name, "slas": slas, "lanes": lanes,
            "roles": dict(settings.roles)}


def _operator_parameters(func: Operator) -> list[dict]:
    """The handler's keyword parameters after the context: what the diagram passes as spiffworkflow:parameter."""
    params = list(inspect.signature(func).parameters.values())[1:]
    return [{"id": p.name, "type": _type_name(p.annotation), "required": p.default is inspect.Parameter.empty}
            for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _type_name(annotation: object) -> str:
    if annotation is inspect.Parameter.empty:
        return "any"
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))


# --- helpers ---------------------------------------------------------------------------------------------------

def _checked_source(source: str | bytes) -> str:
    data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    if not data.strip():
        raise InvalidSubmission({"file": ["The diagram is empty"]})
    if len(data) > MAX_SOURCE_BYTES:
        raise InvalidSubmission({"file": [f"The diagram is larger than {MAX_SOURCE_BYTES // 1_000_000} MB"]})
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSubmission({"file": ["The file is not UTF-8 text (a .bpmn file is XML)"]}) from None


def _executable_ids(file_name: str, source: str) -> list[str]:
    try:
        return sorted(executable_process_ids({file_name: source.encode("utf-8")}))
    except InvalidDefinition as err:
        raise InvalidSubmission({"file": [str(e) for e in err.errors]}) from None
    except Exception:
        raise InvalidSubmission({"file": ["The file is not a BPMN diagram"]}) from None


def _process_mismatch(draft: ProcessDraft) -> list[DefinitionError]:
    """A draft may not quietly become another process (its running complaints pin the id)."""
    try:
        ids = _executable_ids(draft.file_name, draft.bpmn_source)
    except InvalidSubmission:
        return []  # the validator already reports why the file cannot be read
    if draft.process_id in ids:
        return []
    return [DefinitionError(file=draft.file_name, message=(
        f"The draft must keep the executable process {draft.process_id!r}; it has {', '.join(ids) or 'none'}"))]


def _safe_file_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if _FILE_NAME.match(base):
        return base
    raise InvalidSubmission({"file": ["Name the file like complaint_handling.bpmn (letters, digits, _ . -)"]})
