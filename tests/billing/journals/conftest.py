import pytest

from accounts.models import StaffRole
from tests.billing.factories import staff


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def finance():
    return staff(StaffRole.FINANCE)


@pytest.fixture
def admin():
    return staff(StaffRole.ADMIN)


@pytest.fixture
def admin2():
    return staff(StaffRole.ADMIN)
