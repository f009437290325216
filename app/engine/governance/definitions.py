"""Validating and deploying process definitions. An invalid definition is never deployed."""
from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from app.engine import audit
from app.engine.core.actors import Actor
from app.engine.core.errors import DefinitionError, InvalidDefinition, NotFound
from app.engine.deadlines.expressions import script_functions
from app.engine.governance import pinned_forms, reviews
from app.engine.models import ProcessDefinition
from app.engine.workflow.guarded_elements import guarded_element_errors
from app.engine.workflow.parsing import executable_process_ids, parse_process
from app.engine.workflow.scripting import SandboxEnvironment
from app.engine.workflow.serialization import dump_specs
from app.engine.workflow.validation import ValidationContext, validate_bpmn_files

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.engine.runtime import Runtime, UnitOfWork

_PROCESS_ID = re.compile(rb'<(?:\w+:)?process\b[^>]*\bid="([^"]+)"')


def validation_context(runtime: Runtime, known_processes: Collection[str] = frozenset(),
                       forms: Mapping[str, str] | None = None) -> ValidationContext:
    """``forms``: a draft's forms (file name -> content), checked instead of the files of app/forms/."""
    # A timer expression is evaluated per sample at validation: a short budget keeps a runaway from slowing it.
    environment = SandboxEnvironment.for_validation(script_functions(runtime.clock, runtime.settings))
    now = runtime.clock.now().isoformat()
    # First passes and a reopened case: a timer that names an SLA only for reopened cases (the review clock)
    # is checked against the profile too.
    samples = [{"received_at": now, "sla_clock_start": now, "urgent": urgent, "severity": severity,
                "category": category, "product": product, "reopen_count": reopens, "customer_satisfied": None,
                # after the decision: the reply's date (the verification window) and a verification request
                "reply": {"sent_at": now}, "verification_request": {"requested_at": now},
                **({"review_requested_at": now} if reopens else {})}
               for urgent, severity, category, product, reopens in (
                   (False, "general", "fees_charges", "credit_card", 0),
                   (True, "urgent", "fund_security", "current_account_personal", 0),
                   (False, "general", "fees_charges", "credit_card", 1))]
    return ValidationContext(forms_dir=runtime.settings.forms_dir, operators=frozenset(runtime.operators),
                             lane_roles=runtime.settings.lane_roles,
                             evaluate=lambda expression, data: environment.evaluate(expression, dict(data)),
                             sample_data=samples, known_processes=frozenset(known_processes), forms=forms)


def validate_files(runtime: Runtime, files: Mapping[str, bytes],
                   forms: Mapping[str, str] | None = None, *,
                   current: Mapping[str, bytes] | None = None) -> list[DefinitionError]:
    """Errors of the given files, with the processes in processes/ known as call-activity targets (``forms``: a
    draft's forms, over app/forms/). ``current``: process id -> source of its deployed version, which the files
    may not take a user task of segregation of duties from (default: the shipped files of processes/)."""
    errors = validate_bpmn_files(files, validation_context(runtime, _process_ids_in(runtime.settings.processes_dir),
                                                           forms))
    return errors + _segregated_tasks_kept(runtime, files, current or {})


def _segregated_tasks_kept(runtime: Runtime, files: Mapping[str, bytes],
                           current: Mapping[str, bytes]) -> list[DefinitionError]:
    """A new version keeps, as user tasks, the element ids config/segregation.toml's rules name that the version
    it replaces has: ``current`` (process id -> deployed source), else the shipped file of processes/."""
    shipped = {pid.decode(): source for source in read_directory(runtime.settings.processes_dir).values()
               for pid in _PROCESS_ID.findall(source)}
    return guarded_element_errors(files, {**shipped, **current}, runtime.settings.segregation)


def _process_ids_in(directory: Path) -> set[str]:
    ids: set[str] = set()
    for path in Path(directory).glob("*.bpmn"):
        ids.update(m.decode() for m in _PROCESS_ID.findall(path.read_bytes()))
    return ids


def read_directory(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(Path(directory).glob("*.bpmn"))}


def latest_definition(session: Session, process_id: str) -> ProcessDefinition:
    definition = session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
                                 .order_by(ProcessDefinition.version.desc()).limit(1)).first()
    if definition is None:
        raise NotFound(f"Process {process_id!r} has not been deployed; run `complaintflow deploy`")
    return definition


