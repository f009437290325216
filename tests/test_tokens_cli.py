"""`complaintflow tokens create|list|revoke` (and the old `create-token`), as an operator would use them."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.engine.identity.users import authenticate_token
from app.engine.models import ApiToken


def actor_of(runtime, token):
    with runtime.unit_of_work() as uow:
        return authenticate_token(uow, token)


def test_create_prints_only_the_token_on_stdout_and_it_works(demo_cli, runtime):
    result = demo_cli("tokens", "create", "channel", "--name", "website", "--days", 30)
    token = result.stdout.strip()
    assert token.startswith("cf_") and len(token) > 40 and "\n" not in token
    assert "shown only once" in result.stderr and "website" in result.stderr
    assert actor_of(runtime, token).username == "channel"
    with runtime.unit_of_work() as uow:
        row = uow.session.scalars(select(ApiToken)).one()
        assert row.name == "website" and row.token_hash != token and token not in row.token_hash
        assert abs(row.expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)


def test_create_defaults_to_90_days(demo_cli, runtime):
    demo_cli("tokens", "create", "channel")
    with runtime.unit_of_work() as uow:
        row = uow.session.scalars(select(ApiToken)).one()
        assert row.expires_at - row.created_at == timedelta(days=90) and row.name == "api"


def test_create_refuses_unknown_users_and_zero_days(demo_cli):
    assert "nobody" in demo_cli("tokens", "create", "nobody", exit_code=1).stderr
    assert "0 is not in the range x>=1" in demo_cli("tokens", "create", "channel", "--days", 0, exit_code=2).stderr


def test_list_shows_every_token_but_never_the_token_itself(demo_cli, runtime):
    website = demo_cli("tokens", "create", "channel", "--name", "website").stdout.strip()
    app = demo_cli("tokens", "create", "channel", "--name", "mobile-app", "--days", 7).stdout.strip()
    demo_cli("tokens", "create", "intake", "--name", "macro")
    actor_of(runtime, app)  # used once
    demo_cli("tokens", "revoke", 1)

    listing = demo_cli("tokens", "list").stdout
    lines = listing.splitlines()
    assert lines[0].split() == ["id", "user", "name", "created", "expires", "last", "used", "revoked"]
    assert len(lines) == 4 and website not in listing and app not in listing and "cf_" not in listing
    first, second, third = (line.split("  ") for line in lines[1:])
    cells = [[cell.strip() for cell in row if cell.strip()] for row in (first, second, third)]
    assert cells[0][:3] == ["1", "channel", "website"] and cells[0][-1].endswith("UTC")  # revoked at
    assert cells[1][:3] == ["2", "channel", "mobile-app"] and cells[1][-1] == "-" and cells[1][-2].endswith("UTC")
    assert cells[2][:3] == ["3", "intake", "macro"] and cells[2][-2:] == ["-", "-"]

    only_intake = demo_cli("tokens", "list", "intake").stdout.splitlines()
    assert len(only_intake) == 2 and only_intake[1].split()[:3] == ["3", "intake", "macro"]


def test_revoke_ends_the_token_and_keeps_the_first_time(demo_cli, runtime):
    token = demo_cli("tokens", "create", "channel", "--name", "website").stdout.strip()
    assert demo_cli("tokens", "revoke", 1).stdout.startswith("token 1 (channel, website) revoked ")
    assert actor_of(runtime, token) is None
    with runtime.unit_of_work() as uow:
        first = uow.session.scalar(select(ApiToken.revoked_at))
    demo_cli("tokens", "revoke", 1)
    with runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(ApiToken.revoked_at)) == first
    assert "No API token with id 99" in demo_cli("tokens", "revoke", 99, exit_code=1).stderr


def test_the_old_create_token_command_still_works(demo_cli, runtime):
    token = demo_cli("create-token", "intake", "--name", "channel").stdout.strip()
    assert actor_of(runtime, token).username == "intake"
    assert "nobody" in demo_cli("create-token", "nobody", exit_code=1).stderr
