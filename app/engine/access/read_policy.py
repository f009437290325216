"""Who may read what: the one read policy every adapter asks (API, pages, exports, letters).

Two questions, answered here and nowhere else:

* **Which complaints** an actor may read: ``complaint_scope(settings, actor)`` is a SQL where-clause on
  ``Complaint``, so lists, exports and counts filter in the database; ``may_read_complaint`` /
  ``require_complaint`` evaluate the same clause for one complaint, so a single complaint and a list can never
  disagree.
* **Which fields**: every field of a complaint and every process variable belongs to one *field class*
  (``PUBLIC``, ``SUBMITTED``, ``FOR_CUSTOMER``, ``CASE_FILE``, ``INTERNAL``), declared once as data below; an
  actor's *audience* says which classes it sees. A variable nobody classified is ``INTERNAL``: a new form field
  stays with complaint management until someone decides otherwise. The same holds for the detail of a history
  entry (``DETAIL_CLASSES``).
* **What a letter may say**: ``letter_facts`` gives the letters the variables staff wrote *for the customer*
  (``FOR_CUSTOMER``: the approved message, the facts and basis stated for them, the redress) and nothing else:
  an internal summary or a finding cannot reach a letter by a template's fallback.
* **Diagrams** are the case file: the process model (scripts, conditions, escalation paths) and where a case
  stands in it are for staff who read the case file (``require_case_file``); customers follow their complaint by
  its status and its clocks (``public_clocks``).

Scopes (an actor with several roles gets the union; the widest audience wins). Which roles get which scope and
which audience is data, config/permissions.toml (the ``complaint.read_*`` actions and ``[audiences]``); what each
scope and audience means is code, here:

* customer: the complaints they registered; audience ``customer`` = public fields and their own submissions
  (what they entered at registration and as feedback), the customer-facing messages sent to them, milestones
  of the history without names or detail.
* channel (an integration that registers complaints): the complaints it registered; audience ``channel`` =
  public status only (no personal data, no messages).
* department officer: complaints their department leads (``lead_department``) or has, or had, a task on (a
  ``tasks`` row of that department: co-investigation included), plus tasks assigned to or completed by them;
  audience ``case_file``.
* intake agent: the complaints they registered, those with a task they completed, and those with a task
  *waiting* in one of their lanes (``config/roles.toml``: the intake desk classifies, the customer lane records
  feedback). So the desk sees the cases it has to work on and the ones it worked on, not the whole archive.
  Audience ``case_file``: they answer the customer on the phone and need the case, not complaint management's
  own notes.
* coordinator, approver, head of complaints, compliance: every complaint; audience ``internal`` (all fields).
* process owner: no complaint (403): definitions and aggregate figures only (``may_read_definitions``,
  ``may_read_figures``).
* system actors (scheduler, CLI): everything.

Why ``approval_comment`` is case file, not internal: after a rejection the lead department redrafts, and the
approver's reason is what they redraft against. It never reaches a customer or a channel. ``INTERNAL`` holds
complaint management's own notes (classification and triage notes).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import exists, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement, True_

from app.engine.access import permissions
from app.engine.access.permissions import TableSource
from app.engine.audit import personal
from app.engine.config import classification
from app.engine.config.permissions import NO_AUDIENCE
from app.engine.core.actors import Actor
from app.engine.core.errors import NotAllowed, NotFound
from app.engine.models import AuditEvent, Complaint, Incident, OutboxMessage, UserTask

if TYPE_CHECKING:
    from app.engine.config.settings import Settings
    from app.engine.runtime import UnitOfWork

# --- field classes and audiences -------------------------------------------------------------------------

PUBLIC = "public"          # anyone who may read the complaint at all: its status, deadlines, who is in charge
SUBMITTED = "submitted"    # what the customer entered (registration facts, feedback): theirs, and the case file
FOR_CUSTOMER = "for_customer"  # written by staff to be sent: what a letter may print (the customer reads it
                               # there, in the letter's body, and not as a field of the case)
CASE_FILE = "case_file"    # what the people handling the case need: findings, drafts, decisions, staff names
INTERNAL = "internal"      # complaint management's own notes

# What each audience sees, widest first as config/permissions.py's AUDIENCES ranks them; which roles read with
# which audience is config/permissions.toml [audiences].
AUDIENCE_CLASSES: dict[str, frozenset[str]] = {
    "internal": frozenset({PUBLIC, SUBMITTED, FOR_CUSTOMER, CASE_FILE, INTERNAL}),
    "case_file": frozenset({PUBLIC, SUBMITTED, FOR_CUSTOMER, CASE_FILE}),
    "customer": frozenset({PUBLIC, SUBMITTED}),
    "channel": frozenset({PUBLIC}),
    NO_AUDIENCE: frozenset(),
}

# The complaint row, by field class. ``department_in_charge`` is the lead department's *name* (never people).
COMPLAINT_FIELDS: dict[str, str] = {
    "id": PUBLIC, "tracking_number": PUBLIC, "status": PUBLIC, "outcome": PUBLIC,
    "department_in_charge": PUBLIC, "received_at": PUBLIC, "acknowledged_at": PUBLIC, "due_at": PUBLIC,
    "closed_at": PUBLIC, "anonymised_at": PUBLIC,   # retention (complaints/retention.py): the personal data is gone
    "customer_name": SUBMITTED, "customer_contact": SUBMITTED, "customer_reference": SUBMITTED,
    "channel": SUBMITTED, "forwarded_reference": SUBMITTED, "product": SUBMITTED, "category": SUBMITTED,
    "amount_involved": SUBMITTED, "description": SUBMITTED, "customer_satisfied": SUBMITTED,
    "satisfaction_rating": SUBMITTED,
    # The codes' names in the reader's language (complaints/classification.names_for): classed as their codes.
    "product_code": SUBMITTED, "product_name": SUBMITTED, "cause_name": SUBMITTED, "place_code": SUBMITTED,
    "place_name": SUBMITTED, "outcome_name": PUBLIC,
    "severity": CASE_FILE, "urgent": CASE_FILE, "lead_department": CASE_FILE, "is_overdue": CASE_FILE,
    "escalation_level": CASE_FILE, "breached_slas": CASE_FILE, "reopen_count": CASE_FILE,
    "registered_by": CASE_FILE,
    # When it was entered (received_at, which starts the clocks, may be earlier) and who forwarded it: the
    # customer knows both (the body and its reference are on their letter); the body's dates, its deadline, the
    # reply route and the business-day calendar are how the case is handled.
    "registered_at": PUBLIC, "forwarded_by": SUBMITTED, "forwarded_by_name": SUBMITTED,
    "forwarded_at": CASE_FILE, "forwarded_due_at": CASE_FILE, "reply_route": CASE_FILE,
    "calendar_code": CASE_FILE, "calendar_name": CASE_FILE,
    # Outcome data (issue 26): when the final response went out is a milestone; the rest is the case file's.
    "final_response_at": PUBLIC, "resolution_outcome": CASE_FILE, "redress_offered": CASE_FILE,
    "redress_paid": CASE_FILE, "redress_paid_at": CASE_FILE, "root_cause_code": CASE_FILE,
}

# Process variables (task context, submitted form data, audit detail), by field class. Unlisted: INTERNAL.
VARIABLE_CLASSES: dict[str, str] = {
    "tracking_number": PUBLIC,
    "customer_name": SUBMITTED, "customer_contact": SUBMITTED, "customer_reference": SUBMITTED,
    "channel": SUBMITTED, "forwarded_reference": SUBMITTED, "product": SUBMITTED, "category": SUBMITTED,
    "amount_involved": SUBMITTED, "description": SUBMITTED, "received_at": SUBMITTED,
    "customer_satisfied": SUBMITTED, "satisfaction_rating": SUBMITTED, "feedback_comment": SUBMITTED,
    "complaint_id": CASE_FILE, "severity": CASE_FILE, "urgent": CASE_FILE, "sla_clock_start": CASE_FILE,
    "review_requested_at": CASE_FILE, "forwarded_by": SUBMITTED, "forwarded_due_at": CASE_FILE,
    "calendar": CASE_FILE,
    "lead_department": CASE_FILE, "co_departments": CASE_FILE, "departments": CASE_FILE, "department": CASE_FILE,
    "facts": CASE_FILE, "root_cause": CASE_FILE, "proposed_remedy": CASE_FILE, "finding": CASE_FILE,
    "findings": CASE_FILE, "resolution_summary": CASE_FILE,
    "remedy_type": FOR_CUSTOMER, "redress_amount": FOR_CUSTOMER, "customer_message": FOR_CUSTOMER,
    "facts_checked": FOR_CUSTOMER, "decision_basis": FOR_CUSTOMER, "approval_decision": CASE_FILE,
    # The decision letter's structured data (issue 26, config/letters.toml): what the letter states, and the
    # root cause, which is the bank's (rectification), never the letter's.
    "resolution_outcome": FOR_CUSTOMER, "redress_description": FOR_CUSTOMER, "ombudsman_consent": FOR_CUSTOMER,
    "root_cause_code": CASE_FILE,
    "approval_comment": CASE_FILE, "reopen_count": CASE_FILE, "reopen_target": CASE_FILE,
    "reopen_reason": CASE_FILE,
    # The reopen decision (issue 27): round one's findings beside round two's tasks; what staff wrote for the
    # customer's letter when the final response stands or the case is referred (and to which body).
    "previous_findings": CASE_FILE, "maintain_reasons": FOR_CUSTOMER, "referral_body": FOR_CUSTOMER,
    "referral_reason": FOR_CUSTOMER,
    "classification_note": INTERNAL, "triage_note": INTERNAL,
    "place_of_business": SUBMITTED,   # as the complaint row's place_code: what the customer told us
    "reply_subject": SUBMITTED, "reply_text": SUBMITTED,   # a customer's e-mail reply (intake/mail.py)
    # 核查 (complaints/verification.py): the request is the case file's; the verifier's opinion is for the customer.
    "verification_request": CASE_FILE, "verification_opinion": FOR_CUSTOMER,
    "verification_opinion_text": FOR_CUSTOMER, "verification_basis": FOR_CUSTOMER,
}

# The values an event changed (its before/after, audit/writer.py), by field class; unlisted: INTERNAL. A
# completion's before/after is form data instead, classed as the process variables above.
CHANGE_CLASSES: dict[str, str] = {
    "assignee": CASE_FILE, "follow_up_at": CASE_FILE, "due_at": CASE_FILE, "is_overdue": CASE_FILE,
    "escalation_level": CASE_FILE, "warned_level": CASE_FILE, "state": CASE_FILE, "definition_id": CASE_FILE,
    "version": CASE_FILE, "review": CASE_FILE,
    # Outcome data (issue 26): the final response's, and the redress paid recorded later.
    "resolution_outcome": CASE_FILE, "redress_offered": CASE_FILE, "root_cause_code": CASE_FILE,
    "final_response_at": CASE_FILE, "redress_paid": CASE_FILE, "redress_paid_at": CASE_FILE,
}
FORM_DATA_ACTIONS = frozenset({"task_completed"})

# The detail of a history entry (its keyword arguments, audit/writer.py), by field class; unlisted: CASE_FILE,
# since detail is the process's bookkeeping (element ids, SLA names, versions, message ids). What a person wrote
# as a reason or an instruction is complaint management's: why a deadline was extended or refused, what the
# head told the departments, why an intervention was withdrawn. Only ``internal`` readers see it; the head's
# instruction reaches the departments as a notice addressed to them, not through the case's history.
# A customer's e-mail reply (intake/mail.py): who wrote it and its subject are the customer's own words.
DETAIL_CLASSES: dict[str, str] = {"reason": INTERNAL, "instruction": INTERNAL, "comment": INTERNAL,
                                  "reply_from": SUBMITTED}

# What the public audiences see of the history: milestones only, without who or any detail.
# ``acknowledgement_sent`` and ``reply_sent`` are the names of events recorded before the history distinguished
# a letter written (``*_queued``) from a letter sent (``message_sent``, public for the customer's letters).
PUBLIC_ACTIONS = frozenset({"complaint_registered", "acknowledgement_sent", "reply_sent", "complaint_closed",
                            "deadline_extended", "verification_requested", "complaint_anonymised"})
# Outbox kinds addressed to the customer (escalations go to staff).
CUSTOMER_MESSAGE_KINDS = frozenset({"acknowledgement", "reply", "extension_notice", "holding_response",
                                    "summary_resolution", "review_notice", "feedback_request",
                                    "verification_opinion", "decision_maintained", "referral_notice"})


def audience(source: TableSource, actor: Actor) -> str:
    """``internal`` | ``case_file`` | ``customer`` | ``channel`` | ``none``: the widest one the actor's roles get
    in config/permissions.toml ``[audiences]``."""
    return permissions.table(source).audience_of(actor.roles)


def visible_classes(source: TableSource, actor: Actor) -> frozenset[str]:
    return AUDIENCE_CLASSES[audience(source, actor)]


def may_read_definitions(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "definition.read")


def may_read_figures(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "figures.read")


def filter_variables(source: TableSource, actor: Actor, data: dict | None) -> dict:
    """Process variables (task context, form data, audit detail) the actor may see."""
    classes = visible_classes(source, actor)
    return {k: v for k, v in (data or {}).items() if VARIABLE_CLASSES.get(k, INTERNAL) in classes}


# Notes addressed to a task's performers (issue 27): the triage note is the coordinator's instructions for the
# departments, shown with their investigation though the case's history keeps it complaint management's.
ADDRESSED_NOTES: dict[str, frozenset[str]] = {"investigate_complaint.schema.json": frozenset({"triage_note"})}


def task_notes(source: TableSource, actor: Actor, task: UserTask, said: dict) -> dict:
    """What was said to a task (work/prefill.notes) that the actor may see: what the read policy shows them, and
    a note addressed to the task's performers when they read the case file."""
    visible = filter_variables(source, actor, said)
    addressed = ADDRESSED_NOTES.get(task.form or "", frozenset()) if reads_case_file(source, actor) else frozenset()
    return {k: v for k, v in said.items() if k in visible or k in addressed}


