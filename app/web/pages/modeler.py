"""The modeler desk for process owners: versions and drafts, the bpmn-js editor, save / validate / deploy,
export and import. Every rule (who may edit, validation, the deploy gate) lives in services/drafts.py; the
editor's JSON calls post with the page's CSRF token in the X-CSRFToken header.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.engine.core.errors import Conflict, InvalidDefinition, InvalidSubmission
from app.engine.governance import drafts, reviews
from app.web import current_runtime
from app.web.pages import signed_in_with_csrf
from app.web.pages.i18n import gettext as _

bp = Blueprint("modeler", __name__)
bp.before_request(signed_in_with_csrf)


@bp.before_request
def _process_owners_only():
    # Before any service call: compliance and everyone else get the 403 page, even for an unknown id.
    if current_user.is_authenticated:
        drafts.require_editor(current_runtime().settings, current_user.actor)


def nav_allowed(actor) -> bool:
    return drafts.may_edit(current_runtime().settings, actor)


@bp.get("/modeler")
def index():
    actor = current_user.actor
    with current_runtime().unit_of_work() as uow:
        versions = drafts.list_versions(uow, actor)
        open_drafts = drafts.list_drafts(uow, actor)
    latest = {}
    for version in versions:
        latest[version.process_id] = version.id
    return render_template("pages/modeler_index.html", versions=versions, drafts=open_drafts, latest=latest)


@bp.get("/modeler/versions/<int:definition_id>")
def version(definition_id: int):
    with current_runtime().unit_of_work() as uow:
        definition = drafts.get_version(uow, current_user.actor, definition_id)
    return render_template("pages/modeler.html", definition=definition, draft=None,
                           source_url=url_for("modeler.export_version", definition_id=definition.id))


@bp.get("/modeler/drafts/<int:draft_id>")
def draft(draft_id: int):
    with current_runtime().unit_of_work() as uow:
        item = drafts.get_draft(uow, current_user.actor, draft_id)
        # where the saved bytes and the draft's forms stand with compliance
        review = reviews.draft_review(uow, item, drafts.forms_checksum_of(uow, item))
        base = drafts.base_view(uow, current_user.actor, draft_id)  # its base against the current version
        changes = drafts.draft_changes(uow, current_user.actor, draft_id)  # its diagram and forms against its base
    return render_template("pages/modeler.html", definition=None, draft=item, review=review, base=base,
                           changes=changes,
                           source_url=url_for("modeler.draft_source", draft_id=item.id))


@bp.get("/modeler/choices.json")
def choices():
    return drafts.editor_choices(current_runtime())


@bp.get("/modeler/versions/<int:definition_id>.bpmn")
def export_version(definition_id: int):
    with current_runtime().unit_of_work() as uow:
        definition = drafts.get_version(uow, current_user.actor, definition_id)
        source = definition.bpmn_source
        stem = definition.file_name.removesuffix(".bpmn")
        name = f"{stem}.v{definition.version}.bpmn"
    return _bpmn(source, name if request.args.get("download") else None)


@bp.get("/modeler/drafts/<int:draft_id>.bpmn")
def draft_source(draft_id: int):
    with current_runtime().unit_of_work() as uow:
        item = drafts.get_draft(uow, current_user.actor, draft_id)
        source, name = item.bpmn_source, f"{item.file_name.removesuffix('.bpmn')}.draft{item.id}.bpmn"
    return _bpmn(source, name if request.args.get("download") else None)


@bp.post("/modeler/versions/<int:definition_id>/drafts")
def open_draft(definition_id: int):
    """Save from a version: the editor's XML becomes a new draft based on that version."""
    source = request.get_data(as_text=True) or None
    with current_runtime().unit_of_work() as uow:
        item = drafts.open_draft(uow, current_user.actor, definition_id, source)
        draft_id = item.id
    return {"draft_id": draft_id, "url": url_for("modeler.draft", draft_id=draft_id)}, 201


