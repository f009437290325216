"""The modeler's form editor as data: a form's JSON Schema as rows (its titles, one row per field in declared
order, a choice field's choices), the edits the page offers on them, and the schema a set of rows makes.

The editor shows only part of JSON Schema: a field's key, kind, titles and descriptions in English and Chinese,
whether it is required and a choice field's choices. ``schema_from`` builds the schema over the form as it was
(``original``), so every keyword the editor does not show (``if``/``then``, ``additionalProperties``,
``maxLength``, ``pattern``, ``format``, an option's extra keys ...) is kept: retitling a field of a shipped form
changes its title and nothing else. A field's type keywords are replaced only when its kind is changed.

Chinese texts are the annotation ``"x-i18n": {"zh": {"title": ..., "description": ...}}`` on the form, on each
field and on each choice (``oneOf`` option); jsonschema ignores the keyword, the pages show it to Chinese readers.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

I18N = "x-i18n"
CHINESE = "zh"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SHORT_TEXT_LENGTH = 200  # a short text field's maxLength (the task page shows longer ones as a text area)
# The kinds the editor offers, in the order of its menu; "other": a field the editor cannot describe (a list of
# departments, an object ...), kept exactly as written.
KINDS = ("text", "textarea", "integer", "amount", "date", "boolean", "choice", "other")
_MONEY_PATTERN = re.compile(r"\[0-9\]\{1,1[0-9]\}")
# What says a field's type: replaced when the owner changes the kind, kept otherwise.
_TYPE_KEYWORDS = ("type", "format", "pattern", "oneOf", "anyOf", "enum", "const", "items", "uniqueItems", "minItems",
                  "maxItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                  "multipleOf", "default", "x-enum-titles")


@dataclass
class ChoiceRow:
    value: str = ""
    title_en: str = ""
    title_zh: str = ""
    original: str | None = None   # the value it had in the stored form (None: added in the editor)


@dataclass
class FieldRow:
    key: str = ""
    kind: str = "text"
    title_en: str = ""
    title_zh: str = ""
    description_en: str = ""
    description_zh: str = ""
    required: bool = False
    choices: list[ChoiceRow] = field(default_factory=list)
    original: str | None = None   # the key it had in the stored form (None: added in the editor)


@dataclass
class FormRows:
    title_en: str = ""
    title_zh: str = ""
    description_en: str = ""
    description_zh: str = ""
    fields: list[FieldRow] = field(default_factory=list)


# --- reading a schema -----------------------------------------------------------------------------------------

def rows_of(schema: dict) -> FormRows:
    required = set(schema.get("required", []))
    form_zh = _chinese(schema)
    rows = FormRows(title_en=_text(schema.get("title")), title_zh=_text(form_zh.get("title")),
                    description_en=_text(schema.get("description")), description_zh=_text(form_zh.get("description")))
    for key, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        zh = _chinese(prop)
        kind = kind_of(prop)
        rows.fields.append(FieldRow(
            key=key, kind=kind, title_en=_text(prop.get("title")), title_zh=_text(zh.get("title")),
            description_en=_text(prop.get("description")), description_zh=_text(zh.get("description")),
            required=key in required, original=key,
            choices=[ChoiceRow(value=_text(o.get("const")), title_en=_text(o.get("title")),
                               title_zh=_text(_chinese(o).get("title")), original=_text(o.get("const")))
                     for o in prop.get("oneOf", []) if isinstance(o, dict) and "const" in o]
            if kind == "choice" else []))
    return rows


def kind_of(prop: dict) -> str:
    kind = prop.get("type", "string")
    types = (set(kind) if isinstance(kind, list) else {kind}) - {"null"}
    if types == {"boolean"}:
        return "boolean"
    if types == {"integer"}:
        return "integer"
    if types == {"number"}:
        return "amount"
    if types != {"string"}:
        return "other"
    options = prop.get("oneOf")
    if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
        return "choice"
    fmt = prop.get("format")
    if "enum" in prop or fmt in ("department", "extension"):
        return "other"
    if fmt == "date":
        return "date"
    if fmt in ("money", "decimal") or _MONEY_PATTERN.search(str(prop.get("pattern", ""))):
        return "amount"
    if fmt == "textarea" or "maxLength" not in prop or prop.get("maxLength", 0) > SHORT_TEXT_LENGTH:
        return "textarea"
    return "text"


# --- the page's edits -------------------------------------------------------------------------------------------

def apply(rows: FormRows, operation: str) -> FormRows:
    """One edit of the page (a button without script): ``add_field``, ``remove_field:i``, ``field_up:i``,
    ``field_down:i``, ``add_choice:i``, ``remove_choice:i:j``, ``choice_up:i:j``, ``choice_down:i:j``. An edit
    that names no row (a stale page) changes nothing."""
    rows = copy.deepcopy(rows)
    name, _, where = operation.partition(":")
    numbers = [int(n) for n in where.split(":") if n.isdigit()]
    if name == "add_field":
        rows.fields.append(FieldRow())
        return rows
    if not numbers or not 0 <= numbers[0] < len(rows.fields):
        return rows
    i = numbers[0]
    if name == "remove_field":
        del rows.fields[i]
    elif name in ("field_up", "field_down"):
        _move(rows.fields, i, -1 if name == "field_up" else 1)
    elif name == "add_choice":
        rows.fields[i].choices.append(ChoiceRow())
    elif len(numbers) == 2 and 0 <= numbers[1] < len(rows.fields[i].choices):
        choices = rows.fields[i].choices
        if name == "remove_choice":
            del choices[numbers[1]]
        elif name in ("choice_up", "choice_down"):
            _move(choices, numbers[1], -1 if name == "choice_up" else 1)
    return rows


def _move(items: list, index: int, step: int) -> None:
    other = index + step
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]


# --- building the schema ----------------------------------------------------------------------------------------

def schema_from(rows: FormRows, original: dict | None, column_lengths: dict[str, int] | None = None) -> dict:
    """The schema the rows make over ``original`` (None: a new form). ``column_lengths``: the complaint columns'
    lengths, which decide a same-named text field's limit (forms.prepare), so a new short text field of that name
    states none."""
    schema = copy.deepcopy(original) if original else {
        "$schema": SCHEMA_DIALECT, "type": "object", "properties": {}, "additionalProperties": False}
    _texts(schema, rows.title_en, rows.title_zh, rows.description_en, rows.description_zh)
    found = schema.get("properties")
    before: dict = found if isinstance(found, dict) else {}
    properties = {}
    for row in rows.fields:
        properties[row.key] = _property(row, before.get(row.original) if row.original else None, column_lengths or {})
    schema["properties"] = properties
    stated = schema.get("required")
    kept = [key for key in (stated if isinstance(stated, list) else [])
            if any(r.key == key and r.required for r in rows.fields)]
    wanted = kept + [r.key for r in rows.fields if r.required and r.key not in kept]
    if wanted or "required" in schema:
        schema["required"] = wanted
    return schema


def _property(row: FieldRow, before: dict | None, column_lengths: dict[str, int]) -> dict:
    prop = copy.deepcopy(before) if isinstance(before, dict) else {}
    if row.kind != "other" and (not prop or kind_of(prop) != row.kind):
        for keyword in _TYPE_KEYWORDS:
            prop.pop(keyword, None)
        prop = {**_new_type(row.kind, row.key, column_lengths), **prop}
    _texts(prop, row.title_en, row.title_zh, row.description_en, row.description_zh)
    if row.kind == "choice":
        options = {str(o.get("const")): o for o in prop.get("oneOf", []) if isinstance(o, dict) and "const" in o}
        built = []
        for choice in row.choices:
            option = copy.deepcopy(options.get(choice.original or "", {})) if choice.original is not None else {}
            option["const"] = choice.value
            _texts(option, choice.title_en, choice.title_zh)
            built.append(option)
        prop["oneOf"] = built
    return prop


def _new_type(kind: str, key: str, column_lengths: dict[str, int]) -> dict:
    if kind == "text":
        return {"type": "string"} if key in column_lengths else {"type": "string", "maxLength": SHORT_TEXT_LENGTH}
    types: dict[str, dict] = {
        "textarea": {"type": "string"}, "integer": {"type": "integer"}, "amount": {"type": "number", "minimum": 0},
        "date": {"type": "string", "format": "date"}, "boolean": {"type": "boolean"},
        "choice": {"type": "string", "oneOf": []}}
    return dict(types.get(kind, {"type": "string"}))


def _texts(node: dict, title_en: str, title_zh: str, description_en: str | None = None,
           description_zh: str | None = None) -> None:
    """Sets (or, when empty, removes) the English title/description and their Chinese annotation."""
    _put(node, "title", title_en)
    if description_en is not None:
        _put(node, "description", description_en)
    found = node.get(I18N)
    i18n: dict = found if isinstance(found, dict) else {}
    zh = dict(i18n.get(CHINESE) or {})
    _put(zh, "title", title_zh)
    if description_zh is not None:
        _put(zh, "description", description_zh)
    i18n = {**i18n, CHINESE: zh} if zh else {k: v for k, v in i18n.items() if k != CHINESE}
    if i18n:
        node[I18N] = i18n
    else:
        node.pop(I18N, None)


def _put(node: dict, key: str, value: str) -> None:
    value = value.strip()
    if value:
        node[key] = value
    else:
        node.pop(key, None)


def _chinese(node: dict) -> dict:
    i18n = node.get(I18N)
    zh = i18n.get(CHINESE) if isinstance(i18n, dict) else None
    return zh if isinstance(zh, dict) else {}


def _text(value: object) -> str:
    return "" if value is None else str(value)
