"""The modeler's form editor: a draft's forms, and one form as rows (titles in English and Chinese, one row per
field in declared order, a choice field's choices). Moving, adding and removing rows are buttons that post the
rows back and render them again (no script needed); saving is a draft save (governance/draft_forms.py), which
builds the schema on the server over the form as the draft has it. Errors come back next to their field with
what was typed. Same permission as editing a draft.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from app.engine.core.errors import InvalidSubmission
from app.engine.governance import draft_forms, drafts, form_editor
from app.engine.governance.form_editor import ChoiceRow, FieldRow, FormRows
from app.web import current_runtime
from app.web.pages import signed_in_with_csrf
from app.web.pages.i18n import gettext as _

bp = Blueprint("form_editor", __name__)
bp.before_request(signed_in_with_csrf)
MAX_ROWS = 200  # fields of a form, choices of a field: what one post may hold


@bp.before_request
def _process_owners_only():
    if current_user.is_authenticated:
        drafts.require_editor(current_runtime().settings, current_user.actor)


@bp.get("/modeler/drafts/<int:draft_id>/forms")
def index(draft_id: int):
    with current_runtime().unit_of_work() as uow:
        draft = drafts.get_draft(uow, current_user.actor, draft_id)
        forms = draft_forms.list_forms(uow, current_user.actor, draft_id)
    return render_template("pages/form_editor_index.html", draft=draft, forms=forms)


@bp.get("/modeler/drafts/<int:draft_id>/forms/new")
def new(draft_id: int):
    name = request.args.get("file_name", "").strip()
    return redirect(url_for("form_editor.edit", draft_id=draft_id, file_name=name or "new_form.schema.json"))


@bp.get("/modeler/drafts/<int:draft_id>/forms/<file_name>")
def edit(draft_id: int, file_name: str):
    with current_runtime().unit_of_work() as uow:
        draft = drafts.get_draft(uow, current_user.actor, draft_id)
        schema = draft_forms.form_of(uow, current_user.actor, draft_id, file_name)
    rows = form_editor.rows_of(schema) if schema is not None else FormRows()
    return _render(draft, file_name, rows, is_new=schema is None)


@bp.post("/modeler/drafts/<int:draft_id>/forms/<file_name>")
def save(draft_id: int, file_name: str):
    rows = rows_from(request.form)
    operation = request.form.get("op", "save")
    is_new = request.form.get("is_new") == "yes"
    if operation != "save":  # a row moved, added or removed: shown again, saved with "Save form"
        with current_runtime().unit_of_work() as uow:
            draft = drafts.get_draft(uow, current_user.actor, draft_id)
        return _render(draft, file_name, form_editor.apply(rows, operation), is_new=is_new)
    try:
        with current_runtime().unit_of_work() as uow:
            draft_forms.save_form_rows(uow, current_user.actor, draft_id, file_name, rows)
    except InvalidSubmission as err:
        with current_runtime().unit_of_work() as uow:
            draft = drafts.get_draft(uow, current_user.actor, draft_id)
        return _render(draft, file_name, rows, is_new=is_new, errors=err.errors, status=422)
    flash(_("The form %(file)s was saved in the draft.", file=file_name), "success")
    return redirect(url_for("form_editor.edit", draft_id=draft_id, file_name=file_name), 303)


def _render(draft, file_name: str, rows: FormRows, *, is_new: bool, errors: dict | None = None, status: int = 200):
    errors = errors or {}
    shown = {"file_name", "schema", "required"} | {f"properties.{f.key}" for f in rows.fields} | \
        {f"properties.{f.key}.choices" for f in rows.fields} | {f"fields.{i}" for i in range(1, len(rows.fields) + 1)}
    general = [message for key, messages in errors.items() if key not in shown for message in messages]
    return render_template("pages/form_editor.html", draft=draft, file_name=file_name, rows=rows, is_new=is_new,
                           errors=errors, general_errors=general, kinds=kind_labels()), status


def kind_labels() -> list[tuple[str, str]]:
    labels = {"text": _("Short text"), "textarea": _("Long text"), "integer": _("Whole number"),
              "amount": _("Amount (number)"), "date": _("Date"), "boolean": _("Yes/no"), "choice": _("Choice"),
              "other": _("Other (kept as written)")}
    return [(kind, labels[kind]) for kind in form_editor.KINDS]


def rows_from(form: MultiDict) -> FormRows:
    """The editor's rows as the page posted them (f<i>-<part>, f<i>-c<j>-<part>)."""
    rows = FormRows(title_en=form.get("title_en", ""), title_zh=form.get("title_zh", ""),
                    description_en=form.get("description_en", ""), description_zh=form.get("description_zh", ""))
    for i in range(min(form.get("field_count", 0, type=int), MAX_ROWS)):
        prefix = f"f{i}-"
        kind = form.get(prefix + "kind", "text")
        row = FieldRow(key=form.get(prefix + "key", "").strip(),
                       kind=kind if kind in form_editor.KINDS else "text",
                       title_en=form.get(prefix + "title_en", ""), title_zh=form.get(prefix + "title_zh", ""),
                       description_en=form.get(prefix + "description_en", ""),
                       description_zh=form.get(prefix + "description_zh", ""),
                       required=form.get(prefix + "required") == "yes",
                       original=form.get(prefix + "original") or None)
        for j in range(min(form.get(prefix + "choice_count", 0, type=int), MAX_ROWS)):
            choice = f"{prefix}c{j}-"
            has_original = form.get(choice + "has_original") == "yes"
            row.choices.append(ChoiceRow(value=form.get(choice + "value", "").strip(),
                                         title_en=form.get(choice + "title_en", ""),
                                         title_zh=form.get(choice + "title_zh", ""),
                                         original=form.get(choice + "original", "") if has_original else None))
        rows.fields.append(row)
    return rows
