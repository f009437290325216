"""The review desk: every definition version with its review status, the semantic diff between two versions,
and compliance's sign-off (with the gate that keeps unapproved versions from being deployed).

Sign-off is keyed by the file's sha256 checksum: a process owner submits a draft (its exact bytes) for review,
compliance approves or rejects that checksum with a comment, and ``require_signoff`` (called by
definitions.deploy for every version it is about to create) finds the approval for exactly those bytes. Four
eyes: whoever saved any content of the draft that led to a checksum (the draft_saved audit events; the rule is
config/segregation.toml's, answered by access/segregation.py), submitted or deployed it cannot sign it off, and
an approver cannot deploy what they approved themselves.
"""
from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.engine import audit
from app.engine.access import permissions, segregation
from app.engine.access.permissions import TableSource
from app.engine.core.actors import Actor
from app.engine.core.errors import (
    DefinitionError,
    DomainError,
    InvalidDefinition,
    InvalidSubmission,
    NotAllowed,
    NotFound,
)
from app.engine.governance.pinned_forms import forms_digest, forms_of
from app.engine.models import DefinitionReview, ProcessDefinition, ProcessDraft, ProcessInstance
from app.engine.workflow.diff import diff_bpmn

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from app.engine.config.settings import Settings
    from app.engine.runtime import UnitOfWork

DECISIONS = ("approved", "rejected")


# --- who may do what (config/permissions.toml) ---------------------------------------------------------------

def may_see_desk(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "review_desk.open")


def may_sign_off(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "definition.review")


def _require_desk(uow: UnitOfWork, actor: Actor) -> None:
    permissions.require(uow, actor, "review_desk.open", "Only compliance and process owners open the review desk")


# --- configuration -------------------------------------------------------------------------------------------

def signoff_required(settings: Settings) -> bool:
    """config/governance.toml ``signoff_required``; read on every check (deploys are rare) so a change of the
    switch applies without a restart. A missing file means no gate."""
    path = Path(settings.config_dir) / "governance.toml"
    if not path.exists():
        return False
    with path.open("rb") as fh:
        value = tomllib.load(fh).get("signoff_required", False)
    if not isinstance(value, bool):
        raise ValueError(f"{path}: signoff_required must be true or false, not {value!r}")
    return value


def checksum_of(source: str | bytes) -> str:
    return hashlib.sha256(source.encode("utf-8") if isinstance(source, str) else source).hexdigest()


# --- the desk ------------------------------------------------------------------------------------------------

def desk(uow: UnitOfWork, actor: Actor) -> dict:
    """Every version (newest first per process) with who/when/why, instance counts and review status, and
    the submissions not deployed yet."""
    _require_desk(uow, actor)
    counts: dict[int, dict[str, int]] = {}
    for definition_id, status, n in uow.session.execute(
            select(ProcessInstance.definition_id, ProcessInstance.status, func.count())
            .group_by(ProcessInstance.definition_id, ProcessInstance.status)):
        counts.setdefault(definition_id, {})[status] = n
    versions = list(uow.session.scalars(select(ProcessDefinition)
                                        .order_by(ProcessDefinition.process_id, ProcessDefinition.version.desc())))
    statuses = review_statuses(uow, {d.checksum for d in versions})
    rows = [dict(_version_row(d), running=counts.get(d.id, {}).get("running", 0),
                 completed=counts.get(d.id, {}).get("completed", 0), review=statuses.get(d.checksum))
            for d in versions]
    pending: list[dict] = []
    for submission in uow.session.scalars(select(DefinitionReview).where(DefinitionReview.action == "submitted")
                                          .order_by(DefinitionReview.occurred_at.desc(), DefinitionReview.id.desc())):
        key = (submission.checksum, submission.forms_checksum)
        if any(_deploys(d, submission) for d in versions) or any(p["key"] == key for p in pending):
            continue
        pending.append({"id": submission.id, "process_id": submission.process_id, "file_name": submission.file_name,
                        "checksum": submission.checksum, "submitted_by": submission.actor, "key": key,
                        "submitted_at": submission.occurred_at, "comment": submission.comment})
    for row in pending:
        decision, forms_checksum = review_statuses(uow, {row["checksum"]}).get(row["checksum"]), row["key"][1]
        # a decision on the same bytes with other forms (a form-only change of a draft) is not this one's
        row["review"] = decision if forms_checksum is None or (
            decision and decision["forms_checksum"] == forms_checksum) else None
    return {"versions": rows, "submissions": pending, "signoff_required": signoff_required(uow.settings),
            "may_sign_off": may_sign_off(uow, actor)}


