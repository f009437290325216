"""Starting the app never weakens accounts: `./run` runs `load-demo` on every start, so `load-demo` creates demo
users only in a database without users and resets them only when told to (`--reset-demo`)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.engine.identity.users import authenticate_password
from app.engine.models import User
from tests.test_cli import versions

RUN_SCRIPT = Path(__file__).resolve().parents[1] / "run"


def harden_two_demo_accounts(runtime) -> None:
    """What an administrator does first: deactivate one demo user, give another a private password."""
    with runtime.unit_of_work() as uow:
        uow.session.scalar(select(User).where(User.username == "head")).active = False
        uow.session.scalar(select(User).where(User.username == "approver")).password_hash = \
            generate_password_hash("a private passphrase", method="pbkdf2:sha256:1000")


def signs_in(runtime, username, password) -> bool:
    with runtime.unit_of_work() as uow:
        return authenticate_password(uow, username, password) is not None


def test_load_demo_on_a_database_with_users_leaves_them_alone_and_says_so(cli, runtime):
    cli("load-demo")
    harden_two_demo_accounts(runtime)
    with runtime.unit_of_work() as uow:
        count = len(uow.session.scalars(select(User)).all())

    result = cli("load-demo")  # what every ./run does
    assert result.stdout.splitlines()[0] == (f"users: none loaded; the database already has {count} user(s), left "
                                             "as they are (--reset-demo resets the demo users to their public "
                                             "passwords)")
    assert not signs_in(runtime, "head", "head-demo")
    assert not signs_in(runtime, "approver", "approver-demo")
    assert signs_in(runtime, "approver", "a private passphrase")
    with runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(User.active).where(User.username == "head")) is False
    assert versions(runtime) == {"complaint_handling": [1], "escalation": [1]}  # definitions still handled


def test_one_user_of_any_kind_is_enough_to_leave_the_demo_out(cli, runtime):
    with runtime.unit_of_work() as uow:
        uow.session.add(User(username="admin", display_name="Admin", password_hash="x", roles=["head_of_complaints"],
                             created_at=uow.now()))
    cli("load-demo")
    with runtime.unit_of_work() as uow:
        assert uow.session.scalars(select(User.username)).all() == ["admin"]
    assert not signs_in(runtime, "intake", "intake-demo")


def test_reset_demo_restores_the_demo_users_explicitly(cli, runtime):
    cli("load-demo")
    harden_two_demo_accounts(runtime)
    result = cli("load-demo", "--reset-demo")
    assert "head" in result.stdout.splitlines()[0].removeprefix("users: ").split(", ")
    assert signs_in(runtime, "head", "head-demo") and signs_in(runtime, "approver", "approver-demo")


def test_run_loads_the_demo_without_resetting_it():
    commands = [line.strip() for line in RUN_SCRIPT.read_text().splitlines() if "load-demo" in line
                and not line.lstrip().startswith("#")]
    assert commands == ["complaintflow load-demo"]