# Attachments (app/engine/attachments/) are classed like fields: a file from the customer is ``submitted`` (theirs
# and the case file's), the bank's evidence ``case_file``, complaint management's own ``internal``. Who uploaded
# it is a staff name when staff did: the case file's, never shown to the customer.
ATTACHMENT_CLASSES = frozenset({SUBMITTED, CASE_FILE, INTERNAL})


def attachment_classes(source: TableSource, actor: Actor) -> frozenset[str]:
    """The attachment classes the actor reads, and may give to a file they attach."""
    return visible_classes(source, actor) & ATTACHMENT_CLASSES


# What a letter to the customer may print of the process variables: what they gave us and what staff wrote
# for them. Never the case file (findings, summaries, comments), whatever a template asks for.
LETTER_CLASSES = frozenset({PUBLIC, SUBMITTED, FOR_CUSTOMER})


def letter_facts(data: Mapping[str, object] | None) -> dict:
    """The process variables a customer letter may use (``LETTER_CLASSES``); the rest are left out."""
    return {k: v for k, v in (data or {}).items() if VARIABLE_CLASSES.get(k, INTERNAL) in LETTER_CLASSES}


def reads_case_file(source: TableSource, actor: Actor) -> bool:
    """Whether the actor's audience includes the case file (staff handling complaints)."""
    return CASE_FILE in visible_classes(source, actor)


