import dataclasses
import shutil

import pytest
from sqlalchemy import select

from app.engine.config.settings import Settings, load_settings
from app.engine.demo.loader import load_demo
from app.engine.identity.users import actor_for
from app.engine.models import User
from tests.conftest import _empty_tables, check_workflow_cache, make_runtime
from tests.support import CaseDriver


@pytest.fixture
def case(demo, actors):
    return CaseDriver(demo, actors)


@pytest.fixture
def governed(demo, tmp_path):
    """The demo runtime with sign-off required (a governance.toml of the test's own)."""
    (tmp_path / "governance.toml").write_text("signoff_required = true\n")
    demo.settings = dataclasses.replace(demo.settings, config_dir=tmp_path)
    return demo


@pytest.fixture
def forms_dir(demo, tmp_path):
    """The demo runtime reading (and deploying) forms from a copy of app/forms the test may edit: what is on disk
    must not matter to a draft or a deployed version."""
    directory = tmp_path / "forms"
    shutil.copytree(demo.settings.forms_dir, directory)
    demo.settings = dataclasses.replace(demo.settings, forms_dir=directory)
    return directory


@pytest.fixture
def driver_on(database_url, clock, workflow_cache):
    """``driver_on(settings)``: a case driver on a runtime of its own with these settings (the demo users and the
    shipped diagrams loaded: deploying them checks every timer's SLA name against the settings' profile)."""
    runtimes = []

    def make(settings: Settings) -> CaseDriver:
        runtime = make_runtime(database_url, clock, workflow_cache, settings=settings)
        runtimes.append(runtime)
        with runtime.unit_of_work() as uow:
            load_demo(uow)
            actors = {u.username: actor_for(u) for u in uow.session.scalars(select(User))}
        return CaseDriver(runtime, actors)

    yield make
    for runtime in runtimes:
        try:
            check_workflow_cache(runtime, workflow_cache)
        finally:
            _empty_tables(runtime.database)
            runtime.close()


@pytest.fixture
def regime(driver_on):
    """``regime("uk_fca")``: a case driver on a runtime with that SLA profile active."""
    return lambda profile: driver_on(load_settings(sla_profile=profile))
