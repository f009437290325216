"""A draft's forms: process owners edit the JSON Schema forms of a draft in the modeler.

A draft keeps the forms it edits or adds (``ProcessDraft.forms``, file name -> content); the forms its user tasks
name and it does not keep are read from app/forms/. Validating, reviewing, signing off and deploying the draft
use its forms (drafts.forms_of_draft), so the version deployed from it pins exactly what the review showed.

Saving a form is a save of the draft: one command, audited as ``draft_saved`` with the checksum of the draft's
BPMN and the digest of its forms, so whoever saved only a form is an author of the submission that follows and
may not sign it off (config/segregation.toml, definition_reviewer_not_author).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app.engine.core.errors import InvalidDefinition, InvalidSubmission
from app.engine.forms import FORM_SUFFIX, FormDefinitionError, choice_values, prepare
from app.engine.governance import drafts, pinned_forms
from app.engine.governance.form_editor import I18N, FormRows, schema_from
from app.engine.workflow.diff import elements_of

if TYPE_CHECKING:
    from app.engine.core.actors import Actor
    from app.engine.models import ProcessDraft
    from app.engine.runtime import Runtime, UnitOfWork

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
FILE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}" + re.escape(FORM_SUFFIX) + "$")
MAX_FORM_BYTES = 200_000


@dataclass(frozen=True)
class DraftForm:
    """One form of a draft's list: its file, the user tasks of the draft naming it, and whether the draft edits
    it (else it is read from app/forms/)."""

    file_name: str
    tasks: tuple[str, ...]
    edited: bool


def list_forms(uow: UnitOfWork, actor: Actor, draft_id: int) -> list[DraftForm]:
    """The forms the draft's user tasks name, then the forms the draft added that no task names yet."""
    draft = drafts.get_draft(uow, actor, draft_id)
    named = _tasks_by_form(draft)
    kept = draft.forms or {}
    edited = set(kept) - set(pinned_forms.read_forms(uow.settings.forms_dir, kept))
    changed = {name for name, content in kept.items() if name not in edited
               and pinned_forms.read_forms(uow.settings.forms_dir, [name]).get(name) != content}
    names = sorted(named) + sorted(set(kept) - set(named))
    return [DraftForm(name, tuple(named.get(name, ())), name in edited | changed) for name in names]


def form_of(uow: UnitOfWork, actor: Actor, draft_id: int, file_name: str) -> dict | None:
    """The form as the draft has it (its own, else app/forms/); None: no such form yet (a new one)."""
    draft = drafts.get_draft(uow, actor, draft_id)
    content = pinned_forms.read_forms(uow.settings.forms_dir, [file_name], draft.forms).get(file_name) \
        if FILE_NAME.match(file_name) else None
    return json.loads(content) if content is not None else None


def save_draft_form(uow: UnitOfWork, actor: Actor, draft_id: int, file_name: str, schema: object) -> ProcessDraft:
    """Put ``schema`` into the draft as form ``file_name`` (a new name adds a form a user task may then name).
    Refused, naming the field, when the name or the schema is not one the engine can use."""
    draft = drafts.get_draft(uow, actor, draft_id)
    problems = form_problems(uow.runtime, file_name, schema)
    if problems:
        raise InvalidSubmission(problems)
    content = json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
    if len(content.encode("utf-8")) > MAX_FORM_BYTES:
        raise InvalidSubmission({"schema": [f"The form is larger than {MAX_FORM_BYTES // 1000} kB"]})
    draft.forms = {**(draft.forms or {}), file_name: content}  # a new dict: the JSON column sees the change
    draft.updated_at = uow.now()
    draft.author = actor.username
    uow.session.flush()
    drafts.record_saved(uow, actor, draft, form=file_name)
    return draft


# --- what a form must be -----------------------------------------------------------------------------------------