def require_case_file(uow: UnitOfWork, actor: Actor, complaint_id: int) -> Complaint:
    """The complaint, if the actor may read it *and* its case file (the diagram of its process, where it stands
    in it): a customer or a channel reads their complaint but not the bank's model of handling it."""
    complaint = require_complaint(uow, actor, complaint_id)
    if not reads_case_file(uow, actor):
        raise NotAllowed(f"You may not read the process of complaint {complaint_id}")
    return complaint


# The SLA clocks a reader of the public fields sees: the deadlines the bank owes the customer (their dates are
# what a status page shows). Escalations inside the bank and the wait for the customer's own answer are not.
PUBLIC_SLAS = frozenset({"first_response", "urgent_handling", "decision", "payment_services_decision", "review"})


def visible_sla(source: TableSource, actor: Actor, sla: str | None) -> bool:
    """Whether the actor sees a clock of this SLA (``None``: a timer without an SLA name: the case file's)."""
    return reads_case_file(source, actor) or sla in PUBLIC_SLAS


# --- which complaints ------------------------------------------------------------------------------------

def complaint_scope(settings: Settings, actor: Actor) -> ColumnElement[bool]:
    """Where-clause on ``Complaint``: the complaints ``actor`` may read (the runtime's settings: its permission
    table and its lanes)."""
    if permissions.may(settings, actor, "complaint.read_all"):
        return true()
    uid = actor.user_id
    clauses = []
    if uid is not None and permissions.may(settings, actor, "complaint.read_registered"):
        clauses.append(Complaint.registered_by_id == uid)
    if permissions.may(settings, actor, "complaint.read_department"):
        clauses.append(_task_exists(or_(UserTask.assignee_id == uid, UserTask.completed_by_id == uid))
                       if uid is not None else false())
        if actor.department:
            clauses += [Complaint.lead_department == actor.department,
                        _task_exists(UserTask.department == actor.department)]
    lane_workers = actor.roles & permissions.table(settings).roles_for("complaint.read_lane_work")
    if lane_workers:
        lanes = [lane for lane, roles in settings.lane_roles.items() if lane_workers.intersection(roles)]
        waiting = (UserTask.state == "ready") & UserTask.lane.in_(lanes)
        clauses.append(_task_exists(or_(waiting, UserTask.completed_by_id == uid) if uid is not None else waiting))
    return or_(*clauses) if clauses else false()


