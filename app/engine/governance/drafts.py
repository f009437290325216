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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine import audit
from app.engine.access import permissions
from app.engine.access.permissions import TableSource
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, DefinitionError, InvalidDefinition, InvalidSubmission, NotFound
from app.engine.governance import definitions, pinned_forms, reviews
from app.engine.models import ProcessDefinition, ProcessDraft
from app.engine.workflow.diff import Change, diff_bpmn
from app.engine.workflow.parsing import executable_process_ids, form_names

if TYPE_CHECKING:
    from app.engine.models import DefinitionReview
    from app.engine.runtime import Operator, Runtime, UnitOfWork

MAX_SOURCE_BYTES = 2_000_000
_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}\.bpmn$")
_EXPORTED_VERSION = re.compile(r"\.v(\d{1,9})\.bpmn$")


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
    # The draft edits what runs: the forms the version pinned for its own tasks (a version from before forms were
    # pinned has none, and its draft reads app/forms/ like the version does).
    pinned = definition.forms
    forms = None if pinned is None else {name: content for name, content in pinned.items()
                                         if name in _names(definition.bpmn_source)}
    draft = ProcessDraft(process_id=definition.process_id, file_name=definition.file_name,
                         bpmn_source=_checked_source(source) if source is not None else definition.bpmn_source,
                         base_version=definition.version, author=actor.username, created_at=now, updated_at=now,
                         forms=forms)
    uow.session.add(draft)
    uow.session.flush()
    audit.record(uow, actor, "draft_opened", draft_id=draft.id, process_id=draft.process_id,
                 base_version=definition.version)
    if source is not None:  # content the editor changed before the draft existed: saved by the opener
        record_saved(uow, actor, draft)
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
                         base_version=_imported_base(file_name, existing), author=actor.username,
                         created_at=now, updated_at=now,  # its forms: app/forms/ as it is now
                         forms=pinned_forms.read_forms(uow.settings.forms_dir, _names(source)))
    uow.session.add(draft)
    uow.session.flush()
    audit.record(uow, actor, "draft_imported", draft_id=draft.id, process_id=process_id, file=file_name)
    record_saved(uow, actor, draft)
    return draft, validate_draft(uow, actor, draft.id)


def save_draft(uow: UnitOfWork, actor: Actor, draft_id: int, source: str | bytes) -> ProcessDraft:
    draft = get_draft(uow, actor, draft_id)
    draft.bpmn_source = _checked_source(source)
    draft.updated_at = uow.now()
    draft.author = actor.username  # the last editor; the sign-off excludes every saver (access/segregation.py)
    uow.session.flush()
    record_saved(uow, actor, draft)
    return draft


def record_saved(uow: UnitOfWork, actor: Actor, draft: ProcessDraft, form: str | None = None) -> None:
    """Every save of content into a draft (its diagram or one of its forms), unchanged bytes included, is
    authorship: the reviewer of a file may have saved none of the draft that led to it (config/segregation.toml,
    definition_reviewer_not_author). ``checksum`` is the draft's BPMN as it is after the save, so a save of a form
    alone counts for the submission of those bytes like a save of the diagram; ``forms_checksum`` is the digest of
    the forms its tasks name as the draft has them; ``form``: the form saved (None: the diagram)."""
    checksum = reviews.checksum_of(draft.bpmn_source)
    forms_checksum = pinned_forms.forms_digest(forms_of_draft(uow, draft))
    if form is None:
        audit.record(uow, actor, "draft_saved", draft_id=draft.id, process_id=draft.process_id, checksum=checksum,
                     forms_checksum=forms_checksum)
    else:
        audit.record(uow, actor, "draft_saved", draft_id=draft.id, process_id=draft.process_id, checksum=checksum,
                     forms_checksum=forms_checksum, form=form)


def forms_of_draft(uow: UnitOfWork, draft: ProcessDraft) -> dict[str, str]:
    """The forms the draft's user tasks name, file name -> content: the draft's own, else app/forms/ (what a
    deploy of the draft pins for its file, and what its review shows). A draft that is not readable BPMN names
    none: its own forms."""
    try:
        names = form_names(draft.bpmn_source)
    except InvalidDefinition:
        return dict(draft.forms or {})
    return pinned_forms.read_forms(uow.settings.forms_dir, names, draft.forms)


def forms_checksum_of(uow: UnitOfWork, draft: ProcessDraft) -> str:
    """The digest of the draft's forms (forms_of_draft): what its submission and sign-off must have covered."""
    return pinned_forms.forms_digest(forms_of_draft(uow, draft))


