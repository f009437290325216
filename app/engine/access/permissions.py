"""Who may take which action: the one question every service, page, API view and CLI command asks, answered by
the one table, config/permissions.toml (loaded with the settings, see app/engine/config/permissions.py).

    may(uow, actor, "complaint.export")                    -> bool
    require(uow, actor, "complaint.export", "Only ...")    -> None, or NotAllowed with the caller's message

The first argument is wherever the table is at hand: a unit of work, the runtime, the settings or the table
itself, so the answer always comes from the runtime's own settings (a test's runtime built on another config
directory answers by its table). An action the table does not have raises ``UnknownAction`` (a KeyError): a
misspelt name in code must fail loudly, never read as "nobody may".
"""
from __future__ import annotations

from typing import Protocol

from app.engine.config.permissions import Permissions, UnknownAction
from app.engine.config.settings import Settings
from app.engine.core.actors import Actor
from app.engine.core.errors import NotAllowed


class HasSettings(Protocol):
    """A unit of work or a runtime."""

    @property
    def settings(self) -> Settings: ...


TableSource = Permissions | Settings | HasSettings


def table(source: TableSource) -> Permissions:
    if isinstance(source, Permissions):
        return source
    if isinstance(source, Settings):
        return source.permissions
    return source.settings.permissions


def may(source: TableSource, actor: Actor, action: str) -> bool:
    """Whether one of the actor's roles may take ``action``."""
    return actor.has_any_role(table(source).roles_for(action))


def require(source: TableSource, actor: Actor, action: str, message: str) -> None:
    """``NotAllowed(message)`` unless the actor may take ``action``."""
    if not may(source, actor, action):
        raise NotAllowed(message)


__all__ = ["HasSettings", "Permissions", "TableSource", "UnknownAction", "may", "require", "table"]
