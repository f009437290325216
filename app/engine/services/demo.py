"""Demo data: departments and users from config/, and the process definitions from processes/."""
from __future__ import annotations

import tomllib

from app.engine.actors import SYSTEM
from app.engine.services import definitions, users


def load_demo(uow) -> dict:
    settings = uow.settings
    for code, name in settings.departments.items():
        users.upsert_department(uow, code, name)
    uow.session.flush()
    with (settings.config_dir / "demo_users.toml").open("rb") as fh:
        config = tomllib.load(fh)
    created = []
    for entry in config.get("users", []):
        users.upsert_user(uow, entry["username"], entry["password"], display_name=entry["display_name"],
                          roles=entry["roles"], email=entry.get("email", f"{entry['username']}@bank.example"))
        created.append(entry["username"])
    pattern = config.get("department_officers")
    if pattern:
        for code, name in settings.departments.items():
            username = pattern["username"].format(code=code, name=name)
            users.upsert_user(uow, username, pattern["password"].format(code=code, name=name),
                              display_name=pattern["display_name"].format(code=code, name=name),
                              roles=["department_officer"], department=code, email=f"{username}@bank.example")
            created.append(username)
    deployed = definitions.deploy(uow, SYSTEM, definitions.read_directory(settings.processes_dir))
    return {"users": created, "definitions": [(d.process_id, d.version) for d in deployed]}
