import pytest

from tests.support import CaseDriver


@pytest.fixture
def case(demo, actors):
    return CaseDriver(demo, actors)
