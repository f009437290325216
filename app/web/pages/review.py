"""The review desk: compliance reads every version, its diff and review trail, and signs off; process owners
see the same desk (read-only for sign-off), submit drafts for review and migrate running instances. Everyone
else gets the 403 page. Rules live in services/reviews.py and governance/migration.py.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.engine.core.errors import Conflict, InvalidDefinition, InvalidSubmission, NotAllowed
from app.engine.governance import drafts, migration, reviews
from app.web import current_runtime
from app.web.pages import signed_in_with_csrf
from app.web.pages.errors import refusal_text
from app.web.pages.i18n import gettext as _

bp = Blueprint("review", __name__)
bp.before_request(signed_in_with_csrf)


@bp.before_request
def _desk_roles_only():
    # Before any service call: other roles get the 403 page, even for an unknown id.
    if current_user.is_authenticated and not reviews.may_see_desk(current_runtime().settings, current_user.actor):
        raise NotAllowed(_("Only compliance and process owners open the review desk."))


def nav_allowed(actor) -> bool:
    return reviews.may_see_desk(current_runtime().settings, actor)


@bp.get("/review")
def index():
    actor = current_user.actor
    with current_runtime().unit_of_work() as uow:
        desk = reviews.desk(uow, actor)
    return render_template("pages/review.html", desk=desk,
                           may_migrate=migration.may_migrate(current_runtime().settings, actor))


@bp.get("/review/versions/<int:definition_id>")
def version(definition_id: int):
    """A version and its diff against ``against`` (default: the previous version). The page's compare form sends
    ``version`` too: choosing another version on the "new" side opens that version's own page."""
    actor = current_user.actor
    against, shown = _version_arg("against"), _version_arg("version")
    if shown is not None and shown != definition_id:
        return redirect(url_for("review.version", definition_id=shown, against=against))
    with current_runtime().unit_of_work() as uow:
        result = reviews.version_diff(uow, actor, definition_id, against)
        trail = reviews.trail(uow, actor, result["new"]["checksum"])
        versions = reviews.versions_of(uow, actor, result["new"]["process_id"])
    old_url = url_for("review.version_source", definition_id=result["old"]["id"]) if result["old"] else None
    new_url = url_for("review.version_source", definition_id=definition_id)
    return _diff_page(result, trail, old_url, new_url, versions=versions)


@bp.get("/review/submissions/<int:submission_id>")
def submission(submission_id: int):
    actor = current_user.actor
    with current_runtime().unit_of_work() as uow:
        result = reviews.submission_diff(uow, actor, submission_id)
        trail = reviews.trail(uow, actor, result["new"]["checksum"])
    old_url = url_for("review.version_source", definition_id=result["old"]["id"]) if result["old"] else None
    return _diff_page(result, trail, old_url, url_for("review.submission_source", submission_id=submission_id))


def _diff_page(result, trail, old_url, new_url, versions=None):
    actor = current_user.actor
    changes = result["changes"]
    return render_template("pages/review_version.html", result=result, trail=trail, old_url=old_url,
                           new_url=new_url, changes=changes.changes if changes else [],
                           highlights=changes.highlights() if changes else {},
                           duplicates=changes.duplicates if changes else [],
                           may_sign_off=reviews.may_sign_off(current_runtime().settings, actor),
                           back=request.full_path.rstrip("?"), versions=versions)


@bp.get("/review/versions/<int:definition_id>/source.bpmn")
def version_source(definition_id: int):
    with current_runtime().unit_of_work() as uow:
        result = reviews.version_diff(uow, current_user.actor, definition_id)
    return Response(result["new_source"], mimetype="application/xml")


@bp.get("/review/submissions/<int:submission_id>/source.bpmn")
def submission_source(submission_id: int):
    with current_runtime().unit_of_work() as uow:
        result = reviews.submission_diff(uow, current_user.actor, submission_id)
    return Response(result["new_source"], mimetype="application/xml")


@bp.post("/review/checksums/<checksum>/decision")
def decide(checksum: str):
    decision = {"approve": "approved", "reject": "rejected"}.get(request.form.get("decision", ""), "")
    with current_runtime().unit_of_work() as uow:
        try:
            reviews.decide(uow, current_user.actor, checksum, decision, request.form.get("comment", ""))
        except InvalidSubmission as err:
            for messages in err.errors.values():
                for message in messages:
                    flash(message, "error")
        except NotAllowed as err:  # four eyes: said on the page the reviewer is on, nothing recorded
            flash(refusal_text(err, err.message), "error")
        else:
            flash(_("Approved.") if decision == "approved" else _("Rejected."), "success")
    return redirect(_back())


@bp.post("/review/drafts/<int:draft_id>/submit")
def submit_draft(draft_id: int):
    """Submit a draft as saved (the modeler's "Submit for review" form, which asks to come back to the draft)."""
    back_to_modeler = request.form.get("return_to") == "modeler"
    try:
        with current_runtime().unit_of_work() as uow:
            row = drafts.submit_for_review(uow, current_user.actor, draft_id, request.form.get("comment"))
            submission_id = row.id
    except InvalidDefinition:  # nothing submitted: the draft's page has the Validate button that lists why
        flash(_("The draft is not valid, so it was not submitted: validate it, fix the problems it lists and "
                "submit it again."), "error")
        return redirect(url_for("modeler.draft", draft_id=draft_id))
    if back_to_modeler:
        flash(_("Submitted for review: compliance finds the draft on the review desk."), "success")
        return redirect(url_for("modeler.draft", draft_id=draft_id))
    flash(_("Submitted for review."), "success")
    return redirect(url_for("review.submission", submission_id=submission_id))


@bp.get("/review/migration/<process_id>")
def migration_preview(process_id: str):
    with current_runtime().unit_of_work() as uow:
        result = migration.preview(uow, current_user.actor, process_id)
    return render_template("pages/review_migration.html", result=result)


@bp.post("/review/migration/<process_id>")
def migrate(process_id: str):
    """Every movable instance, one unit of work each: a conflict on one case never undoes another's move."""
    runtime, actor = current_runtime(), current_user.actor
    with runtime.unit_of_work() as uow:
        result = migration.preview(uow, actor, process_id)
    moved, failed = 0, 0
    for candidate in result["movable"]:
        try:
            with runtime.unit_of_work() as uow:
                migration.migrate_instance(uow, actor, candidate.instance_id, result["target_id"])
            moved += 1
        except (Conflict, InvalidSubmission):
            failed += 1
    flash(_("%(moved)s instances moved to version %(version)s; %(failed)s could not move.", moved=moved,
            version=result["target_version"], failed=failed), "success" if not failed else "error")
    return redirect(url_for("review.migration_preview", process_id=process_id))


def _version_arg(name: str) -> int | None:
    """A definition id from the query string: absent or empty means the default; anything else is a 400."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        abort(400)
    return int(value)


def _back() -> str:
    # Only our own pages: an open redirect through a form field is no redirect at all.
    back = request.form.get("back", "")
    if back.startswith("/review/") and "//" not in back and "\\" not in back:
        return back
    return url_for("review.index")
