"""User-task forms: JSON Schema files in app/forms/, validated on the server with per-field messages.

Loading a form applies the rules every form shares, so no file repeats them and none can forget one:

- **Column lengths are the one source of text limits.** A form field named like a ``complaints`` column holds
  that column's value (``customer_name``, ``product``, ``category`` ... mean the same thing in every form), so
  its ``maxLength`` is taken from the model's ``String(n)``. A file that states a different ``maxLength``, or a
  choice longer than the column, is refused when the form is loaded (``FormDefinitionError``). We derive from
  the model rather than the other way round because the database column is the hard limit: migrations and
  tests/engine/test_schema.py keep the model and the table in step, and the form follows.
- Every other text field gets ``TEXT_MAX_LENGTH`` unless its file sets a limit: task data lives in the workflow
  state, which is stored and reloaded on every step.
- **Required text must have content**: a text field that is required (always, or in an ``if``/``then``
  branch) gets the pattern ``\\S``, so ``"   "`` is refused like a missing value.
- ``"format": "department"`` becomes the standard choice list, ``oneOf`` of ``{"const": code, "title": name}``
  from config/departments.toml, in the order the file lists them; ``"format": "extension"`` likewise the
  deadline extensions of the active SLA profile (config/sla.toml: name and title).
- ``"format": "product_code"`` / ``"cause_code"`` / ``"place_code"`` / ``"outcome_code"`` likewise the codes of
  config/classification.toml in force when the runtime was built, each choice with its English title and its
  Chinese one as ``"x-i18n": {"zh": {"title": ...}}`` (what the page renderer shows a Chinese reader). The
  service checks a registration's codes against the version in force on the day of receipt.

- **A list that may not hold another field's choice**: ``"x-distinct-from": "lead_department"`` on a list of
  choices (the co-investigating departments may not include the lead) becomes standard ``if``/``then``/``not
  contains`` rules, one per choice of that field (``_expand_distinct`` says why).

The prepared schema is what the server validates with and what clients get, properties in declared order.

**Messages are for people** (the pages show them next to the field, the API under the field's name): what to do,
in the field's own terms ("Enter the redress amount", "Enter the amount involved as an amount such as 1250.00"),
never a JSON type, a pattern or "null". Each is a ``Message`` (app/engine/core/messages.py): English text with its
catalog key, said in the reader's language by the web layer. A field required only under an ``if`` (a ``then`` or
``else`` ``required``) is asked for like any required field, and null or blank counts as missing.

**A task's form is its definition version's**: a version pins the content of the forms its tasks name at deploy
(governance/pinned_forms.py), and rendering and validating a task pass them as ``PinnedForms``, so editing a file
in app/forms/ changes only what later deployed versions use. The same rules above are applied to pinned content
at load (departments and extensions come from today's config). Prepared schemas are cached per (digest of the
version's forms, form name): one preparation per content, whatever the number of page views.
"""
from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from app.engine.core.errors import InvalidSubmission, NotFound
from app.engine.core.messages import N_, Message, Words

if TYPE_CHECKING:
    from app.engine.config.classification import Classification
    from app.engine.config.settings import SlaProfile

TEXT_MAX_LENGTH = 10_000
HAS_CONTENT = r"\S"             # the pattern of "required text must have content"
EXCERPT_LENGTH = 40             # how much of a rejected value a message may quote
FORM_SUFFIX = ".schema.json"
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER  # "date", "email" ... for the fields that ask for one
# The "format" of a coded field -> the config/classification.toml list it offers.
# The decimal-amount patterns of app/forms (e.g. "^[0-9]{1,13}(\\.[0-9]{1,2})?$"): a field with one is an amount
# (the page shows it as money, a message asks for "an amount such as 1250.00").
AMOUNT_PATTERN = re.compile(r"\[0-9\]\{1,1[0-9]\}")
# On a list of choices: the name of another choice field of the form whose value the list may not hold.
DISTINCT_FROM = "x-distinct-from"
CODED_FORMATS = {"product_code": "products", "cause_code": "causes", "place_code": "places",
                 "outcome_code": "outcomes", "forwarding_body_code": "forwarding_bodies",
                 "root_cause_code": "root_causes", "referral_body_code": "referral_bodies"}