def _task_exists(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(UserTask.id).where(UserTask.complaint_id == Complaint.id, condition))


def may_read_complaint(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> bool:
    # The same clause as the lists, evaluated for this one row: a list and a single read never disagree.
    scope = complaint_scope(uow.settings, actor)
    if isinstance(scope, True_):  # every complaint: no need to ask the database
        return True
    query = select(Complaint.id).where(Complaint.id == complaint.id, scope)
    return uow.session.scalar(query) is not None


def require_complaint(uow: UnitOfWork, actor: Actor, complaint_id: int) -> Complaint:
    """The complaint, if the actor may read it: NotFound for an unknown id, NotAllowed for someone else's."""
    complaint = uow.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"Complaint {complaint_id} does not exist")
    if not may_read_complaint(uow, actor, complaint):
        raise NotAllowed(f"You may not read complaint {complaint_id}")
    return complaint


# --- which fields ----------------------------------------------------------------------------------------

def complaint_summary(uow: UnitOfWork, actor: Actor, complaint: Complaint, language: str = "en") -> dict:
    """The complaint row's fields this actor sees (no history, tasks or messages), its codes named in
    ``language`` (zh_CN | en). Does not check the scope."""
    classes = visible_classes(uow, actor)
    values = _complaint_values(uow, complaint, language)
    return {name: values[name] for name, cls in COMPLAINT_FIELDS.items() if cls in classes}