def _deploys(definition: ProcessDefinition, submission: DefinitionReview) -> bool:
    """Whether ``definition`` is the deployment of ``submission``: the same bytes, and for a draft's submission
    (which keeps its forms) the same forms; a form-only change of a draft keeps the BPMN bytes of the version it
    changes, and is not that version."""
    if definition.checksum != submission.checksum:
        return False
    if submission.forms is None:
        return True
    pinned = definition.forms or {}
    return all(pinned.get(name) == content for name, content in submission.forms.items())


def _version_row(d: ProcessDefinition) -> dict:
    return {"id": d.id, "process_id": d.process_id, "version": d.version, "name": d.name, "file_name": d.file_name,
            "deployed_by": d.deployed_by, "deployed_at": d.deployed_at, "reason": d.deploy_reason,
            "checksum": d.checksum}


def review_statuses(uow: UnitOfWork, checksums: Collection[str]) -> dict[str, dict]:
    """checksum -> {"status": approved|rejected, "reviewer", "comment", "at"}; absent = pending (no decision)."""
    if not checksums:
        return {}
    result: dict[str, dict] = {}
    for row in uow.session.scalars(select(DefinitionReview).where(
            DefinitionReview.checksum.in_(list(checksums)), DefinitionReview.action.in_(DECISIONS))
            .order_by(DefinitionReview.occurred_at, DefinitionReview.id)):
        result[row.checksum] = {"status": row.action, "reviewer": row.actor, "comment": row.comment,
                                "at": row.occurred_at, "forms_checksum": row.forms_checksum}  # the latest wins
    return result


def trail(uow: UnitOfWork, actor: Actor, checksum: str) -> list[DefinitionReview]:
    _require_desk(uow, actor)
    return list(uow.session.scalars(select(DefinitionReview).where(DefinitionReview.checksum == checksum)
                                    .order_by(DefinitionReview.occurred_at, DefinitionReview.id)))


# --- diffs ---------------------------------------------------------------------------------------------------

def version_diff(uow: UnitOfWork, actor: Actor, definition_id: int, against_id: int | None = None) -> dict:
    """The semantic diff of a version against ``against_id`` (default: the previous version of its process)."""
    _require_desk(uow, actor)
    new = _definition(uow, definition_id)
    if against_id is None:
        old = uow.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == new.process_id, ProcessDefinition.version < new.version)
            .order_by(ProcessDefinition.version.desc()).limit(1)).first()
    else:
        old = _definition(uow, against_id)
        if old.process_id != new.process_id:  # two versions of one definition, never a file against another's
            raise DomainError(f"Version {against_id} belongs to {old.process_id}, not {new.process_id}: only two "
                              "versions of the same definition can be compared")
    return _diff_result(uow, old, new.bpmn_source, new=_version_row(new), checksum=new.checksum,
                        new_called=new.called_processes, new_forms=new.forms)


def versions_of(uow: UnitOfWork, actor: Actor, process_id: str) -> list[dict]:
    """Every version of one definition, oldest first: what the diff page offers to compare."""
    _require_desk(uow, actor)
    return [{"id": d_id, "version": version} for d_id, version in uow.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.version).where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version))]