def classification_choices(classification: Classification, on: date,
                           regime: str | None = None) -> dict[str, list[dict]]:
    """The choice lists of the coded formats: the classification in force on ``on``, both languages; an entry
    that names a regime (referral bodies) only under that regime (``regime``: the active profile's)."""
    return {fmt: [{"const": e.code, "title": e.en, "x-i18n": {"zh": {"title": e.zh}}}
                  for e in classification.entries(kind, on)
                  if regime is None or e.mappings.get("regime") in (None, regime)]
            for fmt, kind in CODED_FORMATS.items()} if classification.versions else {}


def calendar_choices(profile: SlaProfile) -> dict[str, list[dict]]:
    """``"format": "calendar_code"``: the business-day calendars a case of ``profile`` may count on (config/sla.toml
    case_calendars; the registration's explicit choice of the customer's nation), both languages."""
    return {"calendar_code": [{"const": c.name, "title": c.title("en"), "x-i18n": {"zh": {"title": c.title("zh_CN")}}}
                              for c in profile.calendars.values()]}


class FormDefinitionError(ValueError):
    """A form file breaks a rule every form must follow; found when the form is loaded."""


def complaint_column_lengths() -> dict[str, int]:
    """Field name -> length of the ``complaints`` column of that name, for every ``String(n)`` column."""
    from app.engine.models import Complaint  # noqa: PLC0415 - the models are only needed to read lengths

    return {column.name: length for column in Complaint.__table__.columns
            if (length := getattr(column.type, "length", None))}


@dataclass(frozen=True)
class PinnedForms:
    """The forms a definition version pinned. ``digest``: their content digest, the cache key (None: a version
    deployed before forms were pinned, which has none and reads the files in app/forms/ as they are now).
    ``load``: file name -> content, read only when a form is not prepared yet."""

    digest: str | None
    load: Callable[[], Mapping[str, str] | None]


class FormStore:
    def __init__(self, forms_dir: Path, departments: Mapping[str, str],
                 column_lengths: Mapping[str, int] | None = None, extensions: Mapping[str, str] | None = None,
                 coded: Mapping[str, Sequence[dict]] | None = None):
        self.forms_dir = Path(forms_dir)
        self.departments = dict(departments)
        self.extensions = dict(extensions or {})
        self.coded = {fmt: list(options) for fmt, options in (coded or {}).items()}   # classification_choices
        self.column_lengths = dict(complaint_column_lengths() if column_lengths is None else column_lengths)
        self._schemas: dict[tuple[str | None, str], dict] = {}
        self._validators: dict[tuple[str | None, str], Draft202012Validator] = {}
        self._versions: dict[int, PinnedForms] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return sorted(p.name for p in self.forms_dir.glob(f"*{FORM_SUFFIX}"))

    def of_version(self, definition_id: int,
                   load: Callable[[], tuple[str | None, Mapping[str, str] | None]]) -> PinnedForms:
        """The forms definition version ``definition_id`` pinned; ``load`` (digest, contents) is called once per
        version for the life of the process (a version never changes), so a step or page view reads nothing."""
        with self._lock:
            found = self._versions.get(definition_id)
        if found is None:
            digest, contents = load()
            found = PinnedForms(digest, lambda: contents)
            with self._lock:
                self._versions[definition_id] = found
        return found

    def schema(self, name: str, pinned: PinnedForms | None = None) -> dict:
        """The prepared schema (shared: do not modify it; schema_for_client gives a copy). ``pinned``: the forms
        of the task's definition version; None reads app/forms/ (the registration form, used before any case
        exists, and versions deployed before forms were pinned)."""
        key = (pinned.digest if pinned is not None else None, name)
        with self._lock:
            if key not in self._schemas:
                raw = self._pinned(name, pinned) if key[0] is not None else self._from_disk(name)
                self._schemas[key] = prepare(raw, name, self.departments, self.column_lengths, self.extensions,
                                              self.coded)
            return self._schemas[key]

    def _pinned(self, name: str, pinned: PinnedForms | None) -> dict:
        contents = pinned.load() if pinned is not None else None
        if contents is None or name not in contents:
            raise NotFound(f"Form {name!r} is not among the forms its definition version pinned")
        return json.loads(contents[name])

    def _from_disk(self, name: str) -> dict:
        path = self.forms_dir / name
        if not path.is_file() or path.parent.resolve() != self.forms_dir.resolve():
            raise NotFound(f"Form {name!r} does not exist in {self.forms_dir}")
        return json.loads(path.read_text(encoding="utf-8"))

    def _validator(self, key: tuple[str | None, str], schema: dict) -> Draft202012Validator:
        # One per form content for the life of the process (pinned content never changes; the files are read
        # once): building it was about 4 % of a persisted step. iter_errors keeps its state per call, so threads
        # may share it.
        validator = self._validators.get(key)
        if validator is None:
            validator = self._validators[key] = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
        return validator

    def schema_for_client(self, name: str, pinned: PinnedForms | None = None) -> dict:
        """The schema as served to clients: the validated schema itself, properties in declared order."""
        return copy.deepcopy(self.schema(name, pinned))

    def validate(self, name: str, data: object, pinned: PinnedForms | None = None) -> dict:
        """The data if the form accepts it, with the ``default`` of each field it leaves out (a copy: ``data`` is
        not changed); else InvalidSubmission, field -> messages for people (see "messages" below)."""
        if not isinstance(data, dict):
            raise InvalidSubmission({"": [Message(NOT_AN_OBJECT)]})
        unstorable = text_problems(data)
        if unstorable:
            raise InvalidSubmission(unstorable)
        schema = self.schema(name, pinned)
        order = {field: index for index, field in enumerate(schema.get("properties", {}))}
        errors: dict[str, list[str]] = {}
        found = self._validator((pinned.digest if pinned is not None else None, name), schema).iter_errors(data)
        for error in sorted(found, key=lambda e: _path_key(e.absolute_path, order)):
            for field, message in _describe(error, schema):
                messages = errors.setdefault(field, [])
                if message not in messages:  # e.g. "" fails both minLength and the content pattern
                    messages.append(message)
        if errors:
            raise InvalidSubmission(errors)
        return with_defaults(schema, data)


