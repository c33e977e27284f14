import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """allauth counts sign-ins and failures in the cache (Redis on CI, kept between runs); start at zero."""
    cache.clear()
    yield
    cache.clear()
