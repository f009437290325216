"""Complaint pages: one complaint (facts, clocks, timeline, messages, tasks, diagram), the list with its CSV
export, and registering a complaint. Visibility is read_policy's; the list's query is services/complaint_list."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from app.engine.access import permissions, read_policy
from app.engine.attachments import files
from app.engine.complaints import extensions, print_queue, redress, registration, verification
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, InvalidSubmission, Unavailable
from app.engine.core.retry import run_with_retry
from app.engine.process import diagram_state
from app.engine.reporting import complaint_list
from app.engine.work import user_tasks
from app.web import bidi, current_runtime, downloads, uploads
from app.web.pages import form_renderer, labels, signed_in_with_csrf
from app.web.pages.formatting import reader_zone
from app.web.pages.i18n import gettext as _
from app.web.pages.i18n import locale_code

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

bp = Blueprint("complaints", __name__)
bp.before_request(signed_in_with_csrf)
FILTER_NAMES = ("status", "category", "channel", "department", "overdue", "received_from", "received_to", "q")


def nav_allowed(actor: Actor, item: str) -> bool:
    settings = current_runtime().settings
    if item == "complaints":
        return complaint_list.may_list(settings, actor)
    if item == "own_complaints":
        return complaint_list.lists_only_own(settings, actor)
    if item == "register":  # the staff's registration desk (the service also lets customers register)
        return actor.is_staff and permissions.may(settings, actor, "complaint.register")
    return True


@bp.get("/complaints/<int:complaint_id>")
def show(complaint_id: int):
    actor = current_user.actor
    with current_runtime().unit_of_work() as uow:
        complaint = read_policy.require_complaint(uow, actor, complaint_id)
        view = read_policy.complaint_view(uow, actor, complaint, locale_code())
        clocks = diagram_state.clocks(uow, actor, complaint_id)
        names = diagram_state.element_names(uow, actor, complaint_id)
        case_forms = user_tasks.complaint_forms(uow, complaint_id)  # choice titles as the case's version has them
        shows_process = read_policy.reads_case_file(uow, actor)  # the diagram is the case file's
        may_extend = permissions.may(uow, actor, "deadline.extend")
        extension_choices = extensions.choices(uow.settings, complaint) if may_extend else []
        granted = extensions.list_extensions(uow, actor, complaint_id) if may_extend else []
        may_resend = print_queue.may_dispatch(uow, actor)  # a failed letter gets its Resend button here too
        verification_until = verification.open_until(uow, actor, complaint)
        may_record_redress = redress.may_record(uow, actor)
        outcome_names, root_cause_names = (_code_names(uow, kind, complaint) for kind in ("outcomes", "root_causes"))
        attachments = files.list_for(uow, actor, complaint_id)
        may_attach = files.may_attach(uow, actor, complaint)
        attach_classes = files.classes_to_choose(uow, actor)
    return render_template("pages/complaint.html", complaint=complaint, view=view, clocks=clocks, names=names,
                           attachments=attachments, may_attach=may_attach, attach_classes=attach_classes,
                           attach_limit=current_runtime().settings.attachments.max_bytes,
                           may_record_redress=may_record_redress, outcome_names=outcome_names,
                           root_cause_names=root_cause_names,
                           shows_process=shows_process, case_forms=case_forms,
                           extension_choices=extension_choices, extensions=granted, may_resend=may_resend,
                           verification_until=verification_until)


@bp.post("/complaints/<int:complaint_id>/extensions")
def extend(complaint_id: int):
    """The coordinator's "Extend deadline" form: the same service as POST /api/v1/complaints/<id>/extensions."""
    sla, _sep, extension = request.form.get("choice", "").partition("/")
    data = {"sla": sla, "extension": extension, "reason": request.form.get("reason", "")}

    def command(uow: UnitOfWork):
        record, outcome = extensions.request_extension(uow, current_user.actor, complaint_id, data)
        return outcome, record.state

    try:
        outcome, state = run_with_retry(current_runtime(), command)
        outcome.raise_if_refused()
    except Conflict as err:
        flash(err.message, "error")
    except InvalidSubmission as err:
        flash(" ".join(form_renderer.friendly(m) for ms in err.errors.values() for m in ms), "error")
    else:
        flash(_("The deadline was extended and the customer is told.") if state == "applied" else
              _("The extension awaits the approval of the head of complaint management."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id))