def with_defaults(schema: dict, data: dict) -> dict:
    """``data`` with the ``default`` of each field it leaves out: what the form says an absent field means (the
    co-investigating departments: none; a redress amount: none, so a later draft without one does not keep an
    earlier draft's amount in the case's data)."""
    absent = {name: copy.deepcopy(prop["default"]) for name, prop in schema.get("properties", {}).items()
              if name not in data and isinstance(prop, dict) and "default" in prop}
    return {**data, **absent} if absent else data


# --- preparing a form at load --------------------------------------------------------------------------------

def prepare(schema: dict, name: str, departments: Mapping[str, str], column_lengths: Mapping[str, int],
            extensions: Mapping[str, str] | None = None, coded: Mapping[str, Sequence[dict]] | None = None) -> dict:
    schema = copy.deepcopy(schema)
    lists: dict[str, Sequence[dict]] = {
        "department": [{"const": code, "title": title} for code, title in departments.items()],
        "extension": [{"const": code, "title": title} for code, title in (extensions or {}).items()],
        **(coded or {})}
    _expand_choices(schema, lists)
    _expand_distinct(schema, name)
    _apply_shared_rules(schema, name, column_lengths)
    return schema


def _expand_distinct(node: dict, form: str) -> None:
    """``"x-distinct-from": "lead_department"`` on a list of choices (the co-investigating departments): the list
    may not hold the other field's choice. Stated once in the file, it becomes standard JSON Schema here, one rule
    per choice of the other field (known only now: departments come from config/departments.toml):
    ``{"if": {other is c}, "then": {the list does not contain c}}`` in ``allOf``. So any JSON Schema validator
    holding the served schema refuses it too, and FormStore.validate checks it with every other rule (the pages
    and the API alike); its message names the choice (_not_both). Standard keywords rather than a custom
    validator keyword: clients get a rule they can check, and nothing here is special to jsonschema."""
    properties = node.get("properties", {})
    for field, prop in properties.items():
        other = prop.pop(DISTINCT_FROM, None) if isinstance(prop, dict) else None
        if other is None:
            continue
        if other not in properties or other == field or prop.get("type") != "array":
            raise FormDefinitionError(f"{form}: {field!r} says {DISTINCT_FROM} {other!r}: it must be a list and "
                                      "name another field of the form")
        node.setdefault("allOf", []).extend(
            {"if": {"properties": {other: {"const": code}}, "required": [other]},
             "then": {"properties": {field: {"not": {"contains": {"const": code}}}}}}
            for code in choice_values(properties[other]) or ())


def _expand_choices(node: object, lists: Mapping[str, Sequence[dict]]) -> None:
    """``"format": "department"`` / ``"extension"`` / a coded format -> ``oneOf`` of the configured choices."""
    if isinstance(node, dict):
        choices = lists.get(node.get("format", ""))
        if choices is not None:
            del node["format"]
            if choices:  # a profile without extensions: the field stays text, the service says none is allowed
                node["oneOf"] = copy.deepcopy(list(choices))
        for value in node.values():
            _expand_choices(value, lists)
    elif isinstance(node, list):
        for value in node:
            _expand_choices(value, lists)


