"""Codes shown to people (category, channel, status, department, audit action, BPMN element) as words in the
reader's language. Choice titles come from the JSON Schemas, department names from config, element names from
the BPMN: one source each, translated through the catalog (pybabel extracts them, see babel.cfg)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from app.engine.audit.personal import REMOVED
from app.engine.config import classification
from app.engine.forms import PinnedForms
from app.engine.models.tasks import task_name
from app.engine.workflow import names as bpmn_names
from app.engine.workflow.names import ElementNames
from app.web import current_runtime
from app.web.pages.form_renderer import choice_texts, choice_title
from app.web.pages.formatting import fmt_datetime, fmt_money
from app.web.pages.i18n import gettext, locale_code, reads_chinese

REGISTRATION_FORM = "register_complaint.schema.json"

STATUSES = {
    "registered": _l("Registered"), "classifying": _l("Classifying"), "triage": _l("Triage"),
    "investigating": _l("Investigating"), "drafting_resolution": _l("Drafting resolution"),
    "awaiting_approval": _l("Awaiting approval"), "awaiting_feedback": _l("Awaiting customer feedback"),
    "reopened": _l("Reopened"), "closed": _l("Closed"), "under_verification": _l("Under verification"),
}
ACTIONS = {
    "complaint_registered": _l("Complaint registered"), "process_started": _l("Process started"),
    "task_completed": _l("Task completed"), "timer_fired": _l("Deadline reached"),
    "task_claimed": _l("Task claimed"), "task_unclaimed": _l("Task released"),
    "task_assigned": _l("Task assigned"), "task_follow_up_set": _l("Follow-up date set"),
    "definition_deployed": _l("Process definition deployed"), "message_sent": _l("Message sent"),
    "acknowledgement_sent": _l("Acknowledgement sent"), "reply_sent": _l("Reply sent"),
    "complaint_closed": _l("Complaint closed"), "sla_breached": _l("Deadline breached"),
    "escalation_notified": _l("Escalation notified"), "escalated_to_head": _l("Escalated to the head of complaints"),
    "delivery_failed": _l("Message could not be delivered"), "script_failed": _l("A process step failed"),
    "extension_requested": _l("Deadline extension requested"), "deadline_extended": _l("Deadline extended"),
    "extension_refused": _l("Deadline extension refused"), "sla_warning": _l("Deadline warning sent"),
    "escalation_joined": _l("Added to the open escalation"),
    "escalated_to_executive": _l("Escalated to an executive"), "intervention": _l("Intervention on an overdue case"),
    "intervention_withdrawn": _l("Intervention withdrawn: the complaint was closed"),
    "extension_withdrawn": _l("Extension request withdrawn: the complaint was closed"),
    "message_failed": _l("Message not sent yet: delivery failed"),
    "acknowledgement_queued": _l("Acknowledgement written, waiting to be sent"),
    "reply_queued": _l("Reply written, waiting to be sent"),
    "reply_sent_to_forwarding_body": _l("Reply also written to the forwarding body"),
    "message_queued_for_post": _l("Letter waiting to be printed and posted"),
    "message_resent": _l("Failed letter resent: waiting to be sent again"),
    "instance_migrated": _l("Moved to a new version of the process"),
    "verification_requested": _l("Verification of the decision requested"),
    "verification_started": _l("Case opened for verification"),
    "verification_opinion_queued": _l("Verification opinion written, waiting to be sent"),
    "verification_closed": _l("Closed after verification"),
    "complaint_anonymised": _l("Personal data anonymised: retention period over"),
    "legal_hold_set": _l("Put on legal hold"), "legal_hold_released": _l("Legal hold released"),
    "decision_maintained_queued": _l("Letter that the final response stands written, waiting to be sent"),
    "referral_notice_queued": _l("Referral letter written, waiting to be sent"),
    "complaint_referred": _l("Case referred to an outside body"),
    "customer_reply_received": _l("The customer replied by e-mail"),
    "mail_received": _l("E-mail received: registration to complete"),
    "mail_ignored": _l("Automatic e-mail ignored (auto-reply or bounce)"),
    "mail_not_a_complaint": _l("E-mail closed: not a complaint"),
    "mail_attachment_refused": _l("A file of an e-mail was not kept"),
    "message_bounced": _l("Letter returned undelivered"),
}
# How a message's delivery stands (read_policy.delivery), and how a sent one left (its channel).
DELIVERIES = {"queued": _l("Waiting to be sent"), "retrying": _l("Not sent yet: will try again"),
              "to_post": _l("Waiting to be posted"), "failed": _l("Failed: not sent"), "sent": _l("Sent")}
SENT_BY = {"email": _l("Sent by e-mail"), "sms": _l("Sent by SMS"), "post": _l("Posted")}
# ``message_sent`` in the history, by channel.
SENT_EVENTS = {"email": _l("Message sent by e-mail"), "sms": _l("Message sent by SMS"), "post": _l("Letter posted")}
# The SLA names of config/sla.toml a clock enforces (its description there says which rule it is).
SLAS = {"first_response": _l("First response"), "urgent_handling": _l("Urgent handling"),
        "decision": _l("Handling decision"), "payment_services_decision": _l("Payment-services decision"),
        "review": _l("Review of the reopened case"), "escalation_response": _l("Response to an escalation"),
        "feedback_wait": _l("Wait for the customer's feedback"),
        "verification_request": _l("Verification may be asked for"), "verification": _l("Verification opinion"),
        "reopen_decision": _l("Decision on the review request")}
MESSAGE_KINDS = {"acknowledgement": _l("Acknowledgement"), "reply": _l("Reply"), "escalation": _l("Escalation"),
                 "extension_notice": _l("Extension notice"), "holding_response": _l("Holding response"),
                 "sla_warning": _l("Deadline warning"), "instruction": _l("Instruction"),
                 "verification_opinion": _l("Verification opinion"),
                 "reply_to_forwarding_body": _l("Reply to the forwarding body"),
                 "decision_maintained": _l("Final response maintained"), "referral_notice": _l("Referral notice")}
EXTENSION_STATES = {"requested": _l("Requested"), "awaiting_approval": _l("Awaiting approval"),
                    "applied": _l("Granted"), "refused": _l("Refused"), "withdrawn": _l("Withdrawn")}
TIMER_STATES = {"waiting": _l("Running"), "fired": _l("Breached"), "cancelled": _l("Stopped"),
                "broken": _l("Broken")}
TASK_STATES = {"ready": _l("Open"), "completed": _l("Completed"), "cancelled": _l("Cancelled")}
# How the process closed a case when its outcome is no classification code (complaints.outcome): the values the
# diagram's close_complaint step writes (processes/complaint_handling.bpmn), as the case pages show them.
PROCESS_OUTCOMES = {"resolved": _l("Resolved"), "no_feedback": _l("Closed without the customer's feedback"),
                    "final_response_maintained": _l("Final response maintained after the review request"),
                    "referred": _l("Referred to an outside body")}


# A file's origin and who may read it (app/engine/attachments/: the read policy's classes).
FILE_SOURCES = {"customer": _l("from the customer"), "channel": _l("from the customer, through a channel"),
                "staff": _l("from the bank"), "email": _l("from the customer's e-mail")}
FILE_CLASSES = {"submitted": _l("Customer's document (the customer sees it)"),
                "case_file": _l("Case file (staff handling the case)"),
                "internal": _l("Internal (complaint management only)")}


def file_source(code) -> str:
    return _from(FILE_SOURCES, code)


def file_class(code) -> str:
    return _from(FILE_CLASSES, code)


def _from(table: dict, code) -> str:
    if code is None:
        return ""
    return str(table[code]) if code in table else humanize(code)


def humanize(code) -> str:
    return gettext(str(code).replace("_", " ").capitalize())


def status(code) -> str:
    return _from(STATUSES, code)


def extension_state(code) -> str:
    return _from(EXTENSION_STATES, code)


def action(code) -> str:
    return _from(ACTIONS, code)


def delivery(state, channel=None) -> str:
    if state == "sent" and channel in SENT_BY:
        return str(SENT_BY[channel])
    return _from(DELIVERIES, state)


def event_action(event) -> str:
    """An event of the history in words: a sent message says how it left."""
    channel = event.get("sent_by") or (event.get("detail") or {}).get("channel")  # the public history, the case file's
    channel = {"file": "email", "sms_file": "sms"}.get(str(channel), channel)  # development's files stand for these
    if event.get("action") == "message_sent" and channel in SENT_EVENTS:
        return str(SENT_EVENTS[channel])
    return action(event.get("action"))


def message_kind(code) -> str:
    return _from(MESSAGE_KINDS, code)


def sla(code) -> str:
    return _from(SLAS, code)


def extension(code) -> str:
    """A deadline extension of the active SLA profile by its title (config/sla.toml), translated."""
    if not code:
        return ""
    title = current_runtime().settings.sla_profile.extension_titles().get(code)
    return gettext(title) if title else humanize(code)


def timer_state(code) -> str:
    return _from(TIMER_STATES, code)


def task_state(code) -> str:
    return _from(TASK_STATES, code)


# Why a running instance cannot move to a new version (app/engine/workflow/migrate.py, Refusal.code).
MIGRATION_REFUSALS = {
    "removed_active": _l("it is %(state)s at %(element)s%(where)s, which the new version removed"),
    "renamed_active": _l("it is %(state)s at %(element)s%(where)s, which the new version removed (%(detail)s takes "
                         "its place)"),
    "removed_history": _l("its history has %(element)s%(where)s (%(state)s), which the new version removed"),
    "changed_kind": _l("%(element)s%(where)s is %(state)s and the new version makes it a %(detail)s"),
    "changed_running": _l("%(element)s%(where)s is running and the new version changes its %(detail)s"),
    "subprocess_removed": _l("it runs the subprocess %(element)s, which the new version does not have"),
    "deadline_extended": _l("its deadline %(element)s%(where)s was extended and the new version changes it: "
                            "re-arming it would drop the extension"),
    "cycle_timer": _l("its cycle timer %(element)s%(where)s changed: cycle timers are not re-armed"),
    "step_fails": _l("the new version fails at %(element)s%(where)s: %(detail)s"),
    "not_moved": _l("%(element)s%(where)s (%(state)s) has no counterpart in the new version"),
}
MIGRATION_STATES = {"ready": _l("ready"), "waiting": _l("waiting"), "running": _l("running"),
                    "completed": _l("completed"), "cancelled": _l("cancelled"), "failed": _l("failed"),
                    "planned": _l("planned")}


def migration_refusal(refusal) -> str:
    """Why an instance cannot move, in the reader's language (element ids as the diagram has them)."""
    template = MIGRATION_REFUSALS.get(refusal.code)
    if template is None:
        return str(refusal)
    where = gettext(" (in %(process)s)", process=refusal.process) if refusal.process else ""
    return str(template) % {"element": refusal.element, "where": where, "detail": refusal.detail,
                            "state": _from(MIGRATION_STATES, refusal.state or None)}


