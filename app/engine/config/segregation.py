"""The segregation-of-duties rules, config/segregation.toml: which earlier work keeps a person from a task or an
action. Read once with the other settings; ``app.engine.access.segregation`` answers with them.

The file is checked as it is read, like the permission table: an unknown key, a rule without a title, a rule
guarding both or neither a task and an action, an action the permission table does not have, or an ``excludes``
the engine does not know stops the load with a message naming the file and the rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.engine.config.permissions import Permissions, UnknownAction
from app.engine.config.toml_files import read_toml

FILE_NAME = "segregation.toml"
# Who a rule excludes (the engine answers each from the rows the database keeps):
COMPLETED_TASKS = "completed_tasks"          # completers of given tasks in the round (tasks rows)
EXTENSION_REQUESTER = "extension_requester"  # the requester of the extension being approved (deadline_extensions)
DRAFT_AUTHORS = "draft_authors"              # the savers of the reviewed draft (draft_saved audit events)
EXCLUDES = (COMPLETED_TASKS, EXTENSION_REQUESTER, DRAFT_AUTHORS)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = frozenset({"title", "task", "action", "excludes", "tasks", "round_starts_after"})


@dataclass(frozen=True)
class SegregationRule:
    name: str
    title: str                              # English; the pages translate it through the catalog
    excludes: str                           # one of EXCLUDES
    task: str | None = None                 # the BPMN element id of the user task it guards ...
    action: str | None = None               # ... or the permission action it guards
    tasks: tuple[str, ...] = ()             # completed_tasks: the disqualifying element ids
    round_starts_after: tuple[str, ...] = ()  # completed_tasks: the element ids whose completion starts a round


@dataclass(frozen=True)
class Segregation:
    rules: tuple[SegregationRule, ...]
    source: str = FILE_NAME

    def for_task(self, element_id: str) -> tuple[SegregationRule, ...]:
        return tuple(rule for rule in self.rules if rule.task == element_id)

    def for_action(self, action: str) -> tuple[SegregationRule, ...]:
        return tuple(rule for rule in self.rules if rule.action == action)

    @property
    def guarded_tasks(self) -> frozenset[str]:
        return frozenset(rule.task for rule in self.rules if rule.task)

    def named_elements(self) -> tuple[tuple[str, SegregationRule, str], ...]:
        """Every BPMN element id a rule names, with the rule and the key naming it (``task``, ``tasks`` or
        ``round_starts_after``): each must stay a user task under that id, or the rule silently stops applying."""
        return tuple((element_id, rule, key) for rule in self.rules
                     for key, ids in (("task", (rule.task,) if rule.task else ()), ("tasks", rule.tasks),
                                      ("round_starts_after", rule.round_starts_after))
                     for element_id in ids)


def load_segregation(config_dir: Path, permissions: Permissions) -> Segregation:
    """Read and check ``<config_dir>/segregation.toml`` (actions against the permission table)."""
    path = Path(config_dir) / FILE_NAME
    data = read_toml(path)
    unknown = set(data) - {"rules"}
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; write each rule as [rules.<name>]")
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise ValueError(f"{path}: write each rule as a table [rules.<name>]")
    return Segregation(rules=tuple(_rule(name, spec, permissions, f"{path}, rule {name!r}")
                                   for name, spec in rules.items()), source=str(path))


def _rule(name: str, spec: object, permissions: Permissions, where: str) -> SegregationRule:
    if not _NAME.match(name):
        raise ValueError(f"{where}: name the rule in snake_case, e.g. resolution_approver_independent")
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: write the rule as a table [rules.{name}]")
    unknown = set(spec) - _KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_KEYS))}")
    title = spec.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"{where}: needs a title, the sentence a refused person reads")
    task, action = spec.get("task"), spec.get("action")
    if (task is None) == (action is None):
        raise ValueError(f"{where}: guard exactly one thing: a task (BPMN element id) or an action")
    for key, value in (("task", task), ("action", action)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"{where}: {key} must be a name, not {value!r}")
    if action is not None:
        try:
            permissions.roles_for(action)
        except UnknownAction as err:
            raise ValueError(f"{where}: {err}") from None
    excludes = spec.get("excludes")
    if excludes not in EXCLUDES:
        raise ValueError(f"{where}: excludes must be one of {', '.join(EXCLUDES)}, not {excludes!r}")
    if (action is None) if excludes == DRAFT_AUTHORS else (task is None):
        raise ValueError(f"{where}: excludes = {excludes!r} guards "
                         f"{'an action' if excludes == DRAFT_AUTHORS else 'a task'}")
    tasks, starts = _ids(spec.get("tasks", []), where, "tasks"), _ids(spec.get("round_starts_after", []), where,
                                                                      "round_starts_after")
    if excludes == COMPLETED_TASKS and not tasks:
        raise ValueError(f"{where}: excludes = \"completed_tasks\" needs the tasks whose completion disqualifies")
    if excludes != COMPLETED_TASKS and (tasks or starts):
        raise ValueError(f"{where}: tasks and round_starts_after belong to excludes = \"completed_tasks\"")
    return SegregationRule(name=name, title=" ".join(title.split()), excludes=excludes, task=task, action=action,
                           tasks=tasks, round_starts_after=starts)


def _ids(value: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: {key} must list BPMN element ids, e.g. [\"draft_resolution\"], not {value!r}")
    return tuple(value)