def _apply_shared_rules(node: dict, form: str, column_lengths: Mapping[str, int]) -> None:
    """Limits and the content rule on every object schema of the form (forms are flat today; nesting works)."""
    properties = node.get("properties", {})
    for field, prop in properties.items():
        _limit_text(prop, form, field, column_lengths)
        if prop.get("type") == "object":
            _apply_shared_rules(prop, form, column_lengths)
        elif isinstance(prop.get("items"), dict):
            _limit_text(prop["items"], form, field, column_lengths)
    _require_content(node, properties)


def _limit_text(prop: dict, form: str, field: str, column_lengths: Mapping[str, int]) -> None:
    column = column_lengths.get(field)
    choices = choice_values(prop)
    if choices is not None:
        too_long = [c for c in choices if column and isinstance(c, str) and len(c) > column]
        if too_long:
            raise FormDefinitionError(f"{form}: choice {too_long[0]!r} of {field!r} is longer than the "
                                      f"{column} characters of column complaints.{field}")
        return
    if not _is_text(prop):
        return
    if column is not None:
        stated = prop.setdefault("maxLength", column)
        if stated != column:
            raise FormDefinitionError(f"{form}: {field!r} states maxLength {stated} but column complaints.{field} "
                                      f"holds {column}; drop the maxLength, the column decides")
    else:
        prop.setdefault("maxLength", TEXT_MAX_LENGTH)


def _require_content(node: dict, properties: dict) -> None:
    """Required free text gets the content pattern; in an if/then branch, only inside that branch."""
    for field in node.get("required", ()):
        prop = properties.get(field)
        if prop is None or not _is_text(prop) or choice_values(prop) is not None or "pattern" in prop:
            continue
        target = prop if node.get("properties") is properties else node.setdefault("properties", {}).setdefault(
            field, {})
        target.setdefault("pattern", HAS_CONTENT)
    for branch in ("then", "else"):
        if isinstance(node.get(branch), dict):
            _require_content(node[branch], properties)
    for sub in node.get("allOf", ()):
        _require_content(sub, properties)


def is_amount(prop: dict) -> bool:
    """A decimal amount written as text (``"format": "money"``, or one of the forms' amount patterns)."""
    return prop.get("format") in ("money", "decimal") or bool(AMOUNT_PATTERN.search(str(prop.get("pattern", ""))))


def _is_text(prop: dict) -> bool:
    kind = prop.get("type")
    return kind == "string" or (isinstance(kind, list) and "string" in kind)


def choice_values(prop: dict) -> list | None:
    """The values of a choice field (``oneOf`` of consts, or a bare ``enum``); None if it is not one."""
    if "enum" in prop:
        return list(prop["enum"])
    options = prop.get("oneOf")
    if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
        return [o["const"] for o in options]
    return None


# --- text a database cannot store ----------------------------------------------------------------------------

def text_problems(data: object, prefix: str = "") -> dict[str, list[str]]:
    """Field path -> message for every string (key or value) PostgreSQL or UTF-8 cannot store: NUL characters
    and unpaired surrogates (JSON's "\\ud800" decodes to one). Iterative, so any depth is safe."""
    problems: dict[str, list[str]] = {}
    stack: list[tuple[str, object]] = [(prefix, data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            problem = _unstorable(value)
            if problem:
                problems.setdefault(path, []).append(problem)
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _unstorable(key):
                    child = f"{path}.{excerpt(key)}" if path else excerpt(key)
                    problems.setdefault(child, []).append(f"The field name: {_unstorable(key)}")
                    continue
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value))
    return dict(sorted(problems.items()))


def _unstorable(text: str) -> str | None:
    if "\x00" in text:
        return "Contains a NUL character (\\u0000), which cannot be stored; remove it"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Contains an unpaired surrogate (e.g. \\ud800), which is not valid Unicode text"
    return None