def department(code) -> str:
    if not code:
        return ""
    name = current_runtime().settings.departments.get(code)
    return gettext(name) if name else str(code)


def choice(field: str, code, form: str = REGISTRATION_FORM, forms: PinnedForms | None = None) -> str:
    """The title of a choice of a form field (category, channel, severity...) in the reader's language.
    ``forms``: the forms the case's version pinned (user_tasks.complaint_forms); without them, or for a form the
    version did not pin (registration comes before any case), app/forms/."""
    if code is None or code == "":
        return ""
    titles = _choice_titles(current_runtime().forms, form, _pinned(forms, form)).get(field, {})
    return choice_title(*titles[code]) if code in titles else humanize(code)


def choice_list(field: str, form: str = REGISTRATION_FORM) -> list[tuple[str, str]]:
    titles = _choice_titles(current_runtime().forms, form, None).get(field, {})
    return [(code, choice_title(*texts)) for code, texts in titles.items()]


# How a searchable picker groups a classification list without JavaScript: by the statistical category the active
# regime's regulator files it under (config/classification.toml mappings), as its staff know the products and
# causes; the labels as the regulator words them. A list the regime does not map stays one group.
PICKER_GROUPS = {"cbirc": {"products": "jrt0169_b", "causes": "jrt0169_c", "places": "jrt0169_a"},
                 "disp": {"products": "fca_product", "causes": "fca_cause"},
                 "cfpb": {"products": "cfpb_product", "causes": "cfpb_issue"}}