def complaint_view(uow: UnitOfWork, actor: Actor, complaint: Complaint, language: str = "en") -> dict:
    """The complaint as this actor may see it: fields (codes named in ``language``), process variables, open
    tasks, history and messages by audience. Call it on a complaint from ``require_complaint`` (it does not check
    the scope itself)."""
    aud = audience(uow, actor)
    view = complaint_summary(uow, actor, complaint, language)
    if aud == NO_AUDIENCE:
        return view
    view["history"] = _history(uow, actor, complaint)
    if aud == "channel":
        return view
    view["messages"] = _messages(uow, actor, complaint)
    if aud == "customer":
        return view
    tasks = list(uow.session.scalars(select(UserTask).where(UserTask.complaint_id == complaint.id)
                                     .order_by(UserTask.id)))
    view["variables"] = _variables(uow, actor, tasks)
    view["open_tasks"] = [{"id": t.id, "name": t.element_id, "title": t.title, "lane": t.lane,
                           "department": t.department, "due_at": _iso(t.due_at)}
                          for t in tasks if t.state == "ready"]
    # Staff handling the case see when its timer-driven step keeps failing (and is being retried).
    view["incidents"] = [incident_view(i) for i in _open_incidents(uow, complaint.id)]
    return view


def _open_incidents(uow: UnitOfWork, complaint_id: int) -> list[Incident]:
    """The complaint's open incidents; the caller has checked the actor may read the complaint's case file."""
    return list(uow.session.scalars(select(Incident).where(Incident.complaint_id == complaint_id,
                                                           Incident.state == "open").order_by(Incident.id)))


def incident_view(incident: Incident) -> dict:
    """An incident as staff who may see incidents read it (the API's list, the complaint's case file)."""
    iso = (lambda v: v.isoformat() if v is not None else None)
    return {"id": incident.id, "kind": incident.kind, "state": incident.state,
            "complaint_id": incident.complaint_id, "instance_id": incident.instance_id,
            "element_id": incident.element_id, "error_type": incident.error_type, "message": incident.message,
            "attempts": incident.attempts, "first_failed_at": iso(incident.first_failed_at),
            "last_failed_at": iso(incident.last_failed_at), "next_retry_at": iso(incident.next_retry_at),
            "resolved_at": iso(incident.resolved_at)}


