"""The few domain errors the services raise; adapters map them to HTTP statuses or exit codes in one place."""
from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every error a caller of the services is expected to handle."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The addressed complaint, task, definition or user does not exist."""


class NotAllowed(DomainError):
    """The actor may not do this (wrong role, department or assignee)."""


class DutiesNotSegregated(NotAllowed):
    """A segregation-of-duties rule (config/segregation.toml) keeps this person from this piece of work, whatever
    their roles: they did earlier work it must be independent of. ``rule`` names the rule, ``title`` is its
    sentence (English; pages translate it)."""

    def __init__(self, rule: str, title: str, message: str | None = None):
        super().__init__(message or f"{title} (rule {rule})")
        self.rule = rule
        self.title = title


class Conflict(DomainError):
    """The target changed under the caller: task no longer ready, or another step won the race."""


class StaleInstance(Conflict):
    """Another step on the same process instance committed first (lock version). The caller's own target may
    well still be there: adapters retry the command on fresh state (app/engine/retry.py) before answering 409."""


class Unavailable(DomainError):
    """Something the command needs outside the database cannot be reached (the virus scanner): nothing was done;
    the caller may try again shortly."""


class InvalidSubmission(DomainError):
    """Submitted data failed validation. ``errors`` maps a field path ("" for the whole form) to messages."""

    def __init__(self, errors: dict[str, list[str]], message: str = "The submitted data is invalid"):
        super().__init__(message)
        self.errors = errors


class ServiceTaskFailed(DomainError):
    """A BPMN service task raised; the step is rolled back and the instance stays where it was."""

    def __init__(self, message: str, *, element_id: str, operator: str):
        super().__init__(message)
        self.element_id = element_id
        self.operator = operator


class ScriptFailed(DomainError):
    """A BPMN script or expression raised (anything, SystemExit included) or ran out of its time or memory
    budget; the step is rolled back and the instance stays where it was."""

    def __init__(self, message: str, *, element_id: str, element_name: str | None = None):
        super().__init__(message)
        self.element_id = element_id
        self.element_name = element_name


@dataclass(frozen=True)
class DefinitionError:
    """One problem in a BPMN file, located precisely enough for a process owner to fix it."""

    file: str
    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        if self.element_id:
            label = f" '{self.element_name}'" if self.element_name else ""
            where += f" [{self.element_id}{label}]"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "element_id": self.element_id,
                "element_name": self.element_name, "message": self.message}


class InvalidDefinition(DomainError):
    """A process definition failed validation; it is never deployed."""

    def __init__(self, errors: list[DefinitionError]):
        super().__init__("; ".join(str(e) for e in errors) or "invalid definition")
        self.errors = errors