PICKER_KINDS = {"product_code": "products", "cause_code": "causes", "place_code": "places"}


def choice_groups(field) -> list[tuple[str | None, list[tuple[str, str]]]]:
    """A picker's choices as (group label or None, [(code, title)]), groups in order of their first choice and
    each in the list's order; one unlabelled group when the regime maps nothing (or everything to one label)."""
    runtime = current_runtime()
    kind = PICKER_KINDS.get(field.picker or "")
    taxonomy = PICKER_GROUPS.get(runtime.settings.sla_profile.regime, {}).get(kind or "")
    if kind is None or taxonomy is None:
        return [(None, list(field.choices))]
    listed = runtime.settings.classification.entries(kind, runtime.clock.now().date())
    label_of = {e.code: e.mappings.get(taxonomy) for e in listed}
    groups: dict[str | None, list[tuple[str, str]]] = {}
    for code, title in field.choices:
        groups.setdefault(label_of.get(code), []).append((code, title))
    if len(groups) < 2:
        return [(None, list(field.choices))]
    other = gettext("Other")
    return [(gettext(label) if label else other, choices) for label, choices in groups.items()]


def _pinned(forms: PinnedForms | None, form: str) -> PinnedForms | None:
    return forms if forms is not None and forms.digest is not None and form in (forms.load() or {}) else None