def submission_diff(uow: UnitOfWork, actor: Actor, submission_id: int) -> dict:
    """The semantic diff of a submitted file against the version it replaces: the newest deployed version while
    it waits, and once deployed, the version before its first deployment. (Against the newest version, a
    deployed submission was compared with itself and its page said "no change" for a file that changed.)"""
    _require_desk(uow, actor)
    submission = uow.session.get(DefinitionReview, submission_id)
    if submission is None or submission.action != "submitted" or submission.bpmn_source is None:
        raise NotFound(f"Submission {submission_id} does not exist")
    versions = select(ProcessDefinition).where(ProcessDefinition.process_id == submission.process_id)
    deployed = next((d for d in uow.session.scalars(versions.where(ProcessDefinition.checksum == submission.checksum)
                                                    .order_by(ProcessDefinition.version)) if _deploys(d, submission)),
                    None)
    if deployed is not None:
        versions = versions.where(ProcessDefinition.version < deployed.version)
    old = uow.session.scalars(versions.order_by(ProcessDefinition.version.desc()).limit(1)).first()
    new = {"id": None, "submission_id": submission.id, "process_id": submission.process_id, "version": None,
           "file_name": submission.file_name, "deployed_by": None, "submitted_by": submission.actor,
           "deployed_at": None, "reason": submission.comment, "checksum": submission.checksum,
           "deployed_as": _version_row(deployed) if deployed is not None else None}
    return _diff_result(uow, old, submission.bpmn_source, new=new, checksum=submission.checksum,
                        new_called=deployed.called_processes if deployed is not None else None,
                        new_forms=deployed.forms if deployed is not None else submission.forms)


def _diff_result(uow: UnitOfWork, old: ProcessDefinition | None, new_source: str, *, new: dict, checksum: str,
                 new_called: list[dict] | None, new_forms: dict | None) -> dict:
    """``new_called``: the called processes the new file was deployed with (None: not deployed, so a deploy
    would bind the newest version of each). Forms are compared as each version pinned them; ``new_forms`` None
    (a submission not deployed yet, or a version from before forms were pinned) and an old version without
    pinned forms read app/forms as it is now, which is what a deploy would pin."""
    settings = uow.settings
    old_source = old.bpmn_source if old is not None else ""
    changes = diff_bpmn(old_source, new_source, lane_roles=settings.lane_roles, sla_profile=settings.sla_profile,
                        forms_dir=settings.forms_dir,
                        called=(_called_versions(uow, old.called_processes), _called_versions(uow, new_called)),
                        pinned=(old.forms, new_forms)) \
        if old is not None else None
    return {"old": _version_row(old) if old is not None else None, "new": new, "changes": changes,
            "old_source": old_source, "new_source": new_source, "sla_profile": settings.sla_profile.name,
            "same_file": old is not None and old.checksum == checksum,
            "pinned_forms": old is not None and old.forms is not None and new_forms is not None,
            "review": review_statuses(uow, {checksum}).get(checksum)}


def _called_versions(uow: UnitOfWork, called: list[dict] | None) -> dict[str, str]:
    """process id -> the deployed version a call activity to it runs, e.g. "escalation version 2 (sha256 ...)"."""
    columns = select(ProcessDefinition.process_id, ProcessDefinition.version, ProcessDefinition.checksum)
    if called is None:  # ordered by version: the newest of each process is the last one written
        return {pid: _version_label(pid, version, checksum)
                for pid, version, checksum in uow.session.execute(columns.order_by(ProcessDefinition.version))}
    labels: dict[str, str] = {}
    for entry in called:
        pid, key = str(entry.get("process_id")), entry.get("checksum")
        match = ProcessDefinition.checksum == key if key else ProcessDefinition.version == entry.get("version")
        row = uow.session.execute(columns.where(ProcessDefinition.process_id == pid, match)
                                  .order_by(ProcessDefinition.version).limit(1)).first()
        labels[pid] = _version_label(*row) if row else f"{pid} (sha256 {(key or '?')[:12]})"
    return labels


def _version_label(process_id: str, version: int, checksum: str) -> str:
    return f"{process_id} version {version} (sha256 {checksum[:12]})"


def _definition(uow: UnitOfWork, definition_id: int) -> ProcessDefinition:
    definition = uow.session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"Definition version {definition_id} does not exist")
    return definition


# --- submissions and sign-off --------------------------------------------------------------------------------

