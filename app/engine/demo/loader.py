"""Demo data: departments and users from config/, and the process definitions from processes/ (first versions
only: a restart never deploys over a version).

Demo passwords are public, so demo users are only ever created in a database without users, or reset when
asked for explicitly: starting the app (``./run`` runs ``load-demo`` every time) must never re-activate a
deactivated user or put a public password back on an account someone changed.
"""
from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.engine.core.actors import SYSTEM
from app.engine.governance import definitions, letter_library
from app.engine.identity import users
from app.engine.models import User

if TYPE_CHECKING:
    from app.engine.config.settings import Settings
    from app.engine.runtime import UnitOfWork


def load_demo(uow: UnitOfWork, *, reset_users: bool = False) -> dict:
    """Departments, demo users (only into a database without users, unless ``reset_users``), and the processes
    of processes/ that the database has no definition of (definitions.bootstrap: never a new version of a
    deployed process; later changes go through ``complaintflow deploy``).

    Returns ``{"users": [names created or reset], "existing_users": n (users found before, left alone unless
    reset), "definitions": [(process_id, version), ...] (current), "deployed": [(process_id, version), ...] (now),
    "differing": [(process_id, current version, file name), ...] (files in processes/ left undeployed)}``.
    """
    settings = uow.settings
    for code, name in settings.departments.items():
        users.upsert_department(uow, code, name)
    uow.session.flush()
    existing = uow.session.scalar(select(func.count(User.id)))
    loaded = [_upsert(uow, entry) for entry in demo_users(settings)] if reset_users or not existing else []
    loaded_processes = definitions.bootstrap(uow, SYSTEM, definitions.read_directory(settings.processes_dir))
    _sign_off_letter_library(uow)
    return {"users": loaded, "existing_users": existing,
            "definitions": [(d.process_id, d.version) for d in loaded_processes.current],
            "deployed": [(d.process_id, d.version) for d in loaded_processes.deployed],
            "differing": [(d.process_id, d.version, name) for d, name in loaded_processes.differing]}


def demo_users(settings: Settings) -> list[dict]:
    """The demo users of config/demo_users.toml, department officers expanded (one per department)."""
    with (settings.config_dir / "demo_users.toml").open("rb") as fh:
        config = tomllib.load(fh)
    entries = [{**entry, "department": None, "email": entry.get("email", f"{entry['username']}@bank.example")}
               for entry in config.get("users", [])]
    pattern = config.get("department_officers")
    if not pattern:
        return entries
    for code, name in settings.departments.items():
        username = pattern["username"].format(code=code, name=name)
        entries.append({"username": username, "password": pattern["password"].format(code=code, name=name),
                        "display_name": pattern["display_name"].format(code=code, name=name),
                        "roles": ["department_officer"], "department": code, "email": f"{username}@bank.example"})
    return entries


def _upsert(uow: UnitOfWork, entry: dict) -> str:
    users.upsert_user(uow, entry["username"], entry["password"], display_name=entry["display_name"],
                      roles=entry["roles"], department=entry["department"], email=entry["email"])
    return entry["username"]


def _sign_off_letter_library(uow: UnitOfWork) -> None:
    """The shipped clause library, submitted by the system and signed off by the demo compliance officer (four
    eyes), once: decision letters are only written from a signed-off library (governance/letter_library.py)."""
    active = uow.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    compliance = next((u for u in active if "compliance" in (u.roles or [])), None)
    if compliance is not None:
        letter_library.bootstrap(uow, SYSTEM, users.actor_for(compliance))
