import pytest

from tests.billing.upstream.mismatch.factories import World


@pytest.fixture
def world():
    return World()