def submit(uow: UnitOfWork, actor: Actor, *, process_id: str, file_name: str, source: str, author: str | None = None,
           comment: str | None = None, forms: Mapping[str, str] | None = None) -> DefinitionReview:
    """Ask compliance to review these exact bytes. ``author``: who wrote them (a draft's author), when the
    process owner submitting is someone else; both are kept out of the sign-off. ``forms``: the content of the
    forms the file's user tasks name, as a draft has them (None: app/forms/ as it is when compliance decides)."""
    permissions.require(uow, actor, "definition.submit", "Only process owners submit definitions for review")
    checksum, now = checksum_of(source), uow.now()
    row = DefinitionReview(process_id=process_id, checksum=checksum, action="submitted", actor=actor.username,
                           comment=(comment or "").strip() or None, file_name=file_name, bpmn_source=source,
                           occurred_at=now, forms=dict(forms) if forms is not None else None,
                           forms_checksum=forms_digest(forms) if forms is not None else None)
    uow.session.add(row)
    if author and author != actor.username:
        uow.session.add(DefinitionReview(process_id=process_id, checksum=checksum, action="submitted", actor=author,
                                         comment="author", file_name=file_name, occurred_at=now))
    uow.session.flush()
    audit.record(uow, actor, "definition_submitted", at=now, process_id=process_id, checksum=checksum,
                 file=file_name, forms_checksum=row.forms_checksum)
    return row


def submit_draft(uow: UnitOfWork, actor: Actor, draft_id: int, comment: str | None = None,
                 forms: Mapping[str, str] | None = None) -> DefinitionReview:
    """Submit a modeler draft (governance/drafts.py) as it stands now, with ``forms``, the forms its tasks name
    as the draft has them; a later edit needs a new submission."""
    permissions.require(uow, actor, "definition.submit", "Only process owners submit definitions for review")
    draft = uow.session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound(f"Draft {draft_id} does not exist")
    return submit(uow, actor, process_id=draft.process_id, file_name=draft.file_name, source=draft.bpmn_source,
                  author=draft.author, comment=comment, forms=forms)


def draft_review(uow: UnitOfWork, draft: ProcessDraft, forms_checksum: str | None = None) -> dict:
    """Where a draft's saved bytes stand with compliance: submitted (the latest submission of exactly these
    bytes, and with ``forms_checksum`` the same forms, or None), the decision on them (None = none yet, or a
    decision on other forms) and whether the deploy gate needs an approval."""
    checksum = checksum_of(draft.bpmn_source)
    query = select(DefinitionReview).where(
        DefinitionReview.checksum == checksum, DefinitionReview.action == "submitted",
        DefinitionReview.bpmn_source.is_not(None))
    if forms_checksum is not None:
        query = query.where(DefinitionReview.forms_checksum == forms_checksum)
    submitted = uow.session.scalars(query.order_by(DefinitionReview.occurred_at.desc(), DefinitionReview.id.desc())
                                    .limit(1)).first()
    review = review_statuses(uow, {checksum}).get(checksum)
    if review is not None and forms_checksum is not None and review["forms_checksum"] != forms_checksum:
        review = None  # a decision on these bytes with other forms: the draft's forms were not reviewed
    return {"checksum": checksum, "signoff_required": signoff_required(uow.settings),
            "submission": None if submitted is None else {"id": submitted.id, "by": submitted.actor,
                                                           "at": submitted.occurred_at},
            "review": review}


def authors(uow: UnitOfWork, checksum: str) -> set[str]:
    """Everyone who submitted or deployed these bytes: none of them may sign them off."""
    names = set(uow.session.scalars(select(DefinitionReview.actor).where(
        DefinitionReview.checksum == checksum, DefinitionReview.action == "submitted")))
    names.update(uow.session.scalars(select(ProcessDefinition.deployed_by).where(
        ProcessDefinition.checksum == checksum)))
    return names