def task_context(source: TableSource, actor: Actor, task: UserTask) -> dict:
    """The facts shown next to a task's form, filtered for this actor. A value the case does not have (None, an
    empty list: round two's findings before anyone investigated, the approval a reopening cleared) is left out
    rather than shown as "—" beside what is current."""
    return {k: v for k, v in filter_variables(source, actor, task.context).items() if v is not None and v != []}


def _complaint_values(uow: UnitOfWork, complaint: Complaint, language: str) -> dict:
    c = complaint
    names = classification.names_for(uow.settings.classification, uow.settings.sla_profile.timezone, c, language)
    lead = c.lead_department
    calendar = uow.settings.sla_profile.calendars.get(c.calendar_code or "")
    return {
        "id": c.id, "tracking_number": c.tracking_number, "status": c.status, "outcome": c.outcome,
        "department_in_charge": uow.settings.departments.get(lead, lead) if lead else None,
        "received_at": _iso(c.received_at), "acknowledged_at": _iso(c.acknowledged_at), "due_at": _iso(c.due_at),
        "closed_at": _iso(c.closed_at), "anonymised_at": _iso(c.anonymised_at), "customer_name": c.customer_name,
        "customer_contact": c.customer_contact,
        "customer_reference": c.customer_reference, "channel": c.channel, "forwarded_reference": c.forwarded_reference,
        "product": c.product, "category": c.category,
        "amount_involved": str(c.amount_involved) if c.amount_involved is not None else None,
        "description": c.description, "customer_satisfied": c.customer_satisfied,
        "satisfaction_rating": c.satisfaction_rating, "severity": c.severity, "urgent": c.urgent,
        "lead_department": lead, "is_overdue": c.is_overdue, "escalation_level": c.escalation_level,
        "breached_slas": c.breached_slas, "reopen_count": c.reopen_count, "registered_by": c.registered_by,
        "product_code": c.product_code, "place_code": c.place_code, **names,
        "final_response_at": _iso(c.final_response_at), "resolution_outcome": c.resolution_outcome,
        "redress_offered": str(c.redress_offered) if c.redress_offered is not None else None,
        "redress_paid": str(c.redress_paid) if c.redress_paid is not None else None,
        "redress_paid_at": _iso(c.redress_paid_at), "root_cause_code": c.root_cause_code,
        "registered_at": _iso(c.registered_at), "forwarded_by": c.forwarded_by,
        "forwarded_by_name": classification.name_of(uow.settings.classification, "forwarding_bodies",
                                                    c.forwarded_by, language),
        "forwarded_at": _iso(c.forwarded_at), "forwarded_due_at": _iso(c.forwarded_due_at),
        "reply_route": c.reply_route, "calendar_code": c.calendar_code,
        "calendar_name": calendar.title(language) if calendar is not None else None,
    }


# The process variables a complaint view shows (the gateway inputs and decisions), before field filtering.
VIEW_VARIABLES = ("category", "severity", "urgent", "lead_department", "departments", "approval_decision",
                  "approval_comment", "customer_satisfied", "satisfaction_rating", "reopen_count", "reopen_target",
                  "reopen_reason")


def _variables(uow: UnitOfWork, actor: Actor, tasks: list[UserTask]) -> dict:
    """The variables as the most recent task saw or set them (the complaint's task rows in id order, not the
    workflow). One a later task no longer has (None: a reopening cleared round one's approval) is left out."""
    merged: dict = {}
    for row in tasks:
        for data in (row.context, row.submitted_data):
            merged.update({k: v for k, v in (data or {}).items() if k in VIEW_VARIABLES})
    return {k: v for k, v in filter_variables(uow, actor, merged).items() if v is not None}