@lru_cache(maxsize=64)
def _choice_titles(store, form: str, pinned: PinnedForms | None) -> dict[str, dict[str, tuple[str, str]]]:
    """field -> {code: (English title, Chinese title or "")} of one form as a version pinned it (None: app/forms);
    pinned forms never change and app/forms/ is read once, and a page asks for them once per table cell
    (schema_for_client copies the whole schema on every call)."""
    schema = store.schema_for_client(form, pinned)
    return {name: {code: (en, zh) for code, en, zh in choice_texts(prop)}
            for name, prop in schema.get("properties", {}).items()}


def element(element_id: str, names: ElementNames | None = None) -> str:
    """A BPMN element's name (task, timer...) in the reader's language: for a Chinese reader the version's own
    Chinese name (``name.zh``) when it has one, else the catalog's translation of the English name, else the
    English as its owner wrote it. ``names``: the names of the version the case runs on
    (diagram_state.element_names); without them, the diagrams in processes/ (pages that show no case)."""
    version = names if names is not None else _element_names(str(current_runtime().settings.processes_dir))
    if reads_chinese():
        chinese = version.chinese.get(element_id)
        if chinese:
            return chinese
    name = version.english.get(element_id)
    return gettext(name) if name else humanize(element_id)


def task_title(task, names: ElementNames | None = None) -> str:
    """A task's title: its element's name as the case's version drew it (the row was made from that version;
    ``names``, that version's names, give its Chinese name to a Chinese reader), and for a department's task,
    the department; each half translated."""
    element_id = getattr(task, "element_id", None) or task.name
    chinese = names.chinese.get(element_id) if names is not None and reads_chinese() else None
    name = task_name(task.title, task.department, current_runtime().settings.departments)
    title = chinese or (gettext(name) if name else element(element_id))
    return f"{title} ({department(task.department)})" if task.department else title


def diagram_labels(names: ElementNames) -> dict[str, str]:
    """element id -> its name in the reader's language, where that is not the name the diagram draws (the English
    as written): the process diagram shows a Chinese reader the same names as the rest of the page."""
    if not reads_chinese():
        return {}
    shown = {element_id: element(element_id, names) for element_id in {*names.english, *names.chinese}}
    return {element_id: name for element_id, name in shown.items() if name != names.english.get(element_id)}


@lru_cache(maxsize=4)
def _element_names(processes_dir: str) -> ElementNames:
    names = ElementNames()
    for path in sorted(Path(processes_dir).glob("*.bpmn"), reverse=True):  # the first file's name wins
        names = names.merged(bpmn_names.element_names(path.read_bytes()))
    return names


