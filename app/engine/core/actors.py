"""Who is acting. Services take an explicit Actor; nothing reads a global "current user"."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    username: str
    user_id: int | None = None
    roles: frozenset[str] = frozenset()
    department: str | None = None

    def has_any_role(self, roles: Iterable[str]) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return bool(self.roles - {"customer"})


SYSTEM = Actor(username="system", roles=frozenset({"system"}))
SCHEDULER = Actor(username="scheduler", roles=frozenset({"system"}))
# Someone not signed in: who tried to sign in and failed (the name they gave is in the event's detail).
ANONYMOUS = Actor(username="anonymous")
