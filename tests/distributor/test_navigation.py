"""The staff navigation: every entry leads to a page its roles may open, and only to those roles."""

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from distributor.navigation import STAFF_NAVIGATION, entries_for
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db

UPSTREAM = {e.url_name for e in STAFF_NAVIGATION if str(e.section) == "Upstream"}


def test_every_entry_opens_for_a_role_it_is_shown_to(client):
    for entry in STAFF_NAVIGATION:
        user = staff(entry.roles[0])
        client.force_login(user)
        assert client.get(reverse(entry.url_name)).status_code == 200, entry.url_name


def test_the_upstream_section_is_for_finance_and_admins_and_read_by_auditors():
    assert len(UPSTREAM) == 10
    for role, shown in (
        (StaffRole.ADMIN, True),
        (StaffRole.FINANCE, True),
        (StaffRole.AUDITOR, True),
        (StaffRole.SALES, False),
        (StaffRole.SUPPORT, False),
    ):
        names = {e.url_name for e in entries_for(staff(role))}
        assert (names >= UPSTREAM) is shown, role
        assert not (UPSTREAM & names) or shown, role
