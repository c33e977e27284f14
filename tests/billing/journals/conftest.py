import pytest
from django.utils import translation

from accounts.models import StaffRole
from tests.billing.factories import staff


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def english_around_each_test():
    """A Chinese page leaves its language active in this thread; the next test starts in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def finance():
    return staff(StaffRole.FINANCE)


@pytest.fixture
def admin():
    return staff(StaffRole.ADMIN)


@pytest.fixture
def admin2():
    return staff(StaffRole.ADMIN)