def form_problems(runtime: Runtime, file_name: str, schema: object) -> dict[str, list[str]]:
    """Field -> messages: the file name, the schema against Draft 2020-12's meta-schema, its fields' keys, choices
    and ``required``, and the rules every form follows (forms.prepare). Empty: the form can be saved."""
    if not FILE_NAME.match(file_name or ""):
        return {"file_name": [(f"Name the form file like classify_complaint{FORM_SUFFIX}: letters, digits and _, "
                               f"starting with a letter, ending in {FORM_SUFFIX}")]}
    if not isinstance(schema, dict):
        return {"schema": ["The form must be a JSON object"]}
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as ex:
        return {_schema_field(ex): [f"Not valid JSON Schema (Draft 2020-12) at {ex.json_path}: {ex.message}"]}
    problems: dict[str, list[str]] = {}
    if schema.get("type", "object") != "object":
        problems.setdefault("schema", []).append('A form is a JSON object: its "type" must be "object"')
    properties = schema.get("properties") or {}
    for key, prop in properties.items():
        where = f"properties.{key}"
        if not IDENTIFIER.match(key):
            problems.setdefault(where, []).append(
                f"The field key {key!r} is not an identifier: letters, digits and _, starting with a letter or _")
        values = choice_values(prop) if isinstance(prop, dict) else None
        duplicates = sorted({str(v) for v in values if values.count(v) > 1}) if values else []
        if duplicates:
            problems.setdefault(f"{where}.choices", []).append(
                f"The field {key!r} has the choice value {duplicates[0]!r} more than once: each value once")
        if values is not None and any(v == "" for v in values):
            problems.setdefault(f"{where}.choices", []).append(f"The field {key!r} has a choice without a value")
        for problem in _i18n_problems(prop):
            problems.setdefault(where, []).append(problem)
    missing = [name for name in schema.get("required", []) if name not in properties]
    if missing:
        problems.setdefault("required", []).append(
            f"'required' names {', '.join(repr(m) for m in missing)}, which is not a field of this form")
    if not problems:
        try:
            prepare(schema, file_name, runtime.settings.departments, runtime.forms.column_lengths,
                    runtime.forms.extensions, runtime.forms.coded)
        except FormDefinitionError as ex:
            problems.setdefault(_prepare_field(str(ex), properties), []).append(str(ex))
    return problems


def _schema_field(error: SchemaError) -> str:
    """The field of a meta-schema error: ``properties.<key>`` when it is inside a field, else ``schema``."""
    path = [str(p) for p in error.absolute_path]
    if len(path) >= 2 and path[0] == "properties":
        return f"properties.{path[1]}"
    return path[0] if path and path[0] == "required" else "schema"


def _prepare_field(message: str, properties: dict) -> str:
    return next((f"properties.{key}" for key in properties if repr(key) in message), "schema")


def _i18n_problems(prop: object) -> list[str]:
    """The Chinese annotation, where present, is ``{"zh": {"title": text, "description": text}}``."""
    if not isinstance(prop, dict) or I18N not in prop:
        return []
    i18n = prop[I18N]
    if not isinstance(i18n, dict) or not all(isinstance(t, dict) and all(isinstance(v, str) for v in t.values())
                                             for t in i18n.values()):
        return [f'"{I18N}" must be {{"zh": {{"title": "…", "description": "…"}}}}']
    return []


def _tasks_by_form(draft: ProcessDraft) -> dict[str, list[str]]:
    """form file -> the names (else ids) of the draft's user tasks naming it."""
    found: dict[str, list[str]] = {}
    try:
        elements = elements_of(draft.bpmn_source)
    except InvalidDefinition:  # a draft saved while it was not readable BPMN names no form
        return found
    for element_id, aspects in elements.items():
        if aspects.get("form"):
            found.setdefault(str(aspects["form"]), []).append(str(aspects.get("name") or element_id))
    return found


# --- the modeler's form editor ---------------------------------------------------------------------------------

def save_form_rows(uow: UnitOfWork, actor: Actor, draft_id: int, file_name: str, rows: FormRows) -> ProcessDraft:
    """Save the form editor's rows as form ``file_name`` of the draft: the schema they make over the form as the
    draft has it (every keyword the editor does not show kept), refused naming the field like any form save."""
    problems = row_problems(rows)
    if problems:
        raise InvalidSubmission(problems)
    original = form_of(uow, actor, draft_id, file_name)
    schema = schema_from(rows, original, dict(uow.runtime.forms.column_lengths))
    return save_draft_form(uow, actor, draft_id, file_name, schema)


def row_problems(rows: FormRows) -> dict[str, list[str]]:
    """What the rows cannot say in a schema: a field without a key, two fields with one key, a choice field
    without choices or with a choice without a value (the schema's checks name the rest)."""
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, row in enumerate(rows.fields, start=1):
        where = f"properties.{row.key}"
        if not row.key.strip():
            problems.setdefault(f"fields.{index}", []).append(f"Field {index} has no key: give it one")
        elif row.key in seen:
            problems.setdefault(where, []).append(f"Two fields have the key {row.key!r}: each key once")
        seen.add(row.key)
        if row.kind == "choice" and not row.choices:
            problems.setdefault(f"{where}.choices", []).append(f"The choice field {row.key!r} has no choices")
        elif row.kind == "choice" and any(not c.value.strip() for c in row.choices):
            problems.setdefault(f"{where}.choices", []).append(f"The field {row.key!r} has a choice without a value")
    return problems