def excerpt(value: object, limit: int = EXCERPT_LENGTH) -> str:
    """A short, printable excerpt of a rejected value, safe to put in a message."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)[:limit * 4]
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


# --- messages ------------------------------------------------------------------------------------------------
#
# What a person reads next to a field (and an API client under the field's name): what to do, in the field's own
# terms, never a JSON type name, a pattern, "null" or a Python repr. Each is a Message (app/engine/core/messages.py):
# English here, the reader's language on the page and in the API (app/web/messages.py; the Chinese is in the
# catalog). The field is named by its title (its Chinese from the form's "x-i18n" where it has one).

ENTER = N_("Enter the %(field)s")
CHOOSE = N_("Choose the %(field)s")
CHOOSE_YES_NO = N_("Choose Yes or No for “%(field)s”")
CHOOSE_FROM_LIST = N_("Choose the %(field)s from the list")
NOT_IN_LIST = N_("Choose the %(field)s from the list (“%(value)s” is not one of them)")
ENTER_AMOUNT = N_("Enter the %(field)s as an amount such as 1250.00")
ENTER_DATE = N_("Enter the %(field)s as a date such as 2026-12-08")
ENTER_DATE_TIME = N_("Enter the %(field)s as a date and time such as 2026-12-08T09:30")
ENTER_EMAIL = N_("Enter the %(field)s as an e-mail address such as name@example.com")
ENTER_WHOLE_NUMBER = N_("Enter the %(field)s as a whole number")
ENTER_NUMBER = N_("Enter the %(field)s as a number")
ENTER_TEXT = N_("Enter the %(field)s as text")
ENTER_IN_RANGE = N_("Enter the %(field)s as a number from %(minimum)s to %(maximum)s")
AT_LEAST = N_("Enter at least %(minimum)s for the %(field)s")
AT_MOST = N_("Enter at most %(maximum)s for the %(field)s")
TOO_LONG = N_("Use at most %(limit)s characters for the %(field)s (it has %(count)s)")
TOO_SHORT = N_("Use at least %(limit)s characters for the %(field)s")
ONCE_EACH = N_("Choose each of the %(field)s only once")
TOO_MANY = N_("Choose at most %(limit)s for the %(field)s")
TOO_FEW = N_("Choose at least %(limit)s for the %(field)s")
NOT_BOTH = N_("%(choice)s cannot be both the %(other)s and one of the %(field)s")
CHECK_FORMAT = N_("Check the format of the %(field)s")
CHECK = N_("Check the %(field)s")
NOT_A_FIELD = N_("This field is not part of the form")
NOT_AN_OBJECT = N_("The form data must be a JSON object")


def _path_key(path: Iterable[str | int], order: Mapping[str, int]) -> tuple[int, list[str]]:
    parts = list(path)
    head = order.get(str(parts[0]), len(order)) if parts else -1
    return head, [str(p) for p in parts]


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _describe(error: ValidationError, root: dict) -> list[tuple[str, Message]]:
    path = ".".join(str(p) for p in error.absolute_path)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        holder = _property_at(root, list(error.absolute_path)) or {}
        missing = [p for p in expected if isinstance(value, dict) and p not in value]
        return [(_join(path, p), _missing(_property_of(holder, p), p)) for p in missing]
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = set(error.schema.get("properties", {}))
        return [(_join(path, excerpt(p)), Message(NOT_A_FIELD)) for p in value if p not in allowed]
    prop = _property_at(root, list(error.absolute_path)) or error.schema
    name = next((str(p) for p in reversed(error.absolute_path) if isinstance(p, str)), "")
    return [(path, _message(kind, expected, value, error, prop, name, root))]


def _message(kind: str, expected: Any, value: Any, error: ValidationError,  # jsonschema's untyped values
             prop: dict, name: str, root: dict) -> Message:
    """Our own wording: jsonschema's messages quote the whole value (a 10 MB string gives a 10 MB message) and
    speak JSON ("None is not of type 'string'")."""
    field = _title(prop, name)
    blank = value is None or (isinstance(value, str) and not value.strip())
    if blank and kind in ("type", "pattern", "minLength", "oneOf", "enum", "const", "format"):
        return _missing(prop, name)  # null, "" or "   " where something is needed: ask for it
    if kind == "not":
        return _not_both(error, root, prop, name) or Message(CHECK, field=field)
    if kind in ("oneOf", "enum", "const") and (choice_values(error.schema) is not None or kind == "const"):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):  # say what was not in it
            return Message(NOT_IN_LIST, field=field, value=excerpt(value))
        return Message(CHOOSE_FROM_LIST, field=field)
    if kind == "type":
        return _wrong_type(expected if isinstance(expected, list) else [expected], prop, field)
    if kind == "pattern":
        return Message(ENTER_AMOUNT if is_amount(prop) or is_amount(error.schema) else CHECK_FORMAT, field=field)
    if kind == "format":
        return Message(FORMAT_MESSAGES.get(str(expected), CHECK_FORMAT), field=field)
    if kind in ("minimum", "maximum"):
        low, high = prop.get("minimum", error.schema.get("minimum")), prop.get("maximum", error.schema.get("maximum"))
        if low is not None and high is not None:
            return Message(ENTER_IN_RANGE, field=field, minimum=low, maximum=high)
        return Message(AT_LEAST, field=field, minimum=low) if kind == "minimum" else Message(
            AT_MOST, field=field, maximum=high)
    counted = {"maxLength": (TOO_LONG, {"count": len(value) if isinstance(value, str) else 0}),
               "minLength": (TOO_SHORT, {}), "maxItems": (TOO_MANY, {}), "minItems": (TOO_FEW, {})}
    if kind in counted:
        key, extra = counted[kind]
        return Message(key, field=field, limit=expected, **extra)
    if kind == "uniqueItems":
        return Message(ONCE_EACH, field=field)
    return Message(CHECK, field=field)


FORMAT_MESSAGES = {"date": ENTER_DATE, "date-time": ENTER_DATE_TIME, "email": ENTER_EMAIL}


def _missing(prop: dict, name: str) -> Message:
    """What to do about a field that is needed and has nothing: enter it, or choose it."""
    types = _types(prop)
    if types == {"boolean"}:
        return Message(CHOOSE_YES_NO, field=_title(prop, name, common=False))
    chosen = "array" in types or choice_values(prop) is not None or choice_values(prop.get("items", {})) is not None
    return Message(CHOOSE if chosen else ENTER, field=_title(prop, name))


def _wrong_type(expected: list, prop: dict, field: Words) -> Message:
    if "integer" in expected:
        return Message(ENTER_WHOLE_NUMBER, field=field)
    if "number" in expected:
        return Message(ENTER_NUMBER, field=field)
    if "boolean" in expected:
        return Message(CHOOSE_YES_NO, field=Words(field.en, field.zh, common=False))
    if "array" in expected:
        return Message(CHOOSE_FROM_LIST, field=field)
    if "string" in expected:
        return Message(ENTER_AMOUNT if is_amount(prop) else ENTER_TEXT, field=field)
    return Message(CHECK, field=field)


def _not_both(error: ValidationError, root: dict, prop: dict, name: str) -> Message | None:
    """The rule a ``"x-distinct-from"`` list became (see _expand_distinct): the list holds the choice the other
    field has. Found from where the failed ``not`` sits: ``allOf[i].then.properties.<list>.not``."""
    excluded = error.validator_value.get("contains", {}) if isinstance(error.validator_value, dict) else {}
    parts = list(error.absolute_schema_path)
    if "const" not in excluded or parts[-4:-2] != ["then", "properties"]:
        return None
    rule: Any = root
    for part in parts[:-4]:
        rule = rule[part]
    tested = list(rule.get("if", {}).get("properties", {}))
    if len(tested) != 1:
        return None
    other = tested[0]
    return Message(NOT_BOTH, choice=_choice_words(prop.get("items", {}), excluded["const"]),
                   other=_title(_property_of(root, other), other), field=_title(prop, name))


def _choice_words(prop: dict, code: object) -> Words:
    for option in prop.get("oneOf", []):
        if isinstance(option, dict) and option.get("const") == code:
            return Words(str(option.get("title") or code), _chinese(option, "title"), common=False)
    return Words(str(code), common=False)


def _title(prop: dict, name: str, *, common: bool = True) -> Words:
    """A field as a person knows it: its title (and the form's Chinese for it), else its key in words."""
    title = prop.get("title") if isinstance(prop.get("title"), str) else None
    return Words(title or name.replace("_", " ").capitalize(), _chinese(prop, "title"), common)


def _chinese(node: dict, key: str) -> str:
    i18n = node.get("x-i18n")
    zh = i18n.get("zh") if isinstance(i18n, dict) else None
    return str(zh.get(key) or "") if isinstance(zh, dict) else ""


def _property_of(holder: dict, name: str) -> dict:
    found = holder.get("properties", {}).get(name) if isinstance(holder, dict) else None
    return found if isinstance(found, dict) else {}


def _property_at(root: dict, path: list) -> dict | None:
    """The schema of the value at ``path`` (field names and list indexes) in the form's declared properties."""
    node: Any = root
    for part in path:
        node = node.get("items") if isinstance(part, int) else _property_of(node, str(part))
        if not isinstance(node, dict):
            return None
    return node


def _types(prop: dict) -> set[str]:
    kind = prop.get("type", "string")
    return set(kind) if isinstance(kind, list) else {str(kind)}
