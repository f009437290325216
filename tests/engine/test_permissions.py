"""The one permission table, config/permissions.toml (issue 23): every action it names is asked in app/ and every
action app/ asks is in it; a runtime built on another table behaves by that table; the loader refuses a table
it cannot trust, naming the file and the entry."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from app.composition import build_runtime
from app.engine.access import permissions, read_policy
from app.engine.complaints import registration
from app.engine.config.permissions import AUDIENCES, NO_AUDIENCE, UnknownAction, load_permissions
from app.engine.config.settings import DEFAULT_CONFIG_DIR, PROJECT_ROOT, load_settings
from app.engine.core.actors import Actor
from app.engine.core.errors import NotAllowed
from app.engine.demo.simulation import sample_registration
from app.engine.reporting import complaint_list

APP = PROJECT_ROOT / "app"
# The calls that ask the table, by the name of the function called.
ASKING = frozenset({"may", "require", "roles_for"})
EXPORT_LINE = '"complaint.export" = ["head_of_complaints", "compliance", "system"]'


def asked_in(root: Path) -> dict[str, list[str]]:
    """Every action name passed as a string to may / require / roles_for under ``root`` -> where."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name not in ASKING:
                continue
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and "." in arg.value:
                    found.setdefault(arg.value, []).append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    return found


def test_every_action_in_the_table_is_asked_and_every_action_asked_is_in_it():
    table = load_settings().permissions
    asked = asked_in(APP)
    assert asked, "the scan found no question asked of the table: it no longer sees the calls"
    unknown = {action: where for action, where in asked.items() if action not in table.actions}
    assert not unknown, f"actions asked in app/ that config/permissions.toml does not have: {unknown}"
    unasked = sorted(set(table.actions) - set(asked))
    assert not unasked, f"actions in config/permissions.toml that nothing in app/ asks: {unasked}"


def test_an_action_name_the_table_lacks_is_an_error_not_a_no():
    table = load_settings().permissions
    coordinator = Actor("coordinator", 1, frozenset({"coordinator"}))
    with pytest.raises(UnknownAction, match="complaint.exprot"):
        permissions.may(table, coordinator, "complaint.exprot")
    with pytest.raises(KeyError):
        permissions.require(table, coordinator, "complaint.exprot", "never shown")


def test_the_audiences_are_the_read_policys():
    table = load_settings().permissions
    assert set(read_policy.AUDIENCE_CLASSES) == {*AUDIENCES, NO_AUDIENCE}
    assert [name for name, _roles in table.audiences] == list(AUDIENCES)
    # An actor with several roles reads with the widest audience one of them gives.
    both = Actor("both", 1, frozenset({"customer", "department_officer"}))
    assert read_policy.audience(table, both) == "case_file"
    assert read_policy.audience(table, Actor("nobody", 2, frozenset({"process_owner"}))) == NO_AUDIENCE


# --- a runtime on another table behaves by it ----------------------------------------------------------------

@pytest.fixture
def config_copy(tmp_path) -> Path:
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    return config


def rewrite(config: Path, old: str, new: str) -> None:
    path = config / "permissions.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"config/permissions.toml no longer has the line {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_table_that_withholds_the_export_from_compliance_makes_the_export_refuse_it(demo, actors, database_url,
                                                                                     clock, config_copy):
    with demo.unit_of_work() as uow:
        registration.register_complaint(uow, actors["intake"], sample_registration(1))
    with demo.unit_of_work() as uow:  # the shipped table: compliance exports, the approver does not
        assert len(list(complaint_list.export_rows(uow, actors["compliance"]))) == 1
        with pytest.raises(NotAllowed):
            list(complaint_list.export_rows(uow, actors["approver"]))

    rewrite(config_copy, EXPORT_LINE, '"complaint.export" = ["head_of_complaints", "system", "approver"]')
    runtime = build_runtime(database_url, clock=clock, settings=load_settings(config_copy))
    try:
        with runtime.unit_of_work() as uow:
            with pytest.raises(NotAllowed, match="Exports are for the head of complaints and compliance"):
                list(complaint_list.export_rows(uow, actors["compliance"]))
            assert len(list(complaint_list.export_rows(uow, actors["approver"]))) == 1
            assert not complaint_list.may_export(uow, actors["compliance"])
    finally:
        runtime.close()


# --- the loader refuses what it cannot trust -----------------------------------------------------------------

ROLES = ("coordinator", "compliance", "customer")


def table_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "permissions.toml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("text", "says"), [
    ('[actions]\n"complaint.export" = ["compliance", "auditor"]\n[audiences]\n',
     ["action 'complaint.export'", "unknown role(s) 'auditor'", "roles.toml"]),
    ('[actions]\n"complaint.export" = "compliance"\n[audiences]\n',
     ["action 'complaint.export'", "list of role names"]),
    ('[actions]\n"complaint.export" = ["compliance", 3]\n[audiences]\n',
     ["action 'complaint.export'", "list of role names"]),
    ('[actions]\n"ComplaintExport" = ["compliance"]\n[audiences]\n',
     ["action 'ComplaintExport'", "thing.verb"]),
    ('[actions]\n"complaint.export" = ["compliance"]\n[audiences]\ninternal = ["coordinator", "auditor"]\n',
     ["audience 'internal'", "unknown role(s) 'auditor'"]),
    ('[actions]\n"complaint.export" = ["compliance"]\n[audiences]\neverything = ["coordinator"]\n',
     ["audience 'everything'", "internal, case_file, customer, channel"]),
    ('[audiences]\n', ["needs an [actions] table"]),
    ('[actions]\n"complaint.export" = ["compliance"]\n[audiences]\n[roles]\n', ["unknown key(s) roles"]),
    ('[actions\n', ["not valid TOML"]),
])
def test_the_loader_refuses_a_malformed_table_naming_the_file_and_the_entry(tmp_path, text, says):
    with pytest.raises(ValueError) as refused:
        load_permissions(table_file(tmp_path, text), ROLES)
    message = str(refused.value)
    assert str(tmp_path / "permissions.toml") in message
    for part in says:
        assert part in message


def test_settings_refuse_a_table_naming_a_role_roles_toml_does_not_declare(config_copy):
    rewrite(config_copy, EXPORT_LINE, '"complaint.export" = ["head_of_complaints", "auditor"]')
    with pytest.raises(ValueError, match=r"permissions\.toml, action 'complaint\.export': unknown role\(s\) 'auditor'"):
        load_settings(config_copy)


def test_the_shipped_table_loads_with_the_roles_roles_toml_declares():
    settings = load_settings()
    assert {"channel", "system"} <= set(settings.roles)
    named = {role for roles in settings.permissions.actions.values() for role in roles}
    named |= {role for _name, roles in settings.permissions.audiences for role in roles}
    assert named <= set(settings.roles)
    assert settings.permissions.roles_for("complaint.export") == frozenset({"head_of_complaints", "compliance",
                                                                            "system"})
