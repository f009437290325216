"""The permission table, config/permissions.toml: which roles may take each action, and which audience each role
reads complaints with. Read once with the other settings; ``app.engine.access.permissions`` asks it.

The file is checked as it is read, so a typo cannot quietly lock everyone out (or let everyone in): an unknown
key, a role config/roles.toml does not declare, an action name that is not ``thing.verb``, or an entry that is
not a list of role names stops the load with a message naming the file and the entry.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from app.engine.config.toml_files import read_toml

FILE_NAME = "permissions.toml"
# The read policy's audiences, widest first: an actor with several roles reads with the first one it has.
AUDIENCES = ("internal", "case_file", "customer", "channel")
NO_AUDIENCE = "none"
_ACTION_NAME = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")
_SECTIONS = frozenset({"actions", "audiences"})


class UnknownAction(KeyError):
    """A caller asked about an action the table does not have: a programming error, never a quiet "no"."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


@dataclass(frozen=True)
class Permissions:
    actions: Mapping[str, frozenset[str]]                 # action -> the roles that may take it
    audiences: tuple[tuple[str, frozenset[str]], ...]     # (audience, its roles), widest first
    source: str = FILE_NAME                               # where the table came from, for messages

    def roles_for(self, action: str) -> frozenset[str]:
        try:
            return self.actions[action]
        except KeyError:
            raise UnknownAction(f"{self.source} has no action {action!r}; it has: "
                                f"{', '.join(sorted(self.actions))}") from None

    def audience_of(self, roles: Iterable[str]) -> str:
        held = frozenset(roles)
        return next((audience for audience, granted in self.audiences if granted & held), NO_AUDIENCE)


def load_permissions(config_dir: Path, declared_roles: Iterable[str]) -> Permissions:
    """Read and check ``<config_dir>/permissions.toml`` against the roles config/roles.toml declares."""
    path = Path(config_dir) / FILE_NAME
    data = read_toml(path)
    unknown = set(data) - _SECTIONS
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: [actions], [audiences]")
    known = frozenset(declared_roles)
    actions = _section(data, "actions", path)
    for action in actions:
        if not _ACTION_NAME.match(action):
            raise ValueError(f"{path}, action {action!r}: name it thing.verb in lower case, e.g. complaint.export")
    audiences = _section(data, "audiences", path)
    misnamed = [name for name in audiences if name not in AUDIENCES]
    if misnamed:
        raise ValueError(f"{path}, audience {misnamed[0]!r}: not an audience of the read policy; use one of "
                         f"{', '.join(AUDIENCES)}")
    return Permissions(
        actions=MappingProxyType({action: _roles(roles, known, f"{path}, action {action!r}")
                                  for action, roles in actions.items()}),
        audiences=tuple((name, _roles(audiences[name], known, f"{path}, audience {name!r}"))
                        for name in AUDIENCES if name in audiences),
        source=str(path))


def _section(data: dict, name: str, path: Path) -> dict:
    section = data.get(name)
    if not isinstance(section, dict):
        raise ValueError(f"{path}: needs an [{name}] table")
    return section


def _roles(value: object, known: frozenset[str], where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
        raise ValueError(f"{where}: write the roles as a list of role names, e.g. [\"coordinator\"], not {value!r}")
    undeclared = [role for role in value if role not in known]
    if undeclared:
        raise ValueError(f"{where}: unknown role(s) {', '.join(map(repr, undeclared))}; config/roles.toml "
                         f"[roles] declares {', '.join(sorted(known))}")
    return frozenset(value)