def _names(source: str) -> set[str]:
    try:
        return form_names(source)
    except InvalidDefinition:
        return set()


def validate_draft(uow: UnitOfWork, actor: Actor, draft_id: int) -> ValidationResult:
    """The CLI's validator over the bundle with this draft in place of its file, and its forms over app/forms/."""
    draft = get_draft(uow, actor, draft_id)
    files = bundle_for(uow, {draft.file_name: draft.bpmn_source.encode("utf-8")})
    # Segregation of duties' guarded tasks are kept against the version deployed now, as the deploy checks them.
    errors = definitions.validate_files(uow.runtime, files, draft.forms,
                                        current=definitions.deployed_sources(uow.session))
    errors += _process_mismatch(draft)
    return ValidationResult(errors)


def deploy_draft(uow: UnitOfWork, actor: Actor, draft_id: int, reason: str) -> ProcessDefinition:
    """Deploy a valid draft as a new immutable version (who, when, why, checksum) and remove the draft. New
    complaints start on it; running ones stay on the version they pinned."""
    draft = get_draft(uow, actor, draft_id)
    require_current_base(uow, draft)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidSubmission({"reason": ["Say why this version is deployed"]})
    result = validate_draft(uow, actor, draft_id)
    if not result.valid:  # the server decides, whatever the page's button showed
        raise InvalidDefinition(result.errors)
    previous = uow.session.scalars(select(ProcessDefinition.id).where(
        ProcessDefinition.process_id == draft.process_id).order_by(ProcessDefinition.version.desc()).limit(1)).first()
    files = bundle_for(uow, {draft.file_name: draft.bpmn_source.encode("utf-8")})
    # The version pins the draft's forms for its file's tasks: exactly what its submission's review showed.
    current = definitions.deploy(uow, actor, files, reason=reason, forms={draft.file_name: draft.forms or {}})
    definition = next(d for d in current if d.process_id == draft.process_id)
    if definition.id == previous:  # nothing changed: the latest version already has this source
        raise InvalidSubmission({"": ["The draft is identical to the current version: nothing to deploy"]})
    audit.record(uow, actor, "draft_deployed", draft_id=draft.id, process_id=draft.process_id,
                 version=definition.version, checksum=definition.checksum, reason=reason)
    uow.session.delete(draft)
    uow.session.flush()
    return definition


# --- the draft's base: the version it was opened from -----------------------------------------------------------

class StaleDraft(Conflict):
    """The draft is based on a version that is no longer current: deploying it as it is would silently undo what
    was deployed since. The owner merges those changes (the three-way view) and rebases the draft."""

    def __init__(self, draft: ProcessDraft, current: ProcessDefinition):
        base = f"version {draft.base_version}" if draft.base_version else "no deployed version"
        super().__init__(f"Draft {draft.id} of {draft.process_id} is based on {base}, but version "
                         f"{current.version} is current now: deploying it would undo the changes deployed since. "
                         f"Compare them on the draft's page, merge them, then rebase the draft on version "
                         f"{current.version}.")
        self.draft_id, self.base_version, self.current_version = draft.id, draft.base_version, current.version


def current_version(uow: UnitOfWork, process_id: str) -> ProcessDefinition | None:
    return uow.session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
                               .order_by(ProcessDefinition.version.desc()).limit(1)).first()


def require_current_base(uow: UnitOfWork, draft: ProcessDraft) -> None:
    """Raises StaleDraft when a version other than the draft's base is current (a new process: none is)."""
    current = current_version(uow, draft.process_id)
    if current is not None and draft.base_version != current.version:
        raise StaleDraft(draft, current)


@dataclass(frozen=True)
class BaseView:
    """The three-way view of a draft: its base, the current version, and when they differ the changes on each
    side. ``theirs``: base -> current (what was deployed since); ``mine``: base -> draft. None when a side cannot
    be compared (no base version, or a draft that is not readable XML yet)."""

    base: ProcessDefinition | None
    current: ProcessDefinition | None
    since: list[ProcessDefinition]
    theirs: list[Change] | None
    mine: list[Change] | None

    @property
    def stale(self) -> bool:
        return self.current is not None and (self.base is None or self.base.version != self.current.version)