def _history(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> list[dict]:
    events = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == complaint.id)
                                 .order_by(AuditEvent.occurred_at, AuditEvent.id))
    if not reads_case_file(uow, actor):
        # A customer's letter leaving (by e-mail, SMS or post) is theirs to see; staff messages are not.
        return [{"at": _iso(e.occurred_at), "action": e.action} if e.action in PUBLIC_ACTIONS else
                {"at": _iso(e.occurred_at), "action": e.action, "letter": e.detail["kind"],
                 "sent_by": SENT_BY.get(str(e.detail.get("channel")), "email")}
                for e in events if e.action in PUBLIC_ACTIONS or _customer_letter_sent(e)]
    # The personal values the trail keeps apart are joined back (or marked removed) in one place.
    return [{"at": _iso(r.event.occurred_at), "actor": r.event.actor, "action": r.event.action,
             "detail": _detail(uow, actor, r.detail), "before": _change(uow, actor, r.event.action, r.before),
             "after": _change(uow, actor, r.event.action, r.after)}
            for r in personal.reveal(uow.session, events)]


def _customer_letter_sent(event: AuditEvent) -> bool:
    return event.action == "message_sent" and (event.detail or {}).get("kind") in CUSTOMER_MESSAGE_KINDS


def _detail(uow: UnitOfWork, actor: Actor, detail: dict | None) -> dict:
    # Bookkeeping keys (element ids, SLA names, recipients) are case file, what people wrote is classed by
    # DETAIL_CLASSES; submitted form data is filtered as variables.
    classes = visible_classes(uow, actor)
    detail = {k: v for k, v in (detail or {}).items() if DETAIL_CLASSES.get(k, CASE_FILE) in classes}
    if isinstance(detail.get("data"), dict):
        detail["data"] = filter_variables(uow, actor, detail["data"])  # a completion recorded before 0012
    return detail


def _change(uow: UnitOfWork, actor: Actor, action: str, values: dict | None) -> dict | None:
    """An event's before or after as the actor may see it: the history's detail rule, value by value."""
    if values is None:
        return None
    if action in FORM_DATA_ACTIONS:
        return filter_variables(uow, actor, values)
    classes = visible_classes(uow, actor)
    return {k: v for k, v in values.items() if CHANGE_CLASSES.get(k, INTERNAL) in classes}


def _messages(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> list[dict]:
    messages = list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.complaint_id == complaint.id)
                                        .order_by(OutboxMessage.id)))
    channels = delivery_channels(uow, complaint.id) if messages else {}
    if reads_case_file(uow, actor):
        return [{"id": m.id, "kind": m.kind, "recipient": m.recipient, "subject": m.subject,
                 "created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at),
                 **delivery(m, channels.get(m.id, ())), "reason": m.last_error} for m in messages]
    # The customer reads what was sent to them, and only that: a letter still queued, waiting to be posted or
    # failed is not theirs to read yet.
    return [{"kind": m.kind, "subject": m.subject, "body": m.body, "created_at": _iso(m.created_at),
             "sent_at": _iso(m.sent_at), **delivery(m, channels.get(m.id, ()))} for m in messages
            if m.kind in CUSTOMER_MESSAGE_KINDS and m.recipient == complaint.customer_contact and m.state == "sent"]


# How a message left, by the channel its ``message_sent`` event recorded (app/delivery.py, print_queue.py):
# development's files count as the channel they stand for.
SENT_BY = {"email": "email", "file": "email", "sms": "sms", "sms_file": "sms", "post": "post"}


def delivery(message: OutboxMessage, channels: tuple[str, ...] | list[str] = ()) -> dict:
    """``delivery``: queued | retrying | to_post | sent | failed; ``channel``: email | sms | post once sent."""
    if message.state in ("pending", "sending"):
        state = "retrying" if message.last_error else "queued"
    else:
        state = message.state
    sent_by = [SENT_BY.get(c, c) for c in channels if c in SENT_BY]
    return {"delivery": state, "channel": sent_by[-1] if state == "sent" and sent_by else None}


def delivery_channels(uow: UnitOfWork, complaint_id: int) -> dict[int, list[str]]:
    """message id -> the channels its history recorded it leaving by (``message_sent``), in order."""
    events = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == complaint_id,
                                                          AuditEvent.action == "message_sent")
                                 .order_by(AuditEvent.id))
    channels: dict[int, list[str]] = {}
    for event in events:
        detail = event.detail or {}
        if isinstance(detail.get("message_id"), int):
            channels.setdefault(detail["message_id"], []).append(str(detail.get("channel") or "email"))
    return channels


def _iso(value):
    return value.isoformat() if value is not None else None
