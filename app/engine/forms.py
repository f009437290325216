"""User-task forms: JSON Schema files in app/forms/, validated on the server with per-field messages."""
from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Mapping

from jsonschema import Draft202012Validator, FormatChecker

from app.engine.errors import InvalidSubmission, NotFound


class FormStore:
    def __init__(self, forms_dir: Path, departments: Mapping[str, str]):
        self.forms_dir = Path(forms_dir)
        self.departments = dict(departments)
        self._schemas: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._format_checker = FormatChecker()
        # "format": "department" names a department code from config/departments.toml.
        self._format_checker.checks("department")(lambda value: not isinstance(value, str)
                                                  or value in self.departments)

    def schema(self, name: str) -> dict:
        with self._lock:
            if name not in self._schemas:
                path = self.forms_dir / name
                if not path.is_file() or path.parent.resolve() != self.forms_dir.resolve():
                    raise NotFound(f"Form {name!r} does not exist in {self.forms_dir}")
                self._schemas[name] = json.loads(path.read_text(encoding="utf-8"))
            return self._schemas[name]

    def schema_for_client(self, name: str) -> dict:
        """The schema as served to clients: department fields get their choices spelled out."""
        schema = copy.deepcopy(self.schema(name))
        _add_department_choices(schema, self.departments)
        return schema

    def validate(self, name: str, data) -> dict:
        if not isinstance(data, dict):
            raise InvalidSubmission({"": ["The form data must be a JSON object"]})
        validator = Draft202012Validator(self.schema(name), format_checker=self._format_checker)
        errors: dict[str, list[str]] = {}
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
            for field, message in _describe(error, self.departments):
                messages = errors.setdefault(field, [])
                if message not in messages:  # jsonschema reports a "required" error per missing field
                    messages.append(message)
        if errors:
            raise InvalidSubmission(errors)
        return data


def _describe(error, departments):
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = [p for p in error.validator_value if isinstance(error.instance, dict) and p not in error.instance]
        return [(f"{path}.{p}" if path else p, "This field is required") for p in missing]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        return [(f"{path}.{p}" if path else p, "Not a field of this form")
                for p in error.instance if p not in allowed]
    if error.validator == "format" and error.validator_value == "department":
        return [(path, f"Unknown department {error.instance!r}; choose one of: {', '.join(sorted(departments))}")]
    return [(path, error.message)]


def _add_department_choices(node, departments):
    if isinstance(node, dict):
        if node.get("format") == "department":
            node["enum"] = sorted(departments)
            node["x-enum-titles"] = {code: title for code, title in departments.items()}
        for value in node.values():
            _add_department_choices(value, departments)
    elif isinstance(node, list):
        for value in node:
            _add_department_choices(value, departments)
