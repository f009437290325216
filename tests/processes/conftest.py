import pytest

from tests.conftest import parametrize_workflow_cache
from tests.support import CaseDriver


def pytest_generate_tests(metafunc):
    # Every process test runs warm (live workflows cached, as in production) and cold (each step loads the stored
    # state): tests/conftest.py, WORKFLOW_CACHES.
    parametrize_workflow_cache(metafunc)


@pytest.fixture
def case(demo, actors):
    return CaseDriver(demo, actors)
