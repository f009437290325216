"""The one renderer of task forms: a JSON Schema (app/forms/) becomes a list of fields in the order the schema
declares them, and a submitted HTML form becomes the typed data the schema validates.

It decides how a field looks (select, checklist, money...), never whether data is acceptable: that is
FormStore.validate on the server, the same call the API makes. Labels, help texts and choice titles are, for a
Chinese reader, the form's own Chinese (``"x-i18n": {"zh": {"title": ..., "description": ...}}`` on the form, a
field or a choice, written in the modeler's form editor), else the catalog's translation of the English, else the
English as written.

A field offering a classification list (``"format": "product_code" | "cause_code" | "place_code"``, which the form
store spells out as the list's choices: recognised by them) is a searchable picker: a plain select whose options
carry their code and both names (``search_texts``), grouped by labels.choice_groups; static/js/picker.js adds the
search box on top of it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from app.engine.core.messages import Message
from app.engine.forms import choice_values, is_amount
from app.web.messages import say
from app.web.pages.i18n import gettext, locale_code

LONG_TEXT_LENGTH = 200
YES_NO = (("true", _l("Yes")), ("false", _l("No")))
# The classification formats (app/engine/forms.py CODED_FORMATS) long enough to want a search box.
SEARCHABLE_FORMATS = frozenset({"product_code", "cause_code", "place_code"})


@dataclass
class Field:
    name: str
    # text | textarea | select | checklist | multiselect | number | integer | money | date | boolean
    kind: str
    label: str
    help: str = ""
    required: bool = False          # always (the schema's top-level "required")
    # Required only in some cases the page cannot show by hiding the field (an "if" on more than one field ...):
    # marked "required in some cases", the help text says which.
    sometimes_required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: object = ""   # as the user typed it (a list for checklists)
    errors: list[str] = field(default_factory=list)
    show_when: dict | None = None   # {"field": name, "values": [...]}: shown only when that field has one of them
    attrs: dict = field(default_factory=dict)
    picker: str | None = None       # the classification format of a searchable picker (product_code ...)
    search_texts: dict[str, str] = field(default_factory=dict)   # code -> "code, English and Chinese names"

    @property
    def input_id(self) -> str:
        return f"field-{self.name}"

    def is_chosen(self, code: str) -> bool:
        if isinstance(self.value, (list, tuple)):
            return code in [str(v) for v in self.value]
        return str(self.value) == code


def choices_of(prop: dict) -> list[tuple[str, str]]:
    """(code, English title) of a field's choices: oneOf/const/title, or an enum (with x-enum-titles)."""
    node = prop.get("items", prop) if prop.get("type") == "array" else prop
    if "oneOf" in node:
        return [(str(c["const"]), c.get("title") or _humanize(c["const"])) for c in node["oneOf"] if "const" in c]
    titles = node.get("x-enum-titles", {})
    return [(str(v), titles.get(v) or _humanize(v)) for v in node.get("enum", []) if v is not None]


def localized(node: dict, key: str = "title") -> str:
    """A form's, field's or choice's ``title`` / ``description`` in the reader's language ("" when it has none)."""
    if locale_code() == "zh_CN":
        i18n = node.get("x-i18n")
        zh = i18n.get("zh") if isinstance(i18n, dict) else None
        if isinstance(zh, dict) and zh.get(key):
            return str(zh[key])
    return gettext(node[key]) if node.get(key) else ""


def choice_texts(prop: dict) -> list[tuple[str, str, str]]:
    """(code, English title, Chinese title or "") of a field's choices: what a reader's title is made of."""
    node = prop.get("items", prop) if prop.get("type") == "array" else prop
    options = {str(o["const"]): o for o in node.get("oneOf", []) if isinstance(o, dict) and "const" in o}
    return [(code, title, _chinese(options.get(code, {}))) for code, title in choices_of(prop)]


def choice_title(english: str, chinese: str = "") -> str:
    """One choice's title for the reader: its Chinese for a Chinese reader, else the catalog's, else as written."""
    return chinese if chinese and locale_code() == "zh_CN" else gettext(english)


def _chinese(option: dict) -> str:
    i18n = option.get("x-i18n")
    zh = i18n.get("zh") if isinstance(i18n, dict) else None
    return str(zh.get("title") or "") if isinstance(zh, dict) else ""


def _humanize(code) -> str:
    return str(code).replace("_", " ").capitalize()


def _types(prop: dict) -> set[str]:
    kind = prop.get("type", "string")
    return set(kind) if isinstance(kind, list) else {kind}