def deploy(uow: UnitOfWork, actor: Actor, files: Mapping[str, bytes], reason: str | None = None,
           forms: Mapping[str, Mapping[str, str]] | None = None) -> list[ProcessDefinition]:
    """Validate the bundle and deploy a new version of every process whose source (or whose called
    processes' sources) changed. Returns the definitions now current for the bundle's processes. ``reason``
    (why this version exists) is kept on each new version and in the audit trail. ``forms``: BPMN file name ->
    the forms a draft of that file edits (file name -> content), read instead of app/forms/ for that file's
    tasks; the other files' forms are read from app/forms/ (the CLI deploys files with no drafted forms)."""
    return _deploy(uow, actor, files, reason, drafted=forms or {})


def _deploy(uow: UnitOfWork, actor: Actor, files: Mapping[str, bytes], reason: str | None,
            *, first_versions_only: bool = False,
            drafted: Mapping[str, Mapping[str, str]] | None = None) -> list[ProcessDefinition]:
    """``first_versions_only``: the bootstrap; deploy only the processes without any version (no sign-off: there
    is no version yet to review it against) and keep every other one as it is."""
    if not files:
        raise InvalidDefinition([DefinitionError(file="(no files)", message=(
            "There is no .bpmn file to deploy: nothing was deployed."))])
    drafted = drafted or {}
    context = validation_context(uow.runtime)
    if drafted:
        context = dataclasses.replace(context, forms={name: content for file_forms in drafted.values()
                                                      for name, content in file_forms.items()})
    errors = validate_bpmn_files(files, context)
    errors += _segregated_tasks_kept(uow.runtime, files, deployed_sources(uow.session))
    if errors:
        raise InvalidDefinition(errors)
    checksums = {name: hashlib.sha256(source).hexdigest() for name, source in files.items()}
    owner = {pid: name for name, source in files.items() for pid in executable_process_ids({name: source})}
    current, now = [], uow.now()
    for process_id, file_name in owner.items():
        spec, subprocess_specs = parse_process(files, process_id)
        called = [{"process_id": pid, "checksum": checksums[owner[pid]]}
                  for pid in sorted(subprocess_specs) if pid in owner]
        # The version pins the forms its tasks and its called processes' tasks name; they are part of its identity,
        # so the same BPMN with a changed form is a new version (and unchanged files with unchanged forms none).
        forms: dict[str, str] = {}
        for called_file in [owner[pid] for pid in sorted(subprocess_specs) if pid in owner] + [file_name]:
            forms.update(_forms_of_file(uow, files, called_file, drafted))  # the file's own forms last: they win
        forms_checksum = pinned_forms.forms_digest(forms)
        latest = uow.session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
                                     .order_by(ProcessDefinition.version.desc()).limit(1)).first()
        if latest and (first_versions_only or (latest.checksum == checksums[file_name]
                                               and latest.called_processes == called
                                               and latest.forms_checksum == forms_checksum)):
            current.append(latest)
            continue
        if not first_versions_only:
            # With config/governance.toml signoff_required, only bytes compliance approved become a version, and
            # only with the forms compliance saw: the approval must cover the content of the forms this file's
            # own tasks name (a called process's forms go through that process's own sign-off).
            reviews.require_signoff(uow, checksums[file_name], actor.username, file_name=file_name,
                                    forms_checksum=pinned_forms.forms_digest(
                                        _forms_of_file(uow, files, file_name, drafted)))
        version = (uow.session.scalar(select(func.max(ProcessDefinition.version))
                                      .where(ProcessDefinition.process_id == process_id)) or 0) + 1
        definition = ProcessDefinition(
            process_id=process_id, name=spec.description or process_id, version=version, file_name=file_name,
            bpmn_source=files[file_name].decode("utf-8"), checksum=checksums[file_name],
            spec_json=dump_specs(spec, subprocess_specs), called_processes=called,
            deployed_at=now, deployed_by=actor.username, deploy_reason=reason, forms=forms,
            forms_checksum=forms_checksum)
        uow.session.add(definition)
        uow.session.flush()
        uow.runtime.specs.put(definition.id, spec, subprocess_specs)
        bootstrapped: dict[str, Any] = {"bootstrap": True, "signoff": BOOTSTRAP_SIGNOFF} if first_versions_only else {}
        audit.record(uow, actor, "definition_deployed", at=now,
                     before={"definition_id": latest.id, "version": latest.version} if latest else None,
                     after={"definition_id": definition.id, "version": version}, process_id=process_id,
                     version=version, file=file_name, checksum=checksums[file_name], forms_checksum=forms_checksum,
                     forms=sorted(forms), reason=reason, **bootstrapped)
        current.append(definition)
    if not current:  # validation refuses files without an executable process; never "succeed" deploying nothing
        raise InvalidDefinition([DefinitionError(file=", ".join(files), message=(
            "No executable process in these files: nothing was deployed."))])
    return current