def decide(uow: UnitOfWork, actor: Actor, checksum: str, decision: str, comment: str) -> DefinitionReview:
    """Compliance approves or rejects a version (or a submitted draft) by its checksum, with a comment."""
    permissions.require(uow, actor, "definition.review", "Only compliance signs off definition versions")
    if decision not in DECISIONS:
        raise InvalidSubmission({"decision": ["Choose approve or reject"]})
    comment = (comment or "").strip()
    if not comment:
        raise InvalidSubmission({"comment": ["Say why (the comment is part of the audit trail)"]})
    known = uow.session.scalars(select(DefinitionReview.process_id).where(DefinitionReview.checksum == checksum)
                                .limit(1)).first() or uow.session.scalars(
        select(ProcessDefinition.process_id).where(ProcessDefinition.checksum == checksum).limit(1)).first()
    if known is None:
        raise NotFound("No deployed version or submission has this checksum")
    segregation.check_action(uow, actor, "definition.review", checksum=checksum)
    if actor.username in authors(uow, checksum):
        raise NotAllowed("You deployed or submitted this version: someone else must sign it off (four eyes)")
    previous = review_statuses(uow, {checksum}).get(checksum)
    now = uow.now()
    # The decision covers the forms the file's own user tasks name: those the latest submission of a draft kept
    # (what its review shows and a deploy of the draft pins), else as they are in app/forms now: what the
    # submission's review shows and what a deploy of these bytes would pin (require_signoff compares them).
    drafted = uow.session.scalars(select(DefinitionReview.forms_checksum).where(
        DefinitionReview.checksum == checksum, DefinitionReview.action == "submitted",
        DefinitionReview.bpmn_source.is_not(None))
        .order_by(DefinitionReview.occurred_at.desc(), DefinitionReview.id.desc()).limit(1)).first()
    source = uow.session.scalars(select(DefinitionReview.bpmn_source).where(
        DefinitionReview.checksum == checksum, DefinitionReview.bpmn_source.is_not(None)).limit(1)).first() or \
        uow.session.scalars(select(ProcessDefinition.bpmn_source).where(ProcessDefinition.checksum == checksum)
                            .limit(1)).first()
    forms_checksum = drafted or (forms_digest(forms_of(uow.settings.forms_dir, source))
                                 if source is not None else None)
    row = DefinitionReview(process_id=known, checksum=checksum, action=decision, actor=actor.username,
                           comment=comment, occurred_at=now, forms_checksum=forms_checksum)
    uow.session.add(row)
    uow.session.flush()
    # The sign-off's change: the review status of these bytes (None: no decision yet).
    audit.record(uow, actor, "definition_" + decision, at=now, before={"review": previous and previous["status"]},
                 after={"review": decision}, process_id=known, checksum=checksum, forms_checksum=forms_checksum,
                 comment=comment)
    return row


def require_signoff(uow: UnitOfWork, checksum: str, deployer: str, *, forms_checksum: str,
                    file_name: str = "") -> None:
    """The deploy gate (definitions.deploy, so the modeler and `complaintflow deploy` alike). ``forms_checksum``:
    the digest of the forms the file's own user tasks name, as the deploy pins them; the approval must have
    been given on the same forms. Raises InvalidDefinition, which every deploy path already reports as "nothing
    deployed", naming the file."""
    if not signoff_required(uow.settings):
        return
    status = review_statuses(uow, {checksum}).get(checksum)
    # The decisions are audit events too (``decide``), sealed into the hash chain: a decision row deleted,
    # edited or inserted behind the application's back makes the table and the trail disagree, and nothing is
    # deployed on the table's word alone.
    recorded = audit.latest_event(uow, ("definition_approved", "definition_rejected"), checksum=checksum)
    table = None if status is None else (status["status"], status["reviewer"], status["at"])
    trail = None if recorded is None else (recorded.action.removeprefix("definition_"), recorded.actor,
                                           recorded.occurred_at)
    problem = None
    if table != trail:
        said = lambda d: "no decision" if d is None else f"{d[0]} by {d[1]} at {d[2]:%Y-%m-%d %H:%M:%S} UTC"
        problem = (f"The review table and the audit trail disagree about compliance's latest decision on this file "
                   f"(sha256 {checksum[:12]}…): the table says {said(table)}, the audit trail says {said(trail)}. "
                   "A decision may have been deleted or altered in the database: nothing is deployed until "
                   "`complaintflow audit verify` has been run and the discrepancy resolved.")
    elif status is None:
        problem = (f"Sign-off is required before deployment and compliance has not approved this file "
                   f"(sha256 {checksum[:12]}…): submit it for review on the review desk.")
    elif status["status"] != "approved":
        problem = (f"Sign-off is required before deployment and compliance rejected this file "
                   f"(sha256 {checksum[:12]}…): {status['comment']}")
    elif status["reviewer"] == deployer:
        problem = "You signed off this file yourself: someone else must deploy it (four eyes)."
    elif status["forms_checksum"] != forms_checksum:
        problem = (f"Sign-off is required before deployment and the forms this file's tasks name have changed "
                   f"since compliance approved it (sha256 {checksum[:12]}…), or the approval predates forms "
                   f"being reviewed: submit it for review again so compliance signs off the forms too.")
    if problem:
        raise InvalidDefinition([DefinitionError(file=file_name or "(bundle)", message=problem)])