def kind_of(prop: dict) -> str:
    types = _types(prop) - {"null"}
    if types == {"boolean"}:
        return "boolean"
    if "array" in types:
        items = prop.get("items", {})
        return "checklist" if items.get("format") == "department" or len(choices_of(prop)) <= 8 else "multiselect"
    if choices_of(prop) or prop.get("format") == "department":
        return "select"
    if "boolean" in types:
        return "boolean"
    if "integer" in types:
        return "integer"
    if "number" in types:
        return "number"
    if is_amount(prop):
        return "money"
    if prop.get("format") == "date":
        return "date"
    if prop.get("format") == "textarea" or prop.get("maxLength", 0) > LONG_TEXT_LENGTH:
        return "textarea"
    return "text"


def conditions(schema: dict) -> dict[str, dict | None]:
    """Fields the schema requires only under an ``if`` (the comment of a rejection, the redress amount of monetary
    redress): field -> the condition (``{"field": name, "values": [...]}``, shown only then), or None when the
    condition is not one the page can show by hiding the field. Reads ``then`` and ``else`` of the schema's ``if``
    and of those in ``allOf`` (nested too); a field the schema always requires is not conditional."""
    always = set(schema.get("required", []))
    properties = schema.get("properties", {})
    found: dict[str, dict | None] = {}
    for rule in _rules(schema):
        condition = _simple_condition(rule.get("if"))
        for branch in ("then", "else"):
            names = [n for n in (rule.get(branch) or {}).get("required", []) if n not in always]
            if not names:
                continue
            shown = condition if branch == "then" else _negated(condition, properties)
            for name in names:
                if name in found and found[name] != shown:
                    found[name] = _either(found[name], shown)
                else:
                    found.setdefault(name, shown)
    return found


def _rules(node: dict):
    """The schema and every schema under its ``allOf`` (depth first): where an if/then/else may stand."""
    yield node
    for sub in node.get("allOf", []):
        if isinstance(sub, dict):
            yield from _rules(sub)


def _simple_condition(node) -> dict | None:
    """``{"properties": {f: {"const": v}}}`` or ``{"enum": [...]}`` on one field; other shapes are not hidden."""
    props = (node or {}).get("properties", {})
    if len(props) != 1:
        return None
    (name, test), = props.items()
    if "const" in test:
        return {"field": name, "values": [test["const"]]}
    if "enum" in test:
        return {"field": name, "values": list(test["enum"])}
    return None


def _negated(condition: dict | None, properties: dict) -> dict | None:
    """An ``else`` branch: the other choices of the field the ``if`` tests (None unless it is a choice field)."""
    if condition is None:
        return None
    choices = choice_values(properties.get(condition["field"], {}))
    if choices is None:
        return None
    return {"field": condition["field"], "values": [c for c in choices if c not in condition["values"]]}


def _either(one: dict | None, other: dict | None) -> dict | None:
    """Required under two rules: shown when either holds (if both test the same field), else not hidden."""
    if one is None or other is None or one["field"] != other["field"]:
        return None
    return {"field": one["field"], "values": one["values"] + [v for v in other["values"] if v not in one["values"]]}


def fields(schema: dict, values: dict | None = None, errors: dict | None = None,
           pickers: Mapping[frozenset[str], str] | None = None) -> list[Field]:
    """``pickers``: picker_lists of the form store's classification lists (None: no searchable pickers)."""
    values, errors, pickers = values or {}, errors or {}, pickers or {}
    required = set(schema.get("required", []))
    conditional = conditions(schema)
    result = []
    for name, prop in schema.get("properties", {}).items():  # declared order: json keeps it
        kind = kind_of(prop)
        choices = [(code, choice_title(title, chinese)) for code, title, chinese in choice_texts(prop)]
        if kind == "boolean":
            titled = {str(c.get("const")).lower(): c for c in prop.get("oneOf", []) if "const" in c}
            choices = [(code, localized(titled[code]) if titled.get(code, {}).get("title") else str(title))
                       for code, title in YES_NO]
        result.append(Field(
            name=name, kind=kind, label=localized(prop) or gettext(_humanize(name)),
            help=localized(prop, "description"),
            # A field required under a condition the page shows it for is marked like a required one: it is only
            # visible (forms.js) when the condition holds, and then it is required.
            required=name in required or conditional.get(name) is not None,
            sometimes_required=name in conditional and conditional[name] is None, choices=choices,
            value=_display_value(values.get(name, prop.get("default", "")), kind),
            errors=[friendly(m) for m in errors_of(name, errors)], show_when=conditional.get(name),
            attrs=_attrs(prop, kind), **_picker(prop, kind, pickers)))
    return result