# The facts and decisions a page shows, by key (complaint fields and process variables).
FIELDS = {
    "id": _l("ID"), "tracking_number": _l("Tracking number"), "status": _l("Status"), "outcome": _l("Outcome"),
    "department_in_charge": _l("Department in charge"), "received_at": _l("Received"),
    "acknowledged_at": _l("Acknowledged"), "due_at": _l("Next deadline"), "closed_at": _l("Closed"),
    "customer_name": _l("Customer"), "customer_contact": _l("Customer contact"),
    "customer_reference": _l("Customer reference"), "channel": _l("Channel"),
    "reply_subject": _l("Subject"), "reply_text": _l("The customer's reply"),
    "forwarded_reference": _l("Forwarding body's reference"), "product": _l("Product"), "category": _l("Category"),
    "amount_involved": _l("Amount involved"), "description": _l("Description"),
    "customer_satisfied": _l("Customer satisfied"), "satisfaction_rating": _l("Satisfaction rating"),
    "severity": _l("Severity"), "urgent": _l("Urgent"), "lead_department": _l("Lead department"),
    "is_overdue": _l("Overdue"), "escalation_level": _l("Escalation level"), "breached_slas": _l("Breached deadlines"),
    "reopen_count": _l("Times reopened"), "registered_by": _l("Registered by"), "departments": _l("Departments"),
    "co_departments": _l("Co-investigating departments"), "department": _l("Department"),
    "findings": _l("Findings"), "facts": _l("Facts established"), "root_cause": _l("Root cause"),
    "proposed_remedy": _l("Proposed remedy"), "resolution_summary": _l("Resolution summary"),
    "remedy_type": _l("Remedy type"), "redress_amount": _l("Redress amount"),
    "customer_message": _l("Message to the customer"), "approval_decision": _l("Approval decision"),
    "approval_comment": _l("Approver's comment"), "reopen_reason": _l("Reason for reopening"),
    "reopen_target": _l("Decision on the review request"), "feedback_comment": _l("Feedback comment"),
    "previous_findings": _l("Findings of the previous round"),
    "maintain_reasons": _l("Reasons for maintaining the final response"), "referral_body": _l("Referred to"),
    "referral_reason": _l("Reason for the referral"),
    "classification_note": _l("Classification note"), "triage_note": _l("Triage note"),
    "place_of_business": _l("Place of business"), "place_code": _l("Place of business"),
    "received": _l("Received"), "received_from": _l("Received from"), "received_to": _l("Received until"),
    "overdue": _l("Overdue"), "after": _l("Page"),
    "registered_at": _l("Registered"), "forwarded_by": _l("Forwarded by"), "forwarded_at": _l("Forwarding date"),
    "forwarded_due_at": _l("Forwarding body's deadline"), "reply_route": _l("Reply to"),
    "calendar_code": _l("Bank holidays of"), "calendar": _l("Bank holidays of"),
}
# How a case closed (complaints.outcome, set by the diagram's "Close complaint"): not classification codes.
DATE_KEYS = frozenset({"received_at", "acknowledged_at", "due_at", "closed_at", "registered_at", "forwarded_at",
                       "forwarded_due_at"})
MONEY_KEYS = frozenset({"amount_involved", "redress_amount"})
DEPARTMENT_KEYS = frozenset({"lead_department", "department", "departments", "co_departments"})
# Which form's choice titles name the codes of a key.
CHOICE_FORMS = {"category": REGISTRATION_FORM, "channel": REGISTRATION_FORM, "severity": REGISTRATION_FORM,
                "remedy_type": "draft_resolution.schema.json", "approval_decision": "approve_resolution.schema.json",
                "reopen_target": "decide_reopen.schema.json", "reply_route": REGISTRATION_FORM}


def field(key: str) -> str:
    return _from(FIELDS, key)


def code_name(key: str, value, received=None) -> str | None:
    """The name of a classification code held by ``key`` (product, category, place_of_business, outcome) in the
    reader's language, as the version in force on the complaint's day of receipt (``received``: its received_at)
    has it; None when ``key`` holds no code or ``value`` is none (a free-text product, a process outcome)."""
    kind = classification.CODED_VARIABLES.get(key)
    if kind is None:
        return None
    settings = current_runtime().settings
    on = classification.received_on(settings.sla_profile.timezone, received)
    return classification.name_of(settings.classification, kind, value, locale_code(), on)


def fact(key: str, value, forms: PinnedForms | None = None, received=None) -> str:
    """A fact's value as the reader's language writes it (dates in their time zone, money in their locale);
    ``forms``: the forms of the case's version, whose choice titles name its codes; ``received``: the
    complaint's received_at, whose classification names its product, cause, place and outcome codes."""
    if value is None or value == "" or value == []:
        return "—"
    if value == REMOVED:  # a value of the audit trail erased by the retention job (engine/audit/personal.py)
        return gettext("removed under the retention rule")
    named = code_name(key, value, received)
    if named is not None:
        return named
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if key in DATE_KEYS:
        return fmt_datetime(value)
    if key in MONEY_KEYS:
        return fmt_money(value)
    if key == "status":
        return status(value)
    if key == "outcome":
        return _from(PROCESS_OUTCOMES, value)
    if key == "department_in_charge":  # already a department's name (the read policy hides the code)
        return gettext(value)
    if key in DEPARTMENT_KEYS:
        return ", ".join(department(v) for v in (value if isinstance(value, list) else [value]))
    if key in CHOICE_FORMS:
        return choice(key, value, CHOICE_FORMS[key], forms)
    if key == "breached_slas" and isinstance(value, list):  # [{"sla": name, "at": when}]: each deadline by name
        return ", ".join(f"{sla(v.get('sla'))} ({fmt_datetime(v.get('at'))})" if isinstance(v, dict) else sla(v)
                         for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