def base_view(uow: UnitOfWork, actor: Actor, draft_id: int) -> BaseView:
    draft = get_draft(uow, actor, draft_id)
    current = current_version(uow, draft.process_id)
    base = None if draft.base_version is None else uow.session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.process_id == draft.process_id, ProcessDefinition.version == draft.base_version)).first()
    view = BaseView(base=base, current=current, since=[], theirs=None, mine=None)
    if not view.stale:
        return view
    assert current is not None  # stale: a version is current
    since = list(uow.session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.process_id == draft.process_id, ProcessDefinition.version > (draft.base_version or 0))
        .order_by(ProcessDefinition.version)))
    if base is None:
        return BaseView(base=None, current=current, since=since, theirs=None, mine=None)
    return BaseView(base=base, current=current, since=since,
                    theirs=_changes(uow, base.bpmn_source, current.bpmn_source, (base.forms, current.forms)),
                    mine=_changes(uow, base.bpmn_source, draft.bpmn_source, (base.forms, forms_of_draft(uow, draft))))


def draft_changes(uow: UnitOfWork, actor: Actor, draft_id: int) -> list[Change] | None:
    """What the draft changes against the version it is based on (the current one when it has no base): its
    diagram and its forms as each side has them. None: not comparable (no version, unreadable XML)."""
    draft = get_draft(uow, actor, draft_id)
    current = current_version(uow, draft.process_id)
    base = current if draft.base_version is None else uow.session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.process_id == draft.process_id, ProcessDefinition.version == draft.base_version)).first()
    if base is None:
        return None
    return _changes(uow, base.bpmn_source, draft.bpmn_source, (base.forms, forms_of_draft(uow, draft)))


def rebase_draft(uow: UnitOfWork, actor: Actor, draft_id: int, onto_version: int, merged: bool) -> ProcessDraft:
    """The owner confirms the draft includes what was deployed since its base: the current version becomes its
    base (its content stays as saved). ``onto_version``: the current version the owner compared against; a
    version deployed meanwhile is refused, its changes were not seen."""
    draft = get_draft(uow, actor, draft_id)
    current = current_version(uow, draft.process_id)
    if current is None or draft.base_version == current.version:
        raise InvalidSubmission({"": ["The draft is already based on the current version: nothing to rebase"]})
    if onto_version != current.version:
        raise Conflict(f"Version {current.version} of {draft.process_id} was deployed meanwhile: compare its "
                       "changes and confirm the rebase again")
    if not merged:
        raise InvalidSubmission({"merged": [(f"Confirm that the draft includes the changes deployed since its "
                                             f"base (version {draft.base_version})")]})
    previous = draft.base_version
    draft.base_version = current.version
    uow.session.flush()
    audit.record(uow, actor, "draft_rebased", before={"base_version": previous},
                 after={"base_version": current.version}, draft_id=draft.id, process_id=draft.process_id,
                 checksum=reviews.checksum_of(draft.bpmn_source))
    return draft


def _changes(uow: UnitOfWork, old: str, new: str,
             forms: tuple[Mapping[str, str] | None, Mapping[str, str] | None] = (None, None)) -> list[Change] | None:
    """``forms``: each side's forms (a version's pinned forms, a draft's), None to read app/forms/."""
    settings = uow.settings
    try:
        return diff_bpmn(old, new, lane_roles=settings.lane_roles, sla_profile=settings.sla_profile,
                         forms_dir=settings.forms_dir, pinned=forms).changes
    except InvalidDefinition:
        return None  # a draft saved while it was not readable XML


def submit_for_review(uow: UnitOfWork, actor: Actor, draft_id: int, comment: str | None = None) -> DefinitionReview:
    """Ask compliance to sign off the draft as saved (services/reviews.py keys the sign-off by its checksum).
    Only a valid draft: a file that cannot be deployed is not worth a reviewer's time, and fixing it would change
    the bytes and need a second review anyway."""
    draft = get_draft(uow, actor, draft_id)
    result = validate_draft(uow, actor, draft_id)
    if not result.valid:
        raise InvalidDefinition(result.errors)
    return reviews.submit_draft(uow, actor, draft_id, comment, forms=forms_of_draft(uow, draft))


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


def _imported_base(file_name: str, current: ProcessDefinition | None) -> int | None:
    """The version an imported file was exported from, when its name says so (the modeler exports version N as
    <file>.vN.bpmn); otherwise the current version, as for a file edited from it."""
    if current is None:
        return None
    exported = _EXPORTED_VERSION.search(file_name)
    version = int(exported.group(1)) if exported else current.version
    return version if 1 <= version <= current.version else current.version


def _safe_file_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if _FILE_NAME.match(base):
        return base
    raise InvalidSubmission({"file": ["Name the file like complaint_handling.bpmn (letters, digits, _ . -)"]})