def errors_of(name: str, errors: Mapping[str, Sequence]) -> list:
    """A field's messages: its own and those of its parts (``co_departments.2``: the third choice of the list)."""
    return [m for key, messages in errors.items() if key == name or str(key).startswith(name + ".")
            for m in messages]


def general_errors(schema: dict, errors: Mapping[str, Sequence]) -> list[str]:
    """The messages that belong to no field of the form (a field it does not have, the form as a whole)."""
    known = set(schema.get("properties", {}))
    return [friendly(m) for key, messages in errors.items() if str(key).split(".")[0] not in known
            for m in messages]


def _picker(prop: dict, kind: str, lists: Mapping[frozenset[str], str]) -> dict:
    """A classification list as a searchable picker: what a search matches, whatever the reader's language."""
    if kind != "select":
        return {}
    texts = choice_texts(prop)
    fmt = lists.get(frozenset(code for code, _en, _zh in texts))
    if fmt is None:
        return {}
    return {"picker": fmt,
            "search_texts": {code: " ".join((code, code.replace("_", " "), en, zh)).casefold()
                             for code, en, zh in texts}}


def picker_lists(coded: Mapping[str, Sequence[dict]]) -> dict[frozenset[str], str]:
    """The searchable classification lists (FormStore.coded: format -> its choices) by their set of codes: a field
    offering exactly one of them is that format's picker (the form store replaced its ``format`` by the choices)."""
    return {frozenset(str(option["const"]) for option in options): fmt
            for fmt, options in coded.items() if fmt in SEARCHABLE_FORMATS and options}


def _display_value(value, kind):
    if kind in ("checklist", "multiselect"):
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else []
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _attrs(prop: dict, kind: str) -> dict:
    attrs = {}
    if kind in ("text", "textarea") and "maxLength" in prop:
        attrs["maxlength"] = prop["maxLength"]
    if kind in ("integer", "number"):
        for key in ("minimum", "maximum"):
            if key in prop:
                attrs[key[:3]] = prop[key]
        attrs["step"] = 1 if kind == "integer" else "any"
    return attrs


def parse(schema: dict, form: MultiDict) -> dict:
    """The submitted form as the schema's types. Anything that does not convert is passed on as typed, so the
    validator reports it next to its field and the page shows it again."""
    data: dict = {}
    for name, prop in schema.get("properties", {}).items():
        kind = kind_of(prop)
        nullable = "null" in _types(prop)
        if kind in ("checklist", "multiselect"):
            if name in form or name + "__present" in form:
                data[name] = [v for v in form.getlist(name) if v != ""]
            continue
        raw = form.get(name)
        if raw is None:
            continue
        text = raw.strip() if kind != "textarea" else raw
        if text.strip() == "":
            if nullable:
                data[name] = None
            continue
        data[name] = _convert(text.strip() if kind != "textarea" else text, kind)
    return data


def _convert(text: str, kind: str):
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if kind == "integer":
        return int(text) if re.fullmatch(r"[+-]?\d+", text) else text
    if kind == "number":
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            return text
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "money":
        return text.replace(",", "").replace(" ", "")
    return text


# The validator's English messages, said the way a form says them. Unknown ones pass through the catalog.
_FRIENDLY = [
    (re.compile(r"required", re.I), _l("This field is required.")),
    (re.compile(r"is too short|should be non-empty|does not have enough", re.I), _l("Please fill in this field.")),
    (re.compile(r"is too long", re.I), _l("This text is too long.")),
    (re.compile(r"does not match", re.I), _l("Please check the format of this value.")),
    (re.compile(r"is not of type 'integer'", re.I), _l("Please enter a whole number.")),
    (re.compile(r"is not of type 'number'", re.I), _l("Please enter a number.")),
    (re.compile(r"is not of type 'boolean'", re.I), _l("Please choose yes or no.")),
    (re.compile(r"is not one of|is not valid under any|Unknown department|was expected", re.I),
     _l("Please choose one of the options.")),
    (re.compile(r"less than the minimum|greater than the maximum", re.I), _l("This value is out of range.")),
    (re.compile(r"non-unique|has non-unique", re.I), _l("Each choice may be picked only once.")),
    (re.compile(r"Not a field of this form", re.I), _l("This field is not part of the form.")),
    (re.compile(r"is not of type", re.I), _l("Please check this value.")),
]


def friendly(message: str) -> str:
    """A message in the reader's language: the engine's messages for people (``Message``: the form's validator,
    app/engine/forms.py) through the catalog; older wordings said the way a form says them."""
    if isinstance(message, Message):
        return say(message)
    for pattern, text in _FRIENDLY:
        if pattern.search(message):
            return str(text)
    return gettext(message)