@bp.put("/modeler/drafts/<int:draft_id>.bpmn")
def save_draft(draft_id: int):
    with current_runtime().unit_of_work() as uow:
        item = drafts.save_draft(uow, current_user.actor, draft_id, request.get_data())
        updated = item.updated_at.isoformat()
    return {"draft_id": draft_id, "updated_at": updated}


@bp.post("/modeler/drafts/<int:draft_id>/validate")
def validate(draft_id: int):
    with current_runtime().unit_of_work() as uow:
        return drafts.validate_draft(uow, current_user.actor, draft_id).as_dict()


@bp.post("/modeler/drafts/<int:draft_id>/deploy")
def deploy(draft_id: int):
    reason = (request.get_json(silent=True) or {}).get("reason") or request.form.get("reason", "")
    try:
        with current_runtime().unit_of_work() as uow:
            definition = drafts.deploy_draft(uow, current_user.actor, draft_id, reason)
            info = drafts.version_info(definition)
    except InvalidDefinition as err:  # refused on the server: the editor lists the errors as validation does
        return {"valid": False, "errors": [e.as_dict() for e in err.errors]}, 422
    except drafts.StaleDraft as err:  # another version was deployed since the draft's base: the page shows it
        message = stale_message(err.base_version, err.current_version)
        return {"error": "conflict", "message": message, "base_version": err.base_version,
                "current_version": err.current_version, "url": url_for("modeler.draft", draft_id=draft_id)}, 409
    info["url"] = url_for("modeler.version", definition_id=info["id"])
    return info, 201


def stale_message(base_version: int | None, current_version: int) -> str:
    if base_version is None:
        return _("This draft is based on no deployed version, but version %(current)s is current now: compare "
                 "it, merge its changes and rebase the draft before deploying.", current=current_version)
    return _("This draft is based on version %(base)s, but version %(current)s is current now: deploying it would "
             "undo the changes deployed since. Compare them, merge them into the draft and rebase it before "
             "deploying.", base=base_version, current=current_version)


@bp.post("/modeler/drafts/<int:draft_id>/rebase")
def rebase(draft_id: int):
    """The owner confirms they merged what was deployed since the draft's base: the current version becomes it."""
    onto = request.form.get("onto", type=int)
    merged = request.form.get("merged") == "yes"
    try:
        with current_runtime().unit_of_work() as uow:
            item = drafts.rebase_draft(uow, current_user.actor, draft_id, onto or 0, merged)
            version = item.base_version
    except Conflict:  # a version deployed meanwhile: its changes were not on the page the owner confirmed
        flash(_("Another version was deployed meanwhile: compare its changes and confirm the rebase again."))
        return redirect(url_for("modeler.draft", draft_id=draft_id))
    flash(_("The draft is now based on version %(version)s.", version=version))
    return redirect(url_for("modeler.draft", draft_id=draft_id))


@bp.post("/modeler/drafts/<int:draft_id>/discard")
def discard(draft_id: int):
    with current_runtime().unit_of_work() as uow:
        drafts.discard_draft(uow, current_user.actor, draft_id)
    flash(_("The draft was discarded."))
    return redirect(url_for("modeler.index"))


@bp.post("/modeler/import")
def import_file():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400)
    try:
        with current_runtime().unit_of_work() as uow:
            item, result = drafts.import_draft(uow, current_user.actor, upload.filename, upload.read())
            draft_id, valid = item.id, result.valid
    except InvalidSubmission as err:
        # Nothing was imported (no executable process, not BPMN at all ...): say why on the list it came from.
        for reasons in err.errors.values():
            for reason in reasons:
                flash(_("%(file)s was not imported: %(reason)s", file=upload.filename, reason=_(reason)), "error")
        return redirect(url_for("modeler.index")), 303
    if not valid:
        flash(_("The file was imported as a draft, but it is not valid yet: see the errors and fix them."))
    return redirect(url_for("modeler.draft", draft_id=draft_id))


def _bpmn(source: str, download_name: str | None) -> Response:
    response = Response(source, mimetype="application/xml")
    if download_name:
        response.headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
    return response