def _code_names(uow: UnitOfWork, kind: str, complaint) -> dict[str, str]:
    """code -> name in the reader's language of a classification list (any version: a retired code keeps its name)."""
    classification = uow.settings.classification
    return {code: entry.name(locale_code()) for version in classification.versions
            for code, entry in version.entries.get(kind, {}).items()}


@bp.post("/complaints/<int:complaint_id>/attachments")
@uploads.accepts_files
def attach(complaint_id: int):
    """"Attach a file": the same service as POST /api/v1/complaints/<id>/attachments."""
    filename, data = uploads.file_part() or ("", None)
    try:
        with current_runtime().unit_of_work() as uow:
            added = files.add(uow, current_user.actor, complaint_id, filename, data,
                              request.form.get("field_class") or None)
    except Conflict as err:
        flash(_(err.message), "error")
    except Unavailable:
        flash(_("The virus scanner cannot be reached, so the file was not kept; please try again shortly."), "error")
    except InvalidSubmission as err:
        flash(" ".join(form_renderer.friendly(m) for ms in err.errors.values() for m in ms), "error")
    else:
        if added.view is None:
            flash(_("The virus scanner found a threat in the file; it was not kept."), "error")
        else:
            flash(_("%(name)s is attached.", name=added.view["filename"]), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id) + "#files-title")


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id: int):
    with current_runtime().unit_of_work() as uow:
        meta, data = files.read(uow, current_user.actor, attachment_id)
    return downloads.file_response(data, meta["filename"], meta["media_type"])


@bp.post("/complaints/<int:complaint_id>/redress-paid")
def record_redress_paid(complaint_id: int):
    """"Record redress paid": the same service as POST /api/v1/complaints/<id>/redress-paid."""
    data = {"redress_paid": request.form.get("redress_paid", ""), "paid_on": request.form.get("paid_on", "")}
    try:
        with current_runtime().unit_of_work() as uow:
            redress.record_redress_paid(uow, current_user.actor, complaint_id, data)
    except Conflict as err:
        flash(_(err.message), "error")
    except InvalidSubmission as err:
        flash(" ".join(form_renderer.friendly(m) for ms in err.errors.values() for m in ms), "error")
    else:
        flash(_("The redress paid is recorded."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id))


@bp.post("/complaints/<int:complaint_id>/verification")
def request_verification(complaint_id: int):
    """"Ask for verification": the same service as POST /api/v1/complaints/<id>/verification."""
    data = {"reason": request.form.get("reason", "")}
    try:
        outcome = run_with_retry(current_runtime(), lambda uow: verification.request_verification(
            uow, current_user.actor, complaint_id, data))
        outcome.raise_if_refused()
    except verification.VerificationRefused as err:
        flash(_(err.template, **err.params), "error")
    except Conflict as err:
        flash(_(err.message), "error")
    except InvalidSubmission as err:
        flash(" ".join(form_renderer.friendly(m) for ms in err.errors.values() for m in ms), "error")
    else:
        flash(_("The verification request is recorded; the superior institution gives its opinion."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id))


@bp.get("/complaints/<int:complaint_id>/diagram.bpmn")
def diagram(complaint_id: int):
    with current_runtime().unit_of_work() as uow:
        xml = diagram_state.definition_xml(uow, current_user.actor, complaint_id)
    return Response(xml, mimetype="application/xml")


@bp.get("/complaints/<int:complaint_id>/diagram-state.json")
def diagram_highlights(complaint_id: int):
    with current_runtime().unit_of_work() as uow:
        elements = diagram_state.element_states(uow, current_user.actor, complaint_id)
        names = diagram_state.element_names(uow, current_user.actor, complaint_id)
    # The diagram draws the names of the case's version in the reader's language (diagram.js puts them in).
    return {"elements": elements, "labels": labels.diagram_labels(names)}


@bp.get("/complaints")
def index():
    actor = current_user.actor
    if complaint_list.lists_only_own(current_runtime().settings, actor):
        return _own_complaints(actor)
    errors: dict = {}
    try:
        filters = complaint_list.parse_filters(request.args, reader_zone())
    except InvalidSubmission as err:
        filters, errors = complaint_list.ComplaintFilters(zone=reader_zone()), err.errors
    limit = request.args.get("limit", type=int) or complaint_list.DEFAULT_LIMIT
    with current_runtime().unit_of_work() as uow:
        try:
            page = complaint_list.list_complaints(uow, actor, filters, after=request.args.get("after") or None,
                                                  limit=limit)
        except InvalidSubmission as err:
            errors.update(err.errors)
            page = complaint_list.list_complaints(uow, actor, filters, limit=limit)
    return render_template("pages/complaints.html", page=page, errors=errors,
                           error_fields=[labels.field(name) for name in errors],
                           filters={name: request.args.get(name, "") for name in FILTER_NAMES},
                           may_export=complaint_list.may_export(current_runtime().settings, actor),
                           statuses=_status_choices())