def _forms_of_file(uow: UnitOfWork, files: Mapping[str, bytes], file_name: str,
                   drafted: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The forms the user tasks of one file name: a draft's forms of that file, else app/forms/."""
    return pinned_forms.forms_of(uow.settings.forms_dir, files[file_name], overrides=drafted.get(file_name))


@dataclass(frozen=True)
class Bootstrap:
    """What loading processes/ did: ``deployed`` (first versions, deployed now), ``current`` (the current version
    of every process in the files) and ``differing`` (a current version and the file that differs from it, left
    undeployed)."""

    deployed: list[ProcessDefinition]
    current: list[ProcessDefinition]
    differing: list[tuple[ProcessDefinition, str]]


def bootstrap(uow: UnitOfWork, actor: Actor, files: Mapping[str, bytes]) -> Bootstrap:
    """Deploy the processes of ``files`` (processes/) that the database has no definition of, and only those.

    Every start runs this (``./run`` runs ``load-demo``), so it never deploys over a version: a process owner's
    deploy from the modeler stays current, and a changed file goes through ``deploy`` (validation and, when
    required, sign-off). A first version needs no sign-off (there is nothing yet to review it against): its
    audit event says so. A file that differs from its process's current version is reported, not deployed."""
    latest = _latest_by_process(uow.session)
    differing: list[tuple[ProcessDefinition, str]] = []
    new_files: dict[str, bytes] = {}
    in_files: set[str] = set()
    for name, source in sorted(files.items()):
        try:
            process_ids = executable_process_ids({name: source})
        except InvalidDefinition:
            process_ids = []  # unreadable: if new, validation below refuses it; if deployed, it differs
        in_files.update(process_ids)
        present = [latest[pid] for pid in process_ids if pid in latest] or \
                  [d for d in latest.values() if not process_ids and d.file_name == name]
        checksum = hashlib.sha256(source).hexdigest()
        differing += [(definition, name) for definition in present if definition.checksum != checksum]
        if len(present) < len(process_ids) or not present:
            new_files[name] = source
    deployed: list[ProcessDefinition] = []
    if new_files:
        # The new files beside the current source of what is deployed: a call to a deployed process resolves to
        # its current version, not to a file in processes/ that nobody deployed.
        bundle = {d.file_name: d.bpmn_source.encode("utf-8") for d in latest.values()} | new_files
        deployed = [d for d in _deploy(uow, actor, bundle, BOOTSTRAP_REASON, first_versions_only=True)
                    if d.process_id not in latest]
    current = {**latest, **{d.process_id: d for d in deployed}}
    in_files.update(d.process_id for d, _ in differing)
    return Bootstrap(deployed=deployed, differing=differing,
                     current=[current[pid] for pid in sorted(in_files) if pid in current])


BOOTSTRAP_REASON = "Bootstrap: the first load of processes/ into a database without this process"
BOOTSTRAP_SIGNOFF = "not required: a first version (bootstrap), with no earlier version to review it against"


def deployed_sources(session: Session) -> dict[str, bytes]:
    """The source of every process's current version, by process id."""
    sources: dict[str, bytes] = {}
    for process_id, source in session.execute(select(ProcessDefinition.process_id, ProcessDefinition.bpmn_source)
                                              .order_by(ProcessDefinition.version)):
        sources[process_id] = source.encode("utf-8")  # ordered by version: the last one wins
    return sources


def _latest_by_process(session: Session) -> dict[str, ProcessDefinition]:
    latest: dict[str, ProcessDefinition] = {}
    for definition in session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.version)):
        latest[definition.process_id] = definition  # ordered by version: the last one wins
    return latest


def list_definitions(uow: UnitOfWork) -> list[ProcessDefinition]:
    return list(uow.session.scalars(select(ProcessDefinition)
                                    .order_by(ProcessDefinition.process_id, ProcessDefinition.version)))
