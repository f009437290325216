"""Amounts on pages are in the active SLA profile's currency, written as the reader's locale writes them: the UK
and US profiles showed CN¥ (issue 26)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.engine.config.settings import load_settings
from app.engine.demo.loader import load_demo
from app.engine.identity.users import actor_for
from app.engine.models import User
from app.web import create_app
from tests.conftest import _empty_tables, make_runtime
from tests.support import CaseDriver
from tests.web.pages.conftest import BROWSER, sign_in, text


@pytest.fixture
def site_on(database_url, clock, tmp_path):
    """``site_on("uk_fca")``: (app, case driver) on a runtime with that SLA profile active."""
    runtimes = []

    def make(profile: str):
        runtime = make_runtime(database_url, clock, settings=load_settings(sla_profile=profile))
        runtimes.append(runtime)
        with runtime.unit_of_work() as uow:
            load_demo(uow)
            actors = {u.username: actor_for(u) for u in uow.session.scalars(select(User))}
        app = create_app(runtime=runtime, config={"TESTING": True, "SECRET_KEY": "test-secret"},
                         instance_path=str(tmp_path))
        return app, CaseDriver(runtime, actors)

    yield make
    for runtime in runtimes:
        try:
            _empty_tables(runtime.database)
        finally:
            runtime.close()


@pytest.mark.parametrize("profile, shown, code, not_shown", [
    ("uk_fca", "£1,250.50", "GBP", ("¥", "$")),
    ("us_cfpb", "$1,250.50", "USD", ("¥", "£", "US$")),
    ("cn_cbirc", "CN¥1,250.50", "CNY", ("£", "$")),   # English reader: CN¥ tells it from the yen
])
def test_a_complaint_page_shows_the_amount_in_the_profiles_currency(site_on, profile, shown, code, not_shown):
    app, driver = site_on(profile)
    cid = driver.register(amount_involved="1250.50")
    coordinator = app.test_client()
    sign_in(coordinator, "coordinator")
    page = text(coordinator.get(f"/complaints/{cid}", headers=BROWSER))
    assert shown in page, profile
    for other in not_shown:
        assert other + "1,250.50" not in page, other
    intake = app.test_client()
    sign_in(intake, "intake")
    form = text(intake.get("/complaints/new", headers=BROWSER))
    assert f'<span class="currency" aria-hidden="true">{code}</span>' in form