def _own_complaints(actor):
    """A customer's complaints, newest first, to follow each one on its page."""
    with current_runtime().unit_of_work() as uow:
        try:
            page = complaint_list.list_complaints(uow, actor, after=request.args.get("after") or None)
        except InvalidSubmission:  # a cursor this list did not hand out: start from the first page
            page = complaint_list.list_complaints(uow, actor)
    return render_template("pages/my_complaints.html", page=page)


def _status_choices():
    return [(code, str(title)) for code, title in labels.STATUSES.items()]


# Headers of the export, in the reader's language; the values are codes, as reports and spreadsheets want.
def _export_headers() -> dict[str, str]:
    return {"id": _("ID"), "tracking_number": _("Tracking number"), "received_at": _("Received"),
            "customer_name": _("Customer"), "channel": _("Channel"), "category": _("Category"),
            "severity": _("Severity"), "status": _("Status"), "lead_department": _("Lead department"),
            "due_at": _("Due"), "is_overdue": _("Overdue"), "reopen_count": _("Reopened"), "closed_at": _("Closed")}


@bp.get("/complaints.csv")
def export():
    actor = current_user.actor
    filters = complaint_list.parse_filters(request.args, reader_zone())
    headers = _export_headers()
    runtime = current_runtime()
    if not complaint_list.may_export(runtime.settings, actor):
        raise Forbidden()

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([headers[c] for c in complaint_list.COLUMNS])
        yield "\ufeff" + buffer.getvalue()  # the BOM lets spreadsheet programs read the Chinese text as UTF-8
        exported, complete = 0, False
        try:
            with runtime.unit_of_work() as uow:
                for row in complaint_list.export_rows(uow, actor, filters):
                    buffer.seek(0)
                    buffer.truncate()
                    writer.writerow([_cell(row[c]) for c in complaint_list.COLUMNS])
                    exported += 1
                    yield buffer.getvalue()
            complete = True
        finally:
            # In a unit of work of its own, once the rows are out: an export broken off (the reader went away,
            # which rolls the reading transaction back) is recorded too, with the rows that did leave.
            with runtime.unit_of_work() as uow:
                complaint_list.record_export(uow, actor, filters, rows=exported, complete=complete)

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="complaints.csv"'})


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = bidi.neutralise(str(value))  # a name's U+202E would reverse what the reader sees
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/complaints/new", methods=["GET", "POST"])
def register():
    actor = current_user.actor
    form_name = registration.REGISTRATION_FORM
    schema = current_runtime().forms.schema_for_client(form_name)
    values, errors, status = {}, {}, 200
    if not nav_allowed(actor, "register"):  # the staff registration desk, whether shown or posted to
        raise Forbidden()
    if request.method == "POST":
        values = form_renderer.parse(schema, request.form)
        try:
            with current_runtime().unit_of_work() as uow:
                complaint = registration.register_complaint(uow, actor, _in_reader_zone(values, "received_at"))
                complaint_id, tracking = complaint.id, complaint.tracking_number
        except InvalidSubmission as err:
            errors, status = err.errors, 422
        else:
            flash(_("Complaint %(number)s registered.", number=tracking), "success")
            return redirect(url_for("complaints.show", complaint_id=complaint_id))
    general = form_renderer.general_errors(schema, errors)
    return render_template("pages/register.html", schema=schema, general_errors=general,
                           fields=form_renderer.fields(schema, values, errors, _pickers())), status


def _in_reader_zone(values: dict, name: str) -> dict:
    """A date and time typed on the page without an offset is the reader's local time, in the zone the header
    shows (the API reads one in the bank's zone). Only that value is given the reader's offset; the form shows
    what was typed if it comes back."""
    raw = values.get(name)
    if not isinstance(raw, str) or len(raw.strip()) <= 10:  # empty, or a date alone: the service says what is wrong
        return values
    try:
        instant = datetime.fromisoformat(raw.strip())
    except ValueError:
        return values
    if instant.tzinfo is not None:
        return values
    return {**values, name: instant.replace(tzinfo=reader_zone()).isoformat()}


def _pickers():
    """The classification lists the registration form offers as searchable pickers (form_renderer.picker_lists)."""
    return form_renderer.picker_lists(current_runtime().forms.coded)
