"""Starting the app never weakens accounts: `./run` runs `load-demo` on every start, so `load-demo` creates demo
users only in a database without users and resets them only when told to (`--reset-demo`)."""
from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.cli import _shown as shown
from app.engine.config.settings import DEFAULT_CONFIG_DIR, DEFAULT_PROCESSES_DIR
from app.engine.governance import definitions
from app.engine.identity.users import authenticate_password
from app.engine.models import AuditEvent, User
from tests.test_cli import copy_processes, edit, versions

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
    assert versions(runtime) == {"complaint_handling": [1], "escalation": [1], "mail_intake": [1]}  # definitions still handled


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


# --- a restart never deploys (issue 24) ---------------------------------------------------------------------

def commands_before_serving() -> list[list[str]]:
    """The `complaintflow` commands ./run runs before it serves: its foreground lines (the scheduler, started in
    the background with `&`, only fires timers)."""
    lines = [line.strip() for line in RUN_SCRIPT.read_text().splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("complaintflow ") and not line.endswith("&")]


def restart(cli) -> list[str]:
    """What ./run does before serving, through the CLI; the output of each command."""
    return [cli(*command).stdout for command in commands_before_serving()]


def deploy_a_changed_file(cli, tmp_path, exit_code=0):
    directory = copy_processes(tmp_path)
    edit(directory / "complaint_handling.bpmn",
         "<bpmn:documentation>The complaint is closed.</bpmn:documentation>",
         "<bpmn:documentation>The complaint is closed and archived.</bpmn:documentation>")
    return cli("deploy", directory, exit_code=exit_code)


def current_source(runtime, process_id="complaint_handling") -> str:
    with runtime.unit_of_work() as uow:
        return definitions.latest_definition(uow.session, process_id).bpmn_source


def test_run_script_commands_are_read_as_init_db_then_load_demo():
    assert commands_before_serving() == [["init-db"], ["load-demo"]]


def test_a_restart_after_a_deploy_keeps_the_deployed_version_current(cli, runtime, tmp_path):
    restart(cli)  # the first start: the bootstrap of a fresh database
    assert versions(runtime) == {"complaint_handling": [1], "escalation": [1], "mail_intake": [1]}
    assert "complaint_handling v2 (complaint_handling.bpmn)" in deploy_a_changed_file(cli, tmp_path).stdout

    _, load_output = restart(cli)
    assert versions(runtime) == {"complaint_handling": [1, 2], "escalation": [1], "mail_intake": [1]}  # no v3 with v1's content
    assert "closed and archived" in current_source(runtime)
    lines = load_output.splitlines()
    assert sorted(lines[1].removeprefix("definitions: ").split(", ")) == ["complaint_handling v2", "escalation v1",
                                                                                 "mail_intake v1"]
    assert lines[2:] == [(f"{shown(DEFAULT_PROCESSES_DIR) / 'complaint_handling.bpmn'} differs from "
                          "complaint_handling v2, the current version, and was not deployed: `complaintflow deploy` "
                          "deploys it (validated, and signed off first when config/governance.toml requires it)")]
    restart(cli)
    assert versions(runtime) == {"complaint_handling": [1, 2], "escalation": [1], "mail_intake": [1]}


def test_the_bootstrap_deploys_a_process_the_database_lacks_and_audits_it_as_needing_no_signoff(cli, runtime):
    restart(cli)
    with runtime.unit_of_work() as uow:
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "definition_deployed")
                                     .order_by(AuditEvent.id)).all()
        assert sorted(e.detail["process_id"] for e in events) == ["complaint_handling", "escalation", "mail_intake"]
        assert all(e.detail["bootstrap"] is True and e.detail["signoff"].startswith("not required")
                   for e in events)
        assert definitions.latest_definition(uow.session, "escalation").deploy_reason == \
            definitions.BOOTSTRAP_REASON


def test_with_signoff_required_the_run_commands_succeed_and_deploys_still_need_it(cli, runtime, tmp_path,
                                                                                 monkeypatch):
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    (config / "governance.toml").write_text("signoff_required = true\n")
    monkeypatch.setenv("COMPLAINTFLOW_CONFIG_DIR", str(config))

    restart(cli)  # a fresh database: the bootstrap needs no sign-off
    assert versions(runtime) == {"complaint_handling": [1], "escalation": [1], "mail_intake": [1]}
    refused = deploy_a_changed_file(cli, tmp_path, exit_code=1)  # a later change does
    assert "Sign-off is required" in refused.stderr
    restart(cli)
    restart(cli)
    assert versions(runtime) == {"complaint_handling": [1], "escalation": [1], "mail_intake": [1]}
